package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
)

// VoteChoice is one committee member's vote.
type VoteChoice string

// The choices.
const (
	VoteApprove VoteChoice = "approve"
	VoteReject  VoteChoice = "reject"
	VoteAbstain VoteChoice = "abstain"
)

// VoteChoices lists every choice.
var VoteChoices = []VoteChoice{VoteApprove, VoteReject, VoteAbstain}

// Valid reports whether c is a known choice.
func (c VoteChoice) Valid() bool { return slices.Contains(VoteChoices, c) }

// Label names the choice for people: "Approve".
func (c VoteChoice) Label() string {
	switch c {
	case VoteApprove:
		return "Approve"
	case VoteReject:
		return "Reject"
	case VoteAbstain:
		return "Abstain"
	}
	return string(c)
}

// VotingRules are the committee's rules, from PAVED_VOTE_QUORUM, PAVED_VOTE_MAJORITY and
// PAVED_VOTE_WINDOW.
type VotingRules struct {
	// Quorum is the fewest votes that must be cast, abstentions included.
	Quorum int
	// Majority is the share of approvals among approvals and rejections that must be
	// exceeded: a vote passes when approve / (approve + reject) > Majority, strictly. 0.5 means
	// more than half, so a tie fails. It is compared to the millionth, in integers.
	Majority float64
	// Window is how long a vote stays open.
	Window time.Duration
}

// DefaultVotingRules apply to settings that are not set: three votes, more than half, a week.
func DefaultVotingRules() VotingRules {
	return VotingRules{Quorum: 3, Majority: 0.5, Window: 7 * 24 * time.Hour}
}

// The bounds ParseVotingRules accepts.
const (
	maxQuorum    = 1000
	minWindow    = time.Hour
	maxWindow    = 90 * 24 * time.Hour
	majorityUnit = 1_000_000 // Majority is compared in millionths
)

// ParseVotingRules reads the three settings as they come from the environment. An empty value
// takes the default. The majority is a share ("0.5") or a percentage ("50%"); the window is a
// Go duration ("72h", "90m") or whole days ("7d"). Errors name the setting.
func ParseVotingRules(quorum, majority, window string) (VotingRules, error) {
	r := DefaultVotingRules()
	f := errs.Fields{}
	if s := strings.TrimSpace(quorum); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxQuorum {
			f.Add("PAVED_VOTE_QUORUM", fmt.Sprintf("PAVED_VOTE_QUORUM must be a whole number of votes from 1 to %d; got %q.", maxQuorum, quorum))
		}
		r.Quorum = n
	}
	if s := strings.TrimSpace(majority); s != "" {
		m, ok := parseShare(s)
		// Below one half a proposal could pass with more rejections than approvals.
		if !ok || m < 0.5 || m >= 1 {
			f.Add("PAVED_VOTE_MAJORITY", fmt.Sprintf("PAVED_VOTE_MAJORITY must be the share of approvals to exceed, from 0.5 (more than half) up to but not including 1, such as 0.5, 0.66 or 60%%; got %q.", majority))
		}
		r.Majority = m
	}
	if s := strings.TrimSpace(window); s != "" {
		d, err := parseWindow(s)
		if err != nil || d < minWindow || d > maxWindow {
			f.Add("PAVED_VOTE_WINDOW", fmt.Sprintf("PAVED_VOTE_WINDOW must be a duration from 1h to 90d, such as 72h or 7d; got %q.", window))
		}
		r.Window = d
	}
	if len(f) > 0 {
		return DefaultVotingRules(), &errs.Error{Code: errs.Invalid, Message: "The voting settings are not valid.", Fields: f}
	}
	return r, nil
}

// parseShare reads "0.6" or "60%" as 0.6.
func parseShare(s string) (float64, bool) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	if pct {
		v /= 100
	}
	return v, true
}

var daysRe = regexp.MustCompile(`^([0-9]{1,3})d$`)

// parseWindow reads a Go duration, or whole days ("7d") which Go durations lack.
func parseWindow(s string) (time.Duration, error) {
	if m := daysRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// ClosesAt is when a vote opened at opened ends.
func (r VotingRules) ClosesAt(opened time.Time) time.Time { return opened.Add(r.Window) }

// WindowEnded reports whether a vote opened at opened should be closed at now.
func (r VotingRules) WindowEnded(opened, now time.Time) bool { return !now.Before(r.ClosesAt(opened)) }

// majorityMillionths is Majority to the millionth, so that 0.6 means exactly 3 of 5.
func (r VotingRules) majorityMillionths() int64 {
	return int64(math.Round(r.Majority * majorityUnit))
}

// TallyResult is the count of a closed (or running) vote and what it means.
type TallyResult struct {
	Approve, Reject, Abstain int
	// Cast is every valid vote, abstentions included; it is what the quorum counts.
	Cast      int
	QuorumMet bool
	// Passed is true when the quorum is met and approvals exceed the majority share of the
	// approvals and rejections.
	Passed bool
	// Reason explains the result in a sentence, for the request's page and the audit log.
	Reason string
}

// Tally is the one rule for counting a vote. Abstentions count toward the quorum but not
// toward the majority; a vote where nobody approved or rejected does not pass. Choices that
// are not valid are not counted.
func Tally(votes []VoteChoice, rules VotingRules) TallyResult {
	var t TallyResult
	for _, v := range votes {
		switch v {
		case VoteApprove:
			t.Approve++
		case VoteReject:
			t.Reject++
		case VoteAbstain:
			t.Abstain++
		default:
			continue
		}
		t.Cast++
	}
	t.QuorumMet = t.Cast >= rules.Quorum
	decisive := int64(t.Approve + t.Reject)
	need := rules.majorityMillionths()
	majorityMet := decisive > 0 && int64(t.Approve)*majorityUnit > need*decisive
	t.Passed = t.QuorumMet && majorityMet

	counts := fmt.Sprintf("%d approve, %d reject, %d abstain", t.Approve, t.Reject, t.Abstain)
	switch {
	case !t.QuorumMet:
		t.Reason = fmt.Sprintf("Not passed: the quorum is %s and %s cast (%s).", plural(rules.Quorum, "vote"), plural(t.Cast, "vote was", "votes were"), counts)
	case decisive == 0:
		t.Reason = fmt.Sprintf("Not passed: nobody approved or rejected (%s).", counts)
	default:
		verdict := "Not passed"
		if t.Passed {
			verdict = "Passed"
		}
		t.Reason = fmt.Sprintf("%s: %d of the %d votes for or against approve (%d%%), and more than %s was needed (%s).",
			verdict, t.Approve, decisive, int64(t.Approve)*100/decisive, formatMillionthsPercent(need), counts)
	}
	return t
}

// plural writes "1 vote" or "3 votes"; with two forms, "1 vote was" or "3 votes were".
func plural(n int, forms ...string) string {
	one, many := forms[0], forms[0]+"s"
	if len(forms) > 1 {
		many = forms[1]
	}
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// formatMillionthsPercent writes 500000 as "50%" and 666000 as "66.6%".
func formatMillionthsPercent(m int64) string {
	whole, frac := m/10_000, m%10_000
	if frac == 0 {
		return fmt.Sprintf("%d%%", whole)
	}
	return strings.TrimRight(fmt.Sprintf("%d.%04d", whole, frac), "0") + "%"
}

// CastVote records m's vote, replacing an earlier one, while the vote is open. Only committee
// members vote; the primary key makes one vote per member whatever the concurrency. The last
// member's vote closes the vote at once.
func (s *Service) CastVote(ctx context.Context, m Member, id int64, choice VoteChoice, comment string) error {
	if !ActorFromRoles(m.Roles, false).Has(RoleCommittee) {
		return errs.E(errs.Forbidden, "Only committee members vote.")
	}
	if !choice.Valid() {
		return &errs.Error{Code: errs.Invalid, Message: "Choose approve, reject or abstain.", Fields: map[string]string{"choice": "Choose approve, reject or abstain."}}
	}
	comment = strings.TrimSpace(comment)
	if utf8.RuneCountInString(comment) > 2000 {
		return &errs.Error{Code: errs.Invalid, Message: "The comment is too long.", Fields: map[string]string{"comment": "Use at most 2,000 characters."}}
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.AcceptsVotes() {
			return errs.E(errs.Conflict, "Voting on this request is not open (it is %s).", r.State.Label())
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO votes (request_id, user_id, choice, comment, cast_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (request_id, user_id) DO UPDATE SET choice = excluded.choice, comment = excluded.comment, cast_at = excluded.cast_at`),
			id, m.UserID, choice, comment, s.now())
		if err != nil {
			return fmt.Errorf("cast vote: %w", err)
		}
		if err := audit.Append(ctx, tx, s.now(), m.actor(), "request.vote", "request", strconv.FormatInt(id, 10), map[string]string{"choice": string(choice)}); err != nil {
			return err
		}
		_, err = s.closeIfAllVotedTx(ctx, tx, id)
		return err
	})
}

// Votes lists a request's votes.
func (s *Service) Votes(ctx context.Context, id int64) ([]VoteChoice, error) {
	var out []VoteChoice
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT choice FROM votes WHERE request_id = ?"), id); err != nil {
		return nil, fmt.Errorf("list votes: %w", err)
	}
	return out, nil
}

// CloseVote ends a vote: it tallies the votes under rules and records the tally with the
// transition. The system (the vote-closing job) calls it when the window has ended.
func (s *Service) CloseVote(ctx context.Context, id int64, rules VotingRules) (TallyResult, error) {
	var t TallyResult
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		t, err = s.closeVoteTx(ctx, tx, id, rules, nil, "")
		return err
	})
	return t, err
}

// CloseVoteEarly is the committee chair ending a vote before its window, with a reason that
// goes on the timeline beside the tally. The votes are counted as when the window ends.
func (s *Service) CloseVoteEarly(ctx context.Context, m Member, id int64, reason string) (TallyResult, error) {
	reason = strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		return TallyResult{}, &errs.Error{Code: errs.Invalid, Message: "Say why the vote closes early.", Fields: map[string]string{"reason": "Say why the vote closes early; everyone can read it on the timeline."}}
	case n > 500:
		return TallyResult{}, &errs.Error{Code: errs.Invalid, Message: "The reason is too long.", Fields: map[string]string{"reason": "Use at most 500 characters."}}
	}
	var t TallyResult
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		t, err = s.closeVoteTx(ctx, tx, id, s.votes.Rules, &m, "Closed early by the chair: "+strings.TrimRight(reason, ".")+".")
		return err
	})
	return t, err
}

// closeVoteTx is the one way a vote closes, whoever closes it: by (nil for Paved itself) moves
// the request with ActionCloseVote, the votes are counted by Tally under rules, and the
// timeline note is why (if anything) followed by the tally's reason.
func (s *Service) closeVoteTx(ctx context.Context, tx *sqlx.Tx, id int64, rules VotingRules, by *Member, why string) (TallyResult, error) {
	var t TallyResult
	mv := &transition{action: ActionCloseVote, by: by}
	mv.set = func(tx *sqlx.Tx, r *Request) (string, []any, error) {
		var votes []VoteChoice
		if err := tx.SelectContext(ctx, &votes, tx.Rebind("SELECT choice FROM votes WHERE request_id = ?"), id); err != nil {
			return "", nil, fmt.Errorf("list votes: %w", err)
		}
		t = Tally(votes, rules)
		raw, err := json.Marshal(t)
		if err != nil {
			return "", nil, err
		}
		mv.note = strings.TrimSpace(why + " " + t.Reason)
		r.TallyJSON = string(raw)
		return "tally = ?, ", []any{string(raw)}, nil
	}
	_, err := s.step(ctx, tx, id, mv)
	return t, err
}

// Electorate counts the people who may vote, so that a vote closes once all of them have.
type Electorate interface {
	CommitteeSize(ctx context.Context) (int, error)
}

// SetElectorate lets a vote close as soon as the whole committee has voted.
func (s *Service) SetElectorate(e Electorate) { s.electorate = e }

// closeIfAllVotedTx closes the vote on id when every member of the committee has voted.
func (s *Service) closeIfAllVotedTx(ctx context.Context, tx *sqlx.Tx, id int64) (bool, error) {
	if s.electorate == nil {
		return false, nil
	}
	size, err := s.electorate.CommitteeSize(ctx)
	if err != nil || size == 0 {
		return false, err
	}
	var cast int
	if err := tx.GetContext(ctx, &cast, tx.Rebind("SELECT COUNT(*) FROM votes WHERE request_id = ?"), id); err != nil {
		return false, fmt.Errorf("count votes: %w", err)
	}
	if cast < size {
		return false, nil
	}
	_, err = s.closeVoteTx(ctx, tx, id, s.votes.Rules, nil, fmt.Sprintf("Everyone on the committee (%d) has voted.", size))
	return err == nil, err
}

// OpenVote puts a reviewed request to the committee and starts its window.
func (s *Service) OpenVote(ctx context.Context, m Member, id int64) (Request, error) {
	var out Request
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.step(ctx, tx, id, &transition{action: ActionOpenVote, by: &m, event: "vote_opened", set: s.startVote})
		return err
	})
	return out, err
}

// startVote starts a vote's window now: the set of a move that opens a vote.
func (s *Service) startVote(_ *sqlx.Tx, r *Request) (string, []any, error) {
	now := s.now()
	r.VoteOpenedAt = &now
	return "vote_opened_at = ?, ", []any{now}, nil
}

// VoteRow is one member's vote, for committee and security.
type VoteRow struct {
	Name    string     `db:"name" json:"name"`
	Choice  VoteChoice `db:"choice" json:"choice"`
	Comment string     `db:"comment" json:"comment,omitempty"`
	UserID  int64      `db:"user_id" json:"-"`
}

// VoteRows lists who voted how.
func (s *Service) VoteRows(ctx context.Context, id int64) ([]VoteRow, error) {
	var out []VoteRow
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT COALESCE(NULLIF(u.name, ''), u.email) AS name, v.choice, v.comment, v.user_id
		FROM votes v JOIN users u ON u.id = v.user_id WHERE v.request_id = ? ORDER BY v.cast_at`), id)
	if err != nil {
		return nil, fmt.Errorf("list votes: %w", err)
	}
	return out, nil
}

// Tally returns the tally recorded when the vote closed, if it has.
func (r Request) Tally() (TallyResult, bool) {
	var t TallyResult
	if r.TallyJSON == "" || json.Unmarshal([]byte(r.TallyJSON), &t) != nil {
		return t, false
	}
	return t, true
}

// CloseEndedVotes closes every vote whose window has ended; the periodic job runs it.
func (s *Service) CloseEndedVotes(ctx context.Context, rules VotingRules) (int, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind("SELECT id FROM requests WHERE state = ? AND vote_opened_at <= ?"), StateVoting, s.now().Add(-rules.Window)); err != nil {
		return 0, fmt.Errorf("find ended votes: %w", err)
	}
	closed := 0
	for _, id := range ids {
		if _, err := s.CloseVote(ctx, id, rules); err != nil {
			if errs.Is(err, errs.Conflict) {
				continue // closed meanwhile by another replica's run
			}
			return closed, err
		}
		closed++
	}
	return closed, nil
}

// OpenDemandedVotes puts every reviewed proposal whose demand reaches threshold to the
// committee, without waiting for anyone to push it. The periodic vote job runs it.
func (s *Service) OpenDemandedVotes(ctx context.Context, threshold DemandThreshold) (int, error) {
	if threshold <= 0 {
		return 0, nil
	}
	list, err := s.OpenRequests(ctx, StateReviewed)
	if err != nil {
		return 0, err
	}
	opened := 0
	for _, r := range list {
		if r.Kind != KindNewApp || !threshold.AutoOpensVote(r.Demand) {
			continue
		}
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := s.step(ctx, tx, r.ID, &transition{action: ActionOpenVote, event: "vote_opened", set: s.startVote,
				note: fmt.Sprintf("demand %d reached the threshold %d", r.Demand, threshold)})
			return err
		})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return opened, err
		}
		opened++
	}
	return opened, nil
}

// ReopenEndedPilots brings approvals whose pilot has ended back to the committee: the old
// votes and tally are cleared and a new vote opens. The periodic vote job runs it.
func (s *Service) ReopenEndedPilots(ctx context.Context) (int, error) {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind("SELECT id FROM requests WHERE state = ? AND pilot_ends_at IS NOT NULL AND pilot_ends_at <= ?"), StateDecided, s.now()); err != nil {
		return 0, fmt.Errorf("find ended pilots: %w", err)
	}
	reopened := 0
	for _, id := range ids {
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := s.step(ctx, tx, id, &transition{action: ActionReopenPilot, note: "the pilot ended", event: "vote_opened",
				set: func(tx *sqlx.Tx, r *Request) (string, []any, error) {
					if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM votes WHERE request_id = ?"), id); err != nil {
						return "", nil, fmt.Errorf("clear votes: %w", err)
					}
					now := s.now()
					return "vote_opened_at = ?, tally = '', pilot_ends_at = NULL, ", []any{now}, nil
				}})
			return err
		})
		if errs.Is(err, errs.Conflict) {
			continue
		}
		if err != nil {
			return reopened, err
		}
		reopened++
	}
	return reopened, nil
}
