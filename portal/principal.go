package portal

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
)

// principal is who is making a request: a signed-in person (session) or a script (API token).
type principal struct {
	User          *auth.User
	Roles         auth.RoleSet
	Session       *auth.Session
	sessionSecret string
	Token         *auth.Token
}

const principalKey = "principal"

func principalOf(c *gin.Context) *principal {
	if p, ok := c.Get(principalKey); ok {
		return p.(*principal)
	}
	return nil
}

// actor is how the audit log names whoever is acting.
func actorOf(c *gin.Context) audit.Actor {
	p := principalOf(c)
	switch {
	case p == nil:
		return audit.Actor{Name: "anonymous", RequestID: RequestIDOf(c)}
	case p.User != nil:
		return audit.Actor{UserID: &p.User.ID, Name: p.User.Email, RequestID: RequestIDOf(c)}
	default:
		return audit.Actor{Name: "token:" + p.Token.Name, RequestID: RequestIDOf(c)}
	}
}

// sessionCookie is the name of the session cookie. Over https it takes the __Host- prefix,
// which browsers only accept with Secure, Path=/ and no Domain: no subdomain can plant it.
func (s *Server) sessionCookie() string { return s.cookieName("paved_session") }
func (s *Server) loginCookie() string   { return s.cookieName("paved_login") }

func (s *Server) cookieName(base string) string {
	if s.cfg.Secure() {
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.Secure(), SameSite: http.SameSiteLaxMode,
	})
}

// identify finds the principal of a request, if any: an API token in the Authorization header
// (only on /api/), else the session cookie. It never refuses a request; the route's own
// requirement does.
func (s *Server) identify() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.auth == nil {
			c.Next()
			return
		}
		ctx := c.Request.Context()
		if h := c.GetHeader("Authorization"); h != "" && strings.HasPrefix(c.Request.URL.Path, "/api/") {
			scheme, secret, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				s.fail(c, errs.E(errs.Unauthorized, "Use an Authorization: Bearer token."))
				return
			}
			tok, err := s.auth.AuthenticateToken(ctx, strings.TrimSpace(secret))
			if err != nil {
				s.fail(c, err)
				return
			}
			c.Set(principalKey, &principal{Token: &tok})
			c.Next()
			return
		}
		secret, err := c.Cookie(s.sessionCookie())
		if err != nil || secret == "" {
			c.Next()
			return
		}
		sess, u, err := s.auth.Authenticate(ctx, secret)
		if err != nil {
			if errs.Is(err, errs.Unauthorized) {
				// An ended session: forget the cookie, carry on as a visitor.
				s.setCookie(c, s.sessionCookie(), "", -1)
				c.Next()
				return
			}
			s.fail(c, err)
			return
		}
		c.Set(principalKey, &principal{User: &u, Roles: u.Roles(), Session: &sess, sessionSecret: secret})
		c.Next()
	}
}

// access is what a route requires.
type access struct {
	// Public routes need nothing.
	Public bool
	// Role is required of signed-in people; empty means any signed-in person.
	Role auth.Role
	// Scope lets an API token in; empty means tokens are refused.
	Scope auth.Scope
	// AsOwner makes a token act as the person who created it, with that person's roles: for
	// acts that are always someone's (a request, a pledge, a vote).
	AsOwner bool
}

func (a access) String() string {
	switch {
	case a.Public:
		return "public"
	case a.Scope != "":
		return "role:" + string(a.roleOrEmployee()) + "|scope:" + string(a.Scope)
	default:
		return "role:" + string(a.roleOrEmployee())
	}
}

func (a access) roleOrEmployee() auth.Role {
	if a.Role == "" {
		return auth.RoleEmployee
	}
	return a.Role
}

// anyScope lets in any valid API token.
const anyScope auth.Scope = "*"

// require enforces a route's access rule. Browsers without a session are sent to sign in and
// brought back; API clients get 401; the signed-in without the role, or tokens without the
// scope, get 403.
func (s *Server) require(a access) gin.HandlerFunc {
	return func(c *gin.Context) {
		if a.Public {
			c.Next()
			return
		}
		p := principalOf(c)
		switch {
		case p == nil:
			if wantsJSON(c) {
				s.fail(c, errs.E(errs.Unauthorized, "Sign in or send an API token."))
				return
			}
			if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
				s.fail(c, errs.E(errs.Unauthorized, "Your session has ended. Please sign in again."))
				return
			}
			c.Redirect(http.StatusSeeOther, "/auth/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
			c.Abort()
			return
		case p.Token != nil:
			if a.Scope == "" || (a.Scope != anyScope && !p.Token.Allows(a.Scope)) {
				need := "a session"
				if a.Scope != "" {
					need = "the " + string(a.Scope) + " scope"
				}
				s.fail(c, errs.E(errs.Forbidden, "This API token may not do that: it needs %s.", need))
				return
			}
			if a.AsOwner {
				if !s.actAsOwner(c, p) {
					return
				}
				if !p.Roles.Has(a.roleOrEmployee()) {
					s.fail(c, errs.E(errs.Forbidden, "This API token acts for its owner, who does not have the %s role.", a.roleOrEmployee()))
					return
				}
			}
		case !p.Roles.Has(a.roleOrEmployee()):
			s.fail(c, errs.E(errs.Forbidden, "This page is for the %s role. If you need it, ask your administrator to add you to the right group.", a.roleOrEmployee()))
			return
		}
		c.Next()
	}
}

// actAsOwner makes a token's principal the person who created the token, with their current
// roles. A token made by no one (by the system) cannot act for anyone.
func (s *Server) actAsOwner(c *gin.Context, p *principal) bool {
	if p.User != nil {
		return true
	}
	if p.Token.CreatedBy == nil {
		s.fail(c, errs.E(errs.Forbidden, "This API token has no owner to act for; create one as the person it should act for."))
		return false
	}
	u, err := s.auth.UserByID(c.Request.Context(), *p.Token.CreatedBy)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			err = errs.E(errs.Forbidden, "The person who created this API token is no longer known.")
		}
		s.fail(c, err)
		return false
	}
	p.User, p.Roles = &u, u.Roles()
	return true
}
