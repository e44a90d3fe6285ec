package requests

import (
	"slices"
	"strings"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

var (
	asEmployee  = ActorFromRoles([]string{"employee"}, false)
	asRequester = ActorFromRoles([]string{"employee"}, true)
	asCommittee = ActorFromRoles([]string{"employee", "committee"}, false)
	asSecurity  = ActorFromRoles([]string{"employee", "security"}, false)
	asAdmin     = ActorFromRoles([]string{"employee", "admin"}, false)
	asSystem    = SystemActor()
)

// allowedActor is someone who may take action, so that only the state decides.
func allowedActor(action RequestAction) ActorContext {
	switch action {
	case ActionSubmit, ActionWithdraw:
		return asRequester
	case ActionGrantAccess, ActionCloseVote, ActionReopenPilot:
		return asSystem
	case ActionOpenVote:
		return asCommittee
	}
	return asSecurity
}

type move struct {
	from   RequestState
	action RequestAction
}

// legalMoves is written out by hand, apart from the implementation: every move not listed here
// must be refused.
func legalMoves(kind RequestKind) map[move]RequestState {
	m := map[move]RequestState{
		{StateNone, ActionSubmit}:             StateSubmitted,
		{StateSubmitted, ActionStartReview}:   StateInReview,
		{StateInReview, ActionCompleteReview}: StateReviewed,
		{StateReviewed, ActionOpenVote}:       StateVoting,
		{StateVoting, ActionCloseVote}:        StateVoteClosed,
		{StateVoteClosed, ActionDecide}:       StateDecided,
		{StateDecided, ActionReopenPilot}:     StateVoting,
		{StateSubmitted, ActionWithdraw}:      StateWithdrawn,
		{StateInReview, ActionWithdraw}:       StateWithdrawn,
		{StateReviewed, ActionWithdraw}:       StateWithdrawn,
		{StateVoting, ActionWithdraw}:         StateWithdrawn,
		{StateVoteClosed, ActionWithdraw}:     StateWithdrawn,
	}
	if kind == KindAccess {
		m[move{StateSubmitted, ActionGrantAccess}] = StateDecided // the app is already approved
		m[move{StateReviewed, ActionDecide}] = StateDecided       // security decides without a vote
	}
	if kind == KindException {
		// Security decides an exception to an app's conditions at any point before the vote.
		m[move{StateSubmitted, ActionDecide}] = StateDecided
		m[move{StateInReview, ActionDecide}] = StateDecided
		m[move{StateReviewed, ActionDecide}] = StateDecided
	}
	return m
}

func TestNextStateEveryPair(t *testing.T) {
	states := append([]RequestState{StateNone}, RequestStates...)
	for _, kind := range RequestKinds {
		legal := legalMoves(kind)
		seen := 0
		for _, from := range states {
			for _, action := range RequestActions {
				name := string(kind) + "/" + string(from) + "/" + string(action)
				if from == StateNone {
					name = string(kind) + "/none/" + string(action)
				}
				t.Run(name, func(t *testing.T) {
					got, err := NextState(kind, from, action, allowedActor(action))
					want, ok := legal[move{from, action}]
					if ok {
						seen++
						if err != nil || got != want {
							t.Fatalf("NextState = %q, %v; want %q", got, err, want)
						}
						return
					}
					if code := errs.CodeOf(err); code != errs.Conflict {
						t.Fatalf("NextState = %q, %v; want a conflict", got, err)
					}
					if got != from {
						t.Errorf("refused move returned state %q, want the unchanged %q", got, from)
					}
					e, _ := errs.As(err)
					if e.Message == "" || strings.Contains(e.Message, "that way") {
						t.Errorf("refusal has no specific message: %q", e.Message)
					}
				})
			}
		}
		if seen != len(legal) {
			t.Errorf("%s: %d legal moves checked, table has %d", kind, seen, len(legal))
		}
	}
}

func TestNextStateMessages(t *testing.T) {
	tests := []struct {
		kind   RequestKind
		from   RequestState
		action RequestAction
		want   string
	}{
		{KindNewApp, StateVoting, ActionStartReview, "A request that is being voted on cannot go back to review."},
		{KindNewApp, StateVoting, ActionCompleteReview, "A request that is being voted on cannot go back to review."},
		{KindNewApp, StateInReview, ActionOpenVote, "The security review must be completed before the vote opens."},
		{KindNewApp, StateReviewed, ActionDecide, "A proposal is decided after the committee has voted; this one is waiting for its vote to open."},
		{KindAccess, StateInReview, ActionDecide, "Complete the security review before deciding."},
		{KindNewApp, StateVoting, ActionDecide, "A request that is being voted on is decided after the vote closes."},
		{KindNewApp, StateSubmitted, ActionGrantAccess, "Only access requests are granted at once; a proposal for a new app is reviewed and voted on."},
		{KindAccess, StateDecided, ActionWithdraw, "A decided request cannot be withdrawn."},
		{KindAccess, StateWithdrawn, ActionStartReview, "This request was withdrawn; submit a new one instead."},
		{KindNewApp, StateVoteClosed, ActionCloseVote, "The vote on this request is already closed."},
		{KindNewApp, StateInReview, ActionReopenPilot, "Only a decided pilot comes back to the committee; this request is in security review."},
	}
	for _, tt := range tests {
		_, err := NextState(tt.kind, tt.from, tt.action, allowedActor(tt.action))
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Conflict || e.Message != tt.want {
			t.Errorf("%s %s %s: %v; want conflict %q", tt.kind, tt.from, tt.action, err, tt.want)
		}
	}
}

func TestNextStateAuthorisation(t *testing.T) {
	actors := []struct {
		name  string
		actor ActorContext
	}{
		{"employee", asEmployee},
		{"requester", asRequester},
		{"committee", asCommittee},
		{"security", asSecurity},
		{"admin", asAdmin},
		{"system", asSystem},
		{"security requester", ActorFromRoles([]string{"employee", "security"}, true)},
		{"chair", ActorContext{Roles: []Role{RoleEmployee, RoleCommittee}, Chair: true}},
	}
	// For each action, who may take it (by the names above); everyone else gets 403.
	allowed := map[RequestAction][]string{
		ActionSubmit:         {"requester", "security requester"},
		ActionGrantAccess:    {"system"},
		ActionStartReview:    {"security", "security requester"},
		ActionCompleteReview: {"security", "security requester"},
		ActionOpenVote:       {"committee", "security", "system", "security requester", "chair"},
		ActionCloseVote:      {"system", "chair"},
		ActionDecide:         {"security", "security requester"},
		ActionWithdraw:       {"requester", "security requester"},
		ActionReopenPilot:    {"security", "system", "security requester"},
	}
	// A state from which each action is legal for an access request.
	from := map[RequestAction]RequestState{
		ActionSubmit: StateNone, ActionGrantAccess: StateSubmitted, ActionStartReview: StateSubmitted,
		ActionCompleteReview: StateInReview, ActionOpenVote: StateReviewed, ActionCloseVote: StateVoting,
		ActionDecide: StateVoteClosed, ActionWithdraw: StateVoting, ActionReopenPilot: StateDecided,
	}
	if len(allowed) != len(RequestActions) || len(from) != len(RequestActions) {
		t.Fatal("the matrix must cover every action")
	}
	for _, action := range RequestActions {
		for _, a := range actors {
			t.Run(string(action)+"/"+a.name, func(t *testing.T) {
				_, err := NextState(KindAccess, from[action], action, a.actor)
				if slices.Contains(allowed[action], a.name) {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if errs.CodeOf(err) != errs.Forbidden {
					t.Fatalf("got %v, want forbidden", err)
				}
				// Forbidden does not depend on the state: the same actor on a withdrawn
				// request is still forbidden, not told about a conflict.
				if _, err := NextState(KindAccess, StateWithdrawn, action, a.actor); errs.CodeOf(err) != errs.Forbidden {
					t.Errorf("on a withdrawn request got %v, want forbidden", err)
				}
			})
		}
	}
}

func TestNextStateUnknownInput(t *testing.T) {
	for _, tt := range []struct {
		kind   RequestKind
		from   RequestState
		action RequestAction
	}{
		{"loan", StateSubmitted, ActionWithdraw},
		{KindAccess, "archived", ActionWithdraw},
		{KindAccess, StateSubmitted, "escalate"},
	} {
		if _, err := NextState(tt.kind, tt.from, tt.action, asSecurity); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("NextState(%q, %q, %q) = %v, want invalid", tt.kind, tt.from, tt.action, err)
		}
	}
}

func TestRequestStatePredicates(t *testing.T) {
	open := []RequestState{StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed}
	for _, s := range append([]RequestState{StateNone}, RequestStates...) {
		if got, want := s.Open(), slices.Contains(open, s); got != want {
			t.Errorf("%q.Open() = %v, want %v", s, got, want)
		}
		if got, want := s.AcceptsVotes(), s == StateVoting; got != want {
			t.Errorf("%q.AcceptsVotes() = %v, want %v", s, got, want)
		}
		if s.Label() == "" {
			t.Errorf("%q has no label", s)
		}
	}
	if StateNone.Valid() {
		t.Error("StateNone is not a stored state")
	}
}

// TestLabels: every code a person can meet on a page has words of its own.
func TestLabels(t *testing.T) {
	labels := map[string]string{}
	for _, a := range RequestActions {
		labels[string(a)] = a.Label()
	}
	for _, o := range Outcomes {
		labels[string(o)] = o.Label()
	}
	for _, r := range Recommendations {
		labels[string(r)] = r.Label()
	}
	for _, c := range VoteChoices {
		labels[string(c)] = c.Label()
	}
	for code, label := range labels {
		if label == "" || label == code || strings.Contains(label, "_") {
			t.Errorf("%q is labelled %q", code, label)
		}
	}
	for _, tt := range []struct {
		action     RequestAction
		note, want string
	}{
		{ActionCompleteReview, "approve_with_conditions", "Recommends: Approve with conditions"},
		{ActionDecide, "rejected_with_guidance", "Rejected with guidance"},
		{ActionCloseVote, "Passed: 3 of 3.", "Passed: 3 of 3."},
		{ActionDecide, "", ""},
	} {
		if got := NoteText(tt.action, tt.note); got != tt.want {
			t.Errorf("NoteText(%s, %q) = %q, want %q", tt.action, tt.note, got, tt.want)
		}
	}
	c := ReviewChecklist{DataClassification: "confidential", SSO: catalog.AnswerYes, Certifications: []string{"soc2_type2", "iso27001"}}
	if got := c.ClassificationLabel(); got != "Confidential" {
		t.Errorf("classification label %q", got)
	}
	if got := strings.Join(c.CertificationLabels(), ", "); strings.Contains(got, "_") || !strings.Contains(got, "SOC 2") {
		t.Errorf("certification labels %q", got)
	}
	if c.SSO.Label() != "Yes" || c.DPA.Label() != "Not answered" {
		t.Errorf("answer labels %q, %q", c.SSO.Label(), c.DPA.Label())
	}
}
