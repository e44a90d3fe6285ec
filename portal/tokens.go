package portal

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/errs"
)

// tokensView is the API tokens page: the list, the creation form and, once, a new secret.
type tokensView struct {
	Tokens    []tokenRow
	Scopes    []auth.Scope
	Expiries  []expiryOption
	Form      tokenForm
	Errors    map[string]string
	NewSecret string
	NewName   string
}

type tokenRow struct {
	auth.Token
	Status string
}

type tokenForm struct {
	Name    string
	Scopes  map[string]bool
	Expires string
}

type expiryOption struct{ Value, Label string }

var tokenExpiries = []expiryOption{{"7", "7 days"}, {"30", "30 days"}, {"90", "90 days"}, {"365", "1 year"}}

func (s *Server) tokensView(c *gin.Context) (tokensView, error) {
	list, err := s.auth.Tokens(c.Request.Context())
	if err != nil {
		return tokensView{}, err
	}
	now := s.auth.Now()
	v := tokensView{Scopes: auth.Scopes, Expiries: tokenExpiries, Form: tokenForm{Expires: "90", Scopes: map[string]bool{}}}
	for _, t := range list {
		status := "active"
		switch {
		case t.RevokedAt != nil:
			status = "revoked"
		case !t.Active(now):
			status = "expired"
		}
		v.Tokens = append(v.Tokens, tokenRow{Token: t, Status: status})
	}
	return v, nil
}

func (s *Server) tokensPage(c *gin.Context) {
	v, err := s.tokensView(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "tokens", "API tokens", v)
}

func (s *Server) createToken(c *gin.Context) {
	form := tokenForm{Name: c.PostForm("name"), Expires: c.PostForm("expires"), Scopes: map[string]bool{}}
	scopes := c.PostFormArray("scopes")
	for _, sc := range scopes {
		form.Scopes[sc] = true
	}
	days, _ := strconv.Atoi(form.Expires)
	tok, secret, err := s.auth.CreateToken(c.Request.Context(), actorOf(c), auth.NewToken{Name: form.Name, Scopes: scopes, ExpiresIn: time.Duration(days) * 24 * time.Hour})
	v, lerr := s.tokensView(c)
	if lerr != nil {
		s.fail(c, lerr)
		return
	}
	if e, ok := errs.As(err); ok && e.Fields != nil {
		v.Form, v.Errors = form, e.Fields
		s.render(c, http.StatusBadRequest, "tokens", "API tokens", v)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	// The secret is shown in this answer only; it is not stored anywhere it could be read back.
	v.NewSecret, v.NewName = secret, tok.Name
	s.render(c, http.StatusOK, "tokens", "API tokens", v)
}

func (s *Server) revokeToken(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(c, errs.E(errs.NotFound, "No such token."))
		return
	}
	t, err := s.auth.RevokeToken(c.Request.Context(), actorOf(c), id, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Token “"+t.Name+"” is revoked. Scripts using it are refused from now on.")
	c.Redirect(http.StatusSeeOther, "/admin/tokens")
}
