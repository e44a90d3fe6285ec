package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

// Control characters, direction overrides and overlong values are refused with a field error
// before they reach a database, so SQLite and PostgreSQL (which refuses NUL with an internal
// error) answer alike; such paths name nothing and answer 404.
func TestControlCharactersAnswerAlikeOnBothDatabases(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			env := newEnv(t, envOptions{catalog: true, open: b.Open})
			if _, err := env.catalog.CreateApp(context.Background(), audit.System, catalog.AppInput{Name: "Slack", Vendor: "Salesforce", Website: "https://slack.com", Category: "chat", Status: "approved"}); err != nil {
				t.Fatal(err)
			}
			security := caller{env: env, cookie: env.sessionFor(auth.RoleSecurity)}
			admin := caller{env: env, cookie: env.sessionFor(auth.RoleAdmin)}
			app := func(name, vendor string) map[string]any {
				return map[string]any{"name": name, "vendor": vendor, "website": "https://x.example", "category": "chat", "status": "approved"}
			}
			bad := []struct {
				name  string
				body  any
				field string
			}{
				{"NUL in a name", app("Evil\x00App", "Acme"), "name"},
				{"escape in a vendor", app("Evil", "Acme\x1b[31m"), "vendor"},
				{"direction override", app("Evil\u202etxt.exe", "Acme"), "name"},
				{"line break in a name", app("Two\nLines", "Acme"), "name"},
				{"vendor of 25,000 characters", app("Evil", strings.Repeat("v", 25000)), "vendor"},
				{"NUL in a field name", map[string]any{"na\x00me": "x"}, "na\x00me"},
			}
			for _, tc := range bad {
				e := security.send(t, "POST", "/api/v1/apps", tc.body).apiError(http.StatusBadRequest)
				if e.Code != "invalid" || e.Fields[tc.field] == "" {
					t.Errorf("%s: %+v, want a field error on %q", tc.name, e, tc.field)
				}
			}
			// A multi-line field keeps its line breaks.
			ok := app("Fine", "Acme")
			ok["description"] = "Two\nlines\tand a tab."
			if r := security.send(t, "POST", "/api/v1/apps", ok); r.status != http.StatusCreated {
				t.Errorf("multi-line description: %d %s", r.status, r.body)
			}
			// Request text and query filters, on behalf of people.
			e := security.send(t, "POST", "/api/v1/apps/slack/access", map[string]any{"use_case": "We need it\x00 badly for the team."}).apiError(http.StatusBadRequest)
			if e.Fields["use_case"] == "" {
				t.Errorf("use case: %+v", e)
			}
			if e := admin.get(t, "/api/v1/audit?actor="+url.QueryEscape("a\x00b")).apiError(http.StatusBadRequest); e.Fields["actor"] == "" {
				t.Errorf("audit filter: %+v", e)
			}
			// Paths.
			for _, p := range []string{"/api/v1/apps/%00", "/api/v1/apps/slack%00", "/api/v1/apps/%E2%80%AEkcals", "/apps/%00"} {
				if r := security.get(t, p); r.status != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", p, r.status)
				}
			}
			// An HTML form: the page says which field.
			br := env.browser()
			br.client.Jar.SetCookies(mustURL(t, env.base), []*http.Cookie{{Name: env.srv.sessionCookie(), Value: security.cookie}})
			p := br.post(env.base+"/apps", map[string][]string{"name": {"Form\x00App"}, "category": {"chat"}, "status": {"approved"}})
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, "name") {
				t.Errorf("form with NUL: %d", p.status)
			}
			var n int
			if err := env.db.GetContext(context.Background(), &n, "SELECT count(*) FROM apps"); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("%d apps in the catalogue, want the two valid ones", n)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
