package portal

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
)

// categoriesView is the managed list of categories (admin).
type categoriesView struct {
	Categories []catalog.Category
	Form       catalog.Category
	Errors     map[string]string
}

func (s *Server) categoriesPage(c *gin.Context) {
	s.renderCategories(c, http.StatusOK, catalog.Category{}, nil)
}

func (s *Server) renderCategories(c *gin.Context, status int, form catalog.Category, fieldErrs map[string]string) {
	cats, err := s.catalog.Categories(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, status, "categories", "Categories", categoriesView{Categories: cats, Form: form, Errors: fieldErrs})
}

func (s *Server) saveCategory(c *gin.Context) {
	form := catalog.Category{Slug: c.PostForm("slug"), Name: c.PostForm("name")}
	cat, err := s.catalog.SaveCategory(c.Request.Context(), actorOf(c), form.Slug, form.Name)
	if err != nil {
		if fields, ok := formErrors(err); ok {
			s.renderCategories(c, statusOfErr(err), form, fields)
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Saved the category “"+cat.Name+"”.")
	c.Redirect(http.StatusSeeOther, "/admin/categories")
}
