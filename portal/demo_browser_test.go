package portal

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/auth/devidp"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/audit"
)

// TestBrowserLivingDemo: the quick start's demo data gives every role work to find, as each
// person signs in: the employee follows a proposal in review, the committee member finds a
// vote they have not cast, security finds reviews and scored apps, and the decided proposals
// show a pilot and a rejection with guidance. Nothing in it links to invented evidence.
func TestBrowserLivingDemo(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	ctx := context.Background()
	if _, err := env.catalog.SeedDemoRisk(ctx, audit.System); err != nil {
		t.Fatal(err)
	}
	roles := auth.RoleMapping{Committee: []string{"paved-committee"}, Security: []string{"paved-security"}, Admin: []string{"paved-admins"}}
	member := func(sub, email, name string, groups ...string) requests.Member {
		rs := roles.RolesFor(groups)
		u, err := env.auth.EnsureUser(ctx, auth.Identity{Issuer: env.base + "/devidp", Subject: sub, Email: email, Name: name}, rs)
		if err != nil {
			t.Fatal(err)
		}
		m := requests.Member{UserID: u.ID, Email: u.Email}
		for _, r := range rs {
			m.Roles = append(m.Roles, string(r))
		}
		return m
	}
	var people requests.DemoPeople
	for i, dst := range []*requests.Member{&people.Employee, &people.Committee, &people.Security, &people.Admin} {
		u := devidp.DemoUsers()[i]
		*dst = member(u.Subject, u.Email, u.Name, u.Groups...)
	}
	people.Colleagues = []requests.Member{member("demo-priya", "priya@example.com", "Priya Product"), member("demo-omar", "omar@example.com", "Omar Operations")}
	res, err := env.requests.SeedDemo(ctx, people)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 4 || res.Pledges < 4 || res.Comments < 2 {
		t.Errorf("demo result %+v", res)
	}
	if again, err := env.requests.SeedDemo(ctx, people); err != nil || again.Requests != 0 {
		t.Errorf("a second run added %+v (%v)", again, err)
	}

	emp := signedIn(t, env, "devidp-employee")
	emp.do(t, chromedp.Navigate(env.base+"/"), chromedp.WaitVisible(chromedp.CSS("#home-requests")))
	emp.screenshot(t, "demo-1-home-employee")
	if got := emp.text(t, "#home-requests"); !strings.Contains(got, "tldraw") || !strings.Contains(got, "In security review") || !strings.Contains(got, "Gliffy") {
		t.Errorf("the demo employee's requests: %q", got)
	}

	committee := signedIn(t, env, "devidp-committee")
	committee.do(t, chromedp.Navigate(env.base+"/voting"), chromedp.WaitVisible(chromedp.CSS(".vote-progress")))
	committee.screenshot(t, "demo-2-committee-queue")
	if got := committee.text(t, ".app-list"); !strings.Contains(got, "Gliffy") || !strings.Contains(got, "You have not voted yet.") || !strings.Contains(got, "1 approve") {
		t.Errorf("the committee's queue: %q", got)
	}
	committee.do(t, chromedp.Navigate(env.base+"/voting"), chromedp.Click(chromedp.CSS(".app-list a.app-name")), chromedp.WaitVisible(chromedp.CSS(".vote-progress")))
	committee.screenshot(t, "demo-3-vote-progress")
	committee.screenshotOf(t, `section[aria-labelledby="vote-title"]`, "demo-4-vote-section")
	page := committee.text(t, "main")
	for _, want := range []string{"EUR", "GBP", "Reviewed: SSO and a DPA are in place.", "(Demo data.)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the Gliffy proposal lacks %q", want)
		}
	}

	sec := signedIn(t, env, "devidp-security")
	sec.do(t, chromedp.Navigate(env.base+"/reviews"), chromedp.WaitVisible(chromedp.CSS(".review-queue")))
	if got := sec.text(t, ".review-queue"); !strings.Contains(got, "tldraw") || !strings.Contains(got, "Finish the review") {
		t.Errorf("security's queue: %q", got)
	}
	sec.do(t, chromedp.Navigate(env.base+"/apps/tana"), chromedp.WaitVisible(chromedp.CSS("#verdict-title")))
	if got := sec.text(t, "main"); !strings.Contains(got, "on these conditions") {
		t.Errorf("the Tana pilot: %q", got)
	}
	sec.do(t, chromedp.Navigate(env.base+"/apps/tella"), chromedp.WaitVisible(chromedp.CSS("#verdict-title")))
	if got := sec.text(t, "main"); !strings.Contains(got, "is not approved") || !strings.Contains(got, "Loom") {
		t.Errorf("the Tella rejection: %q", got)
	}
	sec.do(t, chromedp.Navigate(env.base+"/apps/slack"), chromedp.WaitVisible(chromedp.CSS(".risk-badge")))
	if got := sec.text(t, ".risk-badge"); got == "Not assessed yet" {
		t.Error("a demo app with risk answers is not assessed")
	}
	var links int
	_ = env.db.Get(&links, "SELECT COUNT(*) FROM risk_factors WHERE evidence_url <> ''")
	if links != 0 {
		t.Errorf("%d demo risk answers link to evidence that does not exist", links)
	}
}
