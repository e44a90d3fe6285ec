// Package portal is Paved's web tier: the Gin router, its middleware, the HTML pages and the
// JSON API. Handlers stay thin: they parse input, call one domain function and render the result;
// errors are turned into status codes in one place (respond.go).
package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/web"
)

// Check is one dependency that /readyz reports on.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are what the portal is built from; cmd/paved wires them.
type Deps struct {
	Config *config.Config
	Logger *slog.Logger
	DB     *db.DB
	Views  *web.Renderer
	// Collectors are registered on /metrics beside the portal's own (the job runner's).
	Collectors []prometheus.Collector
	// Checks are probed by /readyz besides the database.
	Checks []Check
	// Mount adds routes owned by someone else (the dev identity provider) before the catch-all.
	Mount func(*gin.Engine)
	// Auth is the session and token store; RP signs people in (nil: sign-in not configured).
	Auth  *auth.Service
	RP    *auth.RP
	Roles auth.RoleMapping
	// IndexLag counts changes not yet in the search index, for /readyz.
	IndexLag func(ctx context.Context) (int, error)
	// Discovery is the imported usage (nil in tests that need none).
	Discovery *discovery.Store
	// Catalog is the app catalogue (nil in tests that need none).
	Catalog *catalog.Service
	// Requests is the request workflow (nil in tests that need none).
	Requests *requests.Service
	// Actions carries decisions to the identity providers (nil: no Actions pages).
	Actions *actions.Service
}

// Server is the HTTP handler of the portal.
type Server struct {
	cfg             *config.Config
	log             *slog.Logger
	db              *db.DB
	views           *web.Renderer
	checks          []Check
	indexLag        func(ctx context.Context) (int, error)
	metrics         *metrics
	formActionExtra string
	auth            *auth.Service
	rp              *auth.RP
	roles           auth.RoleMapping
	catalog         *catalog.Service
	requests        *requests.Service
	discovery       *discovery.Store
	actions         *actions.Service
	nav             []navEntry
	engine          *gin.Engine
	handler         http.Handler
}

// New builds the router with its middleware and routes.
func New(d Deps) (*Server, error) {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{
		cfg:       d.Config,
		log:       d.Logger,
		db:        d.DB,
		views:     d.Views,
		metrics:   newMetrics(),
		auth:      d.Auth,
		rp:        d.RP,
		roles:     d.Roles,
		catalog:   d.Catalog,
		requests:  d.Requests,
		discovery: d.Discovery,
		actions:   d.Actions,
		indexLag:  d.IndexLag,
	}
	for _, c := range d.Collectors {
		if err := s.metrics.reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	if d.RP != nil {
		s.formActionExtra = d.RP.ProviderOrigin()
	}
	s.checks = append([]Check{{Name: "database", Check: d.DB.Ping}}, d.Checks...)

	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.RedirectTrailingSlash = true
	// Paved sits behind at most a known proxy; never trust client-supplied forwarding headers
	// unless the operator configures it (a later setting).
	_ = e.SetTrustedProxies(nil)
	e.Use(requestID(), s.metrics.observe, accessLog(s.log), s.recovery(), s.securityHeaders(), s.bodyLimit(s.cfg.MaxBodyBytes, s.cfg.MaxUploadBytes), s.checkPath(), s.identify())
	e.NoRoute(func(c *gin.Context) {
		s.fail(c, errs.E(errs.NotFound, "There is nothing at this address. It may have moved, or the link may be mistyped."))
	})
	e.NoMethod(func(c *gin.Context) {
		s.fail(c, errs.E(codeMethodNotAllowed, "This address does not accept %s requests.", c.Request.Method))
	})
	s.engine = e
	s.routes()
	s.nav = s.buildNav()
	if d.Mount != nil {
		d.Mount(e)
	}

	// Cross-site state-changing requests are refused before any handler runs.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))
	s.handler = cop.Handler(e)
	return s, nil
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Engine exposes the router to tests that list its routes.
func (s *Server) Engine() *gin.Engine { return s.engine }

// page fills the layout's view model for this request: who is signed in, what they may see,
// and any message left for them by the previous request.
func (s *Server) page(c *gin.Context, title string) web.Page {
	p := web.Page{
		Title:     title,
		DevMode:   s.cfg.Dev,
		RequestID: RequestIDOf(c),
		Path:      auth.SafeReturnPath(c.Request.URL.RequestURI()),
		Flashes:   s.takeFlashes(c),
	}
	if pr := principalOf(c); pr != nil && pr.User != nil {
		roles := make([]string, 0, len(pr.Roles))
		for _, r := range pr.Roles {
			roles = append(roles, string(r))
		}
		p.User = &web.UserView{Name: pr.User.DisplayName(), Email: pr.User.Email, Roles: roles}
		p.Nav = s.navFor(c, pr.Roles, pr.User.ID)
	}
	return p
}

// denyCrossOrigin answers requests refused by the cross-origin protection: JSON for API
// clients, as every other API error, and plain text for browsers.
func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("X-Request-Id")
	if !validRequestID(id) {
		id = newRequestID()
	}
	s.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "request_id", id)
	const msg = "This request came from another site. Paved only accepts changes made from its own pages; reload the page and try again."
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Request-Id", id)
	if requestWantsJSON(r) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(APIError{Error: APIErrorBody{Code: errs.Forbidden, Message: msg, RequestID: id}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte("Forbidden: " + msg + "\n"))
}

// Shutdown-friendly server settings: slow clients cannot hold connections open forever.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 60 * time.Second
	writeTimeout      = 120 * time.Second
	idleTimeout       = 120 * time.Second
)

// HTTPServer returns an http.Server for addr with sane timeouts.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
