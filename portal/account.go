package portal

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// accountView is the "your account" page.
type accountView struct {
	Name, Email, Issuer string
	Roles               []string
	LastLogin           *time.Time
	Sessions            []sessionView
}

type sessionView struct {
	Current               bool
	CreatedAt, LastSeenAt time.Time
	ExpiresAt             time.Time
	Browser, IP           string
}

func (s *Server) account(c *gin.Context) {
	p := principalOf(c)
	sessions, err := s.auth.SessionsOf(c.Request.Context(), p.User.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := accountView{Name: p.User.DisplayName(), Email: p.User.Email, Issuer: p.User.Issuer, LastLogin: p.User.LastLoginAt}
	for _, r := range p.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	for _, ss := range sessions {
		v.Sessions = append(v.Sessions, sessionView{Current: ss.IDHash == p.Session.IDHash, CreatedAt: ss.CreatedAt, LastSeenAt: ss.LastSeenAt, ExpiresAt: ss.ExpiresAt, Browser: ss.UserAgent, IP: ss.IP})
	}
	s.render(c, http.StatusOK, "account", "Your account", v)
}

func (s *Server) endOtherSessions(c *gin.Context) {
	p := principalOf(c)
	n, err := s.auth.SignOutOthers(c.Request.Context(), p.User.ID, p.sessionSecret)
	if err != nil {
		s.fail(c, err)
		return
	}
	if n == 0 {
		s.flash(c, "info", "You had no other sessions.")
	} else {
		s.flash(c, "success", "Signed out everywhere else.")
	}
	c.Redirect(http.StatusSeeOther, "/account")
}
