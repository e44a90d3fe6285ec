package portal

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
)

// upload posts a file to the discovery import form.
func (b *browser) upload(u, file, format string) page {
	b.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("format", format)
	part, _ := w.CreateFormFile("file", filepath.Base(file))
	data, err := os.ReadFile(file)
	if err != nil {
		b.t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, u, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return b.do(req)
}

func TestDiscoveryUploadTriageAndEmployeeGuidance(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	sec := env.browser()
	sec.signInDev(env.base, "/discovery", "devidp-security")
	csv := filepath.Join(t.TempDir(), "proxy.csv")
	rows := "time,user,app,domain\n"
	for i, u := range []string{"employee@example.com", "a@example.com", "b@example.com"} {
		rows += "2026-11-2" + string(rune('0'+i)) + "T10:00:00Z," + u + ",WeTransfer,wetransfer.com\n"
		rows += "2026-11-2" + string(rune('0'+i)) + "T11:00:00Z," + u + ",Gliffy,gliffy.com\n"
	}
	rows += "not a time,x@example.com,Gliffy,gliffy.com\n"
	if err := os.WriteFile(csv, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	p := sec.upload(env.base+"/discovery/import", csv, "auto")
	if p.status != 200 || !strings.Contains(p.body, "proxy.csv: finished") || !strings.Contains(p.body, "Line 8") {
		t.Fatalf("upload: %d\n%s", p.status, p.body)
	}
	again := sec.upload(env.base+"/discovery/import", csv, "csv")
	if !strings.Contains(again.body, "<dt>New events</dt><dd>0</dd>") {
		t.Errorf("re-upload added events")
	}
	dash := sec.get(env.base + "/discovery")
	if !strings.Contains(dash.body, "WeTransfer") || !strings.Contains(dash.body, "Gliffy") {
		t.Fatalf("dashboard lacks the apps: %d", dash.status)
	}
	// WeTransfer matched the catalogue by its domain; Gliffy is new: add it as under review.
	if !strings.Contains(dash.body, `href="/apps/wetransfer"`) {
		t.Error("WeTransfer was not matched to the catalogue")
	}
	st := discovery.NewStore(env.db)
	gliffy, err := st.AppOfIdentifier(t.Context(), "domain:gliffy.com")
	if err != nil {
		t.Fatal(err)
	}
	wetransfer, err := st.AppOfIdentifier(t.Context(), "domain:wetransfer.com")
	if err != nil {
		t.Fatal(err)
	}
	p = sec.post(env.base+discoveredAppURL(gliffy)+"/add", url.Values{"category": {"diagramming"}})
	if p.status != 200 || !strings.Contains(p.body, "is in the catalogue, under review") {
		t.Errorf("add to catalogue: %d", p.status)
	}
	if a, err := env.catalog.App(t.Context(), "gliffy"); err != nil || a.Status != "under_review" {
		t.Errorf("gliffy in the catalogue: %+v, %v", a, err)
	}
	p = sec.post(env.base+discoveredAppURL(wetransfer)+"/triage", url.Values{"triage": {"blocked"}, "note": {"Use Google Drive."}})
	if p.status != 200 || !strings.Contains(p.body, "Triage saved") || !strings.Contains(p.body, "employee@example.com") {
		t.Errorf("triage and the per-user list: %d\n%s", p.status, p.body)
	}
	// Employees never see the dashboard or per-user usage; they see their own guidance.
	emp := env.browser()
	emp.signInDev(env.base, "/auth/login?next=/", "devidp-employee")
	if p := emp.get(env.base + discoveredAppURL(wetransfer)); p.status != http.StatusForbidden {
		t.Errorf("employee on per-user usage: %d", p.status)
	}
	home := emp.get(env.base + "/")
	if !strings.Contains(home.body, "Apps you use that are not approved") || !strings.Contains(home.body, `href="/apps/google-drive"`) {
		t.Errorf("employee home lacks guidance:\n%s", home.body)
	}
}

func TestDiscoveryAPI(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	ctx := t.Context()
	_, writer, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "okta-sync", Scopes: []string{"discovery:write"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, reader, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "bi", Scopes: []string{"discovery:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, token string, body []byte) (int, string) {
		req, _ := http.NewRequest(method, env.base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	fixture, err := os.ReadFile(filepath.Join("..", "discovery", "testdata", "okta", "logs_array.json"))
	if err != nil {
		t.Fatal(err)
	}
	code, body := call("POST", "/api/v1/discovery/imports?name=okta.json", writer, fixture)
	if code != http.StatusCreated || !strings.Contains(body, `"status":"finished"`) || !strings.Contains(body, `"new":136`) {
		t.Fatalf("import: %d %s", code, body)
	}
	if code, _ := call("POST", "/api/v1/discovery/imports", reader, fixture); code != http.StatusForbidden {
		t.Errorf("a read token imported: %d", code)
	}
	if code, body := call("POST", "/api/v1/discovery/imports?format=okta", writer, []byte("\x00\x01binary")); code != http.StatusUnprocessableEntity && code != http.StatusBadRequest {
		t.Errorf("binary body: %d %s", code, body)
	}
	code, body = call("GET", "/api/v1/discovery/apps", reader, nil)
	if code != 200 || !strings.Contains(body, `"counts_hidden":true`) {
		t.Errorf("list with a token: %d %s", code, body[:min(300, len(body))])
	}
	var list struct {
		Apps []struct {
			UsersAll int  `json:"users_all"`
			Hidden   bool `json:"counts_hidden"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Apps) == 0 {
		t.Fatalf("decode: %v", err)
	}
	for _, a := range list.Apps {
		if !a.Hidden && a.UsersAll < 3 {
			t.Errorf("an app used by %d people shows its counts", a.UsersAll)
		}
	}
}

func TestAdminManagesSources(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/admin/sources", "devidp-admin")
	p := br.post(env.base+"/admin/sources", url.Values{"kind": {"okta"}, "name": {"corp okta"}, "base_url": {"https://corp.okta.com"}, "secret": {"s3cret-token"}})
	if p.status != 200 || !strings.Contains(p.body, "corp okta") || strings.Contains(p.body, "s3cret-token") {
		t.Fatalf("create: %d (the token must never be shown)", p.status)
	}
	if p := br.post(env.base+"/admin/sources", url.Values{"kind": {"okta"}, "name": {"corp okta"}, "base_url": {"https://corp.okta.com"}, "secret": {"x"}}); p.status != http.StatusConflict {
		t.Errorf("duplicate name: %d", p.status)
	}
	if p := br.post(env.base+"/admin/sources", url.Values{"kind": {"okta"}, "name": {"plain"}, "base_url": {"http://corp.okta.com"}, "secret": {"x"}}); p.status != http.StatusBadRequest {
		t.Errorf("plain http to a remote host: %d", p.status)
	}
	if p := br.post(env.base+"/admin/sources/1/enabled", url.Values{"enabled": {"false"}}); !strings.Contains(p.body, "Source paused") {
		t.Errorf("pause: %d", p.status)
	}
}
