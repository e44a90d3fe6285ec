package portal

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestSecurityHeaders(t *testing.T) {
	env := newEnv(t, envOptions{})
	p := env.browser().get(env.base + "/")
	if p.status != 200 {
		t.Fatalf("home: %d", p.status)
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "default-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin", "X-Frame-Options": "DENY"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if p.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain http")
	}
	if len(p.header.Get("X-Request-Id")) < 16 {
		t.Errorf("no request id: %q", p.header.Get("X-Request-Id"))
	}
	// HSTS and __Host- cookies once the base URL is https.
	env.srv.cfg.BaseURL = "https://paved.example.com"
	s2, err := New(Deps{Config: env.srv.cfg, Logger: env.srv.log, DB: env.db, Views: env.srv.views, Auth: env.auth})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s2.ServeHTTP(w, httptest.NewRequest("GET", "https://paved.example.com/healthz", nil))
	if !strings.Contains(w.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Errorf("no HSTS over https: %v", w.Header())
	}
	if s2.sessionCookie() != "__Host-paved_session" {
		t.Errorf("session cookie over https = %q", s2.sessionCookie())
	}
}

func TestErrorsAndLimits(t *testing.T) {
	env := newEnv(t, envOptions{})
	br := env.browser()
	if p := br.get(env.base + "/no/such/page"); p.status != 404 || !strings.Contains(p.body, "Page not found") || !strings.Contains(p.body, "request ID") {
		t.Errorf("404 page: %d", p.status)
	}
	if p := br.get(env.base + "/api/v1/nothing"); p.status != 404 {
		t.Errorf("unknown API path: %d", p.status)
	}
	// A body over the limit is refused before any handler reads it.
	big := strings.Repeat("x", int(env.srv.cfg.MaxBodyBytes)+1)
	req, _ := http.NewRequest("POST", env.base+"/auth/logout", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", resp.StatusCode)
	}
}

func TestPanicBecomesCleanErrorPage(t *testing.T) {
	env := newEnv(t, envOptions{})
	env.srv.engine.GET("/boom", func(c *gin.Context) { panic("secret internal detail") })
	for _, accept := range []string{"text/html", "application/json"} {
		req := httptest.NewRequest("GET", "/boom", nil)
		req.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		env.srv.ServeHTTP(w, req)
		body, _ := io.ReadAll(w.Body)
		if w.Code != 500 || strings.Contains(string(body), "secret internal detail") {
			t.Errorf("%s: %d %s", accept, w.Code, body)
		}
		if !strings.Contains(string(body), w.Header().Get("X-Request-Id")) {
			t.Errorf("%s: the answer does not quote the request id", accept)
		}
	}
	// The server is still up.
	if p := env.browser().get(env.base + "/healthz"); p.status != 200 {
		t.Errorf("after a panic /healthz = %d", p.status)
	}
}

func TestReadyzAndMetrics(t *testing.T) {
	env := newEnv(t, envOptions{})
	br := env.browser()
	br.get(env.base + "/")
	br.get(env.base + "/")
	if p := br.get(env.base + "/readyz"); p.status != 200 || !strings.Contains(p.body, `"database":"ok"`) {
		t.Errorf("readyz: %d %s", p.status, p.body)
	}
	m := br.get(env.base + "/metrics")
	if !strings.Contains(m.body, `paved_http_requests_total{method="GET",route="/",status="200"} 2`) {
		t.Errorf("metrics lack the two home page requests:\n%s", m.body)
	}
	if !strings.Contains(m.body, `paved_http_request_duration_seconds_bucket{method="GET",route="/"`) {
		t.Error("metrics lack the latency histogram by route")
	}
	// A failing dependency makes the replica not ready, and says which.
	env.db.Close()
	if p := br.get(env.base + "/readyz"); p.status != 503 || !strings.Contains(p.body, `"database":"failing"`) {
		t.Errorf("readyz with the database closed: %d %s", p.status, p.body)
	}
}

// TestShutdownFinishesInFlightRequests: a request that is being answered when shutdown starts
// still gets its answer, and shutdown waits for it.
func TestShutdownFinishesInFlightRequests(t *testing.T) {
	env := newEnv(t, envOptions{})
	entered, release := make(chan struct{}), make(chan struct{})
	srv, err := New(Deps{Config: env.srv.cfg, Logger: env.srv.log, DB: env.db, Views: env.srv.views, Auth: env.auth,
		Checks: []Check{{Name: "slow", Check: func(ctx context.Context) error { close(entered); <-release; return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(ln.Addr().String())
	go func() { _ = hs.Serve(ln) }()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/readyz")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- hs.Shutdown(context.Background()) }()
	select {
	case <-stopped:
		t.Fatal("shutdown returned while a request was in flight")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if code := <-answered; code != http.StatusOK {
		t.Errorf("in-flight request answered %d", code)
	}
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// API clients get the JSON error body the OpenAPI document promises for every refusal, also
// those the router and the cross-origin protection make before any handler runs.
func TestAPIRefusalsAnswerJSON(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest", catalog: true})
	cases := []struct {
		name, method, path string
		header             map[string]string
		status             int
		code               string
	}{
		{"unknown path", "GET", "/api/v1/nothing", nil, 404, "not_found"},
		{"NUL in a path", "GET", "/api/v1/apps/%00", nil, 404, "not_found"},
		{"wrong method", "PATCH", "/api/v1/me", nil, 405, "method_not_allowed"},
		{"cross-origin", "POST", "/api/v1/apps", map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}, 403, "forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, env.base+tc.path, strings.NewReader("{}"))
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body APIError
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("%d, body is not JSON (%s): %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
			}
			if resp.StatusCode != tc.status || string(body.Error.Code) != tc.code || body.Error.Message == "" || body.Error.RequestID == "" {
				t.Errorf("%d %+v, want %d %s", resp.StatusCode, body, tc.status, tc.code)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	// Browsers still get pages.
	if p := env.browser().get(env.base + "/no/such/page"); p.status != 404 || !strings.Contains(p.body, "Page not found") {
		t.Errorf("404 page: %d", p.status)
	}
}

// Starting sign-ins is limited per client address: past the limit the address gets 429 with
// Retry-After, and no login row is written; another address is not affected.
func TestSignInIsRateLimitedPerAddress(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest"})
	limit := env.srv.cfg.LoginRateLimit
	login := func(addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", env.base+"/auth/login?next=/account", nil)
		req.RemoteAddr = addr + ":1234"
		w := httptest.NewRecorder()
		env.srv.ServeHTTP(w, req)
		return w
	}
	countLogins := func() int {
		var n int
		if err := env.db.GetContext(context.Background(), &n, "SELECT count(*) FROM login_flows"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for i := range limit {
		if w := login("198.51.100.7"); w.Code != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d", i+1, w.Code)
		}
	}
	before := countLogins()
	for range 50 {
		w := login("198.51.100.7")
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
			t.Fatalf("over the limit: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
		}
	}
	if after := countLogins(); after != before {
		t.Errorf("%d login rows written over the limit", after-before)
	}
	if w := login("203.0.113.9"); w.Code != http.StatusSeeOther {
		t.Errorf("another address: %d", w.Code)
	}
}

func TestLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(60)
	l.now = func() time.Time { return now }
	for range 60 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatal("refused within the burst")
		}
	}
	if ok, wait := l.allow("a"); ok || wait <= 0 || wait > time.Second {
		t.Fatalf("61st call: %v, wait %v", ok, wait)
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Error("one token a second at 60 a minute")
	}
}
