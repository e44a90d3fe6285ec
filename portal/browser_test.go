package portal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/internal/testutil"
)

// chrome is a headless Chromium tab that records every console error, uncaught exception and
// browser-reported problem (such as a Content-Security-Policy violation).
type chrome struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newChrome(t *testing.T) *chrome {
	t.Helper()
	path := testutil.Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 180*time.Second) // long stories on a busy machine
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	c := &chrome{ctx: ctx}
	// Start the browser, then subscribe to its console before any page loads.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				c.mu.Lock()
				c.errors = append(c.errors, m.String())
				c.mu.Unlock()
			}
		}
	}()
	return c
}

func (c *chrome) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func (c *chrome) text(t *testing.T, css string) string {
	t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// consoleErrors returns what the page reported as errors. Messages arrive asynchronously, so
// it first gives the browser a moment to deliver them.
func (c *chrome) consoleErrors() []string {
	time.Sleep(300 * time.Millisecond)
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// screenshot saves a full-page PNG under testdata/out for people to look at.
func (c *chrome) screenshot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "out")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// screenshotOf saves a PNG of the element css matches under testdata/out.
func (c *chrome) screenshotOf(t *testing.T, css, name string) {
	t.Helper()
	png, err := chromedp.Run(c.ctx, chromedp.Screenshot(chromedp.CSS(css)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "out", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserHomePage(t *testing.T) {
	env := newEnv(t, envOptions{})
	c := newChrome(t)
	c.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	h1 := c.text(t, "h1")
	title, err := chromedp.Run(c.ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	// htmx is loaded from the vendored file: the CSP allowed it and it ran.
	if _, err := chromedp.Run(c.ctx, chromedp.Poll[bool]("typeof htmx !== 'undefined'", chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("htmx did not load: %v", err)
	}
	c.screenshot(t, "home")
	if h1 != "Find the apps you can use — and get a yes for the ones you need" {
		t.Errorf("h1 = %q", h1)
	}
	if !strings.Contains(title, "Paved") {
		t.Errorf("title = %q", title)
	}
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors on the home page:\n%s", strings.Join(errs, "\n"))
	}
	// The recorder itself works: an error the page logs is caught.
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[any](`console.error("paved-probe")`)); err != nil {
		t.Fatal(err)
	}
	if errs := c.consoleErrors(); len(errs) != 1 || !strings.Contains(errs[0], "paved-probe") {
		t.Errorf("console recorder caught %q, want the probe", errs)
	}
}

// TestBrowserSignInPerRole signs in through the dev provider's page as each demo user and
// checks the navigation shows that role's sections and no others.
func TestBrowserSignInPerRole(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp"})
	roles := []struct {
		subject   string
		visible   []string
		invisible []string
	}{
		{"devidp-employee", []string{"Account"}, []string{"API tokens"}},
		{"devidp-committee", []string{"Account"}, []string{"API tokens"}},
		{"devidp-security", []string{"Account"}, []string{"API tokens"}},
		{"devidp-admin", []string{"Account", "API tokens"}, nil},
	}
	for _, r := range roles {
		t.Run(r.subject, func(t *testing.T) {
			c := newChrome(t)
			pick := chromedp.CSS(`button[value="` + r.subject + `"]`)
			c.do(t, chromedp.Navigate(env.base+"/account"), chromedp.WaitVisible(pick))
			c.screenshot(t, "signin-picker")
			c.do(t, chromedp.Click(pick), chromedp.WaitVisible(chromedp.CSS("#account-title")))
			nav := c.text(t, "nav.primary-nav")
			c.screenshot(t, "account-"+strings.TrimPrefix(r.subject, "devidp-"))
			for _, want := range r.visible {
				if !strings.Contains(nav, want) {
					t.Errorf("navigation %q lacks %q", nav, want)
				}
			}
			for _, not := range r.invisible {
				if strings.Contains(nav, not) {
					t.Errorf("navigation %q shows %q", nav, not)
				}
			}
			roleText := c.text(t, ".role-list")
			role := strings.TrimPrefix(r.subject, "devidp-")
			if !strings.Contains(roleText, role) {
				t.Errorf("roles shown %q lack %q", roleText, role)
			}
			if errs := c.consoleErrors(); len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

// TestBrowserFindAppWithTypo: an employee types a misspelled name on the home page, sees the
// right app first, opens it and sees what to use instead.
func TestBrowserFindAppWithTypo(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	c := newChrome(t)
	pick := chromedp.CSS(`button[value="devidp-employee"]`)
	c.do(t, chromedp.Navigate(env.base+"/auth/login?next=/"), chromedp.WaitVisible(pick), chromedp.Click(pick),
		chromedp.WaitVisible(chromedp.CSS("#catalogue-search")),
		chromedp.SendKeys(chromedp.CSS("#catalogue-search"), "wetrasfer\n"),
		chromedp.WaitVisible(chromedp.CSS(".app-list .app-name")),
	)
	c.screenshot(t, "catalogue-typo")
	if first := c.text(t, ".app-list .app-name"); first != "WeTransfer" {
		t.Fatalf("first hit = %q, want WeTransfer", first)
	}
	// Typing in the catalogue's own box updates the results as you type (htmx).
	if _, err := chromedp.Run(c.ctx, chromedp.Evaluate[any](`document.getElementById("q").value = ""`)); err != nil {
		t.Fatal(err)
	}
	c.do(t, chromedp.SendKeys(chromedp.CSS("#q"), "slack"))
	if _, err := chromedp.Run(c.ctx, chromedp.Poll[bool](`document.querySelector(".app-list .app-name")?.textContent === "Slack" && location.search === "?q=slack"`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("results did not update as typed: %v", err)
	}
	c.do(t, chromedp.Navigate(env.base+"/apps?q=wetrasfer"), chromedp.WaitVisible(chromedp.CSS(".app-list .app-name")), chromedp.Click(chromedp.CSS(".app-list .app-name")),
		chromedp.WaitVisible(chromedp.CSS("#alternatives")))
	c.screenshot(t, "app-not-approved")
	alts := c.text(t, "#alternatives")
	if !strings.Contains(alts, "Google Drive") {
		t.Errorf("alternatives section = %q", alts)
	}
	if verdict := c.text(t, ".verdict"); !strings.Contains(verdict, "What would change this decision") {
		t.Errorf("verdict = %q", verdict)
	}
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	c.do(t, chromedp.Navigate(env.base+"/no-such-page"), chromedp.WaitVisible(chromedp.CSS("h1")))
	c.screenshot(t, "phone-not-found")
}

// TestBrowserDidYouMean: a search too far from any name for typo tolerance says which name
// was probably meant, and following it finds the app.
func TestBrowserDidYouMean(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	c := newChrome(t)
	pick := chromedp.CSS(`button[value="devidp-employee"]`)
	c.do(t, chromedp.Navigate(env.base+"/auth/login?next=/apps"), chromedp.WaitVisible(pick), chromedp.Click(pick),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "sllak"),
		chromedp.WaitVisible(chromedp.CSS(".did-you-mean a")),
	)
	c.screenshot(t, "catalogue-did-you-mean")
	if got := c.text(t, ".did-you-mean"); got != "Did you mean Slack?" {
		t.Errorf("suggestion line = %q, want \"Did you mean Slack?\"", got)
	}
	c.do(t, chromedp.Click(chromedp.CSS(".did-you-mean a")), chromedp.WaitVisible(chromedp.CSS(".app-list .app-name")))
	if first := c.text(t, ".app-list .app-name"); first != "Slack" {
		t.Errorf("after following the suggestion, first hit = %q, want Slack", first)
	}
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestBrowserEveryPage opens every page an administrator can reach, checks each has a heading
// and no console error (a CSP violation would be one), and saves a screenshot of each.
func TestBrowserEveryPage(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	c := newChrome(t)
	pick := chromedp.CSS(`button[value="devidp-admin"]`)
	c.do(t, chromedp.Navigate(env.base+"/auth/login?next=/account"), chromedp.WaitVisible(pick), chromedp.Click(pick), chromedp.WaitVisible(chromedp.CSS("#account-title")))
	pages := [][2]string{
		{"/", "home-signed-in"}, {"/apps", "catalogue"}, {"/apps/zoom", "app-conditions"}, {"/apps/slack", "app-approved"},
		{"/apps/slack/edit", "app-edit"}, {"/apps/new", "app-new"}, {"/apps/slack/risk", "risk-review"},
		{"/admin/risk-weights", "risk-weights"}, {"/admin/categories", "categories"}, {"/admin/audit", "audit"},
		{"/admin/tokens", "tokens"}, {"/account", "account"},
		{"/discovery", "discovery"}, {"/discovery/import", "discovery-import"}, {"/admin/sources", "sources"},
		{"/voting", "voting"}, {"/reviews", "reviews"}, {"/requests", "my-requests"},
	}
	for _, pg := range pages {
		path, name := pg[0], pg[1]
		c.do(t, chromedp.Navigate(env.base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if h1 := c.text(t, "h1"); strings.TrimSpace(h1) == "" {
			t.Errorf("%s has an empty heading", path)
		}
		c.screenshot(t, "page-"+name)
	}
	// A phone-sized window: the catalogue still fits without sideways scrolling.
	c.do(t, chromedp.EmulateViewport(390, 844), chromedp.Navigate(env.base+"/apps?q=diagram"), chromedp.WaitVisible(chromedp.CSS("h1")))
	c.screenshot(t, "phone-catalogue")
	wide, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		t.Fatal(err)
	}
	if wide {
		t.Error("the catalogue scrolls sideways on a phone")
	}
	if errs := c.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	c.do(t, chromedp.Navigate(env.base+"/no-such-page"), chromedp.WaitVisible(chromedp.CSS("h1")))
	c.screenshot(t, "phone-not-found")
}
