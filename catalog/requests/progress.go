package requests

import (
	"context"
	"fmt"
	"time"
)

// VoteProgress is where a vote stands, for everyone who looks at it: the request's page, the
// committee's queue, the home page. Who voted what is not in it; VoteRows has that for the
// committee and security.
type VoteProgress struct {
	// Open is true while votes can be cast; Closed once the tally is recorded.
	Open, Closed bool
	// Cast counts every vote, abstentions included, as the quorum does.
	Cast, Quorum             int
	Approve, Reject, Abstain int
	// Electorate is how many people may vote (0 when Paved does not know).
	Electorate int
	OpenedAt   time.Time
	ClosesAt   time.Time
	// Voted and Choice say whether, and how, the person looking has voted.
	Voted  bool
	Choice VoteChoice
	// Tally is the recorded result once the vote has closed.
	Tally TallyResult
}

// Progress is the one rule for a vote's progress: the counts so far under rules, the quorum,
// when the window ends, and mine (the viewer's vote, "" for none).
func Progress(votes []VoteChoice, rules VotingRules, opened time.Time, mine VoteChoice) VoteProgress {
	t := Tally(votes, rules)
	return VoteProgress{Open: true, Cast: t.Cast, Quorum: rules.Quorum, Approve: t.Approve, Reject: t.Reject, Abstain: t.Abstain,
		OpenedAt: opened, ClosesAt: rules.ClosesAt(opened), Voted: mine != "", Choice: mine}
}

// QuorumMet reports whether enough votes are cast for the vote to decide anything.
func (p VoteProgress) QuorumMet() bool { return p.Cast >= p.Quorum }

// QuorumPercent is the share of the quorum cast, at most 100, for a progress bar.
func (p VoteProgress) QuorumPercent() int {
	if p.Quorum <= 0 {
		return 100
	}
	return min(p.Cast*100/p.Quorum, 100)
}

// Summary says in a line where the vote stands: "2 votes cast of the 3 needed · 1 approve,
// 1 reject, 0 abstain".
func (p VoteProgress) Summary() string {
	counts := fmt.Sprintf("%d approve, %d reject, %d abstain", p.Approve, p.Reject, p.Abstain)
	switch {
	case p.Closed:
		return fmt.Sprintf("Closed: %s", counts)
	case p.QuorumMet():
		return fmt.Sprintf("%s cast, quorum of %d reached · %s", plural(p.Cast, "vote"), p.Quorum, counts)
	}
	return fmt.Sprintf("%s cast of the %d needed · %s", plural(p.Cast, "vote"), p.Quorum, counts)
}

// Left is the time the vote has until its window ends, in words ("2 days left", "5 hours
// left", "closing"), as seen at now.
func (p VoteProgress) Left(now time.Time) string {
	d := p.ClosesAt.Sub(now)
	switch {
	case d <= 0:
		return "closing"
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days left", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours left", int(d/time.Hour))
	}
	return plural(max(int(d/time.Minute), 1), "minute left", "minutes left")
}

// VoteProgressOf is the progress of r's vote as viewer sees it. A request that never went to
// the vote has none (ok false).
func (s *Service) VoteProgressOf(ctx context.Context, r Request, viewer int64) (VoteProgress, bool, error) {
	if r.VoteOpenedAt == nil {
		return VoteProgress{}, false, nil
	}
	rows, err := s.VoteRows(ctx, r.ID)
	if err != nil {
		return VoteProgress{}, false, err
	}
	votes := make([]VoteChoice, len(rows))
	var mine VoteChoice
	for i, v := range rows {
		votes[i] = v.Choice
		if v.UserID == viewer {
			mine = v.Choice
		}
	}
	p := Progress(votes, s.votes.Rules, *r.VoteOpenedAt, mine)
	if t, ok := r.Tally(); ok {
		p.Open, p.Closed, p.Tally = false, true, t
		p.Approve, p.Reject, p.Abstain, p.Cast = t.Approve, t.Reject, t.Abstain, t.Cast
	} else if !r.State.AcceptsVotes() {
		p.Open = false
	}
	if s.electorate != nil {
		if p.Electorate, err = s.electorate.CommitteeSize(ctx); err != nil {
			return VoteProgress{}, false, err
		}
	}
	return p, true, nil
}
