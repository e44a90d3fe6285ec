package requests

import (
	"context"
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

// TimelineEvent is one step of a request's history.
type TimelineEvent struct {
	At        time.Time `db:"at" json:"at"`
	Actor     string    `db:"actor" json:"actor"`
	Action    string    `db:"action" json:"action"`
	FromState string    `db:"from_state" json:"from_state"`
	ToState   string    `db:"to_state" json:"to_state"`
	Note      string    `db:"note" json:"note,omitempty"`
}

// ActionLabel says in words what happened.
func (e TimelineEvent) ActionLabel() string { return RequestAction(e.Action).Label() }

// NoteText is the note in words: the review's recommendation and the decision's outcome are
// stored as codes and shown as their labels.
func (e TimelineEvent) NoteText() string { return NoteText(RequestAction(e.Action), e.Note) }

// NoteText is a timeline note of action in words.
func NoteText(action RequestAction, note string) string {
	switch action {
	case ActionCompleteReview:
		if r := Recommendation(note); r.Valid() {
			return "Recommends: " + r.Label()
		}
	case ActionDecide:
		if o := Outcome(note); o.Valid() {
			return o.Label()
		}
	}
	return note
}

// Timeline returns a request's history, oldest first.
func (s *Service) Timeline(ctx context.Context, id int64) ([]TimelineEvent, error) {
	var out []TimelineEvent
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT at, actor, action, from_state, to_state, note FROM request_events WHERE request_id = ? ORDER BY id"), id); err != nil {
		return nil, fmt.Errorf("request timeline: %w", err)
	}
	return out, nil
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

// reviewWhere selects the requests waiting for security: to be reviewed, to have the review
// finished, or to be decided (after the vote, or straight after review for access).
const reviewWhere = `(r.state IN (?, ?, ?) OR (r.state = ? AND r.kind IN (?, ?)))`

func reviewArgs() []any {
	return []any{StateSubmitted, StateInReview, StateVoteClosed, StateReviewed, KindAccess, KindException}
}

// ReviewQueue lists the requests waiting for security, oldest first.
func (s *Service) ReviewQueue(ctx context.Context) ([]RequestSummary, error) {
	return s.listRequests(ctx, "WHERE "+reviewWhere+" ORDER BY r.created_at, r.id", reviewArgs()...)
}

// WaitingFor says what a request in the review queue needs from security next.
func (r Request) WaitingFor() string {
	if r.Kind == KindException && r.State.Open() {
		return "Decide"
	}
	switch r.State {
	case StateSubmitted:
		return "Start the review"
	case StateInReview:
		return "Finish the review"
	case StateReviewed, StateVoteClosed:
		return "Decide"
	}
	return ""
}

// QueueCounts are the counts the navigation shows beside the queues.
type QueueCounts struct {
	// Reviews wait for security (ReviewQueue).
	Reviews int
	// Votes are open votes the viewer has not cast a vote in.
	Votes int
}

// CountQueues counts what waits for security, and the open votes viewer has not voted in.
func (s *Service) CountQueues(ctx context.Context, viewer int64) (QueueCounts, error) {
	// Both badges in one round trip: the navigation of every page asks for them.
	var q QueueCounts
	args := append(reviewArgs(), StateVoting, viewer)
	if err := s.db.QueryRowxContext(ctx, s.db.Rebind(`SELECT
		(SELECT COUNT(*) FROM requests r WHERE `+reviewWhere+`),
		(SELECT COUNT(*) FROM requests r WHERE r.state = ?
			AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.request_id = r.id AND v.user_id = ?))`), args...).Scan(&q.Reviews, &q.Votes); err != nil {
		return q, fmt.Errorf("count queues: %w", err)
	}
	return q, nil
}

// AccessOf is userID's latest access request for the app appID, if there is one: the app page
// shows the instructions to someone already granted access, and the open request to someone
// waiting, instead of the button again.
func (s *Service) AccessOf(ctx context.Context, userID, appID int64) (Request, bool, error) {
	list, err := s.listRequests(ctx, "WHERE r.requester_id = ? AND r.app_id = ? AND r.kind = ? AND r.state <> ? ORDER BY r.id DESC", userID, appID, KindAccess, StateWithdrawn)
	if err != nil || len(list) == 0 {
		return Request{}, false, err
	}
	return list[0].Request, true, nil
}

// Granted reports whether the request ended with access: approved, with or without conditions.
func (r Request) Granted() bool {
	return r.State == StateDecided && (r.Outcome == OutcomeApproved || r.Outcome == OutcomeApprovedWithConditions)
}

// OpenRequestFor is the open request people can support for an app: one about the catalogued
// app appID, or else an open proposal under name. ok is false when there is none.
func (s *Service) OpenRequestFor(ctx context.Context, appID *int64, name string) (Request, bool, error) {
	open := []any{StateSubmitted, StateInReview, StateReviewed, StateVoting, StateVoteClosed}
	var list []RequestSummary
	var err error
	if appID != nil {
		// An exception is one person's: nobody else supports it.
		list, err = s.listRequests(ctx, "WHERE r.app_id = ? AND r.kind <> ? AND r.state IN (?, ?, ?, ?, ?) ORDER BY r.id", append([]any{*appID, KindException}, open...)...)
	} else {
		list, err = s.listRequests(ctx, "WHERE r.kind = ? AND LOWER(r.app_name) = LOWER(?) AND r.state IN (?, ?, ?, ?, ?) ORDER BY r.id", append([]any{KindNewApp, strings.TrimSpace(name)}, open...)...)
	}
	if err != nil || len(list) == 0 {
		return Request{}, false, err
	}
	return list[0].Request, true, nil
}
