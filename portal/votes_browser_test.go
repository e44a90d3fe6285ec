package portal

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/config"
)

// memberByEmail is a signed-in demo user as the request workflow sees them.
func (e *testEnv) memberByEmail(t *testing.T, email string, roles ...string) requests.Member {
	t.Helper()
	var id int64
	if err := e.db.Get(&id, e.db.Rebind("SELECT id FROM users WHERE email = ?"), email); err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return requests.Member{UserID: id, Email: email, Roles: append([]string{"employee"}, roles...)}
}

// proposalInVote stores a proposal by the demo employee, reviewed and put to the vote by the
// demo security user, and returns its page's address.
func (e *testEnv) proposalInVote(t *testing.T, name string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	emp := e.memberByEmail(t, "employee@example.com")
	sec := e.memberByEmail(t, "security@example.com", "committee", "security")
	r, err := e.requests.Propose(ctx, emp, requests.ProposalInput{Name: name, UseCase: "Whiteboards for design sprints with customers.", DataClassification: "internal"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.requests.Transition(ctx, sec, r.ID, requests.ActionStartReview, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.requests.CompleteReview(ctx, sec, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes,
		DPA: catalog.AnswerYes, Certifications: []string{"soc2_type2"}, DataLocation: "EU (Frankfurt)", Recommendation: requests.RecommendApproveWithConditions,
		Notes: "SSO only; no customer data on public boards."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.requests.OpenVote(ctx, sec, r.ID); err != nil {
		t.Fatal(err)
	}
	return r.ID, e.base + "/requests/" + strconv.FormatInt(r.ID, 10)
}

// TestBrowserVoteProgress: a committee member finds an open vote in the queue with its
// progress and the fact that they have not voted, votes, and sees the progress move; an
// employee sees the counts but not who voted what; the chair closes the vote early, and must
// give a reason, which the timeline shows beside the tally.
func TestBrowserVoteProgress(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	committee := signedIn(t, env, "devidp-committee")
	chair := signedIn(t, env, "devidp-security") // PAVED_VOTE_CHAIR_ROLE defaults to security
	employee := signedIn(t, env, "devidp-employee")
	_, reqURL := env.proposalInVote(t, "tldraw")

	committee.do(t, chromedp.Navigate(env.base+"/voting"), chromedp.WaitVisible(chromedp.CSS(".vote-progress")))
	committee.screenshot(t, "votes-1-queue")
	row := committee.text(t, ".app-list .app-row")
	for _, want := range []string{"tldraw", "Vote open", "closes", "days left", "0 of 3 votes needed for the quorum", "0 approve", "You have not voted yet."} {
		if !strings.Contains(row, want) {
			t.Errorf("queue row lacks %q: %q", want, row)
		}
	}
	if intro := committee.text(t, ".lead"); strings.Contains(intro, "“Voting”") {
		t.Errorf("the queue speaks of a badge it does not show: %q", intro)
	}

	committee.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(`input[value="approve"]`)), chromedp.Click(chromedp.CSS(`input[value="approve"]`)))
	committee.submit(t, `form[action$="/vote"] button`)
	committee.screenshot(t, "votes-2-voted")
	got := committee.text(t, ".vote-progress")
	for _, want := range []string{"1 of 3 votes needed", "1 approve", "You voted Approve."} {
		if !strings.Contains(got, want) {
			t.Errorf("after voting the progress lacks %q: %q", want, got)
		}
	}
	if who := committee.text(t, ".votes-list"); !strings.Contains(who, "Carlos Committee: Approve") {
		t.Errorf("the committee sees who voted: %q", who)
	}

	employee.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(".vote-progress")))
	if got := employee.text(t, ".vote-progress"); !strings.Contains(got, "1 approve") || strings.Contains(got, "You ") {
		t.Errorf("the employee's view of the vote: %q", got)
	}
	if strings.Contains(employee.text(t, "main"), "Carlos Committee: Approve") {
		t.Error("an employee sees who voted what")
	}
	if n, err := chromedp.Run(employee.ctx, chromedp.Evaluate[int](`document.querySelectorAll("form[action$='/vote/close']").length`)); err != nil || n != 0 {
		t.Errorf("an employee is offered the chair's close (%d, %v)", n, err)
	}

	chair.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(".close-early summary")), chromedp.Click(chromedp.CSS(".close-early summary")))
	chair.submit(t, `form[action$="/vote/close"] button`)
	if msg := chair.text(t, "#vc-reason-error"); !strings.Contains(msg, "Say why") {
		t.Errorf("closing without a reason: %q", msg)
	}
	chair.do(t, chromedp.SendKeys(chromedp.CSS("#vc-reason"), "The vendor changed its pricing; we decide now."))
	chair.submit(t, `form[action$="/vote/close"] button`)
	chair.screenshot(t, "votes-3-closed-early")
	if line := chair.text(t, ".vote-progress .vote-line"); !strings.Contains(line, "Vote closed: did not pass") {
		t.Errorf("vote line after the early close: %q", line)
	}
	if tl := chair.text(t, ".timeline"); !strings.Contains(tl, "Closed the vote · Closed early by the chair: The vendor changed its pricing; we decide now. Not passed: the quorum is 3 votes") {
		t.Errorf("timeline after the early close: %q", tl)
	}
	// The decision form starts from the review's recommendation, in words.
	if sel, err := chromedp.Run(chair.ctx, chromedp.Evaluate[string](`document.getElementById("d-outcome").selectedOptions[0].textContent`)); err != nil || sel != "Approved with conditions" {
		t.Errorf("decision form starts at %q (%v)", sel, err)
	}
	review := chair.text(t, "#review-title + dl")
	for _, want := range []string{"SOC 2", "Approve with conditions", "Yes", "Internal"} {
		if !strings.Contains(review, want) {
			t.Errorf("review summary lacks %q: %q", want, review)
		}
	}
	if strings.Contains(review, "soc2_type2") || strings.Contains(review, "approve_with_conditions") {
		t.Errorf("review summary shows codes: %q", review)
	}
	// The chair's page answered one 400 on purpose (the missing reason); the others none.
	for _, c := range []*chrome{committee, employee} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

// TestBrowserReviewQueue: security finds its work in /reviews, oldest first, with what each
// request waits for, and the navigation counts what waits in each queue.
func TestBrowserReviewQueue(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	sec := signedIn(t, env, "devidp-security")
	committee := signedIn(t, env, "devidp-committee")
	_ = signedIn(t, env, "devidp-employee")
	ctx := context.Background()
	emp := env.memberByEmail(t, "employee@example.com")
	first, err := env.requests.Propose(ctx, emp, requests.ProposalInput{Name: "Scrawl", UseCase: "Sketches for architecture reviews.", DataClassification: "internal"})
	if err != nil {
		t.Fatal(err)
	}
	env.proposalInVote(t, "tldraw") // in the committee's hands, not security's
	if _, err := env.requests.Propose(ctx, emp, requests.ProposalInput{Name: "Napkin", UseCase: "Flowcharts for onboarding guides.", DataClassification: "internal"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.requests.Transition(ctx, env.memberByEmail(t, "security@example.com", "committee", "security"), first.ID, requests.ActionStartReview, ""); err != nil {
		t.Fatal(err)
	}

	sec.do(t, chromedp.Navigate(env.base+"/reviews"), chromedp.WaitVisible(chromedp.CSS(".review-queue")))
	sec.screenshot(t, "reviews-1-queue")
	rows, err := chromedp.Run(sec.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".review-queue tbody tr")].map(r => r.innerText.replace(/\s+/g, " "))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || !strings.Contains(rows[0], "Scrawl") || !strings.Contains(rows[0], "Finish the review") ||
		!strings.Contains(rows[1], "Napkin") || !strings.Contains(rows[1], "Start the review") || !strings.Contains(rows[1], "today") {
		t.Errorf("review queue rows = %q", rows)
	}
	if nav := sec.text(t, `nav a[href="/reviews"]`); !strings.Contains(nav, "Reviews 2") {
		t.Errorf("security's navigation: %q", nav)
	}
	committee.do(t, chromedp.Navigate(env.base+"/apps"), chromedp.WaitVisible(chromedp.CSS(`nav a[href="/voting"]`)))
	if nav := committee.text(t, `nav a[href="/voting"]`); !strings.Contains(nav, "Voting 1") {
		t.Errorf("the committee's navigation: %q", nav)
	}
	if n, err := chromedp.Run(committee.ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/reviews"]').length`)); err != nil || n != 0 {
		t.Errorf("the committee is offered security's queue (%d, %v)", n, err)
	}
	for _, c := range []*chrome{sec, committee} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

// TestBrowserLastVoteClosesTheVote: when the last committee member votes, the vote closes at
// once, counted by the same rules as at the window's end, and the request page says so.
func TestBrowserLastVoteClosesTheVote(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, seed: true})
	env.requests.SetVoteSettings(requests.VoteSettings{Rules: requests.VotingRules{Quorum: 2, Majority: 0.5, Window: 7 * 24 * time.Hour}})
	// The committee is everyone who has signed in with a committee seat: these two.
	committee := signedIn(t, env, "devidp-committee")
	security := signedIn(t, env, "devidp-security")
	signedIn(t, env, "devidp-employee")
	_, reqURL := env.proposalInVote(t, "Boardwise")

	committee.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(`input[value="approve"]`)), chromedp.Click(chromedp.CSS(`input[value="approve"]`)))
	committee.submit(t, `form[action$="/vote"] button`)
	if got := committee.text(t, ".vote-progress"); !strings.Contains(got, "1 of 2 votes needed") {
		t.Errorf("after the first vote: %q", got)
	}

	security.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(`input[value="approve"]`)), chromedp.Click(chromedp.CSS(`input[value="approve"]`)))
	security.submit(t, `form[action$="/vote"] button`)
	security.screenshot(t, "votes-4-last-vote-closes")
	if flash := security.text(t, "body"); !strings.Contains(flash, "Everyone on the committee has now voted, so the vote is closed and counted.") {
		t.Errorf("the last voter is not told the vote closed: %q", flash)
	}
	if line := security.text(t, ".vote-progress .vote-line"); !strings.Contains(line, "Vote closed: passed") {
		t.Errorf("vote line after the last vote: %q", line)
	}
	if tl := security.text(t, ".timeline"); !strings.Contains(tl, "Closed the vote · Everyone on the committee (2) has voted.") {
		t.Errorf("timeline after the last vote: %q", tl)
	}
	// The first voter sees the same on a fresh look, and can no longer vote.
	committee.do(t, chromedp.Navigate(reqURL), chromedp.WaitVisible(chromedp.CSS(".vote-progress")))
	if line := committee.text(t, ".vote-progress .vote-line"); !strings.Contains(line, "Vote closed: passed") {
		t.Errorf("the committee member's view after the last vote: %q", line)
	}
	if n, err := chromedp.Run(committee.ctx, chromedp.Evaluate[int](`document.querySelectorAll("form[action$='/vote']").length`)); err != nil || n != 0 {
		t.Errorf("the vote form is still offered after the close (%d, %v)", n, err)
	}
	for _, c := range []*chrome{committee, security} {
		if errs := c.consoleErrors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	}
}

// TestChairByGroup: with PAVED_VOTE_CHAIR_GROUPS, a committee member in that identity-provider
// group chairs the committee (may close a vote early), and the chair role can be turned off.
func TestChairByGroup(t *testing.T) {
	env := newEnv(t, envOptions{provider: "devidp", catalog: true, config: func(c *config.Config) {
		c.VoteChairRole, c.VoteChairGroups = "none", "vote-chairs, paved-committee"
	}})
	committee, security, employee := env.browser(), env.browser(), env.browser()
	committee.signInDev(env.base, "/account", "devidp-committee") // groups: paved-employees, paved-committee
	security.signInDev(env.base, "/account", "devidp-security")   // security, but in no chair group
	employee.signInDev(env.base, "/account", "devidp-employee")
	id, reqURL := env.proposalInVote(t, "tldraw")
	closeURL := reqURL + "/vote/close"

	if p := security.get(reqURL); strings.Contains(p.body, `/vote/close"`) {
		t.Error("security, outside the chair groups, is offered the early close")
	}
	if p := security.post(closeURL, url.Values{"reason": {"Not mine to close."}}); p.status != http.StatusForbidden {
		t.Errorf("security closing early: %d, want 403", p.status)
	}
	if p := committee.get(reqURL); !strings.Contains(p.body, `/vote/close"`) {
		t.Error("the committee member in a chair group is not offered the early close")
	}
	p := committee.post(closeURL, url.Values{"reason": {"The budget round ends today."}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Closed early by the chair: The budget round ends today.") {
		t.Errorf("closing as the chair by group: %d", p.status)
	}
	if r, err := env.requests.Request(context.Background(), id); err != nil || r.State != requests.StateVoteClosed {
		t.Errorf("request after the early close: %s, %v", r.State, err)
	}

	// The chair role still works beside the groups, and "none" is the only way to turn it off.
	for role, ok := range map[string]bool{"security": true, "none": true, "chair": false} {
		cfg, _, err := config.Load("test", nil, func(k string) string {
			if k == "PAVED_VOTE_CHAIR_ROLE" {
				return role
			}
			return ""
		}, io.Discard)
		if err == nil {
			err = cfg.Validate()
		}
		if (err == nil) != ok {
			t.Errorf("PAVED_VOTE_CHAIR_ROLE=%q: %v", role, err)
		}
	}
}
