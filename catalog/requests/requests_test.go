package requests_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
	"github.com/pavedhq/paved/internal/testutil"
)

var sec = audit.Actor{Name: "security@example.com"}

// newWorkflow returns the catalogue and the request workflow on one database; changes queue
// real River jobs (not worked here), so tests can count what the outbox received.
func newWorkflow(t *testing.T, b testutil.Backend) (*catalog.Service, *requests.Service, *jobs.Jobs, *db.DB) {
	t.Helper()
	d := b.Open(t)
	ctx := context.Background()
	j, err := jobs.New(ctx, d, nil, jobs.Options{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(j.Close)
	if _, err := j.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewService(d, nil, catalog.JobsOutbox{Jobs: j})
	cat.RegisterJobs(j)
	svc := requests.NewService(d, cat)
	svc.RegisterJobs(j)
	if err := cat.EnsureCategories(ctx, []catalog.Category{{Slug: "chat", Name: "Chat"}, {Slug: "diagramming", Name: "Diagramming"}}); err != nil {
		t.Fatal(err)
	}
	return cat, svc, j, d
}

// member creates a user row and returns them as a request actor.
func member(t *testing.T, d *db.DB, email string, roles ...string) requests.Member {
	t.Helper()
	var id int64
	now := db.Time(time.Now())
	if err := d.Get(&id, d.Rebind("INSERT INTO users (issuer, subject, email, name, roles, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"),
		"https://idp.test", email, email, email, strings.Join(append([]string{"employee"}, roles...), ","), now, now); err != nil {
		t.Fatal(err)
	}
	return requests.Member{UserID: id, Email: email, Roles: append([]string{"employee"}, roles...)}
}

func TestProposalStory(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cat, svc, j, d := newWorkflow(t, b)
			ctx := context.Background()
			if _, err := cat.CreateApp(ctx, sec, catalog.AppInput{Name: "Lucidchart", Category: "diagramming", Status: "approved"}); err != nil {
				t.Fatal(err)
			}
			emma, bob := member(t, d, "emma@example.com"), member(t, d, "bob@example.com")
			sam := member(t, d, "sam@example.com", "committee", "security")
			voters := []requests.Member{member(t, d, "c1@example.com", "committee"), member(t, d, "c2@example.com", "committee"), member(t, d, "c3@example.com", "committee")}

			if _, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "", UseCase: "x", DataClassification: "secret", Estimate: "-5", EstimateCurrency: "EUR"}); !errs.Is(err, errs.Invalid) {
				t.Fatalf("bad proposal: %v", err)
			}
			r, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", Website: "https://gliffy.com", UseCase: "Architecture diagrams for the platform team.",
				DataClassification: "internal", ExpectedUsers: "12", Estimate: "2400", EstimateCurrency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Support(ctx, emma, r.ID); !errs.Is(err, errs.Conflict) {
				t.Errorf("requester supporting own request: %v", err)
			}
			for range 2 { // supporting twice counts once
				if err := svc.Support(ctx, bob, r.ID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.SetPledge(ctx, bob, r.ID, requests.PledgeInput{CostCentre: "ENG-42", Amount: "-10", Currency: "EUR", Period: "monthly"}); !errs.Is(err, errs.Invalid) {
				t.Errorf("negative pledge: %v", err)
			}
			if _, err := svc.SetPledge(ctx, bob, r.ID, requests.PledgeInput{CostCentre: "ENG-42", Amount: "10", Currency: "XXX", Period: "monthly"}); !errs.Is(err, errs.Invalid) {
				t.Errorf("unknown currency: %v", err)
			}
			if _, err := svc.SetPledge(ctx, bob, r.ID, requests.PledgeInput{CostCentre: "ENG-42", Amount: "100", Currency: "EUR", Period: "monthly", Seats: "5"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.SetPledge(ctx, emma, r.ID, requests.PledgeInput{CostCentre: "OPS-7", Amount: "600", Currency: "EUR", Period: "yearly"}); err != nil {
				t.Fatal(err)
			}
			f, err := svc.FundingOf(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			// 100 × 12 + 600 = 1,800 EUR a year against an estimate of 2,400: 75 %.
			if len(f.Totals) != 1 || f.Percent != 75 || !f.Comparable || f.Supporters != 1 {
				t.Errorf("funding = %+v", f)
			}

			if _, err := svc.OpenVote(ctx, sam, r.ID); !errs.Is(err, errs.Conflict) {
				t.Errorf("vote before review: %v", err)
			}
			if _, err := svc.Transition(ctx, emma, r.ID, requests.ActionStartReview, ""); !errs.Is(err, errs.Forbidden) {
				t.Errorf("employee starting review: %v", err)
			}
			if _, err := svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal"}); !errs.Is(err, errs.Invalid) {
				t.Errorf("incomplete checklist: %v", err)
			}
			check := requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerNo, DPA: catalog.AnswerNo, DataLocation: "US",
				Recommendation: requests.RecommendReject, Notes: "No SSO and no DPA; Lucidchart covers the need."}
			if _, err := svc.CompleteReview(ctx, sam, r.ID, check); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.OpenVote(ctx, sam, r.ID); err != nil {
				t.Fatal(err)
			}
			if err := svc.CastVote(ctx, bob, r.ID, requests.VoteApprove, ""); !errs.Is(err, errs.Forbidden) {
				t.Errorf("non-member vote: %v", err)
			}
			for i, v := range voters {
				choice := requests.VoteReject
				if i == 0 {
					choice = requests.VoteApprove
				}
				if err := svc.CastVote(ctx, v, r.ID, requests.VoteApprove, "first thought"); err != nil {
					t.Fatal(err)
				}
				if err := svc.CastVote(ctx, v, r.ID, choice, "changed my mind"); err != nil { // changeable until close
					t.Fatal(err)
				}
			}
			tally, err := svc.CloseVote(ctx, r.ID, requests.VotingRules{Quorum: 3, Majority: 0.5, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if tally.Passed || !tally.QuorumMet || tally.Approve != 1 || tally.Reject != 2 {
				t.Errorf("tally = %+v", tally)
			}
			if err := svc.CastVote(ctx, voters[0], r.ID, requests.VoteApprove, "late"); !errs.Is(err, errs.Conflict) {
				t.Errorf("vote after close: %v", err)
			}
			if _, err := svc.Decide(ctx, sam, r.ID, requests.DecisionInput{Outcome: requests.OutcomeRejectedWithGuidance, Rationale: "No SSO."}); !errs.Is(err, errs.Invalid) {
				t.Errorf("rejection without guidance: %v", err)
			}
			dec := requests.DecisionInput{Outcome: requests.OutcomeRejectedWithGuidance, Rationale: "No SSO and no DPA.", WhatWouldChange: "SSO and a signed DPA.", Alternatives: []string{"lucidchart"}, Category: "diagramming"}
			if _, err := svc.Decide(ctx, sam, r.ID, dec); err != nil {
				t.Fatal(err)
			}
			app, err := cat.Detail(ctx, "gliffy")
			if err != nil {
				t.Fatal(err)
			}
			if app.App.Status != catalog.StatusNotApproved || app.App.WhatWouldChange == "" || len(app.Alternatives) != 1 {
				t.Errorf("app after decision = %+v, alternatives %v", app.App, app.Alternatives)
			}
			if app.Score.Answered < 2 {
				t.Errorf("the review did not fill the new app's risk profile: %d factors answered", app.Score.Answered)
			}
			if _, err := svc.SetPledge(ctx, bob, r.ID, requests.PledgeInput{CostCentre: "ENG-42", Amount: "1", Currency: "EUR", Period: "monthly"}); !errs.Is(err, errs.Conflict) {
				t.Errorf("pledge after decision: %v", err)
			}
			tl, err := svc.Timeline(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"submit", "start_review", "complete_review", "open_vote", "close_vote", "decide"}
			if len(tl) != len(want) {
				t.Fatalf("timeline = %+v", tl)
			}
			for i, w := range want {
				if tl[i].Action != w {
					t.Errorf("timeline[%d] = %s, want %s", i, tl[i].Action, w)
				}
			}
			if n, _ := j.Pending(ctx, catalog.IndexSyncKind); n < 2 {
				t.Errorf("the decision queued no index sync (%d pending)", n)
			}
		})
	}
}

func TestAccessRequests(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cat, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			for _, in := range []catalog.AppInput{
				{Name: "Slack", Category: "chat", Status: "approved"},
				{Name: "Zoom", Category: "chat", Status: "approved_with_conditions", Conditions: "Internal data only."},
				{Name: "Teams", Category: "chat", Status: "under_review"},
			} {
				if _, err := cat.CreateApp(ctx, sec, in); err != nil {
					t.Fatal(err)
				}
			}
			emma := member(t, d, "emma@example.com")
			r, err := svc.RequestAccess(ctx, emma, "slack", "", false)
			if err != nil || r.State != requests.StateDecided || r.Outcome != requests.OutcomeApproved {
				t.Errorf("approved app: %+v, %v", r, err)
			}
			if _, err := svc.RequestAccess(ctx, emma, "zoom", "", false); !errs.Is(err, errs.Invalid) {
				t.Errorf("conditions not accepted: %v", err)
			}
			r, err = svc.RequestAccess(ctx, emma, "zoom", "", true)
			if err != nil || r.Outcome != requests.OutcomeApprovedWithConditions || r.Conditions == "" {
				t.Errorf("conditional app: %+v, %v", r, err)
			}
			r, err = svc.RequestAccess(ctx, emma, "teams", "Calls with a customer.", false)
			if err != nil || r.State != requests.StateSubmitted {
				t.Errorf("app under review: %+v, %v", r, err)
			}
			// Asking again while the first request is pending returns the first.
			for range 3 {
				again, err := svc.RequestAccess(ctx, emma, "teams", "Calls with a customer.", false)
				if err != nil || again.ID != r.ID || !again.Existing {
					t.Errorf("second request: %+v, %v; want request %d again", again, err, r.ID)
				}
			}
			var n int
			if err := d.GetContext(ctx, &n, "SELECT count(*) FROM requests WHERE kind = 'access'"); err != nil || n != 3 {
				t.Errorf("%d access requests stored, want 3 (%v)", n, err)
			}
			if _, err := svc.Transition(ctx, member(t, d, "other@example.com"), r.ID, requests.ActionWithdraw, ""); !errs.Is(err, errs.Forbidden) {
				t.Errorf("someone else withdrawing: %v", err)
			}
			if r, err = svc.Transition(ctx, emma, r.ID, requests.ActionWithdraw, "not needed"); err != nil || r.State != requests.StateWithdrawn {
				t.Errorf("withdraw: %+v, %v", r, err)
			}
			// Once withdrawn, a new request is a new one.
			if again, err := svc.RequestAccess(ctx, emma, "teams", "Calls with a customer.", false); err != nil || again.ID == r.ID || again.Existing {
				t.Errorf("request after withdrawal: %+v, %v", again, err)
			}
		})
	}
}

// TestConcurrentVotesAndDecisions: fifty goroutines casting the same member's vote leave one
// vote; two decisions at once leave one decision.
func TestConcurrentVotesAndDecisions(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cat, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			if _, err := cat.CreateApp(ctx, sec, catalog.AppInput{Name: "Lucidchart", Category: "diagramming", Status: "approved"}); err != nil {
				t.Fatal(err)
			}
			emma := member(t, d, "emma@example.com")
			sam := member(t, d, "sam@example.com", "committee", "security")
			r, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal"})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
			if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApprove}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.OpenVote(ctx, sam, r.ID); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errc := make(chan error, 50)
			for i := range 50 {
				wg.Go(func() {
					choice := requests.VoteApprove
					if i%2 == 1 {
						choice = requests.VoteReject
					}
					if err := svc.CastVote(ctx, sam, r.ID, choice, ""); err != nil {
						errc <- err
					}
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Errorf("concurrent vote: %v", err)
			}
			if votes, _ := svc.Votes(ctx, r.ID); len(votes) != 1 {
				t.Errorf("%d votes, want 1", len(votes))
			}
			if _, err := svc.CloseVote(ctx, r.ID, requests.VotingRules{Quorum: 1, Majority: 0.5, Window: time.Hour}); err != nil {
				t.Fatal(err)
			}
			results := make(chan error, 2)
			for _, o := range []requests.Outcome{requests.OutcomeApproved, requests.OutcomeApprovedWithConditions} {
				wg.Go(func() {
					_, err := svc.Decide(ctx, sam, r.ID, requests.DecisionInput{Outcome: o, Rationale: "Meets the bar.", Conditions: "SSO only.", Category: "diagramming"})
					results <- err
				})
			}
			wg.Wait()
			close(results)
			var ok, conflicts int
			for err := range results {
				switch {
				case err == nil:
					ok++
				case errs.Is(err, errs.Conflict):
					conflicts++
				default:
					t.Errorf("decision: %v", err)
				}
			}
			if ok != 1 || conflicts != 1 {
				t.Errorf("%d decisions succeeded and %d conflicted, want 1 and 1", ok, conflicts)
			}
			var apps int
			_ = d.Get(&apps, "SELECT COUNT(*) FROM apps WHERE slug = 'gliffy'")
			if apps != 1 {
				t.Errorf("%d gliffy apps after two decisions", apps)
			}
			entries, _ := audit.List(ctx, d, audit.Filter{Action: "request.decide"})
			if len(entries) != 1 {
				t.Errorf("%d decision audit entries", len(entries))
			}
		})
	}
}

// notifyAdapter passes request events to the real notifier, as cmd/paved wires it.
type notifyAdapter struct {
	n *notify.Notifier
	j *jobs.Jobs
}

func (a notifyAdapter) NotifyTx(ctx context.Context, tx *sqlx.Tx, ev requests.RequestEvent) error {
	return a.n.EnqueueTx(ctx, a.j, tx, notify.Event{Kind: notify.Kind(ev.Kind), RequestID: ev.Request.ID, Title: ev.Request.AppName, Outcome: ev.Outcome, Recipients: ev.Recipients})
}

// TestRequestEventsQueueNotifications: submitting and deciding queue one e-mail per person
// behind the request, in the same transaction as the change.
func TestRequestEventsQueueNotifications(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, svc, j, d := newWorkflow(t, b)
			ctx := context.Background()
			n := notify.New(notify.Config{SMTP: notify.SMTPConfig{Host: "127.0.0.1", Port: 2525, From: "Paved <paved@example.com>", TLS: "none"}, BaseURL: "http://127.0.0.1:8080"})
			n.Register(j)
			svc.SetNotifier(notifyAdapter{n: n, j: j})
			emma, bob := member(t, d, "emma@example.com"), member(t, d, "bob@example.com")
			r, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal"})
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := j.Pending(ctx, notify.EmailKind); got != 1 {
				t.Errorf("after submit: %d e-mails queued, want 1 (the requester)", got)
			}
			if err := svc.Support(ctx, bob, r.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Transition(ctx, bob, r.ID, requests.ActionWithdraw, ""); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("a refused change: %v", err)
			}
			if got, _ := j.Pending(ctx, notify.EmailKind); got != 1 {
				t.Errorf("a refused change queued e-mails: %d", got)
			}
			sam := member(t, d, "sam@example.com", "committee", "security")
			_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
			if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApprove}); err != nil {
				t.Fatal(err)
			}
			// Review done: the requester and the supporter.
			if got, _ := j.Pending(ctx, notify.EmailKind); got != 3 {
				t.Errorf("after review: %d e-mails queued, want 3", got)
			}
		})
	}
}

func TestDemandOpensTheVote(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			emma := member(t, d, "emma@example.com")
			sam := member(t, d, "sam@example.com", "committee", "security")
			r, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal", Estimate: "1200", EstimateCurrency: "EUR"})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
			if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApprove}); err != nil {
				t.Fatal(err)
			}
			if n, err := svc.OpenDemandedVotes(ctx, 30); err != nil || n != 0 {
				t.Fatalf("no demand yet: opened %d (%v)", n, err)
			}
			for i := range 3 {
				m := member(t, d, "fan"+strconv.Itoa(i)+"@example.com")
				if err := svc.Support(ctx, m, r.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.SetPledge(ctx, m, r.ID, requests.PledgeInput{CostCentre: "ENG", Amount: "400", Currency: "EUR", Period: "yearly"}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := svc.OpenDemandedVotes(ctx, 0); err != nil || n != 0 {
				t.Errorf("threshold off: opened %d (%v)", n, err)
			}
			if n, err := svc.OpenDemandedVotes(ctx, 30); err != nil || n != 1 {
				t.Fatalf("demand reached: opened %d (%v)", n, err)
			}
			if got, _ := svc.Request(ctx, r.ID); got.State != requests.StateVoting {
				t.Errorf("state = %s, want voting", got.State)
			}
		})
	}
}

func TestPilotComesBackToTheCommittee(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
			svc.Now = func() time.Time { return now }
			emma := member(t, d, "emma@example.com")
			sam := member(t, d, "sam@example.com", "committee", "security")
			r, _ := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal"})
			_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
			_, _ = svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApprove})
			_, _ = svc.OpenVote(ctx, sam, r.ID)
			_ = svc.CastVote(ctx, sam, r.ID, requests.VoteApprove, "")
			if _, err := svc.CloseVote(ctx, r.ID, requests.VotingRules{Quorum: 1, Majority: 0.5, Window: time.Hour}); err != nil {
				t.Fatal(err)
			}
			end := now.AddDate(0, 3, 0)
			if _, err := svc.Decide(ctx, sam, r.ID, requests.DecisionInput{Outcome: requests.OutcomeApproved, Rationale: "Pilot it.", Category: "diagramming", PilotEndsAt: &end}); err != nil {
				t.Fatal(err)
			}
			if n, _ := svc.ReopenEndedPilots(ctx); n != 0 {
				t.Fatalf("reopened %d pilots before their end", n)
			}
			now = end.Add(time.Minute)
			if n, err := svc.ReopenEndedPilots(ctx); err != nil || n != 1 {
				t.Fatalf("reopened %d (%v), want 1", n, err)
			}
			got, _ := svc.Request(ctx, r.ID)
			if got.State != requests.StateVoting || got.PilotEndsAt != nil {
				t.Errorf("after the pilot: %+v", got)
			}
			if votes, _ := svc.Votes(ctx, r.ID); len(votes) != 0 {
				t.Errorf("old votes kept: %v", votes)
			}
		})
	}
}

// TestDemandCountsPeopleAlreadyUsingTheApp: people discovery sees signing in to the app raise
// a proposal's demand.
func TestDemandCountsPeopleAlreadyUsingTheApp(t *testing.T) {
	_, svc, _, d := newWorkflow(t, testutil.Backends()[0])
	ctx := context.Background()
	emma := member(t, d, "emma@example.com")
	r, err := svc.Propose(ctx, emma, requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal"})
	if err != nil {
		t.Fatal(err)
	}
	before, err := svc.Demand(ctx, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := discovery.NewStore(d)
	svc.SetUsageCounter(st)
	day := time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339)
	log := "time,user,app\n"
	for _, u := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		log += day + "," + u + "@example.com,Gliffy\n"
	}
	if _, err := st.Import(ctx, audit.System, "csv", "proxy.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	after, err := svc.Demand(ctx, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := requests.DemandScore(0, 0, 7); after != want || after <= before {
		t.Errorf("demand %d → %d, want %d with seven people signing in", before, after, want)
	}
}

// votingProposal is a proposal by a new employee, reviewed and put to the vote by sam.
func votingProposal(t *testing.T, svc *requests.Service, d *db.DB, sam requests.Member) requests.Request {
	t.Helper()
	ctx := context.Background()
	r, err := svc.Propose(ctx, member(t, d, "proposer@example.com"), requests.ProposalInput{Name: "Gliffy", UseCase: "Architecture diagrams.", DataClassification: "internal"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
	if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApprove}); err != nil {
		t.Fatal(err)
	}
	if r, err = svc.OpenVote(ctx, sam, r.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVoteClosesWhenEveryoneHasVoted: the last committee member's vote closes the vote at once,
// through the same rule and with the same timeline entry as the closing job, and the progress
// shows the way there.
func TestVoteClosesWhenEveryoneHasVoted(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			_, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			svc.SetElectorate(auth.NewService(d, auth.Options{}))
			svc.SetVoteSettings(requests.VoteSettings{Rules: requests.VotingRules{Quorum: 2, Majority: 0.5, Window: 72 * time.Hour}})
			sam := member(t, d, "sam@example.com", "committee", "security")
			ann := member(t, d, "ann@example.com", "committee")
			bob := member(t, d, "bob@example.com", "committee")
			member(t, d, "eve@example.com") // an employee: not in the electorate
			r := votingProposal(t, svc, d, sam)

			if err := svc.CastVote(ctx, ann, r.ID, requests.VoteApprove, ""); err != nil {
				t.Fatal(err)
			}
			if err := svc.CastVote(ctx, bob, r.ID, requests.VoteReject, ""); err != nil {
				t.Fatal(err)
			}
			r, _ = svc.Request(ctx, r.ID)
			p, ok, err := svc.VoteProgressOf(ctx, r, ann.UserID)
			if err != nil || !ok || !p.Open || p.Cast != 2 || p.Electorate != 3 || !p.Voted || p.Choice != requests.VoteApprove || !p.QuorumMet() {
				t.Fatalf("progress with 2 of 3 voted: %+v ok=%v err=%v", p, ok, err)
			}
			if p, _, _ := svc.VoteProgressOf(ctx, r, sam.UserID); p.Voted {
				t.Error("sam has not voted, yet the progress says so")
			}
			if err := svc.CastVote(ctx, sam, r.ID, requests.VoteApprove, ""); err != nil {
				t.Fatal(err)
			}
			r, _ = svc.Request(ctx, r.ID)
			tally, ok := r.Tally()
			if r.State != requests.StateVoteClosed || !ok || !tally.Passed || tally.Cast != 3 {
				t.Fatalf("after the last vote: %s %+v", r.State, tally)
			}
			tl, _ := svc.Timeline(ctx, r.ID)
			last := tl[len(tl)-1]
			if last.Action != string(requests.ActionCloseVote) || last.Actor != "system" || !strings.HasPrefix(last.Note, "Everyone on the committee (3) has voted. Passed:") {
				t.Errorf("timeline ends with %+v", last)
			}
			if p, _, _ := svc.VoteProgressOf(ctx, r, sam.UserID); !p.Closed || p.Open || !p.Tally.Passed {
				t.Errorf("progress after the close: %+v", p)
			}
		})
	}
}

// TestChairClosesTheVoteEarly: only the chair closes a vote before its window, with a reason,
// and the votes are counted as when the window ends.
func TestChairClosesTheVoteEarly(t *testing.T) {
	_, svc, _, d := newWorkflow(t, testutil.Backends()[0])
	ctx := context.Background()
	sam := member(t, d, "sam@example.com", "committee", "security")
	ann := member(t, d, "ann@example.com", "committee")
	r := votingProposal(t, svc, d, sam)
	if err := svc.CastVote(ctx, ann, r.ID, requests.VoteApprove, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CloseVoteEarly(ctx, ann, r.ID, "The vendor withdrew."); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("a member who is not the chair: %v, want forbidden", err)
	}
	chair := sam
	chair.Chair = true
	if _, err := svc.CloseVoteEarly(ctx, chair, r.ID, "  "); !errs.Is(err, errs.Invalid) {
		t.Fatalf("no reason: %v, want invalid", err)
	} else if e, _ := errs.As(err); e.Fields["reason"] == "" {
		t.Errorf("no field error on reason: %+v", e)
	}
	tally, err := svc.CloseVoteEarly(ctx, chair, r.ID, "The vendor was acquired; we decide now.")
	if err != nil {
		t.Fatal(err)
	}
	if tally.Passed || tally.QuorumMet || tally.Approve != 1 {
		t.Errorf("tally %+v: one vote does not meet the default quorum of 3", tally)
	}
	tl, _ := svc.Timeline(ctx, r.ID)
	last := tl[len(tl)-1]
	if last.Action != string(requests.ActionCloseVote) || last.Actor != sam.Email ||
		!strings.HasPrefix(last.Note, "Closed early by the chair: The vendor was acquired; we decide now. Not passed: the quorum is 3 votes") {
		t.Errorf("timeline ends with %+v", last)
	}
	if _, err := svc.CloseVoteEarly(ctx, chair, r.ID, "Again."); !errs.Is(err, errs.Conflict) {
		t.Errorf("closing a closed vote: %v, want conflict", err)
	}
}

// TestAccessDecisionSettlesTheAppOnlyWhenAsked: deciding an access request leaves the app's
// catalogue status alone unless the decision says to settle it, and then sets its status,
// conditions and alternatives like a proposal's decision.
func TestAccessDecisionSettlesTheAppOnlyWhenAsked(t *testing.T) {
	cat, svc, _, d := newWorkflow(t, testutil.Backends()[0])
	ctx := context.Background()
	for _, in := range []catalog.AppInput{{Name: "Slack", Category: "chat", Status: "approved"}, {Name: "Teams", Category: "chat", Status: "under_review"}} {
		if _, err := cat.CreateApp(ctx, sec, in); err != nil {
			t.Fatal(err)
		}
	}
	sam := member(t, d, "sam@example.com", "committee", "security")
	decide := func(who string, settle bool) {
		t.Helper()
		r, err := svc.RequestAccess(ctx, member(t, d, who), "teams", "Calls with a customer.", false)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
		if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes, DataLocation: "EU", Recommendation: requests.RecommendApproveWithConditions, Notes: "Guests only."}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Decide(ctx, sam, r.ID, requests.DecisionInput{Outcome: requests.OutcomeApprovedWithConditions, Conditions: "Customer calls only.",
			Rationale: "Customers send Teams links.", Alternatives: []string{"slack"}, SettleApp: settle}); err != nil {
			t.Fatal(err)
		}
	}
	decide("ann@example.com", false)
	if a, _ := cat.App(ctx, "teams"); a.Status != catalog.StatusUnderReview {
		t.Fatalf("an access decision changed the catalogue: %s", a.Status)
	}
	decide("bob@example.com", true)
	dt, err := cat.Detail(ctx, "teams")
	if err != nil {
		t.Fatal(err)
	}
	if dt.App.Status != catalog.StatusApprovedWithConditions || dt.App.Conditions != "Customer calls only." || len(dt.Alternatives) != 1 {
		t.Errorf("settled app: %s %q, %d alternatives", dt.App.Status, dt.App.Conditions, len(dt.Alternatives))
	}
}
