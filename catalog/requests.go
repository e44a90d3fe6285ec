package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Member is a signed-in person acting on requests.
type Member struct {
	UserID    int64
	Email     string
	Roles     []string
	RequestID string // the HTTP request, for the audit log
}

func (m Member) actor() audit.Actor {
	return audit.Actor{UserID: &m.UserID, Name: m.Email, RequestID: m.RequestID}
}

// Request is an access request or a proposal of a new app.
type Request struct {
	ID                 int64        `db:"id" json:"id"`
	Kind               RequestKind  `db:"kind" json:"kind"`
	State              RequestState `db:"state" json:"state"`
	AppID              *int64       `db:"app_id" json:"-"`
	AppName            string       `db:"app_name" json:"app_name"`
	Website            string       `db:"website" json:"website,omitempty"`
	UseCase            string       `db:"use_case" json:"use_case"`
	DataClassification string       `db:"data_classification" json:"data_classification,omitempty"`
	ExpectedUsers      int          `db:"expected_users" json:"expected_users"`
	EstimateMinor      *int64       `db:"estimate_minor" json:"estimate_minor,omitempty"`
	EstimateCurrency   string       `db:"estimate_currency" json:"estimate_currency,omitempty"`
	RequesterID        int64        `db:"requester_id" json:"-"`
	Outcome            Outcome      `db:"outcome" json:"outcome,omitempty"`
	Conditions         string       `db:"conditions" json:"conditions,omitempty"`
	Rationale          string       `db:"rationale" json:"rationale,omitempty"`
	WhatWouldChange    string       `db:"what_would_change" json:"what_would_change,omitempty"`
	PilotEndsAt        *time.Time   `db:"pilot_ends_at" json:"pilot_ends_at,omitempty"`
	ReviewJSON         string       `db:"review" json:"-"`
	VoteOpenedAt       *time.Time   `db:"vote_opened_at" json:"vote_opened_at,omitempty"`
	TallyJSON          string       `db:"tally" json:"-"`
	CreatedAt          time.Time    `db:"created_at" json:"created_at"`
	UpdatedAt          time.Time    `db:"updated_at" json:"updated_at"`
	// Existing is set by RequestAccess when it returns the caller's pending request for the
	// same app instead of making a new one.
	Existing bool `db:"-" json:"-"`
}

const requestColumns = `id, kind, state, app_id, app_name, website, use_case, data_classification, expected_users,
	estimate_minor, estimate_currency, requester_id, outcome, conditions, rationale, what_would_change, pilot_ends_at,
	review, vote_opened_at, tally, created_at, updated_at`

// ProposalInput is a proposal of a new app, as typed.
type ProposalInput struct {
	Name, Website, UseCase, DataClassification string
	ExpectedUsers                              string
	Estimate, EstimateCurrency                 string // yearly cost estimate
}

func (in ProposalInput) validate() (Request, error) {
	f := errs.Fields{}
	r := Request{Kind: KindNewApp, AppName: strings.TrimSpace(in.Name), Website: strings.TrimSpace(in.Website),
		UseCase: strings.TrimSpace(in.UseCase), DataClassification: strings.TrimSpace(in.DataClassification)}
	if r.AppName == "" || utf8.RuneCountInString(r.AppName) > 100 {
		f.Add("name", "Give the app's name (at most 100 characters).")
	}
	if r.Website != "" && !validHTTPURL(r.Website) {
		f.Add("website", "Enter a full web address starting with https://.")
	}
	if n := utf8.RuneCountInString(r.UseCase); n < 10 || n > 4000 {
		f.Add("use_case", "Say in a sentence or two what you need it for.")
	}
	if !isClassification(r.DataClassification) {
		f.Add("data_classification", "Choose public, internal, confidential or restricted.")
	}
	if v := strings.TrimSpace(in.ExpectedUsers); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			f.Add("expected_users", "Enter a number of people.")
		}
		r.ExpectedUsers = n
	}
	if strings.TrimSpace(in.Estimate) != "" {
		m, err := ParseAmount(in.Estimate, in.EstimateCurrency)
		if e, ok := errs.As(err); ok {
			for k, v := range e.Fields {
				f.Add(map[string]string{"amount": "estimate", "currency": "estimate_currency"}[k], v)
			}
		} else {
			r.EstimateMinor, r.EstimateCurrency = &m.Minor, m.Currency
		}
	}
	return r, f.Err()
}

func isClassification(v string) bool {
	for _, c := range Classifications {
		if string(c) == v {
			return true
		}
	}
	return false
}

// Propose submits a proposal of a new app.
func (s *Service) Propose(ctx context.Context, m Member, in ProposalInput) (Request, error) {
	r, err := in.validate()
	if err != nil {
		return Request{}, err
	}
	next, err := NextState(r.Kind, StateNone, ActionSubmit, ActorFromRoles(m.Roles, true))
	if err != nil {
		return Request{}, err
	}
	r.State, r.RequesterID = next, m.UserID
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.insertRequest(ctx, tx, &r); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), r.ID, ActionSubmit, StateNone, r.State, ""); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, "submitted", r, "")
	})
	return r, err
}

// RequestAccess asks for access to a catalogued app. Access to an approved app is granted at
// once (conditions, if any, were accepted on the form); anything else goes to review.
func (s *Service) RequestAccess(ctx context.Context, m Member, slug, useCase string, acceptedConditions bool) (Request, error) {
	a, err := s.App(ctx, slug)
	if err != nil {
		return Request{}, err
	}
	if a.Status == StatusApprovedWithConditions && !acceptedConditions {
		return Request{}, &errs.Error{Code: errs.Invalid, Message: "Accept the conditions of use first.", Fields: map[string]string{"accept_conditions": "Tick the box to accept the conditions of use."}}
	}
	r := Request{Kind: KindAccess, AppID: &a.ID, AppName: a.Name, UseCase: strings.TrimSpace(useCase), RequesterID: m.UserID}
	if utf8.RuneCountInString(r.UseCase) > 4000 {
		return Request{}, &errs.Error{Code: errs.Invalid, Message: "The use case is too long.", Fields: map[string]string{"use_case": "Use at most 4,000 characters."}}
	}
	if r.State, err = NextState(r.Kind, StateNone, ActionSubmit, ActorFromRoles(m.Roles, true)); err != nil {
		return Request{}, err
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		// Asking again while the first request waits adds nothing: the first one is the answer.
		if prev, ok, err := pendingAccessRequest(ctx, tx, a.ID, m.UserID); err != nil || ok {
			r = prev
			return err
		}
		if err := s.insertRequest(ctx, tx, &r); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), r.ID, ActionSubmit, StateNone, r.State, ""); err != nil {
			return err
		}
		outcome, ok := ImmediateGrant(r.Kind, a.Status)
		if !ok {
			return nil
		}
		next, err := NextState(r.Kind, r.State, ActionGrantAccess, SystemActor())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE requests SET state = ?, outcome = ?, conditions = ?, updated_at = ? WHERE id = ?"), next, outcome, a.Conditions, s.now(), r.ID); err != nil {
			return fmt.Errorf("grant access: %w", err)
		}
		if err := s.recordTransition(ctx, tx, audit.System, r.ID, ActionGrantAccess, r.State, next, "approved app: granted at once"); err != nil {
			return err
		}
		r.State, r.Outcome, r.Conditions = next, outcome, a.Conditions
		return nil
	})
	return r, err
}

// pendingAccessRequest finds the person's oldest open access request for the app, if any.
func pendingAccessRequest(ctx context.Context, tx *sqlx.Tx, appID, userID int64) (Request, bool, error) {
	var open []any
	for _, st := range RequestStates {
		if st.Open() {
			open = append(open, st)
		}
	}
	q, args, err := sqlx.In("SELECT id FROM requests WHERE kind = ? AND app_id = ? AND requester_id = ? AND state IN (?) ORDER BY id LIMIT 1", KindAccess, appID, userID, open)
	if err != nil {
		return Request{}, false, err
	}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(q), args...)
	if db.IsNotFound(err) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("find pending access request: %w", err)
	}
	r, err := requestByID(ctx, tx, id)
	r.Existing = true
	return r, err == nil, err
}

func (s *Service) insertRequest(ctx context.Context, tx *sqlx.Tx, r *Request) error {
	now := s.now()
	r.CreatedAt, r.UpdatedAt = now, now
	err := tx.GetContext(ctx, &r.ID, tx.Rebind(`INSERT INTO requests (kind, state, app_id, app_name, website, use_case,
		data_classification, expected_users, estimate_minor, estimate_currency, requester_id, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		r.Kind, r.State, r.AppID, r.AppName, r.Website, r.UseCase, r.DataClassification, r.ExpectedUsers,
		r.EstimateMinor, r.EstimateCurrency, r.RequesterID, now, now)
	if err != nil {
		return fmt.Errorf("insert request: %w", err)
	}
	return nil
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

// Request returns one request.
func (s *Service) Request(ctx context.Context, id int64) (Request, error) {
	return requestByID(ctx, s.db, id)
}

func requestByID(ctx context.Context, q sqlx.ExtContext, id int64) (Request, error) {
	var r Request
	err := sqlx.GetContext(ctx, q, &r, q.Rebind("SELECT "+requestColumns+" FROM requests WHERE id = ?"), id)
	if db.IsNotFound(err) {
		return Request{}, errs.E(errs.NotFound, "There is no request %d.", id)
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request %d: %w", id, err)
	}
	return r, nil
}

// Transition moves a request by action, checked by NextState against its current state. The
// update is conditional on that state, so of two people acting at once only one succeeds; the
// other gets a conflict and sees the new state.
func (s *Service) Transition(ctx context.Context, m Member, id int64, action RequestAction, note string) (Request, error) {
	var out Request
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := NextState(r.Kind, r.State, action, ActorFromRoles(m.Roles, r.RequesterID == m.UserID))
		if err != nil {
			return err
		}
		if err := s.moveTx(ctx, tx, r, next, ""); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), id, action, r.State, next, note); err != nil {
			return err
		}
		r.State = next
		out = r
		return nil
	})
	return out, err
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

// Support records that m wants the app too: once per person, never the requester.
func (s *Service) Support(ctx context.Context, m Member, id int64) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; support is closed.", r.State.Label())
		}
		if r.RequesterID == m.UserID {
			return errs.E(errs.Conflict, "You made this request; you support it already.")
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO supporters (request_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (request_id, user_id) DO NOTHING"), id, m.UserID, s.now())
		if err != nil {
			return fmt.Errorf("support request: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.support", "request", strconv.FormatInt(id, 10), nil)
	})
}

// SetPledge records or replaces m's pledge toward an open request.
func (s *Service) SetPledge(ctx context.Context, m Member, id int64, in PledgeInput) (Pledge, error) {
	p, err := in.Validate()
	if err != nil {
		return Pledge{}, err
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; pledges can no longer change.", r.State.Label())
		}
		// The totals must still fit once this pledge is counted.
		current, err := pledgesOf(ctx, tx, id)
		if err != nil {
			return err
		}
		var others []Pledge
		for _, x := range current {
			if x.UserID != m.UserID {
				others = append(others, x.Pledge)
			}
		}
		if _, err := PledgeTotals(append(others, p)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO pledges (request_id, user_id, cost_centre, amount_minor, currency, period, seats, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, user_id) DO UPDATE SET cost_centre = excluded.cost_centre,
			amount_minor = excluded.amount_minor, currency = excluded.currency, period = excluded.period, seats = excluded.seats,
			updated_at = excluded.updated_at`), id, m.UserID, p.CostCentre, p.Amount.Minor, p.Amount.Currency, p.Period, p.Seats, s.now())
		if err != nil {
			return fmt.Errorf("save pledge: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.pledge", "request", strconv.FormatInt(id, 10), map[string]string{"amount": p.Amount.String(), "period": string(p.Period), "cost_centre": p.CostCentre})
	})
	return p, err
}

// WithdrawPledge removes m's pledge while the request is open.
func (s *Service) WithdrawPledge(ctx context.Context, m Member, id int64) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; pledges can no longer change.", r.State.Label())
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM pledges WHERE request_id = ? AND user_id = ?"), id, m.UserID); err != nil {
			return fmt.Errorf("withdraw pledge: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.pledge_withdraw", "request", strconv.FormatInt(id, 10), nil)
	})
}

// PledgeRow is a stored pledge with who made it.
type PledgeRow struct {
	Pledge
	UserID int64
	Name   string
}

func pledgesOf(ctx context.Context, q sqlx.ExtContext, id int64) ([]PledgeRow, error) {
	var rows []struct {
		UserID   int64  `db:"user_id"`
		Name     string `db:"name"`
		Centre   string `db:"cost_centre"`
		Minor    int64  `db:"amount_minor"`
		Currency string `db:"currency"`
		Period   string `db:"period"`
		Seats    int    `db:"seats"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT p.user_id, COALESCE(NULLIF(u.name, ''), u.email) AS name, p.cost_centre, p.amount_minor, p.currency, p.period, p.seats
		FROM pledges p JOIN users u ON u.id = p.user_id WHERE p.request_id = ? ORDER BY p.updated_at`), id)
	if err != nil {
		return nil, fmt.Errorf("list pledges: %w", err)
	}
	out := make([]PledgeRow, len(rows))
	for i, r := range rows {
		out[i] = PledgeRow{UserID: r.UserID, Name: r.Name, Pledge: Pledge{CostCentre: r.Centre, Amount: Money{Minor: r.Minor, Currency: r.Currency}, Period: Period(r.Period), Seats: r.Seats}}
	}
	return out, nil
}

// CastVote records m's vote, replacing an earlier one, while the vote is open. Only committee
// members vote; the primary key makes one vote per member whatever the concurrency.
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
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.vote", "request", strconv.FormatInt(id, 10), map[string]string{"choice": string(choice)})
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
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := NextState(r.Kind, r.State, ActionCloseVote, SystemActor())
		if err != nil {
			return err
		}
		var votes []VoteChoice
		if err := tx.SelectContext(ctx, &votes, tx.Rebind("SELECT choice FROM votes WHERE request_id = ?"), id); err != nil {
			return fmt.Errorf("list votes: %w", err)
		}
		t = Tally(votes, rules)
		raw, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if err := s.moveTx(ctx, tx, r, next, "tally = ?, ", string(raw)); err != nil {
			return err
		}
		return s.recordTransition(ctx, tx, audit.System, id, ActionCloseVote, r.State, next, t.Reason)
	})
	return t, err
}

// OpenVote puts a reviewed request to the committee and starts its window.
func (s *Service) OpenVote(ctx context.Context, m Member, id int64) (Request, error) {
	var out Request
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := NextState(r.Kind, r.State, ActionOpenVote, ActorFromRoles(m.Roles, r.RequesterID == m.UserID))
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.moveTx(ctx, tx, r, next, "vote_opened_at = ?, ", now); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), id, ActionOpenVote, r.State, next, ""); err != nil {
			return err
		}
		r.State, r.VoteOpenedAt = next, &now
		out = r
		return s.notifyTx(ctx, tx, "vote_opened", r, "")
	})
	return out, err
}

// CompleteReview stores security's checklist, fills the app's risk profile from it when the
// app is catalogued, and moves the request on. The checklist must be complete.
func (s *Service) CompleteReview(ctx context.Context, m Member, id int64, c ReviewChecklist) (Request, error) {
	if err := c.ValidateComplete(); err != nil {
		return Request{}, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return Request{}, err
	}
	var out Request
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := NextState(r.Kind, r.State, ActionCompleteReview, ActorFromRoles(m.Roles, r.RequesterID == m.UserID))
		if err != nil {
			return err
		}
		if err := s.moveTx(ctx, tx, r, next, "review = ?, ", string(raw)); err != nil {
			return err
		}
		if r.AppID != nil {
			for _, a := range c.RiskAnswers() {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO risk_factors (app_id, factor, answer, note, evidence_url, checked_on) VALUES (?, ?, ?, ?, '', ?)
					ON CONFLICT (app_id, factor) DO UPDATE SET answer = excluded.answer, note = excluded.note, checked_on = excluded.checked_on`),
					*r.AppID, a.Factor, a.Answer, a.Note, s.now()); err != nil {
					return fmt.Errorf("fill risk profile: %w", err)
				}
			}
		}
		if err := s.recordTransition(ctx, tx, m.actor(), id, ActionCompleteReview, r.State, next, string(c.Recommendation)); err != nil {
			return err
		}
		r.State, r.ReviewJSON = next, string(raw)
		out = r
		return s.notifyTx(ctx, tx, "review_done", r, string(c.Recommendation))
	})
	return out, err
}

// DecisionInput is security's decision on a request.
type DecisionInput struct {
	Outcome         Outcome
	Conditions      string
	Rationale       string // public: every employee can read it
	WhatWouldChange string
	Alternatives    []string // slugs of approved apps
	PilotEndsAt     *time.Time
	Category        string // for a new app: where it goes in the catalogue
}

func (in DecisionInput) validate() error {
	f := errs.Fields{}
	if !in.Outcome.Valid() {
		f.Add("outcome", "Choose approved, approved with conditions, or rejected with guidance.")
	}
	if strings.TrimSpace(in.Rationale) == "" {
		f.Add("rationale", "Explain the decision; every employee can read it.")
	}
	if in.Outcome == OutcomeApprovedWithConditions && strings.TrimSpace(in.Conditions) == "" {
		f.Add("conditions", "Say on which conditions.")
	}
	if in.Outcome == OutcomeRejectedWithGuidance {
		if strings.TrimSpace(in.WhatWouldChange) == "" {
			f.Add("what_would_change", "Say what would change this decision.")
		}
		if len(in.Alternatives) == 0 {
			f.Add("alternatives", "Name at least one approved app to use instead.")
		}
	}
	return f.Err()
}

// Decide records the decision and, in the same transaction, sets the app's catalogue status
// (creating the app for a proposal), its alternatives, and queues its index sync.
func (s *Service) Decide(ctx context.Context, m Member, id int64, in DecisionInput) (Request, error) {
	if err := in.validate(); err != nil {
		return Request{}, err
	}
	var out Request
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next, err := NextState(r.Kind, r.State, ActionDecide, ActorFromRoles(m.Roles, r.RequesterID == m.UserID))
		if err != nil {
			return err
		}
		now := s.now()
		var app App
		if r.AppID == nil {
			cat := in.Category
			if cat == "" {
				return &errs.Error{Code: errs.Invalid, Message: "Choose the new app's category.", Fields: map[string]string{"category": "Choose a category for the catalogue."}}
			}
			cats, err := s.categorySet(ctx, tx)
			if err != nil {
				return err
			}
			a, err := AppInput{Name: r.AppName, Website: r.Website, Category: cat, Status: string(StatusUnderReview), Description: ""}.validate(cats)
			if err != nil {
				return err
			}
			a.CreatedAt, a.UpdatedAt = now, now
			if err := insertApp(ctx, tx, &a); err != nil {
				return err
			}
			r.AppID, app = &a.ID, a
			// The review was made before the app existed: its answers start the risk profile.
			if review, ok := r.Review(); ok {
				for _, ans := range review.RiskAnswers() {
					if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO risk_factors (app_id, factor, answer, note, evidence_url, checked_on) VALUES (?, ?, ?, ?, '', ?)`),
						a.ID, ans.Factor, ans.Answer, ans.Note, now); err != nil {
						return fmt.Errorf("fill risk profile: %w", err)
					}
				}
			}
		} else {
			if err := sqlx.GetContext(ctx, tx, &app, tx.Rebind("SELECT "+appColumns+" FROM apps WHERE id = ?"), *r.AppID); err != nil {
				return fmt.Errorf("app of request %d: %w", id, err)
			}
		}
		// A catalogued app follows a proposal's decision; an access request leaves the app alone.
		if r.Kind == KindNewApp {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE apps SET status = ?, conditions = ?, decision_rationale = ?, what_would_change = ?, updated_at = ? WHERE id = ?`),
				in.Outcome.AppStatus(), strings.TrimSpace(in.Conditions), strings.TrimSpace(in.Rationale), strings.TrimSpace(in.WhatWouldChange), now, app.ID); err != nil {
				return fmt.Errorf("update app status: %w", err)
			}
			for _, alt := range in.Alternatives {
				var altApp App
				err := sqlx.GetContext(ctx, tx, &altApp, tx.Rebind("SELECT "+appColumns+" FROM apps WHERE slug = ?"), alt)
				if err != nil || !altApp.Usable() || altApp.ID == app.ID {
					return &errs.Error{Code: errs.Invalid, Message: "Alternatives must be approved apps.", Fields: map[string]string{"alternatives": alt + " is not an approved app."}}
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO app_alternatives (app_id, alternative_id, note) VALUES (?, ?, '') ON CONFLICT (app_id, alternative_id) DO NOTHING`), app.ID, altApp.ID); err != nil {
					return fmt.Errorf("record alternative: %w", err)
				}
			}
			if s.outbox != nil {
				if err := s.outbox.EnqueueIndexSync(ctx, tx, app.Slug); err != nil {
					return fmt.Errorf("queue index sync: %w", err)
				}
			}
		}
		if err := s.moveTx(ctx, tx, r, next, "app_id = ?, outcome = ?, conditions = ?, rationale = ?, what_would_change = ?, pilot_ends_at = ?, ",
			r.AppID, in.Outcome, strings.TrimSpace(in.Conditions), strings.TrimSpace(in.Rationale), strings.TrimSpace(in.WhatWouldChange), in.PilotEndsAt); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), id, ActionDecide, r.State, next, string(in.Outcome)); err != nil {
			return err
		}
		r.State, r.Outcome, r.Rationale = next, in.Outcome, strings.TrimSpace(in.Rationale)
		out = r
		return s.notifyTx(ctx, tx, "decided", r, string(in.Outcome))
	})
	return out, err
}

// TimelineEvent is one step of a request's history.
type TimelineEvent struct {
	At        time.Time `db:"at" json:"at"`
	Actor     string    `db:"actor" json:"actor"`
	Action    string    `db:"action" json:"action"`
	FromState string    `db:"from_state" json:"from_state"`
	ToState   string    `db:"to_state" json:"to_state"`
	Note      string    `db:"note" json:"note,omitempty"`
}

// Timeline returns a request's history, oldest first.
func (s *Service) Timeline(ctx context.Context, id int64) ([]TimelineEvent, error) {
	var out []TimelineEvent
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT at, actor, action, from_state, to_state, note FROM request_events WHERE request_id = ? ORDER BY id"), id); err != nil {
		return nil, fmt.Errorf("request timeline: %w", err)
	}
	return out, nil
}

// Funding sums a request's pledges per currency (yearly) and the share of its estimate they
// cover, with the supporters' count, for the request page and the demand score.
type Funding struct {
	Totals     []CurrencyTotal
	Percent    int
	Comparable bool
	Supporters int
	Pledges    []PledgeRow
}

// FundingOf computes a request's funding.
func (s *Service) FundingOf(ctx context.Context, id int64) (Funding, error) {
	r, err := s.Request(ctx, id)
	if err != nil {
		return Funding{}, err
	}
	rows, err := pledgesOf(ctx, s.db, id)
	if err != nil {
		return Funding{}, err
	}
	f := Funding{Pledges: rows}
	ps := make([]Pledge, len(rows))
	for i, p := range rows {
		ps[i] = p.Pledge
	}
	if f.Totals, err = PledgeTotals(ps); err != nil {
		return Funding{}, err
	}
	if r.EstimateMinor != nil {
		f.Percent, f.Comparable = FundedPercent(f.Totals, Money{Minor: *r.EstimateMinor, Currency: r.EstimateCurrency})
	}
	if err := s.db.GetContext(ctx, &f.Supporters, s.db.Rebind("SELECT COUNT(*) FROM supporters WHERE request_id = ?"), id); err != nil {
		return Funding{}, fmt.Errorf("count supporters: %w", err)
	}
	return f, nil
}

// RequestSummary is a request in a list, with its demand.
type RequestSummary struct {
	Request
	Requester  string `db:"requester" json:"requester"`
	Supporters int    `db:"supporters" json:"supporters"`
	Demand     int    `db:"-" json:"demand"`
}

// RequestsOf lists the requests m made, supports or pledged to, newest first.
func (s *Service) RequestsOf(ctx context.Context, userID int64) ([]RequestSummary, error) {
	return s.listRequests(ctx, `WHERE r.requester_id = ? OR r.id IN (SELECT request_id FROM supporters WHERE user_id = ?)
		OR r.id IN (SELECT request_id FROM pledges WHERE user_id = ?) ORDER BY r.updated_at DESC`, userID, userID, userID)
}

// OpenRequests lists every request in one of states, newest first.
func (s *Service) OpenRequests(ctx context.Context, states ...RequestState) ([]RequestSummary, error) {
	q := "WHERE r.state IN (?" + strings.Repeat(", ?", len(states)-1) + ") ORDER BY r.updated_at DESC"
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	return s.listRequests(ctx, q, args...)
}

func (s *Service) listRequests(ctx context.Context, where string, args ...any) ([]RequestSummary, error) {
	cols := strings.Split(requestColumns, ",")
	for i, c := range cols {
		cols[i] = "r." + strings.TrimSpace(c)
	}
	var out []RequestSummary
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+strings.Join(cols, ", ")+`, COALESCE(NULLIF(u.name, ''), u.email) AS requester,
		(SELECT COUNT(*) FROM supporters x WHERE x.request_id = r.id) AS supporters
		FROM requests r JOIN users u ON u.id = r.requester_id `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	for i := range out {
		if out[i].Demand, err = s.Demand(ctx, out[i].Request, out[i].Supporters); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UsageCounter counts the people already signing in to an app (from discovery), for demand.
type UsageCounter interface {
	ActiveUsers(ctx context.Context, appID *int64, name string) (int, error)
}

// SetUsageCounter lets demand count the people discovery sees using the app already.
func (s *Service) SetUsageCounter(u UsageCounter) { s.usage = u }

// Demand is a request's demand score: its supporters, the share of its estimate pledged, and
// the people already signing in to the app.
func (s *Service) Demand(ctx context.Context, r Request, supporters int) (int, error) {
	f, err := s.FundingOf(ctx, r.ID)
	if err != nil {
		return 0, err
	}
	active := 0
	if s.usage != nil {
		if active, err = s.usage.ActiveUsers(ctx, r.AppID, r.AppName); err != nil {
			return 0, err
		}
	}
	return DemandScore(supporters, f.Percent, active), nil
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

// Review returns security's checklist, if there is one.
func (r Request) Review() (ReviewChecklist, bool) {
	var c ReviewChecklist
	if r.ReviewJSON == "" || json.Unmarshal([]byte(r.ReviewJSON), &c) != nil {
		return c, false
	}
	return c, true
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

// AppByID returns one app by its id.
func (s *Service) AppByID(ctx context.Context, id int64) (App, error) {
	var a App
	err := s.db.GetContext(ctx, &a, s.db.Rebind("SELECT "+appColumns+" FROM apps WHERE id = ?"), id)
	if db.IsNotFound(err) {
		return App{}, errs.E(errs.NotFound, "No such app.")
	}
	if err != nil {
		return App{}, fmt.Errorf("get app %d: %w", id, err)
	}
	return a, nil
}

// Notifier tells the people behind a request what happened to it. It queues its messages in
// the transaction of the change, so a change that rolls back tells nobody.
type Notifier interface {
	NotifyTx(ctx context.Context, tx *sqlx.Tx, ev RequestEvent) error
}

// RequestEvent is a change worth telling people about.
type RequestEvent struct {
	Kind       string // submitted, review_done, vote_opened, decided
	Request    Request
	Outcome    string // the decision, or security's recommendation
	Recipients []string
}

// SetNotifier makes the service tell requesters, supporters and pledgers about their requests.
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// notifyTx tells the requester, supporters and pledgers of r about kind.
func (s *Service) notifyTx(ctx context.Context, tx *sqlx.Tx, kind string, r Request, outcome string) error {
	if s.notifier == nil {
		return nil
	}
	var emails []string
	err := tx.SelectContext(ctx, &emails, tx.Rebind(`SELECT email FROM users WHERE id = ?
		OR id IN (SELECT user_id FROM supporters WHERE request_id = ?) OR id IN (SELECT user_id FROM pledges WHERE request_id = ?)`), r.RequesterID, r.ID, r.ID)
	if err != nil {
		return fmt.Errorf("recipients of request %d: %w", r.ID, err)
	}
	return s.notifier.NotifyTx(ctx, tx, RequestEvent{Kind: kind, Request: r, Outcome: outcome, Recipients: emails})
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
			next, err := NextState(r.Kind, r.State, ActionOpenVote, SystemActor())
			if err != nil {
				return err
			}
			now := s.now()
			if err := s.moveTx(ctx, tx, r.Request, next, "vote_opened_at = ?, ", now); err != nil {
				return err
			}
			if err := s.recordTransition(ctx, tx, audit.System, r.ID, ActionOpenVote, r.State, next, fmt.Sprintf("demand %d reached the threshold %d", r.Demand, threshold)); err != nil {
				return err
			}
			r.State = next
			return s.notifyTx(ctx, tx, "vote_opened", r.Request, "")
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

// MaxCommentLength bounds a comment, in characters.
const MaxCommentLength = 4000

// Comment is one message on a request's discussion.
type Comment struct {
	ID        int64     `db:"id" json:"id"`
	Author    string    `db:"author" json:"author"`
	Body      string    `db:"body" json:"body"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// AddComment adds m's comment (Markdown) to a request.
func (s *Service) AddComment(ctx context.Context, m Member, id int64, body string) (Comment, error) {
	body = strings.TrimSpace(body)
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return Comment{}, &errs.Error{Code: errs.Invalid, Message: "Write a comment first.", Fields: map[string]string{"body": "Write a comment first."}}
	case n > MaxCommentLength:
		return Comment{}, &errs.Error{Code: errs.Invalid, Message: "The comment is too long.", Fields: map[string]string{"body": fmt.Sprintf("Use at most %d characters (this has %d).", MaxCommentLength, n)}}
	}
	c := Comment{Author: m.Email, Body: body, CreatedAt: s.now()}
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := requestByID(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &c.ID, tx.Rebind("INSERT INTO request_comments (request_id, user_id, body, created_at) VALUES (?, ?, ?, ?) RETURNING id"), id, m.UserID, body, c.CreatedAt); err != nil {
			return fmt.Errorf("add comment: %w", err)
		}
		return audit.Append(ctx, tx, c.CreatedAt, m.actor(), "request.comment", "request", strconv.FormatInt(id, 10), map[string]int64{"comment": c.ID})
	})
	return c, err
}

// Comments lists a request's comments, oldest first.
func (s *Service) Comments(ctx context.Context, id int64) ([]Comment, error) {
	var out []Comment
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT c.id, COALESCE(NULLIF(u.name, ''), u.email) AS author, c.body, c.created_at
		FROM request_comments c JOIN users u ON u.id = c.user_id WHERE c.request_id = ? ORDER BY c.id`), id)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	return out, nil
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
			r, err := requestByID(ctx, tx, id)
			if err != nil {
				return err
			}
			next, err := NextState(r.Kind, r.State, ActionReopenPilot, SystemActor())
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM votes WHERE request_id = ?"), id); err != nil {
				return fmt.Errorf("clear votes: %w", err)
			}
			now := s.now()
			if err := s.moveTx(ctx, tx, r, next, "vote_opened_at = ?, tally = '', pilot_ends_at = NULL, ", now); err != nil {
				return err
			}
			if err := s.recordTransition(ctx, tx, audit.System, id, ActionReopenPilot, r.State, next, "the pilot ended"); err != nil {
				return err
			}
			r.State = next
			return s.notifyTx(ctx, tx, "vote_opened", r, "")
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
