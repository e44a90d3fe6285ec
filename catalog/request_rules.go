package catalog

// The rules of requests: the state machine, vote arithmetic, pledge totals, the demand score
// and the security review checklist. Everything here is pure (no database, no clock), so the
// store, the handlers and the River jobs all ask the same functions and tests need no setup.

import (
	"fmt"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pavedhq/paved/internal/errs"
)

// RequestKind says what a request asks for.
type RequestKind string

// The kinds.
const (
	// KindAccess asks for access to an app that is already in the catalogue.
	KindAccess RequestKind = "access"
	// KindNewApp proposes an app that is not approved yet.
	KindNewApp RequestKind = "new_app"
)

// RequestKinds lists every kind.
var RequestKinds = []RequestKind{KindAccess, KindNewApp}

// Valid reports whether k is a known kind.
func (k RequestKind) Valid() bool { return slices.Contains(RequestKinds, k) }

// RequestState is where a request stands.
//
// Besides the five states of the design (submitted, in_review, voting, decided, withdrawn) there
// are two waiting states, reviewed and vote_closed. NextState sees only the state, so "security
// has finished its review" and "the vote has closed" must be states of their own: otherwise
// nothing could stop a vote opening before the review is done, or a decision landing while
// committee members are still voting.
type RequestState string

// The states in the order a request normally passes through them.
const (
	// StateNone is a request not stored yet; the only action from it is submit.
	StateNone RequestState = ""
	// StateSubmitted waits for security to pick it up.
	StateSubmitted RequestState = "submitted"
	// StateInReview is being reviewed by security.
	StateInReview RequestState = "in_review"
	// StateReviewed has a completed review checklist and waits for its vote to open.
	StateReviewed RequestState = "reviewed"
	// StateVoting is in front of the committee.
	StateVoting RequestState = "voting"
	// StateVoteClosed has a closed vote with its tally and waits for security's decision.
	StateVoteClosed RequestState = "vote_closed"
	// StateDecided has an outcome. A pilot approval comes back to voting when it ends.
	StateDecided RequestState = "decided"
	// StateWithdrawn was withdrawn by its requester; it is final.
	StateWithdrawn RequestState = "withdrawn"
)

// RequestStates lists every stored state in order (StateNone is not stored).
var RequestStates = []RequestState{StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed, StateDecided, StateWithdrawn}

// Valid reports whether s is a state a stored request can be in.
func (s RequestState) Valid() bool { return slices.Contains(RequestStates, s) }

// Open reports whether the request still waits for a decision: it can be withdrawn, and its
// supporters and pledges can still change.
func (s RequestState) Open() bool {
	switch s {
	case StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed:
		return true
	}
	return false
}

// AcceptsVotes reports whether committee members may cast or change a vote.
func (s RequestState) AcceptsVotes() bool { return s == StateVoting }

// Label names the state for people.
func (s RequestState) Label() string {
	switch s {
	case StateSubmitted:
		return "Submitted"
	case StateInReview:
		return "In security review"
	case StateReviewed:
		return "Reviewed, waiting for the vote"
	case StateVoting:
		return "Committee vote open"
	case StateVoteClosed:
		return "Vote closed, waiting for the decision"
	case StateDecided:
		return "Decided"
	case StateWithdrawn:
		return "Withdrawn"
	}
	return "Not submitted"
}

// phrase completes "A request that …".
func (s RequestState) phrase() string {
	switch s {
	case StateSubmitted:
		return "is waiting for review"
	case StateInReview:
		return "is in security review"
	case StateReviewed:
		return "is waiting for its vote to open"
	case StateVoting:
		return "is being voted on"
	case StateVoteClosed:
		return "is waiting for a decision"
	case StateDecided:
		return "has been decided"
	case StateWithdrawn:
		return "was withdrawn"
	}
	return "has not been submitted"
}

// RequestAction is something a person (or Paved itself) does to a request.
type RequestAction string

// The actions.
const (
	// ActionSubmit stores a new request (StateNone → submitted). The requester does it.
	ActionSubmit RequestAction = "submit"
	// ActionGrantAccess grants an access request at once (submitted → decided, outcome from
	// ImmediateGrant). Paved does it right after submit when the app is already approved.
	ActionGrantAccess RequestAction = "grant_access"
	// ActionStartReview: security picks the request up (submitted → in_review).
	ActionStartReview RequestAction = "start_review"
	// ActionCompleteReview: security finishes the checklist (in_review → reviewed). The caller
	// must first check ReviewChecklist.ValidateComplete.
	ActionCompleteReview RequestAction = "complete_review"
	// ActionOpenVote puts the request to the committee (reviewed → voting): a committee member
	// or security does it, or Paved when the demand score passes the threshold.
	ActionOpenVote RequestAction = "open_vote"
	// ActionCloseVote ends the vote and records the tally (voting → vote_closed). Paved does it
	// when the voting window ends.
	ActionCloseVote RequestAction = "close_vote"
	// ActionDecide records security's decision (vote_closed → decided; an access request may
	// also be decided straight after review).
	ActionDecide RequestAction = "decide"
	// ActionWithdraw: the requester takes the request back from any open state.
	ActionWithdraw RequestAction = "withdraw"
	// ActionReopenPilot brings a pilot approval whose end date has passed back to the
	// committee (decided → voting). The caller checks that it was a pilot and that it ended.
	ActionReopenPilot RequestAction = "reopen_pilot"
)

// RequestActions lists every action.
var RequestActions = []RequestAction{ActionSubmit, ActionGrantAccess, ActionStartReview, ActionCompleteReview, ActionOpenVote, ActionCloseVote, ActionDecide, ActionWithdraw, ActionReopenPilot}

// Valid reports whether a is a known action.
func (a RequestAction) Valid() bool { return slices.Contains(RequestActions, a) }

// Role is a role the actor holds. The values are the auth package's role names; this package
// does not import auth, so the caller converts.
type Role string

// The roles. Everyone signed in is an employee.
const (
	RoleEmployee  Role = "employee"
	RoleCommittee Role = "committee"
	RoleSecurity  Role = "security"
	RoleAdmin     Role = "admin"
)

// ActorContext is who is acting, as far as the request rules care.
type ActorContext struct {
	Roles []Role
	// IsRequester is true when the actor made this request.
	IsRequester bool
	// System is Paved itself acting from a job (granting access to an approved app, opening a
	// vote on demand, closing a vote at the end of its window, reopening an ended pilot).
	// It is a field rather than a role so that no group mapping can ever hand it to a person.
	System bool
}

// ActorFromRoles builds the context of a person from role names as the auth package has them.
func ActorFromRoles(roles []string, isRequester bool) ActorContext {
	a := ActorContext{IsRequester: isRequester}
	for _, r := range roles {
		a.Roles = append(a.Roles, Role(r))
	}
	return a
}

// SystemActor is Paved acting on its own.
func SystemActor() ActorContext { return ActorContext{System: true} }

// Has reports whether the actor holds role.
func (a ActorContext) Has(role Role) bool { return slices.Contains(a.Roles, role) }

// NextState is the one rule for request transitions: it returns the state that action moves a
// request of kind from, or why not. Who may act is checked before whether the move is legal,
// so the answer to "may this role do this?" (errs.Forbidden) does not depend on the state;
// a legal actor attempting an illegal move gets errs.Conflict; unknown kinds, states or
// actions are errs.Invalid.
//
// Admins manage the catalogue but take no part in deciding requests unless they also hold the
// security or committee role.
func NextState(kind RequestKind, from RequestState, action RequestAction, actor ActorContext) (RequestState, error) {
	if !kind.Valid() {
		return from, errs.E(errs.Invalid, "Unknown request kind %q.", kind)
	}
	if from != StateNone && !from.Valid() {
		return from, errs.E(errs.Invalid, "Unknown request state %q.", from)
	}
	if !action.Valid() {
		return from, errs.E(errs.Invalid, "Unknown request action %q.", action)
	}
	if msg := refuseActor(action, actor); msg != "" {
		return from, errs.E(errs.Forbidden, "%s", msg)
	}
	switch {
	case action == ActionSubmit && from == StateNone:
		return StateSubmitted, nil
	case action == ActionGrantAccess && kind == KindAccess && from == StateSubmitted:
		return StateDecided, nil
	case action == ActionStartReview && from == StateSubmitted:
		return StateInReview, nil
	case action == ActionCompleteReview && from == StateInReview:
		return StateReviewed, nil
	case action == ActionOpenVote && from == StateReviewed:
		return StateVoting, nil
	case action == ActionCloseVote && from == StateVoting:
		return StateVoteClosed, nil
	case action == ActionDecide && from == StateVoteClosed:
		return StateDecided, nil
	case action == ActionDecide && kind == KindAccess && from == StateReviewed:
		// Access to an app the catalogue already knows needs no committee unless security
		// wants one; a proposal for a new app always goes to the vote.
		return StateDecided, nil
	case action == ActionWithdraw && from.Open():
		return StateWithdrawn, nil
	case action == ActionReopenPilot && from == StateDecided:
		return StateVoting, nil
	}
	return from, errs.E(errs.Conflict, "%s", refuseMove(kind, from, action))
}

// refuseActor says why actor may not take action, or "" when they may.
func refuseActor(action RequestAction, actor ActorContext) string {
	switch action {
	case ActionSubmit:
		if !actor.IsRequester || actor.System {
			return "A request is submitted by the person making it."
		}
	case ActionWithdraw:
		if !actor.IsRequester || actor.System {
			return "Only the person who made the request can withdraw it."
		}
	case ActionGrantAccess:
		if !actor.System {
			return "Paved grants access at once only when the app is already approved; otherwise security reviews the request."
		}
	case ActionStartReview, ActionCompleteReview:
		if !actor.Has(RoleSecurity) {
			return "Only the security team reviews requests."
		}
	case ActionDecide:
		if !actor.Has(RoleSecurity) {
			return "Only the security team records decisions."
		}
	case ActionOpenVote:
		if !actor.System && !actor.Has(RoleCommittee) && !actor.Has(RoleSecurity) {
			return "Only committee members or the security team can put a request to the vote."
		}
	case ActionCloseVote:
		if !actor.System {
			return "A vote closes by itself when its voting window ends."
		}
	case ActionReopenPilot:
		if !actor.System && !actor.Has(RoleSecurity) {
			return "Only the security team can bring a pilot back to the committee."
		}
	}
	return ""
}

// refuseMove explains an illegal move to the person who tried it.
func refuseMove(kind RequestKind, from RequestState, action RequestAction) string {
	switch {
	case from == StateWithdrawn && action == ActionWithdraw:
		return "This request has already been withdrawn."
	case from == StateWithdrawn:
		return "This request was withdrawn; submit a new one instead."
	case from == StateNone:
		return "Submit the request first."
	case action == ActionSubmit:
		return "This request has already been submitted."
	case from == StateDecided && action == ActionWithdraw:
		return "A decided request cannot be withdrawn."
	case from == StateDecided:
		return "This request has already been decided."
	}
	// from is open from here on.
	switch action {
	case ActionGrantAccess:
		if kind != KindAccess {
			return "Only access requests are granted at once; a proposal for a new app is reviewed and voted on."
		}
		return fmt.Sprintf("Access is granted at once only on submission; a request that %s is decided by security.", from.phrase())
	case ActionStartReview:
		if from == StateInReview {
			return "This request is already in review."
		}
		return fmt.Sprintf("A request that %s cannot go back to review.", from.phrase())
	case ActionCompleteReview:
		switch from {
		case StateSubmitted:
			return "Start the review before completing it."
		case StateReviewed:
			return "The review of this request is already complete."
		}
		return fmt.Sprintf("A request that %s cannot go back to review.", from.phrase())
	case ActionOpenVote:
		switch from {
		case StateSubmitted, StateInReview:
			return "The security review must be completed before the vote opens."
		case StateVoting:
			return "The vote on this request is already open."
		}
		return "The vote on this request has closed and cannot be opened again before the decision."
	case ActionCloseVote:
		if from == StateVoteClosed {
			return "The vote on this request is already closed."
		}
		return "There is no open vote on this request to close."
	case ActionDecide:
		if from == StateVoting {
			return "A request that is being voted on is decided after the vote closes."
		}
		if kind == KindNewApp {
			return fmt.Sprintf("A proposal is decided after the committee has voted; this one %s.", from.phrase())
		}
		return "Complete the security review before deciding."
	case ActionReopenPilot:
		return fmt.Sprintf("Only a decided pilot comes back to the committee; this request %s.", from.phrase())
	}
	return fmt.Sprintf("A request that %s cannot be changed that way.", from.phrase())
}

// Outcome is what a decision says.
type Outcome string

// The outcomes.
const (
	OutcomeApproved               Outcome = "approved"
	OutcomeApprovedWithConditions Outcome = "approved_with_conditions"
	OutcomeRejectedWithGuidance   Outcome = "rejected_with_guidance"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeApproved, OutcomeApprovedWithConditions, OutcomeRejectedWithGuidance}

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool { return slices.Contains(Outcomes, o) }

// AppStatus is the catalogue status a decision gives the app it is about.
func (o Outcome) AppStatus() Status {
	switch o {
	case OutcomeApproved:
		return StatusApproved
	case OutcomeApprovedWithConditions:
		return StatusApprovedWithConditions
	}
	return StatusNotApproved
}

// ImmediateGrant says whether an access request to an app with this catalogue status is
// granted on submission (ActionGrantAccess) and with which outcome. For an app approved with
// conditions the requester must have accepted its conditions on the form first.
func ImmediateGrant(kind RequestKind, app Status) (Outcome, bool) {
	if kind != KindAccess {
		return "", false
	}
	switch app {
	case StatusApproved:
		return OutcomeApproved, true
	case StatusApprovedWithConditions:
		return OutcomeApprovedWithConditions, true
	}
	return "", false
}

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

// Currency is an ISO 4217 currency and its minor-unit exponent: the number of decimals an
// amount in it has.
type Currency struct {
	Code     string
	Exponent int
	Name     string
}

// currencies are the currencies Paved accepts, with the exponents of ISO 4217 (not the
// decimals people use day to day: HUF and TWD have 2 in the standard).
var currencies = []Currency{
	{"EUR", 2, "Euro"},
	{"USD", 2, "US dollar"},
	{"GBP", 2, "Pound sterling"},
	{"CHF", 2, "Swiss franc"},
	{"JPY", 0, "Japanese yen"},
	{"SEK", 2, "Swedish krona"},
	{"NOK", 2, "Norwegian krone"},
	{"DKK", 2, "Danish krone"},
	{"ISK", 0, "Icelandic króna"},
	{"PLN", 2, "Polish złoty"},
	{"CZK", 2, "Czech koruna"},
	{"HUF", 2, "Hungarian forint"},
	{"RON", 2, "Romanian leu"},
	{"RSD", 2, "Serbian dinar"},
	{"UAH", 2, "Ukrainian hryvnia"},
	{"TRY", 2, "Turkish lira"},
	{"CAD", 2, "Canadian dollar"},
	{"MXN", 2, "Mexican peso"},
	{"BRL", 2, "Brazilian real"},
	{"ARS", 2, "Argentine peso"},
	{"CLP", 0, "Chilean peso"},
	{"COP", 2, "Colombian peso"},
	{"PEN", 2, "Peruvian sol"},
	{"AUD", 2, "Australian dollar"},
	{"NZD", 2, "New Zealand dollar"},
	{"SGD", 2, "Singapore dollar"},
	{"HKD", 2, "Hong Kong dollar"},
	{"CNY", 2, "Chinese yuan"},
	{"TWD", 2, "New Taiwan dollar"},
	{"KRW", 0, "South Korean won"},
	{"INR", 2, "Indian rupee"},
	{"PKR", 2, "Pakistani rupee"},
	{"IDR", 2, "Indonesian rupiah"},
	{"MYR", 2, "Malaysian ringgit"},
	{"THB", 2, "Thai baht"},
	{"PHP", 2, "Philippine peso"},
	{"VND", 0, "Vietnamese đồng"},
	{"ILS", 2, "Israeli new shekel"},
	{"AED", 2, "UAE dirham"},
	{"SAR", 2, "Saudi riyal"},
	{"QAR", 2, "Qatari riyal"},
	{"KWD", 3, "Kuwaiti dinar"},
	{"BHD", 3, "Bahraini dinar"},
	{"OMR", 3, "Omani rial"},
	{"JOD", 3, "Jordanian dinar"},
	{"EGP", 2, "Egyptian pound"},
	{"ZAR", 2, "South African rand"},
	{"NGN", 2, "Nigerian naira"},
	{"KES", 2, "Kenyan shilling"},
}

// Currencies lists the currencies Paved accepts, most used first, for forms.
func Currencies() []Currency { return slices.Clone(currencies) }

// CurrencyExponent is the number of decimals of an ISO 4217 code, and whether Paved knows it.
func CurrencyExponent(code string) (int, bool) {
	for _, c := range currencies {
		if c.Code == code {
			return c.Exponent, true
		}
	}
	return 0, false
}

// Money is an amount in minor units of a currency (cents for EUR, yen for JPY, fils for KWD).
// There are no floats anywhere in money.
type Money struct {
	Minor    int64
	Currency string // ISO 4217, upper case
}

// String writes the amount with its decimals and code: "1,200.50 EUR", "1,500 JPY".
func (m Money) String() string {
	exp, _ := CurrencyExponent(m.Currency)
	sign, n := "", m.Minor
	if n < 0 {
		sign = "-"
	}
	u := uint64(n)
	if n < 0 {
		u = uint64(-(n + 1)) + 1 // math.MinInt64 has no positive int64
	}
	digits := strconv.FormatUint(u, 10)
	for len(digits) <= exp {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	b.WriteByte(' ')
	b.WriteString(m.Currency)
	return b.String()
}

var groupedRe = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+$`)

// ParseAmount reads an amount as a person types it ("1200", "1,200.50", "12.5") in currency,
// respecting the currency's decimals: JPY takes none, EUR two, KWD three. Extra decimals are
// accepted only when they are zeros ("1500.00" JPY). Commas may only group thousands, so the
// European "12,50" is refused rather than read as 1,250. Field errors are on "amount" and
// "currency".
func ParseAmount(s, currency string) (Money, error) {
	f := errs.Fields{}
	code := strings.ToUpper(strings.TrimSpace(currency))
	exp, known := CurrencyExponent(code)
	switch {
	case code == "":
		f.Add("currency", "Choose a currency.")
	case !known:
		f.Add("currency", "Use a three-letter ISO 4217 currency code Paved knows, such as EUR or USD.")
	}
	minor, msg := parseMinor(strings.TrimSpace(s), code, exp, known)
	if msg != "" {
		f.Add("amount", msg)
	}
	if err := f.Err(); err != nil {
		return Money{}, err
	}
	return Money{Minor: minor, Currency: code}, nil
}

// parseMinor reads s into minor units of a currency with exp decimals; when the currency is
// not known it checks the form of s only. It returns a message for the person on failure.
func parseMinor(s, code string, exp int, known bool) (int64, string) {
	if s == "" {
		return 0, "Enter an amount."
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "\u2212") {
		return 0, "Enter an amount of zero or more."
	}
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		if !groupedRe.MatchString(whole) {
			return 0, "Use a point for decimals and commas only between thousands, such as 1,200.50."
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if !allDigits(whole) || whole == "" || !allDigits(frac) {
		return 0, "Enter an amount such as 1200 or 1,200.50."
	}
	if !known {
		return 0, ""
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			if exp == 0 {
				return 0, fmt.Sprintf("%s amounts have no decimals.", code)
			}
			return 0, fmt.Sprintf("%s amounts have at most %d decimals.", code, exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	var n int64
	for _, r := range whole + frac {
		d := int64(r - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, "That amount is too large."
		}
		n = n*10 + d
	}
	return n, ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Period is how often a pledged amount recurs.
type Period string

// The periods.
const (
	PeriodMonthly Period = "monthly"
	PeriodYearly  Period = "yearly"
)

// Periods lists every period.
var Periods = []Period{PeriodMonthly, PeriodYearly}

// Valid reports whether p is a known period.
func (p Period) Valid() bool { return slices.Contains(Periods, p) }

// Pledge is budget a supporter or the requester offers toward a request.
type Pledge struct {
	CostCentre string
	Amount     Money
	Period     Period
	Seats      int
}

// PledgeInput is a pledge as typed on the form or sent to the API.
type PledgeInput struct {
	CostCentre string
	Amount     string
	Currency   string
	Period     string
	Seats      string // optional
}

// maxSeats bounds a pledge's seats; no organisation pledges more.
const maxSeats = 1_000_000

// Validate checks a pledge and returns it cleaned. A pledge must name the cost centre that
// pays and offer more than nothing; a yearly amount that would not fit in int64 is refused.
func (in PledgeInput) Validate() (Pledge, error) {
	f := errs.Fields{}
	p := Pledge{CostCentre: strings.TrimSpace(in.CostCentre), Period: Period(strings.TrimSpace(in.Period))}
	if p.CostCentre == "" {
		f.Add("cost_centre", "Say which cost centre pays.")
	} else if utf8.RuneCountInString(p.CostCentre) > 64 {
		f.Add("cost_centre", "Use at most 64 characters.")
	}
	m, err := ParseAmount(in.Amount, in.Currency)
	if e, ok := errs.As(err); ok {
		for k, v := range e.Fields {
			f.Add(k, v)
		}
	} else if m.Minor == 0 {
		f.Add("amount", "Pledge an amount above zero.")
	}
	p.Amount = m
	if !p.Period.Valid() {
		f.Add("period", "Choose monthly or yearly.")
	}
	if s := strings.TrimSpace(in.Seats); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxSeats {
			f.Add("seats", "Enter a whole number of seats, 0 or more.")
		}
		p.Seats = n
	}
	if len(f) == 0 {
		if msg := p.checkPlausible(); msg != "" {
			f.Add("amount", msg)
		}
	}
	return p, f.Err()
}

// Yearly is the pledge as a yearly amount: a monthly pledge counts twelve times.
func (p Pledge) Yearly() (Money, error) {
	m := p.Amount
	if m.Minor < 0 {
		return Money{}, errs.E(errs.Invalid, "A pledge of %s is negative.", m)
	}
	if _, ok := CurrencyExponent(m.Currency); !ok {
		return Money{}, errs.E(errs.Invalid, "A pledge is in %q, which is not a currency Paved knows.", m.Currency)
	}
	switch p.Period {
	case PeriodYearly:
	case PeriodMonthly:
		if m.Minor > math.MaxInt64/12 {
			return Money{}, errs.E(errs.Invalid, "A monthly pledge of %s is too large to count over a year.", m)
		}
		m.Minor *= 12
	default:
		return Money{}, errs.E(errs.Invalid, "A pledge has the unknown period %q.", p.Period)
	}
	return m, nil
}

// CurrencyTotal is what has been pledged in one currency.
type CurrencyTotal struct {
	Yearly  Money // sum of the pledges' yearly amounts
	Pledges int
	Seats   int
}

// PledgeTotals is the one rule for the pledged total: it sums pledges per currency as yearly
// amounts in minor units (monthly × 12), ordered by currency code. Currencies are never
// converted into each other. A total that would overflow int64, or a pledge that is negative
// or in an unknown currency or period, is refused with errs.Invalid: call it with the new
// pledge included before storing one.
func PledgeTotals(pledges []Pledge) ([]CurrencyTotal, error) {
	var totals []CurrencyTotal
	for _, p := range pledges {
		y, err := p.Yearly()
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(totals, func(t CurrencyTotal) bool { return t.Yearly.Currency == y.Currency })
		if i < 0 {
			totals = append(totals, CurrencyTotal{Yearly: Money{Currency: y.Currency}})
			i = len(totals) - 1
		}
		t := &totals[i]
		if t.Yearly.Minor > math.MaxInt64-y.Minor {
			return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("The pledges in %s add up to more than Paved can count.", y.Currency),
				Fields: map[string]string{"amount": "That amount would make the pledged total too large to count."}}
		}
		t.Yearly.Minor += y.Minor
		t.Pledges++
		if p.Seats > 0 && t.Seats <= math.MaxInt-p.Seats {
			t.Seats += p.Seats
		}
	}
	slices.SortFunc(totals, func(a, b CurrencyTotal) int { return strings.Compare(a.Yearly.Currency, b.Yearly.Currency) })
	return totals, nil
}

// FundedPercent is the share of the yearly estimate that is pledged, in whole percent rounded
// down, and may exceed 100. Only pledges in the estimate's currency count: Paved converts no
// currencies, so pledges in others are shown beside it, not added. comparable is false when
// there is no usable estimate (zero, negative or without a currency).
func FundedPercent(totals []CurrencyTotal, estimate Money) (percent int, comparable bool) {
	if estimate.Minor <= 0 || estimate.Currency == "" {
		return 0, false
	}
	var pledged int64
	for _, t := range totals {
		if t.Yearly.Currency == estimate.Currency && t.Yearly.Minor > 0 {
			pledged = t.Yearly.Minor
		}
	}
	// pledged × 100 may not fit in 64 bits; work in 128.
	hi, lo := bits.Mul64(uint64(pledged), 100)
	if hi >= uint64(estimate.Minor) {
		return math.MaxInt, true
	}
	q, _ := bits.Div64(hi, lo, uint64(estimate.Minor))
	if q > math.MaxInt {
		return math.MaxInt, true
	}
	return int(q), true
}

// DemandScore is the one rule for a proposal's demand, from 0 to 100, made of three parts so
// that anyone can check it by hand:
//
//   - supporters (not counting the requester): 8 points per doubling, floor(log2(supporters+1))
//     × 8, at most 40: 1 supporter 8, 3 give 16, 7 give 24, 15 give 32, 31 or more give 40;
//   - funding: the funded percentage × 40 / 100 rounded down, at most 40 (fully funded);
//   - active users, people discovery has seen signing in to the app: 4 points per doubling,
//     floor(log2(users+1)) × 4, at most 20 (31 or more users).
//
// Logarithms reward the first backers most, so a long list of names cannot outweigh money.
// Negative inputs count as zero.
func DemandScore(supporters int, pledgedPercent int, activeUsers int) int {
	return doublings(supporters, 8, 40) + min(max(pledgedPercent, 0), 100)*40/100 + doublings(activeUsers, 4, 20)
}

// doublings is floor(log2(n+1)) × per, at most most.
func doublings(n, per, most int) int {
	if n <= 0 {
		return 0
	}
	return min((bits.Len(uint(n)+1)-1)*per, most)
}

// DemandThreshold is the demand score at which Paved puts a reviewed proposal to the committee
// by itself. 0 turns that off.
type DemandThreshold int

// Valid reports whether d is 0 (off) to 100.
func (d DemandThreshold) Valid() bool { return d >= 0 && d <= 100 }

// AutoOpensVote reports whether a proposal with this demand score is put to the vote without
// anyone pushing it. The vote still opens only from StateReviewed: security's review comes first.
func (d DemandThreshold) AutoOpensVote(score int) bool { return d > 0 && score >= int(d) }

// Recommendation is security's advice at the end of a review.
type Recommendation string

// The recommendations.
const (
	RecommendApprove               Recommendation = "approve"
	RecommendApproveWithConditions Recommendation = "approve_with_conditions"
	RecommendReject                Recommendation = "reject"
)

// Recommendations lists every recommendation.
var Recommendations = []Recommendation{RecommendApprove, RecommendApproveWithConditions, RecommendReject}

// Valid reports whether r is a known recommendation.
func (r Recommendation) Valid() bool { return slices.Contains(Recommendations, r) }

// Outcome is the decision the recommendation suggests.
func (r Recommendation) Outcome() Outcome {
	switch r {
	case RecommendApprove:
		return OutcomeApproved
	case RecommendApproveWithConditions:
		return OutcomeApprovedWithConditions
	}
	return OutcomeRejectedWithGuidance
}

// ReviewChecklist is security's review of a request. It may be saved half filled in
// (Validate); it must be complete (ValidateComplete) before the review is completed and the
// vote can open. Its answers fill the app's risk profile (RiskAnswers).
type ReviewChecklist struct {
	// DataClassification is the most sensitive data the app would hold: one of Classifications.
	DataClassification string
	// SSO and DPA are "yes", "no" or "unknown" (could not be confirmed); "" is not answered yet.
	SSO, DPA Answer
	// Certifications are keys of the Compliance risk factors the vendor holds (soc2_type2,
	// iso27001, …); none is an answer too.
	Certifications []string
	// DataLocation is where the vendor stores the data, such as "EU (Frankfurt)".
	DataLocation   string
	Recommendation Recommendation
	// Notes explain the recommendation; they are required for conditions or a rejection.
	Notes string
}

// CertificationKeys are the certifications a checklist may list: the Compliance risk factors.
func CertificationKeys() []string {
	var keys []string
	for _, f := range Factors {
		if f.Group == "Compliance" {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// Validate checks the values that are filled in; blanks are allowed.
func (c ReviewChecklist) Validate() error { return c.check(false) }

// ValidateComplete checks the values and that everything required is filled in, with a field
// error for each gap.
func (c ReviewChecklist) ValidateComplete() error { return c.check(true) }

// Complete reports whether the review may be completed.
func (c ReviewChecklist) Complete() bool { return c.check(true) == nil }

func (c ReviewChecklist) check(complete bool) error {
	f := errs.Fields{}
	required := func(field, value, msg string) {
		if complete && strings.TrimSpace(value) == "" {
			f.Add(field, msg)
		}
	}
	if c.DataClassification != "" && !slices.Contains(Classifications, Classification(c.DataClassification)) {
		f.Add("data_classification", "Choose public, internal, confidential or restricted.")
	}
	required("data_classification", c.DataClassification, "Say how sensitive the data would be.")
	for field, a := range map[string]Answer{"sso": c.SSO, "dpa": c.DPA} {
		if a != "" && a != AnswerYes && a != AnswerNo && a != AnswerUnknown {
			f.Add(field, "Answer yes, no or unknown.")
		}
		required(field, string(a), "Answer yes, no or unknown.")
	}
	known := CertificationKeys()
	for i, cert := range c.Certifications {
		if !slices.Contains(known, cert) {
			f.Add("certifications", "Choose certifications from the list.")
		} else if slices.Contains(c.Certifications[:i], cert) {
			f.Add("certifications", "List each certification once.")
		}
	}
	if utf8.RuneCountInString(c.DataLocation) > 200 {
		f.Add("data_location", "Use at most 200 characters.")
	}
	required("data_location", c.DataLocation, "Say where the vendor stores the data.")
	if c.Recommendation != "" && !c.Recommendation.Valid() {
		f.Add("recommendation", "Choose approve, approve with conditions or reject.")
	}
	required("recommendation", string(c.Recommendation), "Give your recommendation.")
	if utf8.RuneCountInString(c.Notes) > 4000 {
		f.Add("notes", "Use at most 4,000 characters.")
	}
	switch c.Recommendation {
	case RecommendApproveWithConditions:
		required("notes", c.Notes, "Say on which conditions the app may be used.")
	case RecommendReject:
		required("notes", c.Notes, "Say why, and what would change the recommendation.")
	}
	return f.Err()
}

// RiskAnswers are the risk-profile answers the checklist gives: SSO, the DPA, the data
// location and each listed certification. Factors the checklist does not speak to are left
// out, so saving them does not erase what security recorded before.
func (c ReviewChecklist) RiskAnswers() []RiskAnswer {
	var out []RiskAnswer
	if c.SSO != "" {
		out = append(out, RiskAnswer{Factor: "sso", Answer: c.SSO})
	}
	if c.DPA != "" {
		out = append(out, RiskAnswer{Factor: "gdpr_dpa", Answer: c.DPA})
	}
	if loc := strings.TrimSpace(c.DataLocation); loc != "" {
		out = append(out, RiskAnswer{Factor: "data_locations_disclosed", Answer: AnswerYes, Note: loc})
	}
	for _, cert := range c.Certifications {
		if slices.Contains(CertificationKeys(), cert) {
			out = append(out, RiskAnswer{Factor: cert, Answer: AnswerYes})
		}
	}
	return out
}
