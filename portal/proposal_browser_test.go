package portal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserProposalOfAKnownApp: an employee who proposes an app the catalogue has (by name
// or by its domain) is pointed to it; one who proposes an app a colleague already proposed is
// pointed to that proposal to support; the hint lists at most five approved apps found from
// the name and the use case.
func TestBrowserProposalOfAKnownApp(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	emp := signedIn(t, env, "devidp-employee")
	emp.do(t, chromedp.Navigate(env.base+"/requests/new"), chromedp.WaitVisible(chromedp.CSS("#p-use")),
		chromedp.SendKeys(chromedp.CSS("#p-use"), "Diagrams and whiteboards for architecture workshops."),
		chromedp.WaitVisible(chromedp.CSS("#similar li")))
	n, err := chromedp.Run(emp.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#similar li").length`))
	if err != nil || n < 2 || n > 5 {
		t.Errorf("%d approved apps suggested from the use case (%v), want 2 to 5", n, err)
	}
	if got := emp.text(t, "#similar"); !strings.Contains(got, "Miro") {
		t.Errorf("the hint for diagrams lacks Miro: %q", got)
	}
	emp.do(t, chromedp.SendKeys(chromedp.CSS("#p-name"), "slack"))
	emp.waitPage(t, `form[action="/requests"] button[type=submit]`, "#already-known")
	emp.screenshot(t, "proposal-1-already-in-catalogue")
	box := emp.text(t, "#already-known")
	if !strings.Contains(box, "Slack is already in the catalogue") || !strings.Contains(box, "Ask for access to Slack") {
		t.Errorf("proposing Slack: %q", box)
	}
	if href, err := chromedp.Run(emp.ctx, chromedp.Evaluate[string](`document.querySelector("#already-known a[role=button]").getAttribute("href")`)); err != nil || href != "/apps/slack" {
		t.Errorf("the box points to %q (%v)", href, err)
	}

	// By domain: a new name on Slack's website.
	emp.do(t, chromedp.Navigate(env.base+"/requests/new?name=Huddles"), chromedp.WaitVisible(chromedp.CSS("#p-use")),
		chromedp.SendKeys(chromedp.CSS("#p-site"), "https://app.slack.com/huddles"),
		chromedp.SendKeys(chromedp.CSS("#p-use"), "Quick voice calls with the team."))
	emp.waitPage(t, `form[action="/requests"] button[type=submit]`, "#already-known")
	if box := emp.text(t, "#already-known"); !strings.Contains(box, "Slack is already in the catalogue") {
		t.Errorf("proposing Slack's domain under another name: %q", box)
	}

	// An open proposal: the second person is sent to support it.
	emp.do(t, chromedp.Navigate(env.base+"/requests/new?name=Gliffy"), chromedp.WaitVisible(chromedp.CSS("#p-use")),
		chromedp.SendKeys(chromedp.CSS("#p-use"), "Architecture diagrams for the platform team."))
	emp.submit(t, `form[action="/requests"] button[type=submit]`)
	other := signedIn(t, env, "devidp-committee")
	other.do(t, chromedp.Navigate(env.base+"/requests/new?name=gliffy"), chromedp.WaitVisible(chromedp.CSS("#p-use")),
		chromedp.SendKeys(chromedp.CSS("#p-use"), "Diagrams for the data team."))
	other.waitPage(t, `form[action="/requests"] button[type=submit]`, "#already-known")
	other.screenshot(t, "proposal-2-already-proposed")
	if box := other.text(t, "#already-known"); !strings.Contains(box, "Gliffy has already been proposed") || !strings.Contains(box, "Support the open request") {
		t.Errorf("proposing Gliffy again: %q", box)
	}
	var count int
	_ = env.db.Get(&count, "SELECT COUNT(*) FROM requests")
	if count != 1 {
		t.Errorf("%d requests stored, want the one Gliffy proposal", count)
	}
}
