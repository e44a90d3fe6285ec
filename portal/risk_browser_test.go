package portal

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
)

// TestBrowserRiskProfile: an employee reads an app's risk in words: an app nobody assessed says
// so rather than scoring 0.0, an assessed one shows its level and number (higher is safer), the
// three factors that weigh most are listed, and the full table is folded away.
func TestBrowserRiskProfile(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	var answers []catalog.RiskAnswer
	for _, f := range catalog.Factors {
		answers = append(answers, catalog.RiskAnswer{Factor: f.Key, Answer: catalog.AnswerYes})
	}
	if err := env.catalog.SaveRiskProfile(context.Background(), audit.System, "slack", answers); err != nil {
		t.Fatal(err)
	}
	emp := signedIn(t, env, "devidp-employee")

	emp.do(t, chromedp.Navigate(env.base+"/apps/miro"), chromedp.WaitVisible(chromedp.CSS("#risk-title")))
	emp.screenshot(t, "risk-1-unassessed")
	risk := emp.text(t, "#risk")
	if !strings.Contains(risk, "Not assessed yet") || strings.Contains(risk, "0.0") {
		t.Errorf("unassessed app's risk: %q", risk)
	}
	if n := len(strings.Split(strings.TrimSpace(emp.text(t, ".top-factors")), "\n")); n != 3 {
		t.Errorf("%d top factors listed, want 3", n)
	}
	if vis, err := chromedp.Run(emp.ctx, chromedp.Evaluate[bool](`document.querySelector(".risk-table").checkVisibility()`)); err != nil || vis {
		t.Errorf("the full factor table is visible before it is unfolded (%v, %v)", vis, err)
	}

	emp.do(t, chromedp.Navigate(env.base+"/apps/slack"), chromedp.WaitVisible(chromedp.CSS("#risk-title")),
		chromedp.Click(chromedp.CSS(".risk-details summary")), chromedp.WaitVisible(chromedp.CSS(".risk-table")))
	emp.screenshot(t, "risk-2-assessed")
	if got := emp.text(t, ".score-summary"); !strings.Contains(got, "Low risk") || !strings.Contains(got, "10.0") || !strings.Contains(got, "higher is safer") {
		t.Errorf("assessed app's score: %q", got)
	}
	if errs := emp.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
