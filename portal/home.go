package portal

import (
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
)

// homeView is the landing page; signed-in people also see the unapproved apps they use.
type homeView struct {
	MyApps []myApp
}

// myApp is an unapproved app the person signs in to, with what to use instead.
type myApp struct {
	Name, Slug, Status string
	Alternatives       []catalog.Alternative
	ProposeURL         string
}

func (s *Server) home(c *gin.Context) {
	var v homeView
	if p := principalOf(c); p != nil && p.User != nil && s.discovery != nil && s.catalog != nil {
		ctx := c.Request.Context()
		apps, err := s.discovery.MyUnapprovedApps(ctx, p.User.Email)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, a := range apps {
			m := myApp{Name: a.Name, Slug: a.CatalogueSlug(), Status: a.CatalogueStatus(),
				ProposeURL: "/requests/new?" + url.Values{"name": {a.Name}}.Encode()}
			if m.Slug != "" {
				if d, err := s.catalog.Detail(ctx, m.Slug); err == nil {
					m.Alternatives = d.Alternatives
				}
			}
			v.MyApps = append(v.MyApps, m)
		}
	}
	s.render(c, http.StatusOK, "home", "Home", v)
}
