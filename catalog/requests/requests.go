package requests

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

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

// ClassificationLabel names the request's data classification for people.
func (r Request) ClassificationLabel() string {
	return catalog.Classification(r.DataClassification).Label()
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
	if r.Website != "" && !catalog.ValidHTTPURL(r.Website) {
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
	for _, c := range catalog.Classifications {
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
	if err := s.checkDuplicate(ctx, r.AppName, r.Website); err != nil {
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
	a, err := s.app(ctx, slug)
	if err != nil {
		return Request{}, err
	}
	if a.Status == catalog.StatusApprovedWithConditions && !acceptedConditions {
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
		if prev, ok, err := pendingRequest(ctx, tx, KindAccess, a.ID, m.UserID); err != nil || ok {
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
		r, err = s.step(ctx, tx, r.ID, &transition{action: ActionGrantAccess, note: "approved app: granted at once",
			set: func(_ *sqlx.Tx, r *Request) (string, []any, error) {
				r.Outcome, r.Conditions = outcome, a.Conditions
				return "outcome = ?, conditions = ?, ", []any{outcome, a.Conditions}, nil
			}})
		return err
	})
	return r, err
}

// pendingRequest finds the person's oldest open request of kind for the app, if any.
func pendingRequest(ctx context.Context, tx *sqlx.Tx, kind RequestKind, appID, userID int64) (Request, bool, error) {
	var open []any
	for _, st := range RequestStates {
		if st.Open() {
			open = append(open, st)
		}
	}
	q, args, err := sqlx.In("SELECT id FROM requests WHERE kind = ? AND app_id = ? AND requester_id = ? AND state IN (?) ORDER BY id LIMIT 1", kind, appID, userID, open)
	if err != nil {
		return Request{}, false, err
	}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(q), args...)
	if db.IsNotFound(err) {
		return Request{}, false, nil
	}
	if err != nil {
		return Request{}, false, fmt.Errorf("find pending %s request: %w", kind, err)
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

// DuplicateError refuses a proposal of an app Paved already knows: one in the catalogue (by
// name, alias or domain), or one already proposed and still open. It carries what to point
// the person to instead, and unwraps to a conflict with a field error on the name.
type DuplicateError struct {
	App     *catalog.App // the app in the catalogue, if that is what matched
	Request *Request     // the open proposal (or access request) to support instead, if any
	err     *errs.Error
}

func (e *DuplicateError) Error() string { return e.err.Error() }

// Unwrap lets errs.As see the conflict.
func (e *DuplicateError) Unwrap() error { return e.err }

// checkDuplicate returns a *DuplicateError when name or website is an app Paved knows.
func (s *Service) checkDuplicate(ctx context.Context, name, website string) error {
	a, ok, err := s.catalog.FindExisting(ctx, name, website)
	if err != nil {
		return err
	}
	if ok {
		d := &DuplicateError{App: &a}
		// An app under review may already have a request people can back.
		open, err := s.listRequests(ctx, "WHERE r.app_id = ? AND r.kind <> ? AND r.state IN (?, ?, ?, ?, ?) ORDER BY r.id", a.ID, KindException, StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed)
		if err != nil {
			return err
		}
		if len(open) > 0 {
			d.Request = &open[0].Request
		}
		msg := fmt.Sprintf("%s is already in the catalogue (%s).", a.Name, statusWords(a.Status))
		d.err = &errs.Error{Code: errs.Conflict, Message: msg, Fields: map[string]string{"name": msg}}
		return d
	}
	open, err := s.listRequests(ctx, "WHERE r.kind = ? AND LOWER(r.app_name) = LOWER(?) AND r.state IN (?, ?, ?, ?, ?) ORDER BY r.id", KindNewApp, name,
		StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed)
	if err != nil || len(open) == 0 {
		return err
	}
	msg := fmt.Sprintf("%s has already been proposed; support that proposal instead.", open[0].AppName)
	return &DuplicateError{Request: &open[0].Request, err: &errs.Error{Code: errs.Conflict, Message: msg, Fields: map[string]string{"name": msg}}}
}

// statusWords names a catalogue status in a sentence.
func statusWords(st catalog.Status) string {
	switch st {
	case catalog.StatusApproved:
		return "approved"
	case catalog.StatusApprovedWithConditions:
		return "approved with conditions"
	case catalog.StatusUnderReview:
		return "under review"
	case catalog.StatusNotApproved:
		return "not approved"
	case catalog.StatusRetired:
		return "retired"
	}
	return string(st)
}
