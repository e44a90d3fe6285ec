package portal

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// sourcesView is the admin page of API pull sources. Tokens are written, never shown.
type sourcesView struct {
	Sources []discovery.Source
	Form    discovery.Source
	Subject string // Google: the admin the service account acts as
	Errors  map[string]string
}

func (s *Server) sourcesPage(c *gin.Context) {
	s.renderSources(c, http.StatusOK, discovery.Source{Kind: "okta"}, "", nil)
}

func (s *Server) renderSources(c *gin.Context, status int, form discovery.Source, subject string, fieldErrs map[string]string) {
	list, err := s.discovery.Sources(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	form.Secret = ""
	s.render(c, status, "sources", "Log sources", sourcesView{Sources: list, Form: form, Subject: subject, Errors: fieldErrs})
}

func (s *Server) createSource(c *gin.Context) {
	form := discovery.Source{Kind: c.PostForm("kind"), Name: c.PostForm("name"), BaseURL: c.PostForm("base_url"), Secret: c.PostForm("secret"),
		Actions: c.PostForm("actions") == "true"}
	subject := c.PostForm("subject")
	if form.Kind == discovery.FormatGoogle {
		// The key file is pasted as downloaded; the admin to act as is typed beside it. A key that
		// is not JSON is left for CreateSource to refuse with its field error.
		if merged, err := discovery.WithGoogleSubject(form.Secret, subject); err == nil {
			form.Secret = merged
		}
	}
	if _, err := s.discovery.CreateSource(c.Request.Context(), actorOf(c), form); err != nil {
		if fields, ok := formErrors(err); ok {
			s.renderSources(c, statusOfErr(err), form, subject, fields)
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Source added. It is pulled every 15 minutes.")
	c.Redirect(http.StatusSeeOther, "/admin/sources")
}

func (s *Server) toggleSource(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, errs.E(errs.NotFound, "No such source."))
		return
	}
	enabled := c.PostForm("enabled") == "true"
	if err := s.discovery.SetSourceEnabled(c.Request.Context(), actorOf(c), id, enabled); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", map[bool]string{true: "Source enabled.", false: "Source paused."}[enabled])
	c.Redirect(http.StatusSeeOther, "/admin/sources")
}

// toggleSourceActions allows or forbids security to act at the provider through a source.
func (s *Server) toggleSourceActions(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, errs.E(errs.NotFound, "No such source."))
		return
	}
	actions := c.PostForm("actions") == "true"
	if err := s.discovery.SetSourceActions(c.Request.Context(), actorOf(c), id, actions); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", map[bool]string{true: "Actions allowed: security can now act at the provider through this source.",
		false: "Source made read-only: no action can change anything through it."}[actions])
	c.Redirect(http.StatusSeeOther, "/admin/sources")
}
