package portal

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/audit"
)

// TestBrowserSeatLimitFinding: security sets a seat limit of 5 on Zoom, which 7 people use; a
// bad limit is refused in the page first. The evaluation opens a finding that security sees
// on the app's page; an affected employee sees on their home page that they use Zoom outside
// its conditions (and no one else's name), and asks for an exception in one click. The
// request exists, once, however often they ask.
func TestBrowserSeatLimitFinding(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := context.Background()
	if err := env.catalog.SetAlternative(ctx, audit.System, "zoom", "google-workspace", "Google Meet for internal meetings"); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().AddDate(0, 0, -2).Format(time.RFC3339)
	people := []string{"employee@example.com", "ann@example.com", "bob@example.com", "cem@example.com", "dia@example.com", "eli@example.com", "fay@example.com"}
	log := "time,user,app,domain\n"
	for _, p := range people {
		log += day + "," + p + ",Zoom,zoom.us\n"
	}
	if _, err := env.srv.discovery.Import(ctx, audit.System, "csv", "proxy.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}

	sec := signedIn(t, env, "devidp-security")
	sec.do(t, chromedp.Navigate(env.base+"/apps/zoom/edit"), chromedp.WaitVisible(chromedp.CSS("#f-seats")))
	sec.set(t, "f-seats", "-1")
	sec.set(t, "f-scopes", "drive read")
	sec.do(t, chromedp.Click(chromedp.CSS(`form[action="/apps/zoom/edit"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#f-seats-error")))
	sec.screenshot(t, "conditions-1-field-errors")
	if got := sec.text(t, "#f-seats-error"); !strings.Contains(got, "from 0") {
		t.Errorf("seat limit error: %q", got)
	}
	if got := sec.text(t, "#f-scopes-error"); !strings.Contains(got, "not an OAuth scope") {
		t.Errorf("scope error: %q", got)
	}
	sec.set(t, "f-seats", "5")
	sec.set(t, "f-scopes", "")
	sec.do(t, chromedp.Click(chromedp.CSS(`form[action="/apps/zoom/edit"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("#checked-conditions")))
	if got := sec.text(t, "#checked-conditions"); !strings.Contains(got, "at most 5 people in 30 days") {
		t.Errorf("checked conditions on the app page: %q", got)
	}

	if err := env.srv.discovery.EvaluateAndAnnounce(ctx); err != nil {
		t.Fatal(err)
	}
	sec.do(t, chromedp.Navigate(env.base+"/findings"), chromedp.WaitVisible(chromedp.CSS("#findings")))
	if got := sec.text(t, "#findings"); !strings.Contains(got, "Zoom") {
		t.Errorf("findings page: %q", got)
	}
	sec.do(t, chromedp.Navigate(env.base+"/apps/zoom"), chromedp.WaitVisible(chromedp.CSS(".findings-table")))
	sec.screenshotOf(t, "#findings", "conditions-2-app-findings")
	if got := sec.text(t, "#findings"); !strings.Contains(got, "Seat limit") || !strings.Contains(got, "7 people used it in the last 30 days; the limit is 5.") {
		t.Errorf("findings on the app page: %q", got)
	}

	emp := signedIn(t, env, "devidp-employee")
	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-notices")))
	emp.screenshot(t, "conditions-3-home-notice")
	notice := emp.text(t, "#home-notices")
	if !strings.Contains(notice, "You use Zoom outside its conditions: at most 5 people in 30 days.") || !strings.Contains(notice, "Use Google Workspace instead, or ask for an exception.") {
		t.Errorf("notice: %q", notice)
	}
	body, err := chromedp.Run(emp.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people[1:] {
		if strings.Contains(body, p) {
			t.Errorf("the employee's home page names %s", p)
		}
	}
	emp.submit(t, `form[action="/apps/zoom/exception"] button[type=submit]`)
	emp.screenshot(t, "conditions-4-exception-request")
	if got := emp.text(t, "main"); !strings.Contains(got, "Exception to the conditions") || !strings.Contains(got, "at most 5 people in 30 days") {
		t.Errorf("the exception request's page: %q", got)
	}
	// Asking again (a second tab, a double click) gives the same request.
	if _, err := chromedp.Run(emp.ctx, chromedp.Evaluate[bool](`fetch("/apps/zoom/exception", {method: "POST"}).then(r => r.ok)`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-notices")))
	if got := emp.text(t, "#home-notices"); !strings.Contains(got, "is with security") {
		t.Errorf("the notice after asking: %q", got)
	}
	var n int
	if err := env.db.Get(&n, env.db.Rebind("SELECT COUNT(*) FROM requests WHERE kind = ? AND app_name = ?"), requests.KindException, "Zoom"); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d exception requests, want 1", n)
	}
	if queue, err := env.requests.ReviewQueue(ctx); err != nil || len(queue) != 1 || queue[0].Kind != requests.KindException {
		t.Errorf("security's queue: %+v, %v", queue, err)
	}
	// The refused form answered 400, which the browser reports; nothing else may.
	for _, c := range []*chrome{sec, emp} {
		for _, e := range c.consoleErrors() {
			if c != sec || !strings.Contains(e, "status of 400") {
				t.Errorf("console error: %s", e)
			}
		}
	}
}
