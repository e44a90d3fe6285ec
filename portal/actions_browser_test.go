package portal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/notify"
)

const miroClient = "987-miro.apps.googleusercontent.com"

// googleTokenLog is a Reports API page in which each person granted Miro a token yesterday.
func googleTokenLog(who ...string) string {
	var items []string
	at := time.Now().UTC().AddDate(0, 0, -1)
	for i, p := range who {
		items = append(items, fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"token","customerId":"C1"},"actor":{"email":%q},"events":[{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":%q},{"name":"app_name","value":"Miro"},{"name":"scope","multiValue":["https://www.googleapis.com/auth/drive"]}]}]}`,
			at.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i+1, p, miroClient))
	}
	return `{"kind":"admin#reports#activities","items":[` + strings.Join(items, ",") + `]}`
}

// queuedEmails lists the recipients of the e-mails waiting in the job queue.
func queuedEmails(t *testing.T, d *db.DB) string {
	t.Helper()
	q := "SELECT CAST(args AS TEXT) FROM river_job WHERE kind = ?"
	if d.Dialect == db.SQLite {
		q = "SELECT json(args) FROM river_job WHERE kind = ?" // River's SQLite driver stores JSONB
	}
	var args []string
	if err := d.Select(&args, d.Rebind(q), notify.EmailKind); err != nil {
		t.Fatal(err)
	}
	return strings.Join(args, "\n")
}

// TestBrowserActionRevokesGoogleGrants: security previews revoking the Google grants of three
// of Miro's four users, sees exactly whose tokens would go and that they cannot be restored,
// cannot approve their own preview; a second security member approves; the job revokes the
// three tokens at the Directory API stand-in; the three are told, by e-mail and on their home
// page; the audit log tells the story.
func TestBrowserActionRevokesGoogleGrants(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := context.Background()
	chosen := []string{"employee@example.com", "p2@example.com", "p3@example.com"}
	g := providertest.NewGoogle(t)
	for _, p := range append(chosen, "p4@example.com") {
		g.AddToken(p, miroClient, "Miro", "https://www.googleapis.com/auth/drive")
	}
	src, err := env.srv.discovery.CreateSource(ctx, audit.System, discovery.Source{Kind: discovery.FormatGoogle, Name: "Workspace",
		BaseURL: g.URL, Secret: g.Token, Actions: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.srv.discovery.Import(ctx, audit.System, discovery.FormatGoogle, "tokens", strings.NewReader(googleTokenLog(append(chosen, "p4@example.com")...))); err != nil {
		t.Fatal(err)
	}
	var appID int64
	if err := env.db.Get(&appID, "SELECT discovered_app_id FROM discovered_identifiers WHERE app_key = 'google:"+miroClient+"'"); err != nil {
		t.Fatal(err)
	}

	sec := signedIn(t, env, "devidp-security")
	admin := signedIn(t, env, "devidp-admin") // admins are in security too: the second pair of eyes
	emp := signedIn(t, env, "devidp-employee")

	// From the discovered app's page to the preview form.
	sec.do(t, chromedp.Navigate(fmt.Sprintf("%s/discovery/apps/%d", env.base, appID)), chromedp.WaitVisible(chromedp.CSS("#preview-action")),
		chromedp.Click(chromedp.CSS("#preview-action")), chromedp.WaitVisible(chromedp.CSS("#af-kind")))
	sec.set(t, "af-kind", "google.revoke_tokens")
	sec.set(t, "af-source", fmt.Sprint(src.ID))
	sec.set(t, "af-emails", strings.Join(chosen, "\n"))
	sec.set(t, "af-reason", "Miro is not approved for customer data; use the approved whiteboard instead.")
	sec.do(t, chromedp.Click(chromedp.CSS(`input[name="people"][value="list"]`)))
	sec.screenshot(t, "action-1-form")
	sec.do(t, chromedp.Click(chromedp.CSS("#af-preview")), chromedp.WaitVisible(chromedp.CSS("#action-title")))
	sec.screenshot(t, "action-2-preview")

	steps := sec.text(t, "#steps tbody")
	for _, p := range chosen {
		if !strings.Contains(steps, p) {
			t.Errorf("the preview does not list %s: %q", p, steps)
		}
	}
	if strings.Contains(steps, "p4@example.com") {
		t.Errorf("the preview lists someone not chosen: %q", steps)
	}
	if w := sec.text(t, "#action-warning"); !strings.Contains(w, "cannot be restored") {
		t.Errorf("the preview does not say revoked tokens cannot be restored: %q", w)
	}
	if !strings.Contains(sec.text(t, "#needs-second"), "another security member") {
		t.Error("the starter is not told a second member must approve")
	}
	if n, _ := chromedp.Run(sec.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#approve-action").length`)); n != 0 {
		t.Error("the starter is offered to approve")
	}
	if g.Count("DELETE", "/") != 0 {
		t.Fatal("the preview revoked something")
	}
	actionURL, err := chromedp.Run(sec.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	// The second member approves; the page follows the job to the end.
	admin.do(t, chromedp.Navigate(actionURL), chromedp.WaitVisible(chromedp.CSS("#approve-action")), chromedp.Click(chromedp.CSS("#approve-action")),
		// The approval's answer must arrive before the page is loaded again, or the new load
		// cancels the form's post.
		chromedp.WaitNotPresent(chromedp.CSS("#approve-action")))
	deadline := time.Now().Add(120 * time.Second)
	for {
		admin.do(t, chromedp.Navigate(actionURL), chromedp.WaitVisible(chromedp.CSS("#action-state")))
		if st := admin.text(t, "#action-state"); st == "done" {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the action is still %q", st)
		}
		time.Sleep(300 * time.Millisecond)
	}
	admin.screenshot(t, "action-3-done")
	if got := admin.text(t, "#steps tbody"); strings.Count(got, "done") < 3 {
		t.Errorf("steps after the job: %q", got)
	}
	for _, p := range chosen {
		if g.HasToken(p, miroClient) {
			t.Errorf("%s still holds a token", p)
		}
	}
	if !g.HasToken("p4@example.com", miroClient) {
		t.Error("the person not chosen lost their token")
	}

	// Each person is told once, and their home page says it.
	mails := queuedEmails(t, env.db)
	for _, p := range chosen {
		if n := strings.Count(mails, `"`+p+`"`); n != 1 {
			t.Errorf("%s: %d e-mails queued", p, n)
		}
	}
	if strings.Contains(mails, "p4@example.com") {
		t.Error("the person not chosen was told")
	}
	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-removed")))
	emp.screenshot(t, "action-4-home")
	if got := emp.text(t, "#home-removed"); !strings.Contains(got, "Miro") || !strings.Contains(got, "customer data") || !strings.Contains(got, "Ask for an exception") {
		t.Errorf("the home notice: %q", got)
	}

	// The audit log tells who previewed, who approved and what the job did.
	admin.do(t, chromedp.Navigate(env.base+"/admin/audit?category=actions"), chromedp.WaitVisible(chromedp.CSS("main table")))
	admin.screenshot(t, "action-5-audit")
	log := admin.text(t, "main table")
	for _, want := range []string{"Previewed action", "security@example.com", "Approved action", "admin@example.com", "step 3 done", "finished done"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q: %q", want, log)
		}
	}
	for _, c := range []*chrome{sec, admin, emp} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}
