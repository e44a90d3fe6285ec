package requests

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/errs"
)

// AskException asks security to let m use the app slug outside its checked conditions; note
// says which conditions and why. While an exception request of m for the app is open, asking
// again returns that one (with Existing set) instead of a second.
func (s *Service) AskException(ctx context.Context, m Member, slug, note string) (Request, error) {
	a, err := s.app(ctx, slug)
	if err != nil {
		return Request{}, err
	}
	r := Request{Kind: KindException, AppID: &a.ID, AppName: a.Name, UseCase: strings.TrimSpace(note), RequesterID: m.UserID}
	if r.UseCase == "" || utf8.RuneCountInString(r.UseCase) > 4000 {
		return Request{}, &errs.Error{Code: errs.Invalid, Message: "Say which condition the exception is to.", Fields: map[string]string{"note": "Use 1 to 4,000 characters."}}
	}
	if r.State, err = NextState(r.Kind, StateNone, ActionSubmit, ActorFromRoles(m.Roles, true)); err != nil {
		return Request{}, err
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if prev, ok, err := pendingRequest(ctx, tx, KindException, a.ID, m.UserID); err != nil || ok {
			r = prev
			return err
		}
		if err := s.insertRequest(ctx, tx, &r); err != nil {
			return err
		}
		if err := s.recordTransition(ctx, tx, m.actor(), r.ID, ActionSubmit, StateNone, r.State, "exception to the conditions"); err != nil {
			return err
		}
		return s.notifyTx(ctx, tx, "submitted", r, "")
	})
	return r, err
}

// ExceptionOf is userID's latest exception request for the app appID that was not withdrawn,
// if there is one: the home page shows it instead of offering to ask again.
func (s *Service) ExceptionOf(ctx context.Context, userID, appID int64) (Request, bool, error) {
	list, err := s.listRequests(ctx, "WHERE r.requester_id = ? AND r.app_id = ? AND r.kind = ? AND r.state <> ? ORDER BY r.id DESC", userID, appID, KindException, StateWithdrawn)
	if err != nil || len(list) == 0 {
		return Request{}, false, err
	}
	return list[0].Request, true, nil
}
