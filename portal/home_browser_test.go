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

// TestBrowserPersonalHome: signed in, the home page is one's own: the search first, one's
// requests, the votes and reviews waiting (by role), recent approvals, and the unapproved apps
// one uses, offering to support a request that already exists instead of proposing it again.
// Visitors still get the marketing panels, people signed in do not.
func TestBrowserPersonalHome(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	emp := signedIn(t, env, "devidp-employee")
	sec := signedIn(t, env, "devidp-security")
	ctx := context.Background()
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app,domain\n"
	for _, u := range []string{"employee@example.com", "p1@example.com", "p2@example.com", "p3@example.com"} {
		log += day + "," + u + ",Gliffy,gliffy.com\n" + day + "," + u + ",WeTransfer,wetransfer.com\n"
	}
	if _, err := env.srv.discovery.Import(ctx, audit.System, "csv", "proxy.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	// A colleague has already proposed Gliffy; the vote on tldraw waits for security's vote.
	colleague := env.memberByEmail(t, "security@example.com", "committee", "security")
	if _, err := env.requests.Propose(ctx, colleague, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams for the platform team.", DataClassification: "internal"}); err != nil {
		t.Fatal(err)
	}
	env.proposalInVote(t, "tldraw")

	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-requests")))
	emp.screenshot(t, "home-1-employee")
	if first, err := chromedp.Run(emp.ctx, chromedp.Evaluate[string](`document.querySelector("main input, main h1").id || document.querySelector("main h1").textContent`)); err != nil || first != "home-title" {
		t.Errorf("the home page does not start with the search (%q, %v)", first, err)
	}
	if got := emp.text(t, "#home-requests"); !strings.Contains(got, "tldraw") || !strings.Contains(got, "Committee vote open") {
		t.Errorf("my requests on the home page: %q", got)
	}
	if got := emp.text(t, "#home-recent"); !strings.Contains(got, "Approved") {
		t.Errorf("recently approved: %q", got)
	}
	unapproved := emp.text(t, "#home-unapproved")
	gliffy, wetransfer, _ := strings.Cut(unapproved, "WeTransfer")
	if !strings.Contains(gliffy+wetransfer, "support the request") || !strings.Contains(unapproved, "Propose it") {
		t.Errorf("unapproved apps I use: %q", unapproved)
	}
	for _, absent := range []string{"#home-votes", "#home-reviews", ".audiences"} {
		if n, _ := chromedp.Run(emp.ctx, chromedp.Evaluate[int](`document.querySelectorAll("`+absent+`").length`)); n != 0 {
			t.Errorf("an employee's home shows %s", absent)
		}
	}

	sec.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-votes")))
	sec.screenshot(t, "home-2-security")
	if got := sec.text(t, "#home-votes"); !strings.Contains(got, "tldraw") || !strings.Contains(got, "0 of 3 votes") {
		t.Errorf("votes waiting for security: %q", got)
	}
	if got := sec.text(t, "#home-reviews"); !strings.Contains(got, "Gliffy") || !strings.Contains(got, "Start the review") {
		t.Errorf("reviews waiting: %q", got)
	}

	visitor := newChrome(t)
	visitor.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS(".audiences")))
	for _, c := range []*chrome{emp, sec, visitor} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}
