package portal

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var appNameRe = regexp.MustCompile(`class="app-name" href="/apps/([a-z0-9-]+)"`)

// firstHits returns the slugs of the result list in order.
func firstHits(body string) []string {
	var out []string
	for _, m := range appNameRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestCatalogueSearchAndAppPage(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	br := env.browser()
	p := br.signInDev(env.base, "/apps", "devidp-employee")
	if p.status != 200 || !strings.Contains(p.body, "apps in the catalogue") {
		t.Fatalf("catalogue: %d", p.status)
	}
	// Browsing lists approved apps first.
	if hits := firstHits(p.body); len(hits) == 0 {
		t.Fatal("no apps listed")
	} else if d, _ := env.catalog.App(context.Background(), hits[0]); !d.Usable() {
		t.Errorf("first app %s is %s, want an approved one first", hits[0], d.Status)
	}
	for q, want := range map[string]string{"slakc": "slack", "conflu": "confluence", "wetrasfer": "wetransfer",
		"slak": "slack", "jiar": "jira", "asna": "asana", "one drive": "onedrive", "googledrive": "google-drive"} {
		p := br.get(env.base + "/apps?q=" + url.QueryEscape(q))
		if hits := firstHits(p.body); len(hits) == 0 || hits[0] != want {
			t.Errorf("search %q: hits %v, want %s first", q, hits, want)
		}
	}
	// Search text is capped as the API caps it, with a message rather than an engine failure.
	if p := br.get(env.base + "/apps?q=" + strings.Repeat("a", 3000)); p.status != http.StatusBadRequest || !strings.Contains(p.body, "at most 200 characters") {
		t.Errorf("3,000-character search: %d", p.status)
	}
	// htmx asks for the results fragment only.
	req, _ := http.NewRequest("GET", env.base+"/apps?q=slack", nil)
	req.Header.Set("HX-Request", "true")
	frag := br.do(req)
	if strings.Contains(frag.body, "<html") || !strings.Contains(frag.body, `href="/apps/slack"`) {
		t.Errorf("htmx fragment: %q", frag.body[:min(200, len(frag.body))])
	}
	// Facets filter.
	p = br.get(env.base + "/apps?status=not_approved")
	for _, slug := range firstHits(p.body) {
		if a, _ := env.catalog.App(context.Background(), slug); a.Status != "not_approved" {
			t.Errorf("status filter let %s (%s) through", slug, a.Status)
		}
	}
	// Nothing found: offer to propose it, with the query prefilled.
	p = br.get(env.base + "/apps?q=qqzzxxvv")
	if !strings.Contains(p.body, "/requests/new?name=qqzzxxvv") {
		t.Errorf("empty result offers no proposal")
	}
	if strings.Contains(p.body, "Did you mean") {
		t.Errorf("qqzzxxvv: a suggestion for text close to no name")
	}
	// A misspelling beyond the engines' typo tolerance gets a "did you mean" with the closest
	// name, which searches for it, filters dropped.
	p = br.get(env.base + "/apps?q=sllak&status=retired")
	if !strings.Contains(p.body, `Did you mean <a href="/apps?q=Slack">Slack</a>?`) {
		t.Errorf("sllak: no suggestion of Slack in %q", p.body[max(0, strings.Index(p.body, "No app matches")):][:min(400, len(p.body))])
	}
	if p := br.get(env.base + "/apps?q=Slack"); len(firstHits(p.body)) == 0 || firstHits(p.body)[0] != "slack" || strings.Contains(p.body, "Did you mean") {
		t.Errorf("the suggestion's link does not find Slack first: %v", firstHits(p.body))
	}
	// A not-approved app shows its alternatives and what would change the decision.
	p = br.get(env.base + "/apps/wetransfer")
	if p.status != 200 || !strings.Contains(p.body, "is not approved") || !strings.Contains(p.body, "What would change this decision") || !strings.Contains(p.body, `href="/apps/google-drive"`) {
		t.Errorf("WeTransfer page: %d", p.status)
	}
	// Every risk factor is shown with its weight (in the folded table), and the three that
	// weigh most above it.
	if n := strings.Count(p.body, `class="answer answer-`); n != 18+3 {
		t.Errorf("%d risk answers shown, want 18 in the table and 3 above it", n)
	}
	// Employees do not get the edit controls, and the edit routes refuse them.
	if strings.Contains(p.body, "/edit\"") {
		t.Error("employee sees the edit button")
	}
	if p := br.post(env.base+"/apps", url.Values{"name": {"Sneaky"}, "category": {"chat"}, "status": {"approved"}}); p.status != http.StatusForbidden {
		t.Errorf("employee create: %d", p.status)
	}
}

func TestSecurityEditsTheCatalogue(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/apps/new", "devidp-security")
	form := url.Values{"name": {"Lucidchart"}, "vendor": {"Lucid Software"}, "website": {"https://lucid.co"}, "category": {"diagramming"}, "status": {"approved"}, "tags": {"diagrams, flowchart"}}
	p := br.post(env.base+"/apps", form)
	if p.status != 200 || p.url.Path != "/apps/lucidchart" || !strings.Contains(p.body, "Lucidchart is in the catalogue") {
		t.Fatalf("create: %d %s", p.status, p.url)
	}
	countApps := func() int {
		var n int
		_ = env.db.Get(&n, "SELECT COUNT(*) FROM apps")
		return n
	}
	for _, tt := range []struct {
		change url.Values
		status int
		field  string
	}{
		{url.Values{}, http.StatusConflict, "f-slug-error"},
		{url.Values{"slug": {"other"}, "website": {"lucid dot co"}}, http.StatusBadRequest, "f-website-error"},
		{url.Values{"slug": {"other"}, "category": {"video"}}, http.StatusBadRequest, "f-category-error"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range tt.change {
			f[k] = v
		}
		p := br.post(env.base+"/apps", f)
		if p.status != tt.status || !strings.Contains(p.body, `id="`+tt.field+`"`) || !strings.Contains(p.body, "nothing was saved") {
			t.Errorf("%v: %d, want %d with %s", tt.change, p.status, tt.status, tt.field)
		}
	}
	if n := countApps(); n != 1 {
		t.Errorf("%d apps after refused forms, want 1", n)
	}
	// Identifiers: a taken one is a field error on the page.
	if p := br.post(env.base+"/apps/lucidchart/identifiers", url.Values{"kind": {"domain"}, "value": {"lucid.co"}}); p.status != 200 || !strings.Contains(p.body, "lucid.co") {
		t.Fatalf("add identifier: %d", p.status)
	}
	br.post(env.base+"/apps", url.Values{"name": {"Gliffy"}, "category": {"diagramming"}, "status": {"not_approved"}, "what_would_change": {"SSO and a DPA."}})
	if p := br.post(env.base+"/apps/gliffy/identifiers", url.Values{"kind": {"domain"}, "value": {"https://lucid.co/"}}); p.status != http.StatusConflict || !strings.Contains(p.body, "already identifies Lucidchart") {
		t.Errorf("taken identifier: %d", p.status)
	}
	if p := br.post(env.base+"/apps/gliffy/alternatives", url.Values{"alternative": {"lucidchart"}, "note": {"For diagrams up to Confidential."}}); p.status != 200 || !strings.Contains(p.body, "For diagrams up to Confidential.") {
		t.Errorf("alternative: %d", p.status)
	}
	// The index follows the database through the jobs: the new app is found by a typo.
	env.waitIndexed()
	if hits := firstHits(br.get(env.base + "/apps?q=lucidchrt").body); len(hits) == 0 || hits[0] != "lucidchart" {
		t.Errorf("search after create: %v", hits)
	}
	// Risk review and an override with a reason.
	review := url.Values{"sso.answer": {"yes"}, "sso.evidence_url": {"https://lucid.co/security"}, "sso.checked_on": {"2026-01-15"}, "mfa.answer": {"no"}}
	if p := br.post(env.base+"/apps/lucidchart/risk", review); p.status != 200 || !strings.Contains(p.body, "Risk review saved") {
		t.Errorf("risk review: %d", p.status)
	}
	if p := br.post(env.base+"/apps/lucidchart/risk", url.Values{"sso.evidence_url": {"not a url"}}); p.status != http.StatusBadRequest {
		t.Errorf("bad evidence URL: %d", p.status)
	}
	if p := br.post(env.base+"/apps/lucidchart/score", url.Values{"score": {"12"}, "reason": {"too short"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "score-error") {
		t.Errorf("bad override: %d", p.status)
	}
	if p := br.post(env.base+"/apps/lucidchart/score", url.Values{"score": {"7.5"}, "reason": {"Pen test results reviewed by the team."}}); p.status != 200 || !strings.Contains(p.body, "set by security") {
		t.Errorf("override: %d", p.status)
	}
	// Weights are for administrators only.
	if p := br.get(env.base + "/admin/risk-weights"); p.status != http.StatusForbidden {
		t.Errorf("security on weights: %d", p.status)
	}
	// Readiness reports the index and its lag.
	if p := br.get(env.base + "/readyz"); !strings.Contains(p.body, `"search":"ok"`) || !strings.Contains(p.body, `"index_lag":0`) {
		t.Errorf("readyz: %s", p.body)
	}
}

func TestAdminManagesCategories(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/admin/categories", "devidp-admin")
	if p := br.post(env.base+"/admin/categories", url.Values{"name": {"Video Conferencing"}}); p.status != 200 || !strings.Contains(p.body, "video-conferencing") {
		t.Fatalf("add: %d", p.status)
	}
	if p := br.post(env.base+"/admin/categories", url.Values{"name": {"Chat & Messaging"}, "slug": {"other-chat"}}); p.status != http.StatusConflict || !strings.Contains(p.body, "c-name-error") {
		t.Errorf("duplicate name: %d", p.status)
	}
	if p := br.post(env.base+"/admin/categories", url.Values{"name": {""}}); p.status != http.StatusBadRequest {
		t.Errorf("empty name: %d", p.status)
	}
	cats, _ := env.catalog.Categories(context.Background())
	if len(cats) != 3 {
		t.Errorf("%d categories, want 3", len(cats))
	}
}

func TestRequestAccessFromAppPage(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	br := env.browser()
	br.signInDev(env.base, "/apps/slack", "devidp-employee")
	if p := br.post(env.base+"/apps/slack/access", nil); p.status != 200 || p.url.Path != "/apps/slack" || !strings.Contains(p.body, "Access to Slack is granted") {
		t.Errorf("approved app: %d %s", p.status, p.url)
	}
	// The browser does not stop the form (no required attribute): the page says what is missing.
	if p := br.get(env.base + "/apps/zoom"); strings.Contains(p.body, "required>") || !strings.Contains(p.body, "Get access") {
		t.Errorf("zoom before asking: %d", p.status)
	}
	if p := br.post(env.base+"/apps/zoom/access", nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="accept-error"`) || !strings.Contains(p.body, "accept the conditions") {
		t.Errorf("conditions not accepted: %d", p.status)
	}
	if p := br.post(env.base+"/apps/zoom/access", url.Values{"accept_conditions": {"yes"}}); !strings.Contains(p.body, "Access to Zoom is granted") {
		t.Errorf("conditions accepted: %d", p.status)
	}
	// Once granted, the button gives way to the instructions.
	if p := br.get(env.base + "/apps/zoom"); !strings.Contains(p.body, "You have access") || !strings.Contains(p.body, "request one in the IT portal") || strings.Contains(p.body, "Get access</button>") {
		t.Errorf("zoom after access is granted shows the button again or no instructions")
	}
	if p := br.post(env.base+"/apps/microsoft-teams/access", url.Values{"use_case": {"Calls with a customer."}}); !strings.HasPrefix(p.url.Path, "/requests/") || !strings.Contains(p.body, "went to security") {
		t.Errorf("app under review: %d %s", p.status, p.url)
	}
	if p := br.get(env.base + "/apps/microsoft-teams"); !strings.Contains(p.body, "Your request is with security") || strings.Contains(p.body, "Request access</button>") {
		t.Errorf("an app with a pending request offers the button again")
	}
	if p := br.get(env.base + "/requests"); !strings.Contains(p.body, "Slack") || !strings.Contains(p.body, "Microsoft Teams") {
		t.Errorf("my requests: %d", p.status)
	}
	if p := br.get(env.base + "/voting"); p.status != http.StatusForbidden {
		t.Errorf("employee on the committee queue: %d", p.status)
	}
}

func TestRequestComments(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/requests/new", "devidp-employee")
	p := br.post(env.base+"/requests", url.Values{"name": {"Gliffy"}, "use_case": {"Architecture diagrams."}, "data_classification": {"internal"}, "estimate_currency": {"EUR"}})
	if !strings.HasPrefix(p.url.Path, "/requests/") {
		t.Fatalf("propose: %d %s", p.status, p.url)
	}
	page := p.url.Path
	p = br.post(env.base+page+"/comments", url.Values{"body": {"**Why** not <script>alert(1)</script>? See [docs](https://example.com)."}})
	if p.status != 200 || !strings.Contains(p.body, "<strong>Why</strong>") || !strings.Contains(p.body, `<a href="https://example.com" rel="nofollow noopener noreferrer">docs</a>`) {
		t.Errorf("comment: %d", p.status)
	}
	if strings.Contains(p.body, "<script>alert(1)") {
		t.Error("a script tag from a comment reached the page")
	}
	if p := br.post(env.base+page+"/comments", url.Values{"body": {strings.Repeat("x", 4001)}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "c-body-error") {
		t.Errorf("oversize comment: %d", p.status)
	}
	var n int
	_ = env.db.Get(&n, "SELECT COUNT(*) FROM request_comments")
	if n != 1 {
		t.Errorf("%d comments stored, want 1", n)
	}
}

// TestWithdrawPledgeOnlyWithAPledge: the withdraw button appears once there is a pledge to
// withdraw, beside what was pledged, and goes away with it.
func TestWithdrawPledgeOnlyWithAPledge(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	br := env.browser()
	br.signInDev(env.base, "/requests/new", "devidp-employee")
	p := br.post(env.base+"/requests", url.Values{"name": {"Gliffy"}, "use_case": {"Architecture diagrams."}, "data_classification": {"internal"}, "estimate_currency": {"EUR"}})
	if !strings.HasPrefix(p.url.Path, "/requests/") {
		t.Fatalf("propose: %d %s", p.status, p.url)
	}
	page := p.url.Path
	const withdraw = "/pledge/withdraw"
	if strings.Contains(p.body, withdraw) {
		t.Error("a withdraw button without a pledge")
	}
	p = br.post(env.base+page+"/pledge", url.Values{"cost_centre": {"ENG-42"}, "amount": {"100"}, "currency": {"EUR"}, "period": {"monthly"}})
	if !strings.Contains(p.body, withdraw) || !strings.Contains(p.body, "Your pledge: <strong>100.00 EUR a month</strong> from ENG-42") || !strings.Contains(p.body, "Change your pledge") {
		t.Errorf("after pledging: %d", p.status)
	}
	p = br.post(env.base+page+withdraw, nil)
	if strings.Contains(p.body, withdraw) || !strings.Contains(p.body, "Your pledge is withdrawn") {
		t.Errorf("after withdrawing: %d", p.status)
	}
}
