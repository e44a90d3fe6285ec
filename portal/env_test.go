package portal

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/auth/devidp"
	"github.com/pavedhq/paved/auth/oidctest"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
	"github.com/pavedhq/paved/internal/testutil"
	"github.com/pavedhq/paved/web"
)

// testEnv is the real portal on a real listener, with a real database and (optionally) a real
// identity provider: the in-process dev provider, or the misbehaving one.
type testEnv struct {
	t    *testing.T
	base string
	srv  *Server
	auth *auth.Service
	db   *db.DB
	idp  *oidctest.Provider

	catalog  *catalog.Service
	requests *requests.Service
	jobs     *jobs.Jobs
}

// newCatalog builds the catalogue and its request workflow with an embedded Bleve index and
// started River jobs, and optionally the seeded demo catalogue, fully indexed.
func newCatalog(t *testing.T, d *db.DB, seed bool) (*catalog.Service, *requests.Service, *jobs.Jobs, *actions.Service) {
	t.Helper()
	ctx := context.Background()
	ix, err := bleveindex.Open(filepath.Join(t.TempDir(), "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	j, err := jobs.New(ctx, d, nil, jobs.Options{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(d, ix, catalog.JobsOutbox{Jobs: j, ResolveIdentifiers: true})
	svc.RegisterJobs(j)
	reqs := requests.NewService(d, svc)
	reqs.RegisterJobs(j)
	disc := discovery.NewStore(d)
	disc.RegisterJobs(j, 0)
	// E-mail goes to a loopback port nobody listens on: the queue shows who was told.
	n := notify.New(notify.Config{SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: 1, From: "Paved <paved@example.com>"}})
	n.Register(j)
	act := actions.New(actions.Deps{DB: d, Jobs: j, Discovery: disc, Catalog: svc, Notifier: n,
		Providers: actions.Providers(&discovery.ProviderHTTP{}), Sources: disc.SourceWithSecret})
	act.RegisterJobs(j)
	if _, err := j.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = j.Stop(sctx)
		j.Close()
	})
	if seed {
		if _, err := svc.Seed(ctx, audit.System, true); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reindex(ctx); err != nil {
			t.Fatal(err)
		}
	} else if err := svc.EnsureCategories(ctx, []catalog.Category{{Slug: "chat", Name: "Chat & Messaging"}, {Slug: "diagramming", Name: "Diagramming & Whiteboards"}}); err != nil {
		t.Fatal(err)
	}
	return svc, reqs, j, act
}

// waitIndexed waits until the background jobs have brought the index up to date.
func (e *testEnv) waitIndexed() {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := catalog.IndexLag(context.Background(), e.jobs)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("index still %d syncs behind", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type envOptions struct {
	provider string // "devidp", "oidctest" or "" for none
	open     func(testing.TB) *db.DB
	// catalog adds the catalogue on an embedded index with running background jobs; seed
	// loads the demo catalogue into it.
	catalog, seed bool
	// config, when set, changes the configuration before the server is built.
	config func(*config.Config)
}

func newEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	if o.open == nil {
		o.open = testutil.SQLite
	}
	d := o.open(t)
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	cfg, _, err := config.Load("test", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = base
	cfg.RoleCommitteeGroups, cfg.RoleSecurityGroups, cfg.RoleAdminGroups = "paved-committee", "paved-security", "paved-admins"
	if o.config != nil {
		o.config(cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	views, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{t: t, base: base, db: d}
	env.auth = auth.NewService(d, auth.Options{IdleTimeout: time.Hour, MaxLifetime: 8 * time.Hour})
	deps := Deps{Config: cfg, Logger: log, DB: d, Views: views, Auth: env.auth,
		Roles: auth.RoleMapping{Committee: []string{"paved-committee"}, Security: []string{"paved-security"}, Admin: []string{"paved-admins"}}}
	oc := auth.OIDCConfig{RedirectURL: base + "/auth/callback", RequireVerifiedEmail: true, Logger: log, Scopes: []string{"openid", "email", "profile"}}
	switch o.provider {
	case "devidp":
		oc.Issuer, oc.ClientID, oc.ClientSecret = base+"/devidp", "paved-test", "test-secret"
		idp, err := devidp.New(context.Background(), devidp.Config{Issuer: oc.Issuer, ClientID: oc.ClientID, ClientSecret: oc.ClientSecret,
			RedirectURIs: []string{oc.RedirectURL}, PostLogoutRedirectURIs: []string{base + "/"}, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		h := gin.WrapH(idp.Handler())
		deps.Mount = func(e *gin.Engine) { e.Any("/devidp/*path", h) }
	case "oidctest":
		env.idp = oidctest.New(t)
		env.idp.AllowRedirect(oc.RedirectURL)
		env.idp.AllowRedirect(base + "/")
		oc.Issuer, oc.ClientID, oc.ClientSecret = env.idp.URL, env.idp.ClientID, env.idp.ClientSecret
	}
	if oc.Issuer != "" {
		deps.RP = auth.NewRP(oc)
	}
	if o.catalog {
		env.catalog, env.requests, env.jobs, deps.Actions = newCatalog(t, d, o.seed)
		deps.Catalog, deps.Requests = env.catalog, env.requests
		env.requests.SetElectorate(env.auth)
		deps.Discovery = discovery.NewStore(d)
		env.requests.SetUsageCounter(deps.Discovery)
		env.catalog.SetGroupDirectory(deps.Discovery)
		deps.IndexLag = func(ctx context.Context) (int, error) { return catalog.IndexLag(ctx, env.jobs) }
		deps.Checks = []Check{{Name: "search", Check: env.catalog.Index().Ping}}
	}
	env.srv, err = New(deps)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config = &http.Server{Handler: env.srv}
	ts.Start()
	t.Cleanup(ts.Close)
	if deps.RP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deps.RP.Discover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// browser is a cookie-keeping HTTP client, like a person's browser without JavaScript.
type browser struct {
	t      *testing.T
	client *http.Client
	// stopAt, when set, stops following redirects at a URL whose path it names.
	stopAt string
}

func (e *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t}
	b.client = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.stopAt != "" && req.URL.Path == b.stopAt {
			return http.ErrUseLastResponse
		}
		if len(via) > 15 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body), header: resp.Header}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values, header ...string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.do(req)
}

var authRequestIDRe = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// signInDev signs in through the dev provider's page as the demo user with subject, starting
// from path, and returns the page the browser ends on.
func (b *browser) signInDev(base, path, subject string) page {
	b.t.Helper()
	login := b.get(base + path)
	m := authRequestIDRe.FindStringSubmatch(login.body)
	if login.status != http.StatusOK || m == nil {
		b.t.Fatalf("expected the dev sign-in page at %s, got %d %s", login.url, login.status, login.body)
	}
	action := login.url.Scheme + "://" + login.url.Host + login.url.Path
	return b.post(action, url.Values{"authRequestID": {m[1]}, "user": {subject}})
}

// sessionFor signs someone in directly (no provider), for tests about what roles may do.
func (e *testEnv) sessionFor(role auth.Role) string {
	e.t.Helper()
	id := auth.Identity{Issuer: "https://idp.test", Subject: "sub-" + string(role), Email: string(role) + "@example.com", Name: "Test " + string(role)}
	roles := auth.RoleSet{role}.Expand()
	_, secret, err := e.auth.SignIn(context.Background(), id, roles, "", auth.ClientInfo{})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}
