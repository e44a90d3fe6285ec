package portal

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/audit"
)

// TestRouteTable proves every route's access rule through the real router: for each route and
// each kind of caller, the answer is allowed, a redirect to sign in, 401 or 403 as the rule
// says. A route added without thought shows up here.
func TestRouteTable(t *testing.T) {
	env := newEnv(t, envOptions{provider: "oidctest", catalog: true})
	sessions := map[auth.Role]string{}
	for _, r := range auth.Roles {
		sessions[r] = env.sessionFor(r)
	}
	// The token with every scope is an admin's, so routes where a token acts as its owner let
	// it in too.
	_, adminUser, err := env.auth.Authenticate(context.Background(), sessions[auth.RoleAdmin])
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := env.auth.CreateToken(context.Background(), audit.Actor{UserID: &adminUser.ID, Name: adminUser.Email}, auth.NewToken{Name: "all", Scopes: scopeNames(auth.Scopes), ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, noScope, err := env.auth.CreateToken(context.Background(), audit.System, auth.NewToken{Name: "narrow", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	routes := env.srv.routeTable()
	if len(routes) != len(env.srv.Engine().Routes()) {
		t.Errorf("route table has %d routes, the router %d: every route must be in the table", len(routes), len(env.srv.Engine().Routes()))
	}
	for _, r := range routes {
		path := paramRe.ReplaceAllString(strings.ReplaceAll(r.Path, "*file", "css/app.css"), "999")
		isAPI := strings.HasPrefix(path, "/api/")
		call := func(cookie, bearer string) int {
			req := httptest.NewRequest(r.Method, env.base+path, nil)
			req.Header.Set("Accept", "text/html")
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "paved_session", Value: cookie})
			}
			if bearer != "" {
				req.Header.Set("Authorization", "Bearer "+bearer)
			}
			w := httptest.NewRecorder()
			env.srv.ServeHTTP(w, req)
			return w.Code
		}
		t.Run(r.Method+" "+r.Path+" "+r.Access.String(), func(t *testing.T) {
			anon := call("", "")
			switch {
			case r.Access.Public:
				if anon == http.StatusUnauthorized || anon == http.StatusForbidden {
					t.Errorf("public route refused a visitor: %d", anon)
				}
				return
			case isAPI || r.Method != http.MethodGet:
				if anon != http.StatusUnauthorized {
					t.Errorf("visitor: %d, want 401", anon)
				}
			default:
				if anon != http.StatusSeeOther {
					t.Errorf("visitor: %d, want 303 to sign in", anon)
				}
			}
			for _, role := range auth.Roles {
				got := call(sessions[role], "")
				allowed := auth.RoleSet{role}.Expand().Has(r.Access.roleOrEmployee())
				refused := got == http.StatusForbidden || got == http.StatusUnauthorized
				if allowed && refused {
					t.Errorf("%s refused: %d", role, got)
				}
				if !allowed && got != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", role, got)
				}
			}
			if isAPI {
				full, narrow := call("", token), call("", noScope)
				if r.Access.Scope == "" && full != http.StatusForbidden {
					t.Errorf("token on a session-only route: %d, want 403", full)
				}
				if r.Access.Scope != "" && (full == http.StatusForbidden || full == http.StatusUnauthorized) {
					t.Errorf("token with every scope refused: %d", full)
				}
				if r.Access.Scope != "" && r.Access.Scope != anyScope && r.Access.Scope != auth.ScopeCatalogRead && narrow != http.StatusForbidden {
					t.Errorf("token without %s: %d, want 403", r.Access.Scope, narrow)
				}
			}
		})
	}
}

var paramRe = regexp.MustCompile(`:[a-z]+`)

func scopeNames(s []auth.Scope) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return out
}

func TestAPITokensThroughTheRouter(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	br.signInDev(env.base, "/admin/tokens", "devidp-admin")
	// Invalid input is a field error on the form, and nothing is written.
	p := br.post(env.base+"/admin/tokens", map[string][]string{"name": {""}, "expires": {"30"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "field-error") || !strings.Contains(p.body, "Choose at least one scope") {
		t.Fatalf("invalid form: %d", p.status)
	}
	p = br.post(env.base+"/admin/tokens", map[string][]string{"name": {"reader"}, "scopes": {"catalog:read"}, "expires": {"30"}})
	secret := between(p.body, `id="new-secret" type="text" readonly value="`, `"`)
	if p.status != 200 || !strings.HasPrefix(secret, "pvd_") {
		t.Fatalf("create: %d, secret %q", p.status, secret)
	}
	if strings.Contains(br.get(env.base+"/admin/tokens").body, secret) {
		t.Error("the secret is shown again after creation")
	}
	api := func(path, tok string) (int, string) {
		req, _ := http.NewRequest("GET", env.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := api("/api/v1/me", secret); code != 200 || !strings.Contains(body, `"reader"`) {
		t.Fatalf("/api/v1/me with the token: %d %s", code, body)
	}
	if code, body := api("/api/v1/audit", secret); code != http.StatusForbidden || !strings.Contains(body, "audit:read") {
		t.Errorf("out-of-scope token: %d %s", code, body)
	}
	if code, _ := api("/api/v1/me", "pvd_made-up"); code != http.StatusUnauthorized {
		t.Errorf("unknown token: %d", code)
	}
	toks, _ := env.auth.Tokens(context.Background())
	if p := br.post(env.base+"/admin/tokens/"+itoa(toks[0].ID)+"/revoke", nil); p.status != 200 || !strings.Contains(p.body, "revoked") {
		t.Fatalf("revoke: %d", p.status)
	}
	if code, body := api("/api/v1/me", secret); code != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Errorf("revoked token: %d %s", code, body)
	}
	// The admin's own audit trail shows both actions.
	if p := br.get(env.base + "/api/v1/audit?object_type=api_token"); p.status != 200 || !strings.Contains(p.body, "token.revoke") || !strings.Contains(p.body, "token.create") {
		t.Errorf("audit: %d %s", p.status, p.body)
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAuditLogPageAndCSV(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	br := env.browser()
	br.signInDev(env.base, "/admin/audit", "devidp-admin")
	br.post(env.base+"/admin/tokens", map[string][]string{"name": {"=HYPERLINK(\"x\")"}, "scopes": {"audit:read"}, "expires": {"7"}})
	p := br.get(env.base + "/admin/audit?action=token.create")
	if p.status != 200 || !strings.Contains(p.body, "token.create") || strings.Contains(p.body, "user.sign_in") {
		t.Fatalf("filtered page: %d", p.status)
	}
	csvPage := br.get(env.base + "/admin/audit.csv?object_type=api_token")
	if csvPage.status != 200 || !strings.HasPrefix(csvPage.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", csvPage.status, csvPage.header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSpace(csvPage.body), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,time,actor,action") || !strings.Contains(lines[1], "token.create") {
		t.Errorf("csv rows = %q", lines)
	}
	if p := br.get(env.base + "/admin/audit?since=yesterday"); p.status != 400 {
		t.Errorf("bad date: %d", p.status)
	}
}
