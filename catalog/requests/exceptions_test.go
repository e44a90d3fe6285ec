package requests_test

import (
	"context"
	"testing"
	"time"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestDecisionSetsCheckedConditions: the decision form's checked conditions go to the app with
// an approval with conditions; bad ones, conditions on another outcome, and conditions on an
// access decision that leaves the catalogue alone come back as field errors, with nothing
// saved; a later decision without conditions clears them.
func TestDecisionSetsCheckedConditions(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cat, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			cat.SetGroupDirectory(discovery.NewStore(d))
			if _, err := d.Exec(d.Rebind("INSERT INTO people (email, name, department, source, updated_at) VALUES ('p1@example.com', 'P', 'Sales', 'csv', ?)"), time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			for _, in := range []catalog.AppInput{{Name: "Slack", Category: "chat", Status: "approved"}, {Name: "Teams", Category: "chat", Status: "under_review"}} {
				if _, err := cat.CreateApp(ctx, sec, in); err != nil {
					t.Fatal(err)
				}
			}
			sam := member(t, d, "sam@example.com", "committee", "security")
			reviewed := func(who string) int64 {
				t.Helper()
				r, err := svc.RequestAccess(ctx, member(t, d, who), "teams", "Calls with a customer.", false)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = svc.Transition(ctx, sam, r.ID, requests.ActionStartReview, "")
				if _, err := svc.CompleteReview(ctx, sam, r.ID, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes,
					DataLocation: "EU", Recommendation: requests.RecommendApproveWithConditions, Notes: "Customer calls only."}); err != nil {
					t.Fatal(err)
				}
				return r.ID
			}
			pilot := time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)
			base := requests.DecisionInput{Outcome: requests.OutcomeApprovedWithConditions, Conditions: "Customer calls only.",
				Rationale: "Customers send Teams links.", SettleApp: true}
			id, id2 := reviewed("ann@example.com"), reviewed("bob@example.com")
			for _, tc := range []struct {
				name   string
				change func(*requests.DecisionInput)
				fields []string
			}{
				{"negative seat limit", func(in *requests.DecisionInput) { in.Checks.SeatLimit = "-2" }, []string{"seat_limit"}},
				{"not a number", func(in *requests.DecisionInput) { in.Checks.SeatLimit = "ten" }, []string{"seat_limit"}},
				{"unknown group", func(in *requests.DecisionInput) { in.Checks.AllowedGroups = "Sales\nMarketing" }, []string{"allowed_groups"}},
				{"malformed scope", func(in *requests.DecisionInput) { in.Checks.ForbiddenScopes = "drive file" }, []string{"forbidden_scopes"}},
				{"pilot check without a date", func(in *requests.DecisionInput) { in.CheckPilotEnd = true }, []string{"pilot_ends_at"}},
				{"with a plain approval", func(in *requests.DecisionInput) { in.Outcome, in.Checks.SeatLimit = requests.OutcomeApproved, "5" }, []string{"checks"}},
				{"every mistake at once", func(in *requests.DecisionInput) { in.Rationale, in.Checks.SeatLimit = "", "-1" }, []string{"rationale", "seat_limit"}},
				{"on this request only", func(in *requests.DecisionInput) { in.SettleApp, in.Checks.SeatLimit = false, "5" }, []string{"settle_app"}},
			} {
				in := base
				tc.change(&in)
				_, err := svc.Decide(ctx, sam, id, in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tc.fields) {
					t.Errorf("%s: %v, want field errors on %v", tc.name, err, tc.fields)
					continue
				}
				for _, f := range tc.fields {
					if e.Fields[f] == "" {
						t.Errorf("%s: no error on %s: %v", tc.name, f, e.Fields)
					}
				}
			}
			if r, _ := svc.Request(ctx, id); r.State != requests.StateReviewed {
				t.Fatalf("a refused decision moved the request to %s", r.State)
			}
			in := base
			in.Checks = catalog.ConditionsInput{SeatLimit: "25", AllowedGroups: "Sales", ForbiddenScopes: "https://www.googleapis.com/auth/drive"}
			in.PilotEndsAt, in.CheckPilotEnd = &pilot, true
			if _, err := svc.Decide(ctx, sam, id, in); err != nil {
				t.Fatal(err)
			}
			dt, err := cat.Detail(ctx, "teams")
			if err != nil {
				t.Fatal(err)
			}
			c := dt.Checks
			if c.SeatLimit == nil || *c.SeatLimit != 25 || len(c.AllowedGroups) != 1 || len(c.ForbiddenScopes) != 1 || c.PilotEnd == nil || !c.PilotEnd.Equal(pilot) {
				t.Errorf("the app's checked conditions: %+v", c)
			}
			// A later decision that approves outright clears them with the conditions.
			if _, err := svc.Decide(ctx, sam, id2, requests.DecisionInput{Outcome: requests.OutcomeApproved, Rationale: "Fine for everyone now.", SettleApp: true}); err != nil {
				t.Fatal(err)
			}
			if dt, _ := cat.Detail(ctx, "teams"); !dt.Checks.Empty() {
				t.Errorf("checked conditions outlived the approval with conditions: %+v", dt.Checks)
			}
		})
	}
}

// TestExceptionRequests: a person asks for an exception to an app's conditions; asking again
// while it is open returns the same request; security decides it without review or vote; it
// is in security's queue and nobody else's support list; once decided, a new one may be asked.
func TestExceptionRequests(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			cat, svc, _, d := newWorkflow(t, b)
			ctx := context.Background()
			if _, err := cat.CreateApp(ctx, sec, catalog.AppInput{Name: "Zoom", Category: "chat", Status: "approved_with_conditions", Conditions: "Customer-facing teams."}); err != nil {
				t.Fatal(err)
			}
			ann := member(t, d, "ann@example.com")
			sam := member(t, d, "sam@example.com", "committee", "security")
			r, err := svc.AskException(ctx, ann, "zoom", "Exception to the conditions of Zoom: at most 5 people in 30 days.")
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != requests.KindException || r.State != requests.StateSubmitted || r.Existing {
				t.Fatalf("exception request: %+v", r)
			}
			again, err := svc.AskException(ctx, ann, "zoom", "Exception to the conditions of Zoom: at most 5 people in 30 days.")
			if err != nil || again.ID != r.ID || !again.Existing {
				t.Errorf("asking again: %+v, %v; want request %d again", again, err, r.ID)
			}
			if _, err := svc.AskException(ctx, ann, "zoom", " "); !errs.Is(err, errs.Invalid) {
				t.Errorf("an empty note: %v", err)
			}
			if _, err := svc.AskException(ctx, ann, "nope", "x"); !errs.Is(err, errs.NotFound) {
				t.Errorf("an unknown app: %v", err)
			}
			queue, err := svc.ReviewQueue(ctx)
			if err != nil || len(queue) != 1 || queue[0].ID != r.ID || queue[0].WaitingFor() != "Decide" {
				t.Errorf("security's queue: %+v, %v", queue, err)
			}
			zoom, _ := cat.App(ctx, "zoom")
			if _, ok, _ := svc.OpenRequestFor(ctx, &zoom.ID, "Zoom"); ok {
				t.Error("someone's exception is offered to others to support")
			}
			if _, err := svc.Decide(ctx, ann, r.ID, requests.DecisionInput{Outcome: requests.OutcomeApproved, Rationale: "ok"}); !errs.Is(err, errs.Forbidden) {
				t.Errorf("the requester decided their own exception: %v", err)
			}
			decided, err := svc.Decide(ctx, sam, r.ID, requests.DecisionInput{Outcome: requests.OutcomeApproved, Rationale: "Ann runs customer demos this quarter."})
			if err != nil || decided.State != requests.StateDecided || !decided.Granted() {
				t.Fatalf("deciding the exception: %+v, %v", decided, err)
			}
			if a, _ := cat.App(ctx, "zoom"); a.Status != catalog.StatusApprovedWithConditions {
				t.Errorf("an exception changed the catalogue: %s", a.Status)
			}
			if got, ok, err := svc.ExceptionOf(ctx, ann.UserID, zoom.ID); err != nil || !ok || got.ID != r.ID {
				t.Errorf("ExceptionOf: %+v %v %v", got, ok, err)
			}
			next, err := svc.AskException(ctx, ann, "zoom", "Exception to the conditions of Zoom: a pilot until 30 June 2027.")
			if err != nil || next.ID == r.ID || next.Existing {
				t.Errorf("a new exception after the first was decided: %+v, %v", next, err)
			}
		})
	}
}
