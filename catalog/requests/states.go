package requests

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
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
	// KindException asks security to let one person use an app outside its checked
	// conditions. Security decides it without the committee.
	KindException RequestKind = "exception"
)

// RequestKinds lists every kind.
var RequestKinds = []RequestKind{KindAccess, KindNewApp, KindException}

// Valid reports whether k is a known kind.
func (k RequestKind) Valid() bool { return slices.Contains(RequestKinds, k) }

// Label names the kind for people: "Access request".
func (k RequestKind) Label() string {
	switch k {
	case KindAccess:
		return "Access request"
	case KindNewApp:
		return "Proposal of a new app"
	case KindException:
		return "Exception to the conditions"
	}
	return string(k)
}

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
	// when the window ends or the whole committee has voted; the committee chair may do it
	// early, with a reason. Every close counts the votes with Tally under the same rules.
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

// Label says what the action did, for timelines and the audit log: "Closed the vote".
func (a RequestAction) Label() string {
	switch a {
	case ActionSubmit:
		return "Submitted the request"
	case ActionGrantAccess:
		return "Granted access at once"
	case ActionStartReview:
		return "Started the security review"
	case ActionCompleteReview:
		return "Completed the security review"
	case ActionOpenVote:
		return "Opened the committee vote"
	case ActionCloseVote:
		return "Closed the vote"
	case ActionDecide:
		return "Recorded the decision"
	case ActionWithdraw:
		return "Withdrew the request"
	case ActionReopenPilot:
		return "Brought the pilot back to the committee"
	}
	return string(a)
}

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
	// Chair is true when the actor chairs the committee (a configured role): the chair may
	// close a vote before its window ends.
	Chair bool
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
	case action == ActionDecide && kind == KindException && (from == StateSubmitted || from == StateInReview || from == StateReviewed):
		// The app was reviewed when its conditions were set: an exception for one person
		// needs security's word, not another checklist.
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
		if !actor.System && !actor.Chair {
			return "A vote closes by itself when its window ends or everyone on the committee has voted; only the committee chair can close it early."
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

// recordTransition writes a step of the request's timeline and the audit log together.
func (s *Service) recordTransition(ctx context.Context, tx *sqlx.Tx, actor audit.Actor, id int64, action RequestAction, from, to RequestState, note string) error {
	now := s.now()
	if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO request_events (request_id, at, actor, action, from_state, to_state, note)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), id, now, actor.Name, action, from, to, note); err != nil {
		return fmt.Errorf("record request event: %w", err)
	}
	return audit.Append(ctx, tx, now, actor, "request."+string(action), "request", strconv.FormatInt(id, 10), map[string]string{"from": string(from), "to": string(to), "note": note})
}

// Transition moves a request by action, checked by NextState against its current state. The
// update is conditional on that state, so of two people acting at once only one succeeds; the
// other gets a conflict and sees the new state.
func (s *Service) Transition(ctx context.Context, m Member, id int64, action RequestAction, note string) (Request, error) {
	var out Request
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.step(ctx, tx, id, &transition{action: action, by: &m, note: note})
		return err
	})
	return out, err
}

// transition is one step of a request through the state machine, as step carries it out.
type transition struct {
	action RequestAction
	// by is the person acting; nil is Paved itself (SystemActor).
	by *Member
	// note goes on the timeline and in the audit entry; set may write it.
	note string
	// event, when set, is told to the requester, supporters and pledgers, with outcome.
	event, outcome string
	// set runs once NextState allows the move, before the state is written. It returns more
	// "col = ?, " SQL for the update with its arguments, and may fill in r for the caller.
	set func(tx *sqlx.Tx, r *Request) (string, []any, error)
}

// step is the one shape every change of state takes: read the request in tx, ask NextState,
// let mv.set do its part, move the state if it is still the one read, record the timeline and
// audit entry, and tell the people behind the request.
func (s *Service) step(ctx context.Context, tx *sqlx.Tx, id int64, mv *transition) (Request, error) {
	r, err := requestByID(ctx, tx, id)
	if err != nil {
		return Request{}, err
	}
	actor, who := SystemActor(), audit.System
	if mv.by != nil {
		actor, who = ActorFromRoles(mv.by.Roles, r.RequesterID == mv.by.UserID), mv.by.actor()
		actor.Chair = mv.by.Chair
	}
	next, err := NextState(r.Kind, r.State, mv.action, actor)
	if err != nil {
		return Request{}, err
	}
	var extra string
	var args []any
	if mv.set != nil {
		if extra, args, err = mv.set(tx, &r); err != nil {
			return Request{}, err
		}
	}
	if err := s.moveTx(ctx, tx, r, next, extra, args...); err != nil {
		return Request{}, err
	}
	if err := s.recordTransition(ctx, tx, who, id, mv.action, r.State, next, mv.note); err != nil {
		return Request{}, err
	}
	r.State = next
	if mv.event != "" {
		if err := s.notifyTx(ctx, tx, mv.event, r, mv.outcome); err != nil {
			return Request{}, err
		}
	}
	return r, nil
}

// moveTx sets a request's state if it is still the one read; extra is more "col = ?, " SQL.
func (s *Service) moveTx(ctx context.Context, tx *sqlx.Tx, r Request, next RequestState, extra string, args ...any) error {
	now := s.now()
	all := append(append([]any{next}, args...), now, r.ID, r.State)
	res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE requests SET state = ?, "+extra+"updated_at = ? WHERE id = ? AND state = ?"), all...)
	if err != nil {
		return fmt.Errorf("move request %d: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.Conflict, "Someone else changed this request just now. Reload to see its new state.")
	}
	return nil
}
