package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// The functions here let the request workflow (catalog/requests) change the catalogue inside
// its own transaction, so a decision and the app it settles commit together.

// AppByID returns one app by its id.
func (s *Service) AppByID(ctx context.Context, id int64) (App, error) {
	return AppByIDTx(ctx, s.db, id)
}

// AppByIDTx returns one app by its id, read through q (a transaction or the database).
func AppByIDTx(ctx context.Context, q sqlx.ExtContext, id int64) (App, error) {
	var a App
	err := sqlx.GetContext(ctx, q, &a, q.Rebind("SELECT "+appColumns+" FROM apps WHERE id = ?"), id)
	if db.IsNotFound(err) {
		return App{}, errs.E(errs.NotFound, "No such app.")
	}
	if err != nil {
		return App{}, fmt.Errorf("get app %d: %w", id, err)
	}
	return a, nil
}

// CreateAppTx validates in against the stored categories and inserts the app, stamped now.
// It writes no audit entry: the caller's own record of the change covers it.
func (s *Service) CreateAppTx(ctx context.Context, tx *sqlx.Tx, in AppInput, now time.Time) (App, error) {
	cats, err := s.categorySet(ctx, tx)
	if err != nil {
		return App{}, err
	}
	a, err := in.validate(cats)
	if err != nil {
		return App{}, err
	}
	a.CreatedAt, a.UpdatedAt = now, now
	if err := insertApp(ctx, tx, &a); err != nil {
		return App{}, err
	}
	return a, nil
}

// SaveRiskAnswersTx records answers on an app's risk profile, replacing earlier answers to the
// same factors and leaving the others alone.
func SaveRiskAnswersTx(ctx context.Context, tx *sqlx.Tx, appID int64, answers []RiskAnswer, now time.Time) error {
	for _, a := range answers {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO risk_factors (app_id, factor, answer, note, evidence_url, checked_on) VALUES (?, ?, ?, ?, '', ?)
			ON CONFLICT (app_id, factor) DO UPDATE SET answer = excluded.answer, note = excluded.note, checked_on = excluded.checked_on`),
			appID, a.Factor, a.Answer, a.Note, now); err != nil {
			return fmt.Errorf("fill risk profile: %w", err)
		}
	}
	return nil
}

// AppDecision is what a decision on a proposal sets on the app it is about.
type AppDecision struct {
	Status          Status
	Conditions      string
	Rationale       string
	WhatWouldChange string
	// Alternatives are slugs of approved apps to use instead.
	Alternatives []string
}

// SettleAppTx gives app the status of a decision, its conditions, rationale and alternatives,
// and queues its index sync in the same transaction.
func (s *Service) SettleAppTx(ctx context.Context, tx *sqlx.Tx, app App, d AppDecision, now time.Time) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE apps SET status = ?, conditions = ?, decision_rationale = ?, what_would_change = ?, updated_at = ? WHERE id = ?`),
		d.Status, strings.TrimSpace(d.Conditions), strings.TrimSpace(d.Rationale), strings.TrimSpace(d.WhatWouldChange), now, app.ID); err != nil {
		return fmt.Errorf("update app status: %w", err)
	}
	for _, alt := range d.Alternatives {
		altApp, err := appBySlug(ctx, tx, alt)
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
	return nil
}

// ValidHTTPURL reports whether s is an absolute http(s) address.
func ValidHTTPURL(s string) bool { return validHTTPURL(s) }

// FindExisting looks for an app already in the catalogue under name (its name, slug or an
// alias, in any case) or at the host of website (or a parent domain of it, down to two labels),
// so that a proposal of an app Paved already knows points to it instead of duplicating it.
func (s *Service) FindExisting(ctx context.Context, name, website string) (App, bool, error) {
	name = strings.TrimSpace(name)
	var domains []string
	if d, err := NormalizeIdentifier(IDDomain, website); err == nil && website != "" {
		for labels := strings.Split(d, "."); len(labels) >= 2; labels = labels[1:] {
			domains = append(domains, strings.Join(labels, "."))
		}
	}
	if name == "" && len(domains) == 0 {
		return App{}, false, nil
	}
	q := "SELECT " + appColumns + " FROM apps WHERE LOWER(name) = LOWER(?) OR slug = ? OR id IN (SELECT app_id FROM app_identifiers WHERE kind = ? AND LOWER(value) = LOWER(?))"
	args := []any{name, Slugify(name), IDAlias, name}
	if len(domains) > 0 {
		q += " OR id IN (SELECT app_id FROM app_identifiers WHERE kind = ? AND value IN (?" + strings.Repeat(", ?", len(domains)-1) + "))"
		args = append(args, IDDomain)
		for _, d := range domains {
			args = append(args, d)
		}
	}
	var found []App
	if err := s.db.SelectContext(ctx, &found, s.db.Rebind(q+" ORDER BY id LIMIT 1"), args...); err != nil {
		return App{}, false, fmt.Errorf("find existing app: %w", err)
	}
	if len(found) == 0 {
		return App{}, false, nil
	}
	return found[0], true, nil
}

// RecentlyApproved lists the n apps most recently approved (with or without conditions), newest
// first, for the home page.
func (s *Service) RecentlyApproved(ctx context.Context, n int) ([]App, error) {
	var out []App
	err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT "+appColumns+" FROM apps WHERE status IN (?, ?) ORDER BY updated_at DESC, id DESC LIMIT ?"),
		StatusApproved, StatusApprovedWithConditions, n)
	if err != nil {
		return nil, fmt.Errorf("recently approved apps: %w", err)
	}
	return out, nil
}
