package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
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
	// Read-only until an admin allows actions, and back.
	if p := br.get(env.base + "/admin/sources"); !strings.Contains(p.body, "read-only") || !strings.Contains(p.body, "Allow actions") {
		t.Errorf("a new source is not shown read-only")
	}
	if p := br.post(env.base+"/admin/sources/1/actions", url.Values{"actions": {"true"}}); !strings.Contains(p.body, "Actions allowed") || !strings.Contains(p.body, "Make read-only") {
		t.Errorf("allow actions: %d", p.status)
	}
	if src, err := discovery.NewStore(env.db).Source(t.Context(), 1); err != nil || !src.Actions {
		t.Errorf("source after allowing actions: %+v, %v", src, err)
	}
	if p := br.post(env.base+"/admin/sources/1/actions", url.Values{"actions": {"false"}}); !strings.Contains(p.body, "made read-only") {
		t.Errorf("make read-only: %d", p.status)
	}
	if p := br.post(env.base+"/admin/sources/99/actions", url.Values{"actions": {"true"}}); p.status != http.StatusNotFound {
		t.Errorf("unknown source: %d", p.status)
	}
	p = br.post(env.base+"/admin/sources", url.Values{"kind": {"okta"}, "name": {"acting okta"}, "base_url": {"https://acting.okta.com"}, "secret": {"t"}, "actions": {"true"}})
	if p.status != 200 {
		t.Fatalf("create acting source: %d", p.status)
	}
	list, _ := discovery.NewStore(env.db).Sources(t.Context())
	for _, s := range list {
		if s.Actions != (s.Name == "acting okta") {
			t.Errorf("source %q actions = %v", s.Name, s.Actions)
		}
	}
}

// TestDiscoveryMergeSplitAPI: one app across sources in the API, the privacy threshold on the
// merged number of people, and merge and split with their refusals.
func TestDiscoveryMergeSplitAPI(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	ctx := t.Context()
	_, writer, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "sync", Scopes: []string{"discovery:write", "discovery:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body any) (int, map[string]any) {
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, env.base+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+writer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	// Three people use Box, each through a different source: no source alone reaches the
	// privacy threshold of 3, the app does.
	day := time.Now().UTC().AddDate(0, 0, -1)
	csv := "time,user,app,domain\n" + day.Format(time.RFC3339) + ",a@example.com,Box,box.com\n" +
		day.Format(time.RFC3339) + ",b@example.com,Boxy Notes,\n" + day.Format(time.RFC3339) + ",c@example.com,Boxy Notes,\n"
	okta := `[{"uuid":"u1","published":"` + day.Format("2006-01-02T15:04:05.000Z") + `","eventType":"user.authentication.sso","actor":{"id":"00u2","alternateId":"b@example.com"},"outcome":{"result":"SUCCESS"},"target":[{"id":"0oaBox","type":"AppInstance","displayName":"Box"}]},` +
		`{"uuid":"u2","published":"` + day.Format("2006-01-02T15:04:05.000Z") + `","eventType":"user.authentication.sso","actor":{"id":"00u3","alternateId":"c@example.com"},"outcome":{"result":"SUCCESS"},"target":[{"id":"0oaBox","type":"AppInstance","displayName":"Box"}]}]`
	st := discovery.NewStore(env.db)
	for _, l := range []struct{ format, body string }{{"csv", csv}, {"okta", okta}} {
		if _, err := st.Import(ctx, audit.System, l.format, "x", strings.NewReader(l.body)); err != nil {
			t.Fatal(err)
		}
	}
	box, _ := st.AppOfIdentifier(ctx, "domain:box.com")
	notes, _ := st.AppOfIdentifier(ctx, "name:boxy notes")
	code, got := call("GET", fmt.Sprintf("/api/v1/discovery/apps/%d", box), nil)
	if code != 200 || got["users_all"] != float64(3) || got["counts_hidden"] == true {
		t.Fatalf("Box: %d %v", code, got)
	}
	if sources, _ := got["sources"].([]any); len(sources) != 2 {
		t.Errorf("Box's breakdown: %v", got["sources"])
	}
	// Refusals: itself 400, an unknown app 404, an identifier the app lacks 400, its only one 409.
	for _, c := range []struct {
		path string
		body any
		want int
	}{
		{fmt.Sprintf("/api/v1/discovery/apps/%d/merge", box), map[string]any{"into": box}, 400},
		{fmt.Sprintf("/api/v1/discovery/apps/%d/merge", box), map[string]any{"into": 424242}, 404},
		{"/api/v1/discovery/apps/424242/merge", map[string]any{"into": box}, 404},
		{"/api/v1/discovery/apps/abc/merge", map[string]any{"into": box}, 404},
		{fmt.Sprintf("/api/v1/discovery/apps/%d/split", box), map[string]any{"identifier": "domain:nope.example"}, 400},
		{fmt.Sprintf("/api/v1/discovery/apps/%d/split", notes), map[string]any{"identifier": "name:boxy notes"}, 409},
	} {
		if code, body := call("POST", c.path, c.body); code != c.want {
			t.Errorf("POST %s %v: %d %v, want %d", c.path, c.body, code, body, c.want)
		}
	}
	code, got = call("POST", fmt.Sprintf("/api/v1/discovery/apps/%d/merge", notes), map[string]any{"into": box})
	if code != 200 || got["id"] != float64(box) || got["users_all"] != float64(3) || got["identifier_count"] != float64(3) {
		t.Fatalf("merge: %d %v", code, got)
	}
	code, got = call("POST", fmt.Sprintf("/api/v1/discovery/apps/%d/split", box), map[string]any{"identifier": "name:boxy notes"})
	// Boxy Notes alone has 2 people: under the threshold, a token sees no counts.
	if code != 201 || got["name"] != "Boxy Notes" || got["counts_hidden"] != true || got["users_all"] != float64(0) {
		t.Fatalf("split: %d %v", code, got)
	}
	notesAgain := int64(got["id"].(float64))
	if a, _ := st.App(ctx, notesAgain); a.UsersAll != 2 {
		t.Errorf("the split app has %d people, want 2", a.UsersAll)
	}
	code, got = call("GET", "/api/v1/discovery/overview", nil)
	if ov, _ := got["overview"].(map[string]any); code != 200 || ov["people_using_shadow_it"] != float64(3) || ov["shadow_apps_in_use"] != float64(2) {
		t.Errorf("overview: %d %v", code, got)
	}

	// By department, with the privacy threshold (3) per department: all three are in Sales
	// (the directory of an IdP says so); Boxy Notes' two people are too few to show.
	if _, err := st.SyncDirectory(ctx, audit.System, "okta:1", []discovery.Person{
		{Email: "a@example.com", Department: "Sales"}, {Email: "b@example.com", Department: "Sales"}, {Email: "c@example.com", Department: "Sales"}}); err != nil {
		t.Fatal(err)
	}
	code, got = call("GET", "/api/v1/discovery/overview", nil)
	if depts, _ := got["departments"].([]any); code != 200 || len(depts) != 1 || fmt.Sprint(depts[0]) != "map[department:Sales people_using_shadow_it:3 shadow_apps_in_use:2]" {
		t.Errorf("overview by department: %d %v", code, got["departments"])
	}
	code, got = call("GET", fmt.Sprintf("/api/v1/discovery/apps/%d/departments", box), nil)
	if depts, _ := got["departments"].([]any); code != 200 || got["min_users"] != float64(3) || len(depts) != 1 || fmt.Sprint(depts[0]) != "map[department:Sales users_30d:3 users_all:3]" {
		t.Errorf("Box by department: %d %v", code, got)
	}
	code, got = call("GET", fmt.Sprintf("/api/v1/discovery/apps/%d/departments", notesAgain), nil)
	if depts, _ := got["departments"].([]any); code != 200 || len(depts) != 1 || fmt.Sprint(depts[0]) != "map[counts_hidden:true department:Sales users_30d:0 users_all:0]" {
		t.Errorf("Boxy Notes by department: %d %v", code, got)
	}
	if _, err := st.SyncDirectory(ctx, audit.System, "okta:1", []discovery.Person{
		{Email: "a@example.com", Department: "Sales"}, {Email: "b@example.com", Department: "Legal"}, {Email: "c@example.com", Department: "Legal"}}); err != nil {
		t.Fatal(err)
	}
	code, got = call("GET", "/api/v1/discovery/overview", nil)
	if depts, _ := got["departments"].([]any); code != 200 || len(depts) != 2 || fmt.Sprint(depts) != "[map[counts_hidden:true department:Legal people_using_shadow_it:0 shadow_apps_in_use:0] map[counts_hidden:true department:Sales people_using_shadow_it:0 shadow_apps_in_use:0]]" {
		t.Errorf("overview by small departments: %d %v", code, got["departments"])
	}
	if code, _ := call("GET", "/api/v1/discovery/apps/424242/departments", nil); code != 404 {
		t.Errorf("departments of an unknown app: %d", code)
	}
}

// TestStartReviewFromDiscovery: one step from a discovered app to a request in review, whose
// demand counts the people who already use it.
func TestStartReviewFromDiscovery(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	csv := "time,user,app,domain\n"
	for _, u := range []string{"a", "b", "c", "d"} {
		csv += day + "," + u + "@example.com,Pitchly,pitchly.example\n"
	}
	st := discovery.NewStore(env.db)
	if _, err := st.Import(t.Context(), audit.System, "csv", "p.csv", strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	id, _ := st.AppOfIdentifier(t.Context(), "domain:pitchly.example")
	sec := env.browser()
	sec.signInDev(env.base, "/discovery", "devidp-security")
	if p := sec.post(env.base+discoveredAppURL(id)+"/review", url.Values{}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "field-error") {
		t.Errorf("without a category: %d", p.status)
	}
	p := sec.post(env.base+discoveredAppURL(id)+"/review", url.Values{"category": {"productivity"}})
	if p.status != 200 || !strings.Contains(p.body, "is in review") {
		t.Fatalf("start a review: %d", p.status)
	}
	app, err := env.catalog.App(t.Context(), "pitchly")
	if err != nil || app.Status != "under_review" {
		t.Fatalf("Pitchly in the catalogue: %+v, %v", app, err)
	}
	reqs, err := env.requests.OpenRequests(t.Context(), requests.StateInReview)
	if err != nil || len(reqs) != 1 || reqs[0].AppName != "Pitchly" {
		t.Fatalf("requests in review: %+v, %v", reqs, err)
	}
	r, err := env.requests.Request(t.Context(), reqs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.ActiveUsers(t.Context(), r.AppID, r.AppName); err != nil || n != 4 {
		t.Errorf("the request's active users = %d (%v), want the 4 people who use it", n, err)
	}
	if demand, err := env.requests.Demand(t.Context(), r, 0); err != nil || demand <= requests.DemandScore(0, 0, 0) {
		t.Errorf("demand = %d (%v): the people who use it do not count", demand, err)
	}
	if a, _ := st.App(t.Context(), id); a.CatalogueSlug() != "pitchly" || a.Triage != discovery.TriageReviewing {
		t.Errorf("the discovered app after starting a review: %+v", a)
	}

	// Triage and assign several apps at once from the list.
	more := "time,user,app,domain\n" + day + ",a@example.com,Tool One,one.example\n" + day + ",a@example.com,Tool Two,two.example\n"
	if _, err := st.Import(t.Context(), audit.System, "csv", "m.csv", strings.NewReader(more)); err != nil {
		t.Fatal(err)
	}
	one, _ := st.AppOfIdentifier(t.Context(), "domain:one.example")
	two, _ := st.AppOfIdentifier(t.Context(), "domain:two.example")
	if p := sec.post(env.base+"/discovery/bulk", url.Values{"triage": {"ignored"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Tick at least one app") {
		t.Errorf("bulk without apps: %d", p.status)
	}
	p = sec.post(env.base+"/discovery/bulk", url.Values{"ids": {fmt.Sprint(one), fmt.Sprint(two)}, "action": {"triage"}, "triage": {"ignored"}, "assignee": {"sam@example.com"}})
	if p.status != 200 || !strings.Contains(p.body, "Triage saved for 2 apps") {
		t.Errorf("bulk triage: %d", p.status)
	}
	for _, x := range []int64{one, two} {
		if a, _ := st.App(t.Context(), x); a.Triage != discovery.TriageIgnored || a.Assignee != "sam@example.com" {
			t.Errorf("after bulk triage: %+v", a)
		}
	}
}

// TestDiscoveryRiskSort: sorted by risk, the least safe assessed app comes first and apps not
// assessed yet last.
func TestDiscoveryRiskSort(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := t.Context()
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	csv := "time,user,app,domain\n" + day + ",a@example.com,Slack,slack.com\n" + day + ",a@example.com,WeTransfer,wetransfer.com\n" +
		day + ",b@example.com,WeTransfer,wetransfer.com\n" + day + ",a@example.com,Unknown Tool,unknown-tool.example\n"
	if _, err := discovery.NewStore(env.db).Import(ctx, audit.System, "csv", "r.csv", strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	var safer, riskier []catalog.RiskAnswer
	for i, f := range catalog.Factors {
		safer = append(safer, catalog.RiskAnswer{Factor: f.Key, Answer: catalog.AnswerYes})
		if i%3 == 0 {
			riskier = append(riskier, catalog.RiskAnswer{Factor: f.Key, Answer: catalog.AnswerYes})
		} else {
			riskier = append(riskier, catalog.RiskAnswer{Factor: f.Key, Answer: catalog.AnswerNo})
		}
	}
	if err := env.catalog.SaveRiskProfile(ctx, audit.System, "slack", safer); err != nil {
		t.Fatal(err)
	}
	if err := env.catalog.SaveRiskProfile(ctx, audit.System, "wetransfer", riskier); err != nil {
		t.Fatal(err)
	}
	sec := env.browser()
	sec.signInDev(env.base, "/discovery", "devidp-security")
	p := sec.get(env.base + "/api/v1/discovery/apps?sort=risk&shadow=false")
	var list struct {
		Apps []struct {
			Name  string   `json:"name"`
			Score *float64 `json:"risk_score"`
		} `json:"apps"`
	}
	if err := json.Unmarshal([]byte(p.body), &list); err != nil || len(list.Apps) != 3 {
		t.Fatalf("list: %d %v %s", p.status, err, p.body)
	}
	got := []string{list.Apps[0].Name, list.Apps[1].Name, list.Apps[2].Name}
	if got[0] != "WeTransfer" || got[1] != "Slack" || got[2] != "Unknown Tool" || list.Apps[2].Score != nil || *list.Apps[0].Score >= *list.Apps[1].Score {
		t.Errorf("sorted by risk: %v", got)
	}
	if page := sec.get(env.base + "/discovery?sort=risk&all=1"); !strings.Contains(page.body, "not assessed") || strings.Index(page.body, "WeTransfer") > strings.Index(page.body, "Unknown Tool") {
		t.Errorf("the dashboard sorted by risk: %d", page.status)
	}
}

// TestPeopleDirectoryInThePortal: signing in records a person's groups; security uploads a
// directory export and sees an app's people by department, small departments without counts.
func TestPeopleDirectoryInThePortal(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	sec := env.browser()
	sec.signInDev(env.base, "/discovery", "devidp-security")
	st := discovery.NewStore(env.db)
	me, err := st.PersonByEmail(t.Context(), "security@example.com")
	if err != nil || len(me.Groups) == 0 {
		t.Fatalf("the directory after signing in: %+v, %v", me, err)
	}
	dir := t.TempDir()
	people := filepath.Join(dir, "people.csv")
	rows := "email,name,department,groups\n"
	for _, u := range []string{"a", "b", "c"} {
		rows += u + "@example.com," + u + ",Design,design\n"
	}
	rows += "d@example.com,d,Legal,legal\nbad,x,Legal,\n"
	if err := os.WriteFile(people, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	p := sec.upload(env.base+"/discovery/people", people, "")
	if p.status != 200 || !strings.Contains(p.body, "<dt>People saved</dt><dd>4</dd>") || !strings.Contains(p.body, "Line 6: column email") {
		t.Fatalf("upload the directory: %d", p.status)
	}
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app\n"
	for _, u := range []string{"a", "b", "c", "d"} {
		log += day + "," + u + "@example.com,Sketchpad\n"
	}
	if _, err := st.Import(t.Context(), audit.System, "csv", "s.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	id, _ := st.AppOfIdentifier(t.Context(), "name:sketchpad")
	page := sec.get(env.base + discoveredAppURL(id))
	if !strings.Contains(page.body, "By department") || !strings.Contains(page.body, "<td>Design</td><td>3</td><td>3</td>") ||
		!strings.Contains(page.body, `<td>Legal</td><td colspan="2" class="muted">fewer than 3</td>`) {
		t.Errorf("departments on the app page: %d", page.status)
	}
}

// TestConditionsAndFindingsInThePortal: security sets a seat limit of 5 on an app 7 people
// use; the finding appears in the API and on the findings page, and is acknowledged.
func TestConditionsAndFindingsInThePortal(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := t.Context()
	_, writer, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "gov", Scopes: []string{"catalog:write", "discovery:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, env.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+writer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st := discovery.NewStore(env.db)
	if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader("email,department\nu1@example.com,Sales\n")); err != nil {
		t.Fatal(err)
	}
	// The demo catalogue approves Zoom with conditions? Find an app that is.
	slug := ""
	for _, s := range []string{"zoom", "miro", "notion", "figma", "dropbox"} {
		if a, err := env.catalog.App(ctx, s); err == nil && a.Status == catalog.StatusApprovedWithConditions {
			slug = s
			break
		}
	}
	if slug == "" {
		t.Skip("the demo catalogue approves none of the expected apps with conditions")
	}
	for _, c := range []struct {
		body  string
		want  int
		field string
	}{
		{`{"seat_limit": -1}`, 400, "seat_limit"},
		{`{"allowed_groups": ["No Such Team"]}`, 400, "allowed_groups"},
		{`{"forbidden_scopes": ["has space"]}`, 400, "forbidden_scopes"},
	} {
		if code, body := call("PUT", "/api/v1/apps/"+slug+"/conditions", c.body); code != c.want || !strings.Contains(body, c.field) {
			t.Errorf("conditions %s: %d %s", c.body, code, body)
		}
	}
	if code, _ := call("PUT", "/api/v1/apps/slack/conditions", `{"seat_limit": 5}`); code != http.StatusConflict {
		if a, _ := env.catalog.App(ctx, "slack"); a.Status != catalog.StatusApprovedWithConditions {
			t.Errorf("conditions on an app not approved with conditions: %d", code)
		}
	}
	code, body := call("PUT", "/api/v1/apps/"+slug+"/conditions", `{"seat_limit": 5, "allowed_groups": ["Sales"]}`)
	if code != 200 || !strings.Contains(body, `"checked_conditions":{"seat_limit":5,"allowed_groups":["Sales"]}`) {
		t.Fatalf("set conditions: %d %s", code, body)
	}
	app, _ := env.catalog.App(ctx, slug)
	domain := strings.TrimPrefix(app.Website, "https://")
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app,domain\n"
	for i := 1; i <= 7; i++ {
		log += fmt.Sprintf("%s,u%d@example.com,%s,%s\n", day, i, app.Name, domain)
	}
	if _, err := st.Import(ctx, audit.System, "csv", "use.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EvaluateConditions(ctx); err != nil {
		t.Fatal(err)
	}
	code, body = call("GET", "/api/v1/findings?status=open&condition=seat_limit", "")
	if code != 200 || !strings.Contains(body, `"people_count":7`) || strings.Contains(body, "u1@example.com") {
		t.Errorf("findings with a token (no people): %d %s", code, body)
	}
	if code, _ := call("GET", "/api/v1/findings?status=maybe", ""); code != 400 {
		t.Errorf("a bad status filter: %d", code)
	}
	sec := env.browser()
	sec.signInDev(env.base, "/findings", "devidp-security")
	page := sec.get(env.base + "/findings")
	if !strings.Contains(page.body, "Seat limit") || !strings.Contains(page.body, "u7@example.com") || !strings.Contains(page.body, "Allowed people") {
		t.Fatalf("findings page: %d", page.status)
	}
	findings, _ := st.Findings(ctx, discovery.FindingFilter{Kind: "seat_limit"})
	p := sec.post(env.base+fmt.Sprintf("/findings/%d/acknowledge", findings[0].ID), url.Values{"note": {"Buying two seats."}})
	if p.status != 200 || !strings.Contains(p.body, "Acknowledged") {
		t.Errorf("acknowledge: %d", p.status)
	}
	if f, _ := st.Finding(ctx, findings[0].ID); f.Status != discovery.FindingAcknowledged || f.Note != "Buying two seats." {
		t.Errorf("after acknowledging: %+v", f)
	}
}
