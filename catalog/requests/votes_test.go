package requests

import (
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

func TestImmediateGrant(t *testing.T) {
	tests := []struct {
		kind RequestKind
		app  catalog.Status
		want Outcome
		ok   bool
	}{
		{KindAccess, catalog.StatusApproved, OutcomeApproved, true},
		{KindAccess, catalog.StatusApprovedWithConditions, OutcomeApprovedWithConditions, true},
		{KindAccess, catalog.StatusUnderReview, "", false},
		{KindAccess, catalog.StatusNotApproved, "", false},
		{KindAccess, catalog.StatusRetired, "", false},
		{KindNewApp, catalog.StatusApproved, "", false},
	}
	for _, tt := range tests {
		if got, ok := ImmediateGrant(tt.kind, tt.app); got != tt.want || ok != tt.ok {
			t.Errorf("ImmediateGrant(%s, %s) = %q, %v; want %q, %v", tt.kind, tt.app, got, ok, tt.want, tt.ok)
		}
	}
	for o, want := range map[Outcome]catalog.Status{OutcomeApproved: catalog.StatusApproved, OutcomeApprovedWithConditions: catalog.StatusApprovedWithConditions, OutcomeRejectedWithGuidance: catalog.StatusNotApproved} {
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

func TestProgress(t *testing.T) {
	rules := VotingRules{Quorum: 3, Majority: 0.5, Window: 72 * time.Hour}
	opened := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		votes   []VoteChoice
		mine    VoteChoice
		summary string
		pct     int
	}{
		{"nobody yet", nil, "", "0 votes cast of the 3 needed · 0 approve, 0 reject, 0 abstain", 0},
		{"two, one mine", votes(1, 0, 1), VoteAbstain, "2 votes cast of the 3 needed · 1 approve, 0 reject, 1 abstain", 66},
		{"quorum reached", votes(2, 2, 0), VoteReject, "4 votes cast, quorum of 3 reached · 2 approve, 2 reject, 0 abstain", 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := Progress(tt.votes, rules, opened, tt.mine)
			if got := p.Summary(); got != tt.summary {
				t.Errorf("summary %q, want %q", got, tt.summary)
			}
			if p.QuorumPercent() != tt.pct || p.Voted != (tt.mine != "") || p.Choice != tt.mine {
				t.Errorf("progress %+v", p)
			}
			if !p.ClosesAt.Equal(opened.Add(72*time.Hour)) || !p.Open {
				t.Errorf("closes at %v, open %v", p.ClosesAt, p.Open)
			}
		})
	}
	p := Progress(nil, rules, opened, "")
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{opened, "3 days left"},
		{opened.Add(50 * time.Hour), "22 hours left"},
		{opened.Add(71*time.Hour + 30*time.Minute), "30 minutes left"},
		{opened.Add(71*time.Hour + 59*time.Minute + 30*time.Second), "1 minute left"},
		{opened.Add(73 * time.Hour), "closing"},
	} {
		if got := p.Left(tt.at); got != tt.want {
			t.Errorf("Left at %v = %q, want %q", tt.at, got, tt.want)
		}
	}
}
