package catalog

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// IdentifierKind says where an identifier is seen.
type IdentifierKind string

// The identifier kinds discovery matches on.
const (
	IDDomain         IdentifierKind = "domain"           // slack.com
	IDOktaApp        IdentifierKind = "okta_app"         // an Okta app instance label or 0oa… id
	IDEntraAppID     IdentifierKind = "entra_app_id"     // a Microsoft Entra application (client) id
	IDGoogleClientID IdentifierKind = "google_client_id" // a Google OAuth client id
	IDAlias          IdentifierKind = "alias"            // another name for the app
)

// IdentifierKinds lists the kinds with labels, for forms.
var IdentifierKinds = []struct {
	Kind  IdentifierKind
	Label string
}{{IDDomain, "Domain"}, {IDOktaApp, "Okta app"}, {IDEntraAppID, "Entra application id"}, {IDGoogleClientID, "Google OAuth client id"}, {IDAlias, "Alias"}}

// Identifier is one name an app is known by.
type Identifier struct {
	ID    int64          `db:"id" json:"id"`
	Kind  IdentifierKind `db:"kind" json:"kind"`
	Value string         `db:"value" json:"value"`
}

var (
	domainRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	guidRe   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// NormalizeIdentifier cleans a value so that the same identifier is always stored the same way
// (domains lowercased without scheme or path, ids lowercased, aliases trimmed), and checks it.
func NormalizeIdentifier(kind IdentifierKind, value string) (string, error) {
	v := strings.TrimSpace(value)
	bad := func(msg string) (string, error) {
		return "", &errs.Error{Code: errs.Invalid, Message: msg, Fields: map[string]string{"value": msg}}
	}
	if v == "" {
		return bad("Enter a value.")
	}
	if len(v) > 200 {
		return bad("Use at most 200 characters.")
	}
	switch kind {
	case IDDomain:
		v = strings.ToLower(v)
		if strings.Contains(v, "://") {
			if u, err := url.Parse(v); err == nil {
				v = u.Hostname()
			}
		}
		v = strings.TrimPrefix(strings.TrimSuffix(v, "/"), "www.")
		if !domainRe.MatchString(v) {
			return bad("Enter a domain such as slack.com.")
		}
	case IDEntraAppID:
		v = strings.ToLower(v)
		if !guidRe.MatchString(v) {
			return bad("An Entra application id is a GUID such as 00000003-0000-0ff1-ce00-000000000000.")
		}
	case IDGoogleClientID:
		v = strings.ToLower(v)
		if strings.ContainsAny(v, " \t") {
			return bad("A Google client id has no spaces.")
		}
	case IDOktaApp, IDAlias:
	default:
		return "", &errs.Error{Code: errs.Invalid, Message: "Choose a kind of identifier.", Fields: map[string]string{"kind": "Choose a kind of identifier."}}
	}
	return v, nil
}

// Identifiers lists an app's identifiers.
func (s *Service) Identifiers(ctx context.Context, appID int64) ([]Identifier, error) {
	var out []Identifier
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT id, kind, value FROM app_identifiers WHERE app_id = ? ORDER BY kind, value"), appID); err != nil {
		return nil, fmt.Errorf("list identifiers: %w", err)
	}
	return out, nil
}

// AddIdentifier records another name the app is seen under. Each (kind, value) belongs to one
// app only, so discovery never has two candidates.
func (s *Service) AddIdentifier(ctx context.Context, actor audit.Actor, slug string, kind IdentifierKind, value string) (Identifier, error) {
	v, err := NormalizeIdentifier(kind, value)
	if err != nil {
		return Identifier{}, err
	}
	id := Identifier{Kind: kind, Value: v}
	err = s.change(ctx, actor, "app.identifier.add", slug, id, func(tx *sqlx.Tx) error {
		a, err := appBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		var owner string
		err = tx.GetContext(ctx, &owner, tx.Rebind("SELECT a.name FROM app_identifiers i JOIN apps a ON a.id = i.app_id WHERE i.kind = ? AND i.value = ?"), kind, v)
		if err == nil {
			return &errs.Error{Code: errs.Conflict, Message: "That identifier is taken.", Fields: map[string]string{"value": fmt.Sprintf("%s already identifies %s.", v, owner)}}
		}
		if !db.IsNotFound(err) {
			return fmt.Errorf("check identifier: %w", err)
		}
		err = tx.GetContext(ctx, &id.ID, tx.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, ?, ?) RETURNING id"), a.ID, kind, v)
		if db.IsUniqueViolation(err) {
			return &errs.Error{Code: errs.Conflict, Message: "That identifier is taken.", Fields: map[string]string{"value": v + " already identifies another app."}}
		}
		return err
	}, slug)
	return id, err
}

// RemoveIdentifier deletes one of an app's identifiers.
func (s *Service) RemoveIdentifier(ctx context.Context, actor audit.Actor, slug string, id int64) error {
	return s.change(ctx, actor, "app.identifier.remove", slug, map[string]any{"id": id}, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM app_identifiers WHERE id = ? AND app_id = (SELECT id FROM apps WHERE slug = ?)"), id, slug)
		if err != nil {
			return fmt.Errorf("remove identifier: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "That identifier does not belong to this app.")
		}
		return nil
	}, slug)
}

// Alternative is an approved app to use instead of another, with a note.
type Alternative struct {
	Slug   string `db:"slug" json:"slug"`
	Name   string `db:"name" json:"name"`
	Status Status `db:"status" json:"status"`
	Note   string `db:"note" json:"note"`
}

// Alternatives lists what to use instead of an app.
func (s *Service) Alternatives(ctx context.Context, appID int64) ([]Alternative, error) {
	var out []Alternative
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT a.slug, a.name, a.status, x.note FROM app_alternatives x
		JOIN apps a ON a.id = x.alternative_id WHERE x.app_id = ? ORDER BY a.name`), appID)
	if err != nil {
		return nil, fmt.Errorf("list alternatives: %w", err)
	}
	return out, nil
}

// SetAlternative points an app at an approved app to use instead, or changes the note. Only
// usable apps can be alternatives: pointing at another "no" would not help anyone.
func (s *Service) SetAlternative(ctx context.Context, actor audit.Actor, slug, altSlug, note string) error {
	note = strings.TrimSpace(note)
	if len(note) > 500 {
		return &errs.Error{Code: errs.Invalid, Message: "The note is too long.", Fields: map[string]string{"note": "Use at most 500 characters."}}
	}
	return s.change(ctx, actor, "app.alternative.set", slug, map[string]string{"alternative": altSlug, "note": note}, func(tx *sqlx.Tx) error {
		a, err := appBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		alt, err := appBySlug(ctx, tx, altSlug)
		if errs.Is(err, errs.NotFound) {
			return &errs.Error{Code: errs.Invalid, Message: "Choose an app from the catalogue.", Fields: map[string]string{"alternative": "Choose an app from the catalogue."}}
		}
		if err != nil {
			return err
		}
		if alt.ID == a.ID {
			return &errs.Error{Code: errs.Invalid, Message: "An app cannot be its own alternative.", Fields: map[string]string{"alternative": "Choose a different app."}}
		}
		if !alt.Usable() {
			return &errs.Error{Code: errs.Invalid, Message: "Alternatives must be approved.", Fields: map[string]string{"alternative": alt.Name + " is not approved, so it cannot be recommended."}}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO app_alternatives (app_id, alternative_id, note) VALUES (?, ?, ?)
			ON CONFLICT (app_id, alternative_id) DO UPDATE SET note = excluded.note`), a.ID, alt.ID, note)
		if err != nil {
			return fmt.Errorf("set alternative: %w", err)
		}
		return nil
	})
}

// RemoveAlternative stops recommending altSlug instead of slug.
func (s *Service) RemoveAlternative(ctx context.Context, actor audit.Actor, slug, altSlug string) error {
	return s.change(ctx, actor, "app.alternative.remove", slug, map[string]string{"alternative": altSlug}, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM app_alternatives WHERE app_id = (SELECT id FROM apps WHERE slug = ?)
			AND alternative_id = (SELECT id FROM apps WHERE slug = ?)`), slug, altSlug)
		if err != nil {
			return fmt.Errorf("remove alternative: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "That app is not an alternative here.")
		}
		return nil
	})
}

// RiskAnswers returns an app's answers.
func (s *Service) RiskAnswers(ctx context.Context, appID int64) ([]RiskAnswer, error) {
	var out []RiskAnswer
	err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT factor, answer, note, evidence_url, checked_on FROM risk_factors WHERE app_id = ?"), appID)
	if err != nil {
		return nil, fmt.Errorf("list risk answers: %w", err)
	}
	return out, nil
}

// SaveRiskProfile replaces an app's answers and records who reviewed it and when.
func (s *Service) SaveRiskProfile(ctx context.Context, actor audit.Actor, slug string, answers []RiskAnswer) error {
	f := errs.Fields{}
	for _, a := range answers {
		if _, ok := FactorByKey(a.Factor); !ok {
			f.Add(a.Factor, "Unknown factor.")
		}
		if !slices.Contains([]Answer{AnswerYes, AnswerNo, AnswerUnknown}, a.Answer) {
			f.Add(a.Factor+".answer", "Choose yes, no or unknown.")
		}
		if a.EvidenceURL != "" && !validHTTPURL(a.EvidenceURL) {
			f.Add(a.Factor+".evidence_url", "Enter a full address starting with https://.")
		}
		if len(a.Note) > 500 {
			f.Add(a.Factor+".note", "Use at most 500 characters.")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	now := s.now()
	return s.change(ctx, actor, "app.risk.review", slug, map[string]int{"factors": len(answers)}, func(tx *sqlx.Tx) error {
		a, err := appBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		for _, r := range answers {
			var checked any
			if r.CheckedOn != nil {
				checked = db.Time(*r.CheckedOn)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO risk_factors (app_id, factor, answer, note, evidence_url, checked_on) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (app_id, factor) DO UPDATE SET answer = excluded.answer, note = excluded.note,
				evidence_url = excluded.evidence_url, checked_on = excluded.checked_on`),
				a.ID, r.Factor, r.Answer, strings.TrimSpace(r.Note), strings.TrimSpace(r.EvidenceURL), checked); err != nil {
				return fmt.Errorf("save risk factor %s: %w", r.Factor, err)
			}
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("UPDATE apps SET risk_reviewed_at = ?, risk_reviewed_by = ?, updated_at = ? WHERE id = ?"), now, actor.Name, now, a.ID)
		return err
	})
}

// OverrideScore sets (or with nil clears) a score that replaces the computed one. A written
// reason is required, and it goes to the audit log with the old and new values.
func (s *Service) OverrideScore(ctx context.Context, actor audit.Actor, slug string, score *float64, reason string) error {
	reason = strings.TrimSpace(reason)
	f := errs.Fields{}
	if score != nil && (*score < 0 || *score > 10) {
		f.Add("score", "Use a score from 0 to 10.")
	}
	if score != nil && len(reason) < 10 {
		f.Add("reason", "Explain in a sentence why the computed score is wrong.")
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.change(ctx, actor, "app.risk.override", slug, map[string]any{"score": score, "reason": reason}, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE apps SET score_override = ?, score_override_reason = ?, updated_at = ? WHERE slug = ?"), score, reason, s.now(), slug)
		if err != nil {
			return fmt.Errorf("override score: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "There is no app “%s” in the catalogue.", slug)
		}
		return nil
	})
}

// RiskWeights returns the administrators' weights, with defaults for factors never set.
func (s *Service) RiskWeights(ctx context.Context) (map[string]Weight, error) {
	var rows []struct {
		Factor string `db:"factor"`
		Weight int    `db:"weight"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT factor, weight FROM risk_weights"); err != nil {
		return nil, fmt.Errorf("read risk weights: %w", err)
	}
	w := map[string]Weight{}
	for _, f := range Factors {
		w[f.Key] = f.Default
	}
	for _, r := range rows {
		w[r.Factor] = Weight(r.Weight)
	}
	return w, nil
}

// SetRiskWeights stores the weights an administrator chose.
func (s *Service) SetRiskWeights(ctx context.Context, actor audit.Actor, weights map[string]Weight) error {
	f := errs.Fields{}
	for k, w := range weights {
		if _, ok := FactorByKey(k); !ok {
			f.Add(k, "Unknown factor.")
		} else if !w.Valid() {
			f.Add(k, "Choose a weight.")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		details := map[string]string{}
		for k, w := range weights {
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO risk_weights (factor, weight) VALUES (?, ?) ON CONFLICT (factor) DO UPDATE SET weight = excluded.weight"), k, int(w)); err != nil {
				return fmt.Errorf("save weight %s: %w", k, err)
			}
			details[k] = strconv.Itoa(int(w))
		}
		return audit.Append(ctx, tx, s.now(), actor, "risk.weights.update", "settings", "risk_weights", details)
	})
}
