package portal

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/audit"
)

// TestConditionFormsShowFieldErrors: the edit page and the decision form refuse a negative
// seat limit, a group the directory does not know and a malformed scope with 400 and the
// errors beside the fields, keeping what was typed; nothing is saved.
func TestConditionFormsShowFieldErrors(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := context.Background()
	if _, err := env.srv.discovery.ImportPeople(ctx, audit.System, strings.NewReader("email,department,groups\nann@example.com,Sales,customer-facing\n")); err != nil {
		t.Fatal(err)
	}
	br := env.browser()
	br.signInDev(env.base, "/account", "devidp-security")
	same := []string{"Origin", env.base, "Sec-Fetch-Site", "same-origin"}

	edit := br.get(env.base + "/apps/zoom/edit")
	if edit.status != http.StatusOK || !strings.Contains(edit.body, `name="seat_limit"`) {
		t.Fatalf("edit page: %d", edit.status)
	}
	form := url.Values{"name": {"Zoom"}, "slug": {"zoom"}, "category": {"video-conferencing"}, "status": {"approved_with_conditions"},
		"conditions": {"Customer calls only."}, "seat_limit": {"-3"}, "allowed_groups": {"Sales\nMarketing"}, "forbidden_scopes": {"drive file"}}
	p := br.post(env.base+"/apps/zoom/edit", form, same...)
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad conditions: %d", p.status)
	}
	for _, want := range []string{`id="f-seats-error"`, `value="-3"`, `knows no department or group &#34;Marketing&#34;`, `&#34;drive file&#34; is not an OAuth scope`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the refused edit page lacks %s", want)
		}
	}
	form.Set("seat_limit", "5")
	form.Set("allowed_groups", "Sales\ncustomer-facing")
	form.Set("forbidden_scopes", "https://www.googleapis.com/auth/drive")
	form.Set("status", "approved")
	if p := br.post(env.base+"/apps/zoom/edit", form, same...); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Checked conditions go with an approval with conditions") {
		t.Errorf("conditions with a plain approval: %d", p.status)
	}
	if d, _ := env.catalog.Detail(ctx, "zoom"); !d.Checks.Empty() || d.App.Status != "approved_with_conditions" {
		t.Fatalf("a refused form saved: %+v %s", d.Checks, d.App.Status)
	}
	form.Set("status", "approved_with_conditions")
	if p := br.post(env.base+"/apps/zoom/edit", form, same...); p.status != http.StatusOK || !strings.Contains(p.body, "at most 5 people in 30 days; only for Sales, customer-facing; no access granted with https://www.googleapis.com/auth/drive") {
		t.Errorf("saved conditions on the app page: %d", p.status)
	}

	// The decision form of an access request to an app under review.
	env.browser().signInDev(env.base, "/account", "devidp-employee")
	emp := env.memberByEmail(t, "employee@example.com")
	sec := env.memberByEmail(t, "security@example.com", "committee", "security")
	r, err := env.requests.RequestAccess(ctx, emp, "microsoft-teams", "Workshops with customers.", false)
	if err != nil {
		t.Fatal(err)
	}
	if r.State == requests.StateDecided {
		t.Fatalf("the demo catalogue approves Teams: no decision to make")
	}
	if _, err := env.requests.Transition(ctx, sec, r.ID, requests.ActionStartReview, ""); err != nil {
		t.Fatal(err)
	}
	path := "/requests/" + strconvID(r.ID)
	decide := url.Values{"outcome": {"approved_with_conditions"}, "conditions": {"Workshops only."}, "rationale": {"Customers use it."},
		"settle_app": {"yes"}, "seat_limit": {"-1"}, "allowed_groups": {"Nobody"}, "forbidden_scopes": {`"x"`}}
	if _, err := env.requests.CompleteReview(ctx, sec, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: "yes", DPA: "yes", DataLocation: "EU", Recommendation: requests.RecommendApprove}); err != nil {
		t.Fatal(err)
	}
	p = br.post(env.base+path+"/decide", decide, same...)
	if p.status != http.StatusBadRequest {
		t.Fatalf("bad decision: %d", p.status)
	}
	for _, want := range []string{`id="d-seats-error"`, `value="-1"`, "Workshops only.", `knows no department or group &#34;Nobody&#34;`, "is not an OAuth scope"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the refused decision form lacks %s", want)
		}
	}
	decide.Set("seat_limit", "10")
	decide.Set("allowed_groups", "")
	decide.Set("forbidden_scopes", "")
	if p := br.post(env.base+path+"/decide", decide, same...); p.status != http.StatusOK || !strings.Contains(p.body, "The decision is recorded") {
		t.Fatalf("decision: %d", p.status)
	}
	if d, _ := env.catalog.Detail(ctx, "microsoft-teams"); d.Checks.SeatLimit == nil || *d.Checks.SeatLimit != 10 {
		t.Errorf("the decision's seat limit: %+v", d.Checks)
	}
}

// TestExceptionRoute: asking for an exception needs a finding naming you (else nothing is
// made), is refused from another site, and makes one request however often it is sent.
func TestExceptionRoute(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := context.Background()
	br := env.browser()
	br.signInDev(env.base, "/account", "devidp-employee")
	same := []string{"Origin", env.base, "Sec-Fetch-Site", "same-origin"}
	count := func() int {
		var n int
		if err := env.db.Get(&n, env.db.Rebind("SELECT COUNT(*) FROM requests WHERE kind = ?"), requests.KindException); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if p := br.post(env.base+"/apps/zoom/exception", nil, same...); p.status != http.StatusOK || !strings.Contains(p.body, "no use of yours outside") || count() != 0 {
		t.Errorf("an exception without a finding: %d, %d requests", p.status, count())
	}
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app,domain\n" + day + ",employee@example.com,Zoom,zoom.us\n" + day + ",someone@example.com,Zoom,zoom.us\n"
	if _, err := env.srv.discovery.Import(ctx, audit.System, "csv", "proxy.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	if _, err := env.catalog.SetConditions(ctx, audit.System, "zoom", catalogConditions(1)); err != nil {
		t.Fatal(err)
	}
	if err := env.srv.discovery.EvaluateAndAnnounce(ctx); err != nil {
		t.Fatal(err)
	}
	home := br.get(env.base + "/")
	if !strings.Contains(home.body, "You use <a href=\"/apps/zoom\">Zoom</a> outside its conditions: at most 1 person in 30 days.") || strings.Contains(home.body, "someone@example.com") {
		t.Errorf("home notice: %s", home.body)
	}
	for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		if p := br.post(env.base+"/apps/zoom/exception", nil, h...); p.status != http.StatusForbidden {
			t.Errorf("cross-site exception (%s): %d", h[0], p.status)
		}
	}
	if count() != 0 {
		t.Fatalf("a cross-site post made %d requests", count())
	}
	first := br.post(env.base+"/apps/zoom/exception", nil, same...)
	second := br.post(env.base+"/apps/zoom/exception", nil, same...)
	if first.url.Path != second.url.Path || !strings.HasPrefix(first.url.Path, "/requests/") || !strings.Contains(second.body, "already asked") || count() != 1 {
		t.Errorf("asking twice: %s then %s, %d requests", first.url.Path, second.url.Path, count())
	}
}

func strconvID(id int64) string { return strconv.FormatInt(id, 10) }

func catalogConditions(seats int) catalog.Conditions { return catalog.Conditions{SeatLimit: &seats} }
