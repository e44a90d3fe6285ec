package portal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
)

// apiEnv is the portal with a small catalogue and one caller of each kind the API knows.
type apiEnv struct {
	*testEnv
	visitor, employee, committee, security, admin caller
	readToken, writeToken, auditToken             caller
}

// caller is one API client: a session cookie, a bearer token or neither.
type caller struct {
	env           *testEnv
	cookie, token string
}

// apiFixture is the catalogue every API test starts from: six apps, three per category, one
// of each status but two approved.
var apiFixture = []catalog.AppInput{
	{Name: "Slack", Vendor: "Salesforce", Website: "https://slack.com", Description: "Team chat with channels.", Category: "chat", Tags: "chat, messaging", Status: "approved", ListCost: "12.50", ListCostCurrency: "EUR"},
	{Name: "Microsoft Teams", Vendor: "Microsoft", Website: "https://teams.microsoft.com", Description: "Chat and meetings.", Category: "chat", Status: "approved_with_conditions", Conditions: "Internal data only."},
	{Name: "Discord", Vendor: "Discord Inc.", Website: "https://discord.com", Description: "Voice and text chat for communities.", Category: "chat", Status: "not_approved", WhatWouldChange: "SSO and a signed DPA."},
	{Name: "Miro", Vendor: "Miro", Website: "https://miro.com", Description: "Online whiteboard.", Category: "diagramming", Tags: "whiteboard", Status: "approved"},
	{Name: "Lucidchart", Vendor: "Lucid Software", Website: "https://lucid.co", Description: "Diagrams and flowcharts.", Category: "diagramming", Status: "under_review"},
	{Name: "draw.io", Vendor: "JGraph", Website: "https://drawio.com", Description: "Diagram editor.", Category: "diagramming", Status: "retired"},
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	env := newEnv(t, envOptions{catalog: true})
	ctx := context.Background()
	for _, in := range apiFixture {
		if _, err := env.catalog.CreateApp(ctx, audit.System, in); err != nil {
			t.Fatal(err)
		}
	}
	env.waitIndexed()
	e := &apiEnv{testEnv: env, visitor: caller{env: env}}
	sessions := map[auth.Role]*caller{auth.RoleEmployee: &e.employee, auth.RoleCommittee: &e.committee, auth.RoleSecurity: &e.security, auth.RoleAdmin: &e.admin}
	for role, c := range sessions {
		*c = caller{env: env, cookie: env.sessionFor(role)}
	}
	for name, c := range map[string]*caller{"reader": &e.readToken, "writer": &e.writeToken, "auditor": &e.auditToken} {
		scope := map[string]auth.Scope{"reader": auth.ScopeCatalogRead, "writer": auth.ScopeCatalogWrite, "auditor": auth.ScopeAuditRead}[name]
		_, secret, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: name, Scopes: []string{string(scope)}, ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		*c = caller{env: env, token: secret}
	}
	return e
}

// apiResponse is an answer of the API.
type apiResponse struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

// decode reads the body into v, failing the test if it is not JSON.
func (r apiResponse) decode(v any) {
	r.t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		r.t.Fatalf("Content-Type %q, want JSON; body %s", ct, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.body, err)
	}
}

// apiError returns the error body, failing the test unless the status is want.
func (r apiResponse) apiError(want int) APIErrorBody {
	r.t.Helper()
	if r.status != want {
		r.t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	var e APIError
	r.decode(&e)
	if e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
		r.t.Errorf("error body lacks code, message or request id: %s", r.body)
	}
	return e.Error
}

func (c caller) do(t *testing.T, method, path, contentType string, body io.Reader) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, c.env.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: c.env.srv.sessionCookie(), Value: c.cookie})
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{t: t, status: resp.StatusCode, header: resp.Header, body: b}
}

func (c caller) get(t *testing.T, path string) apiResponse {
	t.Helper()
	return c.do(t, http.MethodGet, path, "", nil)
}

// send sends v as JSON; a string is sent as it is, to test what the API does with bad JSON.
func (c caller) send(t *testing.T, method, path string, v any) apiResponse {
	t.Helper()
	b, ok := v.(string)
	if !ok {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		b = string(raw)
	}
	return c.do(t, method, path, "application/json", strings.NewReader(b))
}

func (e *apiEnv) list(t *testing.T, query string) apiAppList {
	t.Helper()
	r := e.employee.get(t, "/api/v1/apps?"+query)
	if r.status != http.StatusOK {
		t.Fatalf("list ?%s: %d %s", query, r.status, r.body)
	}
	var out apiAppList
	r.decode(&out)
	return out
}

func (e *apiEnv) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func slugsOf(apps []apiAppSummary) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.Slug
	}
	return out
}

func TestAPIListApps(t *testing.T) {
	e := newAPIEnv(t)

	all := e.list(t, "")
	if all.Total != 6 || len(all.Apps) != 6 || all.Page != 1 || all.PerPage != 20 {
		t.Fatalf("everything: total %d, %d apps, page %d, per_page %d", all.Total, len(all.Apps), all.Page, all.PerPage)
	}
	// Browsing ranks usable apps first.
	for i, a := range all.Apps[:3] {
		if a.Status != catalog.StatusApproved && a.Status != catalog.StatusApprovedWithConditions {
			t.Errorf("app %d is %s (%s), want the usable ones first: %v", i, a.Slug, a.Status, slugsOf(all.Apps))
		}
	}
	wantStatus := map[catalog.Status]int{"approved": 2, "approved_with_conditions": 1, "under_review": 1, "not_approved": 1, "retired": 1}
	for st, n := range wantStatus {
		if all.Facets.Status[st] != n {
			t.Errorf("status facet %s = %d, want %d (%v)", st, all.Facets.Status[st], n, all.Facets.Status)
		}
	}
	if all.Facets.Category["chat"] != 3 || all.Facets.Category["diagramming"] != 3 {
		t.Errorf("category facets = %v", all.Facets.Category)
	}
	for _, a := range all.Apps {
		if a.Slug == "slack" && (a.Name != "Slack" || a.Vendor != "Salesforce" || a.CategoryLabel != "Chat & Messaging" || !slices.Equal(a.Tags, []string{"chat", "messaging"})) {
			t.Errorf("slack summary = %+v", a)
		}
		if a.Tags == nil {
			t.Errorf("%s: tags is null, want a list", a.Slug)
		}
	}

	// Text search.
	if r := e.list(t, "q=miro"); len(r.Apps) == 0 || r.Apps[0].Slug != "miro" || r.DidYouMean != "" {
		t.Errorf("q=miro: %v, did you mean %q", slugsOf(r.Apps), r.DidYouMean)
	}
	// Nothing found: the closest name, always as a field.
	if r := e.list(t, "q=mmiiro"); r.Total != 0 || r.DidYouMean != "Miro" {
		t.Errorf("q=mmiiro: total %d, did you mean %q; want 0 and Miro", r.Total, r.DidYouMean)
	}
	if r := e.employee.get(t, "/api/v1/apps?q=miro"); !bytes.Contains(r.body, []byte(`"did_you_mean":""`)) {
		t.Errorf("q=miro: no empty did_you_mean in %s", r.body)
	}

	// Status filters, comma-separated or repeated, and the facets follow the filter.
	for _, q := range []string{"status=approved,approved_with_conditions", "status=approved&status=approved_with_conditions"} {
		r := e.list(t, q)
		if r.Total != 3 || len(r.Apps) != 3 {
			t.Errorf("%s: %d of %d, want 3: %v", q, len(r.Apps), r.Total, slugsOf(r.Apps))
		}
		for _, a := range r.Apps {
			if a.Status != catalog.StatusApproved && a.Status != catalog.StatusApprovedWithConditions {
				t.Errorf("%s let %s (%s) through", q, a.Slug, a.Status)
			}
		}
		if r.Facets.Status["not_approved"] != 0 || r.Facets.Status["approved"] != 2 {
			t.Errorf("%s: status facets %v", q, r.Facets.Status)
		}
	}

	// Category filter, combined with a status.
	r := e.list(t, "category=chat")
	if r.Total != 3 || r.Facets.Category["diagramming"] != 0 {
		t.Errorf("category=chat: total %d, facets %v", r.Total, r.Facets.Category)
	}
	for _, a := range r.Apps {
		if a.Category != "chat" {
			t.Errorf("category=chat let %s (%s) through", a.Slug, a.Category)
		}
	}
	if r := e.list(t, "category=diagramming&status=approved"); !slices.Equal(slugsOf(r.Apps), []string{"miro"}) {
		t.Errorf("approved diagramming apps: %v", slugsOf(r.Apps))
	}

	// Paging walks the same order without gaps or repeats; past the end is an empty page.
	var paged []string
	for page := 1; page <= 3; page++ {
		r := e.list(t, "per_page=2&page="+itoa(int64(page)))
		if r.Total != 6 || r.Page != page || r.PerPage != 2 || len(r.Apps) != 2 {
			t.Errorf("page %d: total %d, page %d, per_page %d, %d apps", page, r.Total, r.Page, r.PerPage, len(r.Apps))
		}
		paged = append(paged, slugsOf(r.Apps)...)
	}
	if !slices.Equal(paged, slugsOf(all.Apps)) {
		t.Errorf("pages give %v, the full list %v", paged, slugsOf(all.Apps))
	}
	past := e.employee.get(t, "/api/v1/apps?per_page=2&page=4")
	if past.status != http.StatusOK || !bytes.Contains(past.body, []byte(`"apps":[]`)) || !bytes.Contains(past.body, []byte(`"total":6`)) {
		t.Errorf("past the last page: %d %s", past.status, past.body)
	}

	// Bad parameters are 400 with a field error each.
	for query, fields := range map[string][]string{
		"status=bogus":                       {"status"},
		"status=approved,bogus":              {"status"},
		"page=0":                             {"page"},
		"page=two":                           {"page"},
		"page=99999999999999999":             {"page"},
		"per_page=101":                       {"per_page"},
		"per_page=0":                         {"per_page"},
		"category=video":                     {"category"},
		"q=" + strings.Repeat("x", 201):      {"q"},
		"status=nope&page=-1&category=video": {"status", "page", "category"},
	} {
		got := e.employee.get(t, "/api/v1/apps?"+query).apiError(http.StatusBadRequest)
		if got.Code != "invalid" {
			t.Errorf("?%s: code %s", query, got.Code)
		}
		for _, f := range fields {
			if got.Fields[f] == "" {
				t.Errorf("?%s: no error for %s in %v", query, f, got.Fields)
			}
		}
	}
}

func TestAPIAppDetail(t *testing.T) {
	e := newAPIEnv(t)
	ctx := context.Background()
	// Identifiers and alternatives through the API, the risk review through the service.
	r := e.security.send(t, "POST", "/api/v1/apps/slack/identifiers", map[string]string{"kind": "domain", "value": "https://www.Slack.com/"})
	var id catalog.Identifier
	if r.status != http.StatusCreated {
		t.Fatalf("add identifier: %d %s", r.status, r.body)
	}
	r.decode(&id)
	if id.ID == 0 || id.Kind != catalog.IDDomain || id.Value != "slack.com" {
		t.Errorf("identifier = %+v, want the normalised domain", id)
	}
	r = e.security.send(t, "POST", "/api/v1/apps/discord/alternatives", map[string]string{"alternative": "slack", "note": "Use Slack for team chat."})
	if r.status != http.StatusOK {
		t.Fatalf("set alternative: %d %s", r.status, r.body)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	old, recent := today.AddDate(-2, 0, 0), today.AddDate(0, -1, 0)
	answers := []catalog.RiskAnswer{
		{Factor: "sso", Answer: catalog.AnswerYes, EvidenceURL: "https://slack.com/security", CheckedOn: &old},
		{Factor: "mfa", Answer: catalog.AnswerNo, Note: "Not enforceable on the free plan.", CheckedOn: &recent},
	}
	if err := e.catalog.SaveRiskProfile(ctx, audit.System, "slack", answers); err != nil {
		t.Fatal(err)
	}
	score := 7.5
	if err := e.catalog.OverrideScore(ctx, audit.System, "slack", &score, "Pen test results reviewed by the team."); err != nil {
		t.Fatal(err)
	}

	r = e.readToken.get(t, "/api/v1/apps/slack")
	if r.status != http.StatusOK {
		t.Fatalf("detail: %d %s", r.status, r.body)
	}
	var d apiAppDetail
	r.decode(&d)
	if d.Slug != "slack" || d.Name != "Slack" || d.Website != "https://slack.com" || d.Category != "chat" || d.CategoryLabel != "Chat & Messaging" ||
		d.Status != catalog.StatusApproved || d.ListCost == nil || *d.ListCost != "12.50" || d.ListCostCurrency != "EUR" || !slices.Equal(d.Tags, []string{"chat", "messaging"}) {
		t.Errorf("app fields = %+v", d)
	}
	if len(d.Identifiers) != 1 || d.Identifiers[0].Value != "slack.com" {
		t.Errorf("identifiers = %+v", d.Identifiers)
	}
	if d.Alternatives == nil || len(d.Alternatives) != 0 {
		t.Errorf("slack's alternatives = %#v, want an empty list", d.Alternatives)
	}
	risk := d.Risk
	if !risk.Overridden || risk.Score != 7.5 || risk.OverrideReason != "Pen test results reviewed by the team." || risk.Computed <= 0 || risk.Computed >= 7.5 || risk.Answered != 2 || risk.ReviewedBy != "system" || risk.ReviewedAt == nil {
		t.Errorf("risk = %+v", risk)
	}
	if len(risk.Factors) != len(catalog.Factors) {
		t.Fatalf("%d factors, want every one of the %d", len(risk.Factors), len(catalog.Factors))
	}
	byKey := map[string]apiRiskFactor{}
	var sum float64
	for _, f := range risk.Factors {
		byKey[f.Key] = f
		sum += f.Points
		if f.Group == "" || f.Label == "" || f.WeightLabel == "" || f.Answer == "" {
			t.Errorf("factor %s is missing its group, label, weight or answer: %+v", f.Key, f)
		}
	}
	if sso := byKey["sso"]; sso.Answer != "yes" || sso.Group != "Security" || sso.WeightLabel != "Very high" || sso.Points <= 0 || sso.Points != sso.MaxPoints ||
		sso.EvidenceURL != "https://slack.com/security" || sso.CheckedOn == nil || *sso.CheckedOn != old.Format(time.DateOnly) || !sso.Stale {
		t.Errorf("sso = %+v", sso)
	}
	if mfa := byKey["mfa"]; mfa.Answer != "no" || mfa.Points != 0 || mfa.MaxPoints <= 0 || mfa.Stale || mfa.Note == "" {
		t.Errorf("mfa = %+v", mfa)
	}
	if soc := byKey["soc2_type2"]; soc.Answer != "unknown" || soc.CheckedOn != nil || soc.Points != 0 {
		t.Errorf("an unanswered factor = %+v", soc)
	}
	if diff := sum - risk.Computed; diff > 0.15 || diff < -0.15 {
		t.Errorf("factor points add up to %.2f, the computed score is %.1f", sum, risk.Computed)
	}

	// A not-approved app shows its alternatives and what would change the decision.
	e.employee.get(t, "/api/v1/apps/discord").decode(&d)
	if len(d.Alternatives) != 1 || d.Alternatives[0] != (catalog.Alternative{Slug: "slack", Name: "Slack", Status: "approved", Note: "Use Slack for team chat."}) ||
		d.WhatWouldChange != "SSO and a signed DPA." || d.ListCost != nil || d.Risk.Overridden {
		t.Errorf("discord = %+v", d)
	}
	if !bytes.Contains(e.employee.get(t, "/api/v1/apps/discord").body, []byte(`"list_cost":null`)) {
		t.Error("an app without a cost should say list_cost null")
	}

	// Unknown apps are a JSON 404.
	for _, c := range []caller{e.employee, e.readToken} {
		if got := c.get(t, "/api/v1/apps/no-such-app").apiError(http.StatusNotFound); got.Code != "not_found" || !strings.Contains(got.Message, "no-such-app") {
			t.Errorf("unknown app: %+v", got)
		}
	}
}

// figma is a valid new app.
func figma() map[string]any {
	return map[string]any{
		"name": "Figma", "vendor": "Figma Inc.", "website": "https://figma.com", "description": "Interface design.",
		"category": "diagramming", "tags": []string{"design", "prototyping"}, "status": "approved",
		"max_classification": "internal", "licence_model": "per_user", "list_cost": "15.00", "list_cost_currency": "usd",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(m, kv[i].(string))
		} else {
			m[kv[i].(string)] = kv[i+1]
		}
	}
	return m
}

func TestAPIWriteApps(t *testing.T) {
	e := newAPIEnv(t)
	r := e.security.send(t, "POST", "/api/v1/apps", figma())
	if r.status != http.StatusCreated || r.header.Get("Location") != "/api/v1/apps/figma" {
		t.Fatalf("create: %d, Location %q, %s", r.status, r.header.Get("Location"), r.body)
	}
	var created, got apiAppDetail
	r.decode(&created)
	e.employee.get(t, r.header.Get("Location")).decode(&got)
	if got.Name != "Figma" || got.Status != "approved" || got.ListCost == nil || *got.ListCost != "15.00" || got.ListCostCurrency != "USD" ||
		!slices.Equal(got.Tags, []string{"design", "prototyping"}) || got.MaxClassification != "internal" || got.CategoryLabel != "Diagramming & Whiteboards" {
		t.Errorf("created app = %+v", got)
	}
	if created.Slug != got.Slug || !created.CreatedAt.Equal(got.CreatedAt) {
		t.Errorf("the create answer %+v differs from GET %+v", created, got)
	}
	// The index follows through the outbox: the new app is found.
	e.waitIndexed()
	if r := e.list(t, "q=figma"); len(r.Apps) == 0 || r.Apps[0].Slug != "figma" {
		t.Errorf("search after create: %v", slugsOf(r.Apps))
	}

	// Refused input: the right status, a field error where there is a field, nothing written.
	apps, ids, entries := e.count(t, "apps"), e.count(t, "app_identifiers"), e.count(t, "audit_log")
	other := func(kv ...any) map[string]any { return with(figma(), append([]any{"slug", "other"}, kv...)...) }
	big := `{"name": "` + strings.Repeat("x", int(e.srv.cfg.MaxBodyBytes)) + `"}`
	for _, tt := range []struct {
		name, method, path string
		body               any
		status             int
		field, message     string
	}{
		{"duplicate slug", "POST", "/api/v1/apps", figma(), 409, "slug", ""},
		{"duplicate slug from the name", "POST", "/api/v1/apps", with(figma(), "name", "Slack"), 409, "slug", ""},
		{"invalid URL", "POST", "/api/v1/apps", other("website", "figma dot com"), 400, "website", ""},
		{"unknown category", "POST", "/api/v1/apps", other("category", "video"), 400, "category", ""},
		{"missing name", "POST", "/api/v1/apps", other("name", nil), 400, "name", ""},
		{"bad amount", "POST", "/api/v1/apps", other("list_cost", "12,5.0.1"), 400, "list_cost", ""},
		{"conditions required", "POST", "/api/v1/apps", other("status", "approved_with_conditions"), 400, "conditions", ""},
		{"unknown field", "POST", "/api/v1/apps", other("colour", "purple"), 400, "colour", "Unknown field"},
		{"number for a string", "POST", "/api/v1/apps", other("list_cost", 12.5), 400, "list_cost", ""},
		{"string for a list", "POST", "/api/v1/apps", other("tags", "design, prototyping"), 400, "tags", ""},
		{"comma in a tag", "POST", "/api/v1/apps", other("tags", []string{"design, prototyping"}), 400, "tags", ""},
		{"malformed JSON", "POST", "/api/v1/apps", `{"name": "Other",`, 400, "", "not valid JSON"},
		{"syntax error", "POST", "/api/v1/apps", `{"name": 'Other'}`, 400, "", "not valid JSON"},
		{"not an object", "POST", "/api/v1/apps", `["Other"]`, 400, "", "JSON object"},
		{"null", "POST", "/api/v1/apps", `null`, 400, "", "JSON object"},
		{"empty body", "POST", "/api/v1/apps", ``, 400, "", "empty"},
		{"two objects", "POST", "/api/v1/apps", `{"name": "Other"} {"name": "Another"}`, 400, "", "more than one"},
		{"over the size limit", "POST", "/api/v1/apps", big, 413, "", ""},
		{"replace: invalid URL", "PUT", "/api/v1/apps/figma", with(figma(), "website", "ftp://figma.com"), 400, "website", ""},
		{"replace: taken slug", "PUT", "/api/v1/apps/figma", with(figma(), "slug", "slack"), 409, "slug", ""},
		{"replace: unknown app", "PUT", "/api/v1/apps/no-such-app", figma(), 404, "", "no-such-app"},
		{"identifier: bad domain", "POST", "/api/v1/apps/figma/identifiers", map[string]string{"kind": "domain", "value": "not a domain"}, 400, "value", ""},
		{"identifier: unknown kind", "POST", "/api/v1/apps/figma/identifiers", map[string]string{"kind": "fax", "value": "123"}, 400, "kind", ""},
		{"identifier: unknown app", "POST", "/api/v1/apps/no-such-app/identifiers", map[string]string{"kind": "domain", "value": "example.com"}, 404, "", ""},
		{"identifier: unknown field", "POST", "/api/v1/apps/figma/identifiers", map[string]string{"kind": "domain", "value": "figma.com", "app": "figma"}, 400, "app", ""},
		{"alternative: not approved", "POST", "/api/v1/apps/discord/alternatives", map[string]string{"alternative": "lucidchart"}, 400, "alternative", ""},
		{"alternative: unknown app", "POST", "/api/v1/apps/discord/alternatives", map[string]string{"alternative": "no-such-app"}, 400, "alternative", ""},
		{"alternative: itself", "POST", "/api/v1/apps/slack/alternatives", map[string]string{"alternative": "slack"}, 400, "alternative", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := e.security.send(t, tt.method, tt.path, tt.body).apiError(tt.status)
			if tt.field != "" && got.Fields[tt.field] == "" {
				t.Errorf("no error for field %s: %+v", tt.field, got)
			}
			if tt.message != "" && !strings.Contains(got.Message, tt.message) {
				t.Errorf("message %q does not say %q", got.Message, tt.message)
			}
		})
	}
	// The size limit also holds for a body of unknown length, cut off as the handler reads it.
	chunked := e.security.do(t, "POST", "/api/v1/apps", "application/json", io.MultiReader(strings.NewReader(big)))
	if got := chunked.apiError(http.StatusRequestEntityTooLarge); got.Code != "too_large" {
		t.Errorf("chunked oversized body: %+v", got)
	}
	// JSON only: a form post is refused with a hint.
	form := e.security.do(t, "POST", "/api/v1/apps", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"name": {"Other"}}.Encode()))
	if got := form.apiError(http.StatusBadRequest); !strings.Contains(got.Message, "application/json") {
		t.Errorf("form body: %+v", got)
	}
	if a, i, n := e.count(t, "apps"), e.count(t, "app_identifiers"), e.count(t, "audit_log"); a != apps || i != ids || n != entries {
		t.Errorf("refused requests wrote: apps %d→%d, identifiers %d→%d, audit entries %d→%d", apps, a, ids, i, entries, n)
	}
	if e.employee.get(t, "/api/v1/apps/other").status != http.StatusNotFound {
		t.Error("a refused app exists")
	}

	// Replace keeps the slug when the body has none, and keeps identifiers and the risk review.
	if r := e.security.send(t, "POST", "/api/v1/apps/figma/identifiers", map[string]string{"kind": "domain", "value": "figma.com"}); r.status != http.StatusCreated {
		t.Fatalf("identifier: %d %s", r.status, r.body)
	}
	if got := e.security.send(t, "POST", "/api/v1/apps/miro/identifiers", map[string]string{"kind": "domain", "value": "www.figma.com"}).apiError(http.StatusConflict); !strings.Contains(got.Fields["value"], "Figma") {
		t.Errorf("taken identifier: %+v", got)
	}
	body := with(figma(), "status", "approved_with_conditions", "conditions", "No customer data.", "tags", []string{"design"}, "list_cost", nil, "list_cost_currency", nil)
	r = e.security.send(t, "PUT", "/api/v1/apps/figma", body)
	if r.status != http.StatusOK {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	e.readToken.get(t, "/api/v1/apps/figma").decode(&got)
	if got.Status != "approved_with_conditions" || got.Conditions != "No customer data." || !slices.Equal(got.Tags, []string{"design"}) || got.ListCost != nil ||
		len(got.Identifiers) != 1 || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("replaced app = %+v", got)
	}
	// A new slug in the body renames the app.
	r = e.security.send(t, "PUT", "/api/v1/apps/figma", with(body, "slug", "figma-design"))
	if r.decode(&got); r.status != http.StatusOK || got.Slug != "figma-design" {
		t.Errorf("rename: %d %s", r.status, r.body)
	}
	if e.employee.get(t, "/api/v1/apps/figma").status != http.StatusNotFound || e.employee.get(t, "/api/v1/apps/figma-design").status != http.StatusOK {
		t.Error("after a rename the old slug should be gone and the new one work")
	}
	// Changes are audited under the caller's name.
	var actors []string
	if err := e.db.Select(&actors, "SELECT actor FROM audit_log WHERE object_type = 'app' AND object_id LIKE 'figma%' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if len(actors) < 4 || actors[0] != "security@example.com" {
		t.Errorf("audit actors = %v", actors)
	}
}

func TestAPIAppsAccess(t *testing.T) {
	e := newAPIEnv(t)
	apps := e.count(t, "apps")
	writes := []struct{ method, path string }{
		{"POST", "/api/v1/apps"}, {"PUT", "/api/v1/apps/slack"},
		{"POST", "/api/v1/apps/slack/identifiers"}, {"POST", "/api/v1/apps/discord/alternatives"},
	}
	bodies := map[string]any{
		"/api/v1/apps":                      figma(),
		"/api/v1/apps/slack":                map[string]any{"name": "Slack!", "category": "chat", "status": "retired"},
		"/api/v1/apps/slack/identifiers":    map[string]string{"kind": "alias", "value": "Slack Enterprise"},
		"/api/v1/apps/discord/alternatives": map[string]string{"alternative": "slack"},
	}
	for name, c := range map[string]caller{"employee": e.employee, "committee": e.committee, "catalog:read token": e.readToken, "audit:read token": e.auditToken, "visitor": e.visitor} {
		for _, w := range writes {
			r := c.send(t, w.method, w.path, bodies[w.path])
			want := http.StatusForbidden
			if name == "visitor" {
				want = http.StatusUnauthorized
			}
			if got := r.apiError(want); strings.HasSuffix(name, "token") && !strings.Contains(got.Message, "catalog:write") {
				t.Errorf("%s %s %s: message %q should name the scope it needs", name, w.method, w.path, got.Message)
			}
		}
	}
	if n := e.count(t, "apps"); n != apps {
		t.Fatalf("refused callers changed the catalogue: %d apps, want %d", n, apps)
	}
	if d, _ := e.catalog.Detail(context.Background(), "slack"); d.App.Name != "Slack" || len(d.Identifiers) != 0 {
		t.Errorf("refused callers changed slack: %+v", d.App)
	}

	// Reading takes an employee session or the catalog:read scope.
	for name, c := range map[string]caller{"employee": e.employee, "committee": e.committee, "catalog:read token": e.readToken} {
		for _, p := range []string{"/api/v1/apps", "/api/v1/apps/slack"} {
			if r := c.get(t, p); r.status != http.StatusOK {
				t.Errorf("%s GET %s: %d", name, p, r.status)
			}
		}
	}
	if got := e.auditToken.get(t, "/api/v1/apps").apiError(http.StatusForbidden); !strings.Contains(got.Message, "catalog:read") {
		t.Errorf("token without catalog:read: %+v", got)
	}
	e.visitor.get(t, "/api/v1/apps/slack").apiError(http.StatusUnauthorized)

	// Security, administrators and catalog:write tokens may write.
	for name, c := range map[string]caller{"security@example.com": e.security, "admin@example.com": e.admin, "token:writer": e.writeToken} {
		slug := strings.NewReplacer("@example.com", "", "token:", "").Replace(name) + "-app"
		r := c.send(t, "POST", "/api/v1/apps", with(figma(), "slug", slug))
		if r.status != http.StatusCreated {
			t.Errorf("%s create: %d %s", name, r.status, r.body)
			continue
		}
		var actor string
		if err := e.db.Get(&actor, e.db.Rebind("SELECT actor FROM audit_log WHERE action = 'app.create' AND object_id = ?"), slug); err != nil || actor != name {
			t.Errorf("%s: audit actor %q (%v)", name, actor, err)
		}
	}
	if r := e.writeToken.send(t, "POST", "/api/v1/apps/discord/alternatives", map[string]string{"alternative": "slack"}); r.status != http.StatusOK {
		t.Errorf("token alternative: %d %s", r.status, r.body)
	}
}

// TestOpenAPIDocumentsEveryAPIRoute keeps portal/openapi.yaml honest: every API route of the
// route table is documented with its method and access rule, and nothing else is.
func TestOpenAPIDocumentsEveryAPIRoute(t *testing.T) {
	env := newEnv(t, envOptions{catalog: true})
	r := caller{env: env}.get(t, "/api/openapi.yaml")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/yaml" || !bytes.Equal(r.body, openAPISpec) || !bytes.HasPrefix(r.body, []byte("openapi: 3.1.")) {
		t.Fatalf("GET /api/openapi.yaml: %d %q", r.status, r.header.Get("Content-Type"))
	}
	ops := openAPIOperations(t, openAPISpec)
	documented := map[string]bool{}
	n := 0
	for _, rt := range env.srv.routeTable() {
		if !strings.HasPrefix(rt.Path, "/api/") {
			continue
		}
		n++
		key := rt.Method + " " + openAPIPath(rt.Path)
		op, ok := ops[key]
		if !ok {
			t.Errorf("%s is served but not documented in portal/openapi.yaml", key)
			continue
		}
		documented[key] = true
		if op.access != rt.Access.String() {
			t.Errorf("%s: x-paved-access %q, the route table says %q", key, op.access, rt.Access.String())
		}
		// The security requirements say the same as the access rule.
		var want []string
		switch a := rt.Access; {
		case a.Public:
			want = []string{"security: []"}
		case a.Scope == anyScope:
			want = []string{"- bearerAuth: []", "- sessionCookie: [" + string(a.roleOrEmployee()) + "]"}
		case a.Scope != "":
			want = []string{"- bearerAuth: [\"" + string(a.Scope) + "\"]", "- sessionCookie: [" + string(a.roleOrEmployee()) + "]"}
		default:
			want = []string{"- sessionCookie: [" + string(a.roleOrEmployee()) + "]"}
		}
		for _, w := range want {
			if !slices.Contains(op.lines, w) {
				t.Errorf("%s: the operation's security should include %q", key, w)
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d API routes in the table; is the catalogue wired?", n)
	}
	for key := range ops {
		if !documented[key] {
			t.Errorf("portal/openapi.yaml documents %s, which no route serves", key)
		}
	}
}

func TestOpenAPIPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v1/apps":               "/api/v1/apps",
		"/api/v1/apps/:slug":         "/api/v1/apps/{slug}",
		"/api/v1/apps/:slug/ids/:id": "/api/v1/apps/{slug}/ids/{id}",
		"/api/v1/files/*path":        "/api/v1/files/{path}",
	} {
		if got := openAPIPath(in); got != want {
			t.Errorf("openAPIPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// openAPIPath writes a Gin path in OpenAPI's template syntax: /apps/:slug → /apps/{slug}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// openAPIOp is one operation of the document as far as the drift test needs it.
type openAPIOp struct {
	access string
	lines  []string // the operation's lines, trimmed
}

// openAPIOperations reads the operations under paths: from the document, by indentation (the
// file is written with two-space indents: paths at 2, methods at 4, their keys at 6). There is
// no YAML library among the dependencies, and this is all the test needs.
func openAPIOperations(t *testing.T, doc []byte) map[string]*openAPIOp {
	t.Helper()
	ops := map[string]*openAPIOp{}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}
	var inPaths bool
	var path string
	var op *openAPIOp
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent == 0 {
			inPaths = trimmed == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		switch {
		case indent == 2:
			path, op = strings.Trim(strings.TrimSuffix(trimmed, ":"), `"'`), nil
			if !strings.HasPrefix(path, "/") || !strings.HasSuffix(trimmed, ":") {
				t.Fatalf("openapi.yaml: unexpected line under paths: %q", line)
			}
		case indent == 4 && methods[strings.TrimSuffix(trimmed, ":")]:
			key := strings.ToUpper(strings.TrimSuffix(trimmed, ":")) + " " + path
			if ops[key] != nil {
				t.Fatalf("openapi.yaml: %s twice", key)
			}
			op = &openAPIOp{}
			ops[key] = op
		case indent == 4:
			op = nil // path-level keys such as parameters
		case op != nil:
			op.lines = append(op.lines, trimmed)
			if v, ok := strings.CutPrefix(trimmed, "x-paved-access:"); ok && indent == 6 {
				op.access = strings.Trim(strings.TrimSpace(v), `"'`)
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("openapi.yaml: no operations found under paths:")
	}
	return ops
}
