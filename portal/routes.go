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
	security = access{Role: auth.RoleSecurity}
	admin    = access{Role: auth.RoleAdmin}
)

// Routes returns the route table.
func (s *Server) routeTable() []route {
	static := gin.WrapH(s.views.StaticHandler())
	routes := []route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/metrics", public, s.metrics.handler()},
		{"GET", "/static/*file", public, static},
		{"HEAD", "/static/*file", public, static},
		{"GET", "/", public, s.home},

		{"GET", "/auth/login", public, s.rateLimited(s.cfg.LoginRateLimit, s.signIn)},
		{"GET", "/auth/callback", public, s.signInCallback},
		{"POST", "/auth/logout", public, s.signOut},

		{"GET", "/account", employee, s.account},
		{"POST", "/account/sessions/end-others", employee, s.endOtherSessions},

		{"GET", "/admin/audit", admin, s.auditPage},
		{"GET", "/admin/audit.csv", admin, s.auditCSV},
		{"GET", "/admin/tokens", admin, s.tokensPage},
		{"POST", "/admin/tokens", admin, s.createToken},
		{"POST", "/admin/tokens/:id/revoke", admin, s.revokeToken},

		{"GET", "/api/v1/me", access{Role: auth.RoleEmployee, Scope: anyScope}, s.apiMe},
		{"GET", "/api/v1/audit", access{Role: auth.RoleAdmin, Scope: auth.ScopeAuditRead}, s.apiAudit},
	}
	if s.catalog != nil {
		routes = append(routes, []route{
			{"GET", "/apps", employee, s.catalogue},
			{"GET", "/apps/new", security, s.newAppForm},
			{"POST", "/apps", security, s.createApp},
			{"GET", "/apps/:slug", employee, s.appPage},
			{"GET", "/apps/:slug/edit", security, s.editAppForm},
			{"POST", "/apps/:slug/edit", security, s.updateApp},
			{"POST", "/apps/:slug/identifiers", security, s.addIdentifier},
			{"POST", "/apps/:slug/identifiers/:id/delete", security, s.removeIdentifier},
			{"POST", "/apps/:slug/alternatives", security, s.setAlternative},
			{"POST", "/apps/:slug/alternatives/:alt/delete", security, s.removeAlternative},
			{"GET", "/apps/:slug/risk", security, s.riskForm},
			{"POST", "/apps/:slug/risk", security, s.saveRisk},
			{"POST", "/apps/:slug/score", security, s.overrideScore},
			{"GET", "/admin/categories", admin, s.categoriesPage},
			{"POST", "/admin/categories", admin, s.saveCategory},
			{"GET", "/admin/risk-weights", admin, s.weightsPage},
			{"POST", "/admin/risk-weights", admin, s.saveWeights},
		}...)
		routes = append(routes, s.requestRoutes()...)
		if s.discovery != nil {
			routes = append(routes, s.discoveryRoutes()...)
			routes = append(routes, s.apiDiscoveryRoutes()...)
			routes = append(routes, s.findingsRoutes()...)
			if s.actions != nil {
				routes = append(routes, s.actionRoutes()...)
			}
		}
		routes = append(routes, s.apiRequestRoutes()...)
	}
	routes = append(routes, s.apiAppRoutes()...)
	return routes
}

func (s *Server) routes() {
	for _, r := range s.routeTable() {
		s.engine.Handle(r.Method, r.Path, s.require(r.Access), s.checkInput, r.Handler)
	}
}
