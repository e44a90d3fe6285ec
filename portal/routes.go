package portal

import (
	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
)

// route is one entry of the route table: every route states what it requires, and the table
// test proves each one refuses everybody else.
type route struct {
	Method, Path string
	Access       access
	Handler      gin.HandlerFunc
}

var (
	public   = access{Public: true}
	employee = access{Role: auth.RoleEmployee}
	admin    = access{Role: auth.RoleAdmin}
)

// Routes returns the route table.
func (s *Server) routeTable() []route {
	static := gin.WrapH(s.views.StaticHandler())
	return []route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/metrics", public, s.metrics.handler()},
		{"GET", "/static/*file", public, static},
		{"HEAD", "/static/*file", public, static},
		{"GET", "/", public, s.home},

		{"GET", "/auth/login", public, s.signIn},
		{"GET", "/auth/callback", public, s.signInCallback},
		{"POST", "/auth/logout", public, s.signOut},

		{"GET", "/account", employee, s.account},
		{"POST", "/account/sessions/end-others", employee, s.endOtherSessions},

		{"GET", "/admin/tokens", admin, s.tokensPage},
		{"POST", "/admin/tokens", admin, s.createToken},
		{"POST", "/admin/tokens/:id/revoke", admin, s.revokeToken},

		{"GET", "/api/v1/me", access{Role: auth.RoleEmployee, Scope: anyScope}, s.apiMe},
		{"GET", "/api/v1/audit", access{Role: auth.RoleAdmin, Scope: auth.ScopeAuditRead}, s.apiAudit},
	}
}

func (s *Server) routes() {
	for _, r := range s.routeTable() {
		s.engine.Handle(r.Method, r.Path, s.require(r.Access), r.Handler)
	}
}
