package portal

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
)

// signedIn opens a browser signed in as a demo user.
func signedIn(t *testing.T, env *testEnv, subject string) *chrome {
	t.Helper()
	c := newChrome(t)
	pick := chromedp.CSS(`button[value="` + subject + `"]`)
	c.do(t, chromedp.Navigate(env.base+"/auth/login?next=/account"), chromedp.WaitVisible(pick), chromedp.Click(pick), chromedp.WaitVisible(chromedp.CSS("#account-title")))
	return c
}

// set sets a form control's value by id, as a person choosing from a list would.
func (c *chrome) set(t *testing.T, id, value string) {
	t.Helper()
	js := `(() => { const el = document.getElementById(` + strconv.Quote(id) + `); el.value = ` + strconv.Quote(value) + `; return true })()`
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatalf("set #%s: %v", id, err)
	}
}

// submit clicks a form's button and waits until the next page has loaded: the old page is
// marked first, so a match on it cannot be mistaken for the new one.
func (c *chrome) submit(t *testing.T, button string) {
	t.Helper()
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`(() => { window.pavedOldPage = true; return true })()`)); err != nil {
		t.Fatal(err)
	}
	c.do(t, chromedp.Click(chromedp.CSS(button)))
	deadline := time.Now().Add(15 * time.Second)
	for {
		// Errors are expected while the page is being replaced; only the deadline counts.
		ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`!window.pavedOldPage && document.readyState === "complete" && !!document.getElementById("req-title")`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after clicking %s the next page did not load (last error: %v)", button, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserProposalStory is the whole story: an employee proposes an app, a colleague
// supports it and pledges budget, security reviews, the committee votes, the vote closes,
// security decides "rejected with guidance", and the requester sees what to use instead and
// what would change the decision.
func TestBrowserProposalStory(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	employee := signedIn(t, env, "devidp-employee")
	employee.do(t, chromedp.Navigate(env.base+"/requests/new?name=Gliffy"), chromedp.WaitVisible(chromedp.CSS("#p-use")),
		chromedp.SendKeys(chromedp.CSS("#p-site"), "https://www.gliffy.com"),
		chromedp.SendKeys(chromedp.CSS("#p-use"), "Architecture diagrams for the platform team."),
		chromedp.SendKeys(chromedp.CSS("#p-est"), "2400"))
	employee.screenshot(t, "story-1-proposal-form")
	employee.submit(t, `form[action="/requests"] button[type=submit]`)
	employee.screenshot(t, "story-2-proposed")
	loc, err := chromedp.Run(employee.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	reqURL := loc
	id, _ := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)

	supporter := signedIn(t, env, "devidp-committee")
	supporter.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS("#req-title")))
	supporter.submit(t, `form[action$="/support"] button`)
	supporter.do(t, chromedp.WaitVisible(chromedp.CSS("#pl-cc")),
		chromedp.SendKeys(chromedp.CSS("#pl-cc"), "ENG-42"), chromedp.SendKeys(chromedp.CSS("#pl-amount"), "100"))
	supporter.submit(t, `form[action$="/pledge"] button`)
	supporter.screenshot(t, "story-3-supported-and-pledged")
	if txt := supporter.text(t, "#fund-title + p"); !strings.Contains(txt, "1 colleague supports") || !strings.Contains(txt, "50% funded") {
		t.Errorf("funding line = %q", txt)
	}

	sec := signedIn(t, env, "devidp-security")
	sec.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS("#req-title")))
	sec.submit(t, `form[action$="/review/start"] button`)
	sec.set(t, "rv-class", "internal")
	sec.set(t, "rv-sso", "no")
	sec.set(t, "rv-dpa", "no")
	sec.set(t, "rv-rec", "reject")
	sec.do(t, chromedp.SendKeys(chromedp.CSS("#rv-loc"), "US"), chromedp.SendKeys(chromedp.CSS("#rv-notes"), "No SSO and no DPA; Miro covers diagrams."))
	sec.submit(t, `form[action$="/review"] button`)
	sec.screenshot(t, "story-4-reviewed")
	sec.submit(t, `form[action$="/vote/open"] button`)

	admin := signedIn(t, env, "devidp-admin")
	for _, v := range []struct {
		c      *chrome
		choice string
	}{{supporter, "approve"}, {sec, "reject"}, {admin, "reject"}} {
		v.c.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(`input[value="`+v.choice+`"]`)),
			chromedp.Click(chromedp.CSS(`input[value="`+v.choice+`"]`)))
		v.c.submit(t, `form[action$="/vote"] button`)
	}
	admin.screenshot(t, "story-5-voted")

	// The whole committee (committee, security and admin) has voted: the last vote closed it.
	got, err := env.requests.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if tally, ok := got.Tally(); got.State != requests.StateVoteClosed || !ok || tally.Passed || tally.Reject != 2 {
		t.Fatalf("after the last vote: state %s, tally %+v", got.State, tally)
	}
	if line := admin.text(t, ".vote-progress .vote-line"); !strings.Contains(line, "Vote closed: did not pass") {
		t.Errorf("vote line after the last vote = %q", line)
	}
	if tl := admin.text(t, ".timeline"); !strings.Contains(tl, "Closed the vote · Everyone on the committee (3) has voted. Not passed") {
		t.Errorf("timeline after the last vote = %q", tl)
	}

	sec.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS("#d-outcome")))
	sec.set(t, "d-outcome", "rejected_with_guidance")
	sec.set(t, "d-cat", "diagramming")
	if _, err := chromedp.Run(sec.ctx, chromedp.Evaluate[bool](`(() => { for (const o of document.getElementById("d-alts").options) { o.selected = o.value === "miro" }; return true })()`)); err != nil {
		t.Fatal(err)
	}
	sec.do(t, chromedp.SendKeys(chromedp.CSS("#d-why"), "No SSO and no DPA for internal data."),
		chromedp.SendKeys(chromedp.CSS("#d-change"), "SSO through our identity provider and a signed DPA."))
	sec.submit(t, `form[action$="/decide"] button`)
	sec.screenshot(t, "story-6-decided")

	employee.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS("#decision-title")))
	employee.screenshot(t, "story-7-requester-sees-guidance")
	verdict := employee.text(t, ".verdict")
	for _, want := range []string{"not approved", "Miro", "What would change this decision", "signed DPA"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("the requester's decision box lacks %q: %q", want, verdict)
		}
	}
	if funding := employee.text(t, "#fund-title + p + progress + p"); !strings.Contains(funding, "1,200.00 EUR") {
		t.Errorf("pledged total = %q", funding)
	}
	if strings.Contains(employee.text(t, "main"), "ENG-42") {
		t.Error("an employee sees who pledged")
	}
	for _, c := range []*chrome{employee, supporter, sec, admin} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

// waitPage clicks a button and waits for the next page to show selector.
func (c *chrome) waitPage(t *testing.T, button, selector string) {
	t.Helper()
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`(() => { window.pavedOldPage = true; return true })()`)); err != nil {
		t.Fatal(err)
	}
	c.do(t, chromedp.Click(chromedp.CSS(button)))
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`!window.pavedOldPage && document.readyState === "complete" && !!document.querySelector(`+strconv.Quote(selector)+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after clicking %s, %s did not appear (last error: %v)", button, selector, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBrowserDiscoveryStory: security uploads a log, sees the dashboard fill, links an app and
// adds another to the catalogue as under review; an employee who appears in the log sees the
// unapproved apps they use, with alternatives.
func TestBrowserDiscoveryStory(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	dir := t.TempDir()
	log := filepath.Join(dir, "proxy-log.csv")
	rows := "time,user,app,domain\n"
	day := time.Now().UTC().AddDate(0, 0, -2).Format(time.RFC3339)
	for _, u := range []string{"employee@example.com", "p1@example.com", "p2@example.com", "p3@example.com"} {
		rows += day + "," + u + ",WeTransfer,wetransfer.com\n" + day + "," + u + ",Gliffy,gliffy.com\n" + day + "," + u + ",Excalidraw Plus,excalidraw-plus.example\n"
	}
	if err := os.WriteFile(log, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	sec := signedIn(t, env, "devidp-security")
	sec.do(t, chromedp.Navigate(env.base+"/discovery/import"), chromedp.WaitVisible(chromedp.CSS("#i-file")),
		chromedp.SetUploadFiles(chromedp.CSS("#i-file"), []string{log}))
	sec.waitPage(t, `form[action="/discovery/import"] button`, "[role=status]")
	sec.screenshot(t, "discovery-1-imported")
	if txt := sec.text(t, "[role=status]"); !strings.Contains(txt, "finished") || !strings.Contains(txt, "12") {
		t.Errorf("import result = %q", txt)
	}
	sec.do(t, chromedp.Navigate(env.base+"/discovery"), chromedp.WaitVisible(chromedp.CSS("#discovered-apps")))
	sec.screenshot(t, "discovery-2-dashboard")
	dash := sec.text(t, "#discovered-apps")
	for _, app := range []string{"WeTransfer", "Gliffy", "Excalidraw Plus"} {
		if !strings.Contains(dash, app) {
			t.Errorf("dashboard lacks %s", app)
		}
	}
	// Link "Excalidraw Plus" to the catalogue's Excalidraw; add Gliffy as under review.
	// An old link by identifier still leads to the app; linking searches the whole catalogue.
	sec.do(t, chromedp.Navigate(env.base+"/discovery/app?key=domain:excalidraw-plus.example"), chromedp.WaitVisible(chromedp.CSS("#l-q")))
	sec.do(t, chromedp.SetValue(chromedp.CSS("#l-q"), "excalidraw"))
	sec.waitPage(t, `form[role=search] button`, `input[name=slug][value=excalidraw]`)
	sec.do(t, chromedp.Click(chromedp.CSS(`input[name=slug][value=excalidraw]`)))
	sec.waitPage(t, `form[action$="/link"] button`, ".flash")
	sec.do(t, chromedp.Navigate(env.base+"/discovery/app?key=domain:gliffy.com"), chromedp.WaitVisible(chromedp.CSS("#a-cat")))
	sec.set(t, "a-cat", "diagramming")
	sec.waitPage(t, `form[action$="/add"] button`, ".flash")
	sec.screenshot(t, "discovery-3-added")
	if a, err := env.catalog.App(t.Context(), "gliffy"); err != nil || a.Status != "under_review" {
		t.Errorf("Gliffy in the catalogue: %+v, %v", a, err)
	}

	emp := signedIn(t, env, "devidp-employee")
	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#you-use-title")))
	emp.screenshot(t, "discovery-4-employee-home")
	yours := emp.text(t, ".apps-you-use")
	if !strings.Contains(yours, "WeTransfer") || !strings.Contains(yours, "Google Drive") {
		t.Errorf("apps you use = %q", yours)
	}
	for _, c := range []*chrome{sec, emp} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

// TestBrowserDiscoveryMergeSplit: security sees two rows for one app, merges them from the
// app's page, sees one row counting each person once, then splits an identifier off again.
func TestBrowserDiscoveryMergeSplit(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app,domain\n" +
		day + ",a@example.com,Loom,loom.com\n" + day + ",b@example.com,Loom,loom.com\n" +
		day + ",b@example.com,Loom Recorder,\n" + day + ",c@example.com,Loom Recorder,\n"
	st := discovery.NewStore(env.db)
	if _, err := st.Import(t.Context(), audit.System, "csv", "proxy.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	loom, _ := st.AppOfIdentifier(t.Context(), "domain:loom.com")
	recorder, _ := st.AppOfIdentifier(t.Context(), "name:loom recorder")

	sec := signedIn(t, env, "devidp-security")
	rows := func() string {
		sec.do(t, chromedp.Navigate(env.base+"/discovery"), chromedp.WaitVisible(chromedp.CSS("#discovered-apps")))
		return sec.text(t, "#discovered-apps tbody")
	}
	if list := rows(); !strings.Contains(list, "Loom Recorder") || strings.Count(list, "Loom") != 2 {
		t.Fatalf("before merging, the list = %q", list)
	}
	// From Loom Recorder's page, merge it into Loom.
	sec.do(t, chromedp.Click(chromedp.CSS(`a[href="`+discoveredAppURL(recorder)+`"]`)), chromedp.WaitVisible(chromedp.CSS("#m-into")))
	sec.set(t, "m-into", strconv.FormatInt(loom, 10))
	sec.waitPage(t, `form[action$="/merge"] button`, ".flash")
	if head := sec.text(t, "article header"); !strings.Contains(head, "Seen under 2 identifiers") {
		t.Errorf("after merging, the app's page says %q", head)
	}
	if facts := sec.text(t, "dl.facts"); !strings.Contains(facts, "3 in all") {
		t.Errorf("after merging, the people = %q, want 3 (b once)", facts)
	}
	sec.screenshot(t, "discovery-5-merged")
	if list := rows(); strings.Contains(list, "Loom Recorder") || !strings.Contains(list, "2 identifiers") {
		t.Errorf("after merging, the list = %q", list)
	}
	// Split the recorder off again.
	sec.do(t, chromedp.Navigate(env.base+discoveredAppURL(loom)), chromedp.WaitVisible(chromedp.CSS(".identifier-list")))
	sec.waitPage(t, `form[action$="/split"]:has(input[value="name:loom recorder"]) button`, ".flash")
	if head := sec.text(t, "article header"); !strings.Contains(head, "Loom Recorder") || !strings.Contains(head, "Seen under 1 identifier") {
		t.Errorf("after splitting, the new app's page says %q", head)
	}
	if list := rows(); !strings.Contains(list, "Loom Recorder") {
		t.Errorf("after splitting, the list = %q", list)
	}
	var audits int
	_ = env.db.Get(&audits, "SELECT COUNT(*) FROM audit_log WHERE action IN ('discovery.merge', 'discovery.split')")
	if audits != 2 {
		t.Errorf("%d merge and split entries in the audit log, want 2", audits)
	}
	if errs := sec.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
