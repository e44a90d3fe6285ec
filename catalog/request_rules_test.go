package catalog

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

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
	}
	// For each action, who may take it (by the names above); everyone else gets 403.
	allowed := map[RequestAction][]string{
		ActionSubmit:         {"requester", "security requester"},
		ActionGrantAccess:    {"system"},
		ActionStartReview:    {"security", "security requester"},
		ActionCompleteReview: {"security", "security requester"},
		ActionOpenVote:       {"committee", "security", "system", "security requester"},
		ActionCloseVote:      {"system"},
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

func TestImmediateGrant(t *testing.T) {
	tests := []struct {
		kind RequestKind
		app  Status
		want Outcome
		ok   bool
	}{
		{KindAccess, StatusApproved, OutcomeApproved, true},
		{KindAccess, StatusApprovedWithConditions, OutcomeApprovedWithConditions, true},
		{KindAccess, StatusUnderReview, "", false},
		{KindAccess, StatusNotApproved, "", false},
		{KindAccess, StatusRetired, "", false},
		{KindNewApp, StatusApproved, "", false},
	}
	for _, tt := range tests {
		if got, ok := ImmediateGrant(tt.kind, tt.app); got != tt.want || ok != tt.ok {
			t.Errorf("ImmediateGrant(%s, %s) = %q, %v; want %q, %v", tt.kind, tt.app, got, ok, tt.want, tt.ok)
		}
	}
	for o, want := range map[Outcome]Status{OutcomeApproved: StatusApproved, OutcomeApprovedWithConditions: StatusApprovedWithConditions, OutcomeRejectedWithGuidance: StatusNotApproved} {
		if got := o.AppStatus(); got != want {
			t.Errorf("%s.AppStatus() = %s, want %s", o, got, want)
		}
	}
	for r, want := range map[Recommendation]Outcome{RecommendApprove: OutcomeApproved, RecommendApproveWithConditions: OutcomeApprovedWithConditions, RecommendReject: OutcomeRejectedWithGuidance} {
		if got := r.Outcome(); got != want {
			t.Errorf("%s.Outcome() = %s, want %s", r, got, want)
		}
	}
}

func votes(approve, reject, abstain int) []VoteChoice {
	var v []VoteChoice
	for range approve {
		v = append(v, VoteApprove)
	}
	for range reject {
		v = append(v, VoteReject)
	}
	for range abstain {
		v = append(v, VoteAbstain)
	}
	return v
}

func TestTally(t *testing.T) {
	half := VotingRules{Quorum: 3, Majority: 0.5}
	tests := []struct {
		name              string
		votes             []VoteChoice
		rules             VotingRules
		quorumMet, passed bool
		reason            string // a part of the reason
	}{
		{"zero votes", nil, half, false, false, "the quorum is 3 votes and 0 votes were cast"},
		{"zero votes and no quorum", nil, VotingRules{Quorum: 0, Majority: 0.5}, true, false, "nobody approved or rejected"},
		{"quorum not met despite approvals", votes(2, 0, 0), half, false, false, "2 votes were cast"},
		{"one vote short of quorum", votes(1, 0, 0), VotingRules{Quorum: 2, Majority: 0.5}, false, false, "1 vote was cast"},
		{"all abstentions meet quorum but do not pass", votes(0, 0, 4), half, true, false, "nobody approved or rejected (0 approve, 0 reject, 4 abstain)"},
		{"abstentions count toward quorum", votes(2, 0, 1), half, true, true, "2 of the 2 votes for or against approve (100%)"},
		{"abstentions do not count toward majority", votes(2, 1, 5), half, true, true, "2 of the 3 votes for or against approve (66%)"},
		{"tie fails", votes(2, 2, 0), half, true, false, "more than 50% was needed"},
		{"tie with abstentions fails", votes(1, 1, 3), half, true, false, "Not passed"},
		{"just over half passes", votes(3, 2, 0), half, true, true, "3 of the 5 votes for or against approve (60%)"},
		{"exactly at majority fails", votes(3, 2, 0), VotingRules{Quorum: 3, Majority: 0.6}, true, false, "more than 60% was needed"},
		{"just over majority passes", votes(4, 2, 0), VotingRules{Quorum: 3, Majority: 0.6}, true, true, "Passed"},
		{"two thirds of 0.66 passes", votes(2, 1, 0), VotingRules{Quorum: 3, Majority: 0.66}, true, true, "more than 66% was needed"},
		{"two thirds of 0.667 fails", votes(2, 1, 0), VotingRules{Quorum: 3, Majority: 0.667}, true, false, "more than 66.7% was needed"},
		{"unanimous approval", votes(5, 0, 0), half, true, true, "5 of the 5"},
		{"unanimous rejection", votes(0, 5, 0), half, true, false, "0 of the 5"},
		{"single voter approves", votes(1, 0, 0), VotingRules{Quorum: 1, Majority: 0.5}, true, true, "1 of the 1"},
		{"single voter rejects", votes(0, 1, 0), VotingRules{Quorum: 1, Majority: 0.5}, true, false, "0 of the 1"},
		{"single voter abstains", votes(0, 0, 1), VotingRules{Quorum: 1, Majority: 0.5}, true, false, "nobody approved or rejected"},
		{"unknown choices are not counted", []VoteChoice{VoteApprove, VoteApprove, "maybe", ""}, half, false, false, "2 votes were cast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Tally(tt.votes, tt.rules)
			if r.QuorumMet != tt.quorumMet || r.Passed != tt.passed {
				t.Errorf("quorum met %v, passed %v; want %v, %v (%s)", r.QuorumMet, r.Passed, tt.quorumMet, tt.passed, r.Reason)
			}
			if !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("reason %q does not say %q", r.Reason, tt.reason)
			}
			if r.Cast != r.Approve+r.Reject+r.Abstain {
				t.Errorf("cast %d is not the sum of %d, %d, %d", r.Cast, r.Approve, r.Reject, r.Abstain)
			}
		})
	}
	if r := Tally(votes(3, 1, 2), half); r.Approve != 3 || r.Reject != 1 || r.Abstain != 2 || r.Cast != 6 {
		t.Errorf("counts = %+v", r)
	}
}

func TestParseVotingRules(t *testing.T) {
	tests := []struct {
		quorum, majority, window string
		want                     VotingRules
		bad                      []string // settings named in the error
	}{
		{"", "", "", DefaultVotingRules(), nil},
		{"5", "0.6", "72h", VotingRules{5, 0.6, 72 * time.Hour}, nil},
		{" 2 ", "60%", "7d", VotingRules{2, 0.6, 7 * 24 * time.Hour}, nil},
		{"1", "0.5", "1h", VotingRules{1, 0.5, time.Hour}, nil},
		{"", "0.999", "90d", VotingRules{3, 0.999, 90 * 24 * time.Hour}, nil},
		{"0", "", "", VotingRules{}, []string{"PAVED_VOTE_QUORUM"}},
		{"-1", "", "", VotingRules{}, []string{"PAVED_VOTE_QUORUM"}},
		{"three", "", "", VotingRules{}, []string{"PAVED_VOTE_QUORUM"}},
		{"2.5", "", "", VotingRules{}, []string{"PAVED_VOTE_QUORUM"}},
		{"", "0.4", "", VotingRules{}, []string{"PAVED_VOTE_MAJORITY"}},
		{"", "1", "", VotingRules{}, []string{"PAVED_VOTE_MAJORITY"}},
		{"", "50", "", VotingRules{}, []string{"PAVED_VOTE_MAJORITY"}},
		{"", "NaN", "", VotingRules{}, []string{"PAVED_VOTE_MAJORITY"}},
		{"", "half", "", VotingRules{}, []string{"PAVED_VOTE_MAJORITY"}},
		{"", "", "7", VotingRules{}, []string{"PAVED_VOTE_WINDOW"}},
		{"", "", "30m", VotingRules{}, []string{"PAVED_VOTE_WINDOW"}},
		{"", "", "91d", VotingRules{}, []string{"PAVED_VOTE_WINDOW"}},
		{"", "", "a week", VotingRules{}, []string{"PAVED_VOTE_WINDOW"}},
		{"x", "2", "-1h", VotingRules{}, []string{"PAVED_VOTE_QUORUM", "PAVED_VOTE_MAJORITY", "PAVED_VOTE_WINDOW"}},
	}
	for _, tt := range tests {
		got, err := ParseVotingRules(tt.quorum, tt.majority, tt.window)
		if tt.bad == nil {
			if err != nil || got != tt.want {
				t.Errorf("ParseVotingRules(%q, %q, %q) = %+v, %v; want %+v", tt.quorum, tt.majority, tt.window, got, err, tt.want)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tt.bad) {
			t.Errorf("ParseVotingRules(%q, %q, %q) = %v; want invalid %v", tt.quorum, tt.majority, tt.window, err, tt.bad)
			continue
		}
		for _, setting := range tt.bad {
			if msg := e.Fields[setting]; !strings.Contains(msg, setting) {
				t.Errorf("%s: message %q does not name the setting", setting, msg)
			}
		}
	}
}

func TestVotingWindow(t *testing.T) {
	r := VotingRules{Window: 72 * time.Hour}
	opened := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		now  time.Time
		want bool
	}{
		{opened, false},
		{opened.Add(72*time.Hour - time.Second), false},
		{opened.Add(72 * time.Hour), true},
		{opened.Add(100 * time.Hour), true},
	} {
		if got := r.WindowEnded(opened, tt.now); got != tt.want {
			t.Errorf("WindowEnded at %s = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestCurrencies(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Currencies() {
		if len(c.Code) != 3 || strings.ToUpper(c.Code) != c.Code || c.Name == "" || seen[c.Code] {
			t.Errorf("bad or repeated currency %+v", c)
		}
		if c.Exponent != 0 && c.Exponent != 2 && c.Exponent != 3 {
			t.Errorf("%s has exponent %d", c.Code, c.Exponent)
		}
		seen[c.Code] = true
	}
	for _, code := range strings.Fields("EUR USD GBP CHF JPY SEK NOK DKK PLN CZK HUF CAD AUD NZD SGD HKD INR CNY BRL MXN ZAR KRW ILS AED SAR TRY") {
		if !seen[code] {
			t.Errorf("%s is missing", code)
		}
	}
	for code, want := range map[string]int{"EUR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "HUF": 2} {
		if got, ok := CurrencyExponent(code); !ok || got != want {
			t.Errorf("CurrencyExponent(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	if _, ok := CurrencyExponent("eur"); ok {
		t.Error("codes are upper case")
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             Money
		bad              map[string]string // field → part of its message
	}{
		{"12.50", "EUR", Money{1250, "EUR"}, nil},
		{"12.5", "EUR", Money{1250, "EUR"}, nil},
		{" 12 ", " eur ", Money{1200, "EUR"}, nil},
		{"12.", "EUR", Money{1200, "EUR"}, nil},
		{"0", "USD", Money{0, "USD"}, nil},
		{"0.05", "USD", Money{5, "USD"}, nil},
		{"1,200.50", "GBP", Money{120050, "GBP"}, nil},
		{"1,234,567", "CHF", Money{123456700, "CHF"}, nil},
		{"1500", "JPY", Money{1500, "JPY"}, nil},
		{"1,500", "JPY", Money{1500, "JPY"}, nil},
		{"1500.00", "JPY", Money{1500, "JPY"}, nil},
		{"25000", "KRW", Money{25000, "KRW"}, nil},
		{"1.234", "KWD", Money{1234, "KWD"}, nil},
		{"1.5", "KWD", Money{1500, "KWD"}, nil},
		{"92233720368547758.07", "EUR", Money{math.MaxInt64, "EUR"}, nil},
		{"1500.5", "JPY", Money{}, map[string]string{"amount": "JPY amounts have no decimals"}},
		{"12.505", "EUR", Money{}, map[string]string{"amount": "at most 2 decimals"}},
		{"1.2345", "KWD", Money{}, map[string]string{"amount": "at most 3 decimals"}},
		{"-5", "EUR", Money{}, map[string]string{"amount": "zero or more"}},
		{"−5", "EUR", Money{}, map[string]string{"amount": "zero or more"}},
		{"", "EUR", Money{}, map[string]string{"amount": "Enter an amount"}},
		{"abc", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"1e5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{".5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"+5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"1.2.3", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"12,50", "EUR", Money{}, map[string]string{"amount": "commas only between thousands"}},
		{"1,2000", "EUR", Money{}, map[string]string{"amount": "commas only between thousands"}},
		{"92233720368547758.08", "EUR", Money{}, map[string]string{"amount": "too large"}},
		{"99999999999999999999", "JPY", Money{}, map[string]string{"amount": "too large"}},
		{"12", "XYZ", Money{}, map[string]string{"currency": "ISO 4217"}},
		{"12", "", Money{}, map[string]string{"currency": "Choose a currency"}},
		{"12", "euro", Money{}, map[string]string{"currency": "ISO 4217"}},
		{"-5", "XYZ", Money{}, map[string]string{"amount": "zero or more", "currency": "ISO 4217"}},
		{"12.505", "XYZ", Money{}, map[string]string{"currency": "ISO 4217"}},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.amount, tt.currency)
		if tt.bad == nil {
			if err != nil || got != tt.want {
				t.Errorf("ParseAmount(%q, %q) = %+v, %v; want %+v", tt.amount, tt.currency, got, err, tt.want)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tt.bad) {
			t.Errorf("ParseAmount(%q, %q) = %+v, %v; want field errors on %v", tt.amount, tt.currency, got, err, tt.bad)
			continue
		}
		for field, part := range tt.bad {
			if !strings.Contains(e.Fields[field], part) {
				t.Errorf("ParseAmount(%q, %q): %s = %q, want it to say %q", tt.amount, tt.currency, field, e.Fields[field], part)
			}
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[Money]string{
		{120050, "EUR"}:           "1,200.50 EUR",
		{5, "EUR"}:                "0.05 EUR",
		{100, "USD"}:              "1.00 USD",
		{1234567, "EUR"}:          "12,345.67 EUR",
		{1500, "JPY"}:             "1,500 JPY",
		{0, "JPY"}:                "0 JPY",
		{1234, "KWD"}:             "1.234 KWD",
		{-1250, "EUR"}:            "-12.50 EUR",
		{math.MinInt64, "JPY"}:    "-9,223,372,036,854,775,808 JPY",
		{math.MaxInt64, "EUR"}:    "92,233,720,368,547,758.07 EUR",
		{123456, "XXX"}:           "123,456 XXX",
		{999, "GBP"}:              "9.99 GBP",
		{100000000, "KRW"}:        "100,000,000 KRW",
		{12, "BHD"}:               "0.012 BHD",
		{1_000_000_000, "USD"}:    "10,000,000.00 USD",
		{1_000_000_000, "ISK"}:    "1,000,000,000 ISK",
		{60000, "CHF"}:            "600.00 CHF",
		{999_999_999_99, "SEK"}:   "999,999,999.99 SEK",
		{1_000_000_000_00, "NOK"}: "1,000,000,000.00 NOK",
	} {
		if got := m.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", m, got, want)
		}
	}
}

func TestPledgeTotals(t *testing.T) {
	eur := func(minor int64, p Period, seats int) Pledge {
		return Pledge{CostCentre: "CC-1", Amount: Money{minor, "EUR"}, Period: p, Seats: seats}
	}
	in := func(currency string, minor int64, p Period) Pledge {
		return Pledge{CostCentre: "CC-2", Amount: Money{minor, currency}, Period: p}
	}
	tests := []struct {
		name    string
		pledges []Pledge
		want    []CurrencyTotal
		bad     bool
	}{
		{"no pledges", nil, nil, false},
		{"monthly counts twelve times", []Pledge{eur(1000, PeriodMonthly, 2)}, []CurrencyTotal{{Money{12000, "EUR"}, 1, 2}}, false},
		{"yearly counts once", []Pledge{eur(50000, PeriodYearly, 0)}, []CurrencyTotal{{Money{50000, "EUR"}, 1, 0}}, false},
		{"monthly and yearly add up", []Pledge{eur(1000, PeriodMonthly, 1), eur(50000, PeriodYearly, 3)}, []CurrencyTotal{{Money{62000, "EUR"}, 2, 4}}, false},
		{
			"currencies are kept apart and ordered by code",
			[]Pledge{in("USD", 999, PeriodMonthly), eur(1, PeriodYearly, 0), in("JPY", 1500, PeriodMonthly), in("USD", 1, PeriodYearly), in("GBP", 10000, PeriodYearly)},
			[]CurrencyTotal{{Money{1, "EUR"}, 1, 0}, {Money{10000, "GBP"}, 1, 0}, {Money{18000, "JPY"}, 1, 0}, {Money{11989, "USD"}, 2, 0}},
			false,
		},
		{"zero-decimal JPY stays whole yen", []Pledge{in("JPY", 1, PeriodMonthly), in("JPY", 7, PeriodYearly)}, []CurrencyTotal{{Money{19, "JPY"}, 2, 0}}, false},
		{"total exactly at the int64 limit", []Pledge{in("EUR", math.MaxInt64-1, PeriodYearly), in("EUR", 1, PeriodYearly)}, []CurrencyTotal{{Money{math.MaxInt64, "EUR"}, 2, 0}}, false},
		{"monthly at the limit of twelve", []Pledge{in("EUR", math.MaxInt64/12, PeriodMonthly)}, []CurrencyTotal{{Money{math.MaxInt64 / 12 * 12, "EUR"}, 1, 0}}, false},
		{"sum overflow is refused", []Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("EUR", 1, PeriodYearly)}, nil, true},
		{"many pledges overflowing is refused", []Pledge{in("JPY", math.MaxInt64/3+1, PeriodYearly), in("JPY", math.MaxInt64/3+1, PeriodYearly), in("JPY", math.MaxInt64/3+1, PeriodYearly)}, nil, true},
		{"monthly overflow is refused", []Pledge{in("EUR", math.MaxInt64/12+1, PeriodMonthly)}, nil, true},
		{"big totals in different currencies do not add up", []Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("USD", math.MaxInt64, PeriodYearly)}, []CurrencyTotal{{Money{math.MaxInt64, "EUR"}, 1, 0}, {Money{math.MaxInt64, "USD"}, 1, 0}}, false},
		{"negative pledge is refused", []Pledge{eur(-1, PeriodYearly, 0)}, nil, true},
		{"unknown currency is refused", []Pledge{in("XYZ", 100, PeriodYearly)}, nil, true},
		{"unknown period is refused", []Pledge{eur(100, "weekly", 0)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PledgeTotals(tt.pledges)
			if tt.bad {
				if errs.CodeOf(err) != errs.Invalid {
					t.Fatalf("PledgeTotals = %+v, %v; want invalid", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("PledgeTotals = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	_, err := PledgeTotals([]Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("EUR", 1, PeriodYearly)})
	if e, _ := errs.As(err); e == nil || e.Fields["amount"] == "" {
		t.Errorf("overflow error %v has no field error on amount", err)
	}
}

func TestFundedPercent(t *testing.T) {
	totals := func(ms ...Money) []CurrencyTotal {
		var out []CurrencyTotal
		for _, m := range ms {
			out = append(out, CurrencyTotal{Yearly: m, Pledges: 1})
		}
		return out
	}
	eur := func(minor int64) Money { return Money{minor, "EUR"} }
	tests := []struct {
		name       string
		totals     []CurrencyTotal
		estimate   Money
		percent    int
		comparable bool
	}{
		{"half funded", totals(eur(50000)), eur(100000), 50, true},
		{"rounded down", totals(eur(99999)), eur(100000), 99, true},
		{"a cent short of one percent", totals(eur(999)), eur(100000), 0, true},
		{"exactly funded", totals(eur(100000)), eur(100000), 100, true},
		{"over-funded shows over 100", totals(eur(150000)), eur(100000), 150, true},
		{"nothing pledged", nil, eur(100000), 0, true},
		{"only the estimate's currency counts", totals(Money{90000, "USD"}, eur(25000), Money{1_000_000, "JPY"}), eur(100000), 25, true},
		{"pledges only in other currencies", totals(Money{90000, "USD"}), eur(100000), 0, true},
		{"JPY estimate", totals(Money{30000, "JPY"}), Money{120000, "JPY"}, 25, true},
		{"no estimate", totals(eur(100)), Money{}, 0, false},
		{"zero estimate", totals(eur(100)), eur(0), 0, false},
		{"negative estimate", totals(eur(100)), eur(-100), 0, false},
		{"estimate without currency", totals(eur(100)), Money{Minor: 100}, 0, false},
		{"huge totals need no float", totals(eur(math.MaxInt64)), eur(math.MaxInt64), 100, true},
		{"huge totals half funded", totals(eur(math.MaxInt64 / 2)), eur(math.MaxInt64), 49, true},
		{"absurd ratio is capped at MaxInt", totals(eur(math.MaxInt64)), eur(1), math.MaxInt, true},
	}
	for _, tt := range tests {
		if p, ok := FundedPercent(tt.totals, tt.estimate); p != tt.percent || ok != tt.comparable {
			t.Errorf("%s: FundedPercent = %d, %v; want %d, %v", tt.name, p, ok, tt.percent, tt.comparable)
		}
	}
}

func TestPledgeInputValidate(t *testing.T) {
	good := PledgeInput{CostCentre: " CC-4711 ", Amount: "250.00", Currency: "eur", Period: "monthly", Seats: "5"}
	p, err := good.Validate()
	if err != nil || p != (Pledge{CostCentre: "CC-4711", Amount: Money{25000, "EUR"}, Period: PeriodMonthly, Seats: 5}) {
		t.Fatalf("Validate = %+v, %v", p, err)
	}
	if p, err := (PledgeInput{CostCentre: "CC", Amount: "1", Currency: "JPY", Period: "yearly"}).Validate(); err != nil || p.Seats != 0 {
		t.Errorf("seats are optional: %+v, %v", p, err)
	}
	tests := []struct {
		name   string
		change func(*PledgeInput)
		fields []string
	}{
		{"no cost centre", func(in *PledgeInput) { in.CostCentre = " " }, []string{"cost_centre"}},
		{"long cost centre", func(in *PledgeInput) { in.CostCentre = strings.Repeat("x", 65) }, []string{"cost_centre"}},
		{"zero amount", func(in *PledgeInput) { in.Amount = "0.00" }, []string{"amount"}},
		{"negative amount", func(in *PledgeInput) { in.Amount = "-250" }, []string{"amount"}},
		{"unknown currency", func(in *PledgeInput) { in.Currency = "BTC" }, []string{"currency"}},
		{"weekly", func(in *PledgeInput) { in.Period = "weekly" }, []string{"period"}},
		{"negative seats", func(in *PledgeInput) { in.Seats = "-1" }, []string{"seats"}},
		{"fractional seats", func(in *PledgeInput) { in.Seats = "1.5" }, []string{"seats"}},
		{"monthly too large for a year", func(in *PledgeInput) { in.Amount, in.Currency = "922337203685477580", "JPY" }, []string{"amount"}},
		{"implausible yen", func(in *PledgeInput) { in.Amount, in.Currency = "700000000000000000", "JPY" }, []string{"amount"}},
		{"implausible euros", func(in *PledgeInput) { in.Amount = "10,000,000" }, []string{"amount"}},
		{"everything wrong", func(in *PledgeInput) { *in = PledgeInput{Amount: "x", Currency: "?", Seats: "many"} },
			[]string{"cost_centre", "amount", "currency", "period", "seats"}},
	}
	for _, tt := range tests {
		in := good
		tt.change(&in)
		_, err := in.Validate()
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tt.fields) {
			t.Errorf("%s: %v; want field errors on %v", tt.name, err, tt.fields)
			continue
		}
		for _, f := range tt.fields {
			if e.Fields[f] == "" {
				t.Errorf("%s: no error on %s in %v", tt.name, f, e.Fields)
			}
		}
	}
}

// The ceiling lets large real pledges through in every currency and refuses absurd ones.
func TestPledgeCeiling(t *testing.T) {
	for _, c := range Currencies() {
		ceiling := PledgeCeiling(c.Code)
		exp, _ := CurrencyExponent(c.Code)
		million := int64(1_000_000)
		for range exp {
			million *= 10
		}
		// A million a month in any currency is a plausible pledge.
		p := Pledge{CostCentre: "CC", Amount: Money{Minor: million, Currency: c.Code}, Period: PeriodMonthly}
		if msg := p.checkPlausible(); msg != "" {
			t.Errorf("%s: a million a month refused: %s", c.Code, msg)
		}
		p.Amount.Minor = ceiling.Minor
		p.Period = PeriodYearly
		if msg := p.checkPlausible(); msg != "" {
			t.Errorf("%s: the ceiling itself refused", c.Code)
		}
		p.Amount.Minor++
		if msg := p.checkPlausible(); !strings.Contains(msg, "at most") {
			t.Errorf("%s: one over the ceiling accepted", c.Code)
		}
	}
	if c := PledgeCeiling("JPY"); c.Minor != 20_000_000_000 {
		t.Errorf("JPY ceiling = %v", c)
	}
}

func TestDemandScore(t *testing.T) {
	tests := []struct {
		name                       string
		supporters, percent, users int
		want                       int
	}{
		{"nothing", 0, 0, 0, 0},
		{"one supporter", 1, 0, 0, 8},
		{"two supporters are not yet a doubling", 2, 0, 0, 8},
		{"three supporters", 3, 0, 0, 16},
		{"seven supporters", 7, 0, 0, 24},
		{"fifteen supporters", 15, 0, 0, 32},
		{"thirty supporters", 30, 0, 0, 32},
		{"thirty-one supporters reach the cap", 31, 0, 0, 40},
		{"a thousand supporters stay capped", 1000, 0, 0, 40},
		{"a quarter funded", 0, 25, 0, 10},
		{"half funded", 0, 50, 0, 20},
		{"funding rounds down", 0, 99, 0, 39},
		{"fully funded", 0, 100, 0, 40},
		{"over-funded is capped", 0, 250, 0, 40},
		{"one active user", 0, 0, 1, 4},
		{"three active users", 0, 0, 3, 8},
		{"thirty-one active users reach the cap", 0, 0, 31, 20},
		{"many active users stay capped", 0, 0, 5000, 20},
		{"a mix", 7, 25, 3, 42},
		{"everything at its cap", 31, 100, 31, 100},
		{"everything beyond its cap", 1 << 40, math.MaxInt, math.MaxInt, 100},
		{"negative inputs count as zero", -5, -10, -1, 0},
	}
	for _, tt := range tests {
		if got := DemandScore(tt.supporters, tt.percent, tt.users); got != tt.want {
			t.Errorf("%s: DemandScore(%d, %d, %d) = %d, want %d", tt.name, tt.supporters, tt.percent, tt.users, got, tt.want)
		}
	}
	// More demand never lowers the score, and it stays within 0–100.
	for s := range 40 {
		for p := 0; p <= 120; p += 5 {
			for u := range 40 {
				got := DemandScore(s, p, u)
				if got < 0 || got > 100 || got < DemandScore(max(s-1, 0), p, u) || got < DemandScore(s, max(p-5, 0), u) || got < DemandScore(s, p, max(u-1, 0)) {
					t.Fatalf("DemandScore(%d, %d, %d) = %d breaks monotonicity or range", s, p, u, got)
				}
			}
		}
	}
}

func TestDemandThreshold(t *testing.T) {
	tests := []struct {
		threshold DemandThreshold
		score     int
		want      bool
	}{
		{0, 0, false},
		{0, 100, false},
		{60, 59, false},
		{60, 60, true},
		{60, 100, true},
		{1, 0, false},
		{1, 1, true},
		{100, 99, false},
		{100, 100, true},
	}
	for _, tt := range tests {
		if got := tt.threshold.AutoOpensVote(tt.score); got != tt.want {
			t.Errorf("DemandThreshold(%d).AutoOpensVote(%d) = %v, want %v", tt.threshold, tt.score, got, tt.want)
		}
	}
	for d, want := range map[DemandThreshold]bool{-1: false, 0: true, 50: true, 100: true, 101: false} {
		if d.Valid() != want {
			t.Errorf("DemandThreshold(%d).Valid() = %v", d, !want)
		}
	}
}

func TestReviewChecklist(t *testing.T) {
	complete := ReviewChecklist{
		DataClassification: "confidential",
		SSO:                AnswerYes,
		DPA:                AnswerUnknown,
		Certifications:     []string{"soc2_type2", "iso27001"},
		DataLocation:       "EU (Frankfurt)",
		Recommendation:     RecommendApprove,
	}
	tests := []struct {
		name     string
		change   func(*ReviewChecklist)
		invalid  []string // fields Validate complains about
		missing  []string // further fields ValidateComplete complains about
		complete bool
	}{
		{"complete approval", func(*ReviewChecklist) {}, nil, nil, true},
		{"no certifications is an answer", func(c *ReviewChecklist) { c.Certifications = nil }, nil, nil, true},
		{"an empty draft is valid but not complete", func(c *ReviewChecklist) { *c = ReviewChecklist{} }, nil,
			[]string{"data_classification", "sso", "dpa", "data_location", "recommendation"}, false},
		{"half-filled draft", func(c *ReviewChecklist) { c.DPA, c.DataLocation = "", " " }, nil, []string{"dpa", "data_location"}, false},
		{"unknown classification", func(c *ReviewChecklist) { c.DataClassification = "secret" }, []string{"data_classification"}, nil, false},
		{"SSO must be yes, no or unknown", func(c *ReviewChecklist) { c.SSO = "maybe" }, []string{"sso"}, nil, false},
		{"DPA must be yes, no or unknown", func(c *ReviewChecklist) { c.DPA = "signed" }, []string{"dpa"}, nil, false},
		{"unknown certification", func(c *ReviewChecklist) { c.Certifications = []string{"iso9001"} }, []string{"certifications"}, nil, false},
		{"repeated certification", func(c *ReviewChecklist) { c.Certifications = []string{"iso27001", "iso27001"} }, []string{"certifications"}, nil, false},
		{"long data location", func(c *ReviewChecklist) { c.DataLocation = strings.Repeat("x", 201) }, []string{"data_location"}, nil, false},
		{"unknown recommendation", func(c *ReviewChecklist) { c.Recommendation = "defer" }, []string{"recommendation"}, nil, false},
		{"long notes", func(c *ReviewChecklist) { c.Notes = strings.Repeat("x", 4001) }, []string{"notes"}, nil, false},
		{"conditions need notes", func(c *ReviewChecklist) { c.Recommendation = RecommendApproveWithConditions }, nil, []string{"notes"}, false},
		{"conditions with notes", func(c *ReviewChecklist) {
			c.Recommendation, c.Notes = RecommendApproveWithConditions, "Internal data only; SSO enforced."
		}, nil, nil, true},
		{"rejection needs notes", func(c *ReviewChecklist) { c.Recommendation = RecommendReject }, nil, []string{"notes"}, false},
		{"rejection with guidance", func(c *ReviewChecklist) { c.Recommendation, c.Notes = RecommendReject, "No DPA; use Miro instead." }, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := complete
			c.Certifications = slices.Clone(complete.Certifications)
			tt.change(&c)
			checkFields(t, "Validate", c.Validate(), tt.invalid)
			checkFields(t, "ValidateComplete", c.ValidateComplete(), append(slices.Clone(tt.invalid), tt.missing...))
			if c.Complete() != tt.complete {
				t.Errorf("Complete() = %v, want %v", c.Complete(), tt.complete)
			}
		})
	}
}

func checkFields(t *testing.T, what string, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Errorf("%s = %v, want nil", what, err)
		}
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Code != errs.Invalid || len(e.Fields) != len(fields) {
		t.Errorf("%s = %v, want field errors on %v", what, err, fields)
		return
	}
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Errorf("%s: no error on %s in %v", what, f, e.Fields)
		}
	}
}

func TestReviewChecklistRiskAnswers(t *testing.T) {
	c := ReviewChecklist{SSO: AnswerNo, DPA: AnswerYes, Certifications: []string{"iso27001"}, DataLocation: " US (Virginia) "}
	want := []RiskAnswer{
		{Factor: "sso", Answer: AnswerNo},
		{Factor: "gdpr_dpa", Answer: AnswerYes},
		{Factor: "data_locations_disclosed", Answer: AnswerYes, Note: "US (Virginia)"},
		{Factor: "iso27001", Answer: AnswerYes},
	}
	got := c.RiskAnswers()
	if len(got) != len(want) {
		t.Fatalf("RiskAnswers = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Factor != want[i].Factor || got[i].Answer != want[i].Answer || got[i].Note != want[i].Note {
			t.Errorf("answer %d = %+v, want %+v", i, got[i], want[i])
		}
		if _, ok := FactorByKey(got[i].Factor); !ok {
			t.Errorf("%s is not a risk factor", got[i].Factor)
		}
	}
	if len((ReviewChecklist{}).RiskAnswers()) != 0 {
		t.Error("an empty checklist must not overwrite the risk profile")
	}
	for _, key := range CertificationKeys() {
		if f, _ := FactorByKey(key); f.Group != "Compliance" {
			t.Errorf("%s is not a compliance factor", key)
		}
	}
}
