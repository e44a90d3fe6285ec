package discovery

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Security's corrections to the automatic resolution, and triage. Every one works on the
// discovered apps and their identifiers only: raw events are never touched.

// triageRank orders triage states from the least to the most advanced, for merges: a decision
// beats a review, which beats nothing; among decisions the stricter wins.
var triageRank = map[string]int{TriageNew: 0, TriageReviewing: 1, TriageIgnored: 2, TriageTolerated: 3, TriageSanctioned: 4, TriageBlocked: 5}

const (
	maxNoteLen     = 2000
	maxAssigneeLen = 200
)

// appRow is a discovered app's own columns.
type appRow struct {
	ID       int64  `db:"id"`
	Name     string `db:"display_name"`
	AppID    *int64 `db:"app_id"`
	Triage   string `db:"triage"`
	Note     string `db:"note"`
	Assignee string `db:"assignee"`
}

func getApp(ctx context.Context, tx *sqlx.Tx, id int64) (appRow, error) {
	var a appRow
	err := tx.GetContext(ctx, &a, tx.Rebind("SELECT id, display_name, app_id, triage, note, assignee FROM discovered_apps WHERE id = ?"), id)
	if db.IsNotFound(err) {
		return a, errs.E(errs.NotFound, "No discovered app %d.", id)
	}
	if err != nil {
		return a, fmt.Errorf("get discovered app %d: %w", id, err)
	}
	return a, nil
}

// Triage records security's decision about discovered apps, with a note and who follows them
// up: one app or several at once, all or none.
func (s *Store) Triage(ctx context.Context, actor audit.Actor, ids []int64, state, note string, assignee ...string) error {
	if !slices.Contains(TriageStates, state) {
		return &errs.Error{Code: errs.Invalid, Message: "Choose a triage state.", Fields: map[string]string{"triage": "Choose a triage state."}}
	}
	note = strings.TrimSpace(note)
	if len(note) > maxNoteLen {
		return &errs.Error{Code: errs.Invalid, Message: "The note is too long.", Fields: map[string]string{"note": "Use at most 2,000 characters."}}
	}
	who := ""
	if len(assignee) > 0 {
		who = strings.TrimSpace(assignee[0])
		if len(who) > maxAssigneeLen {
			return &errs.Error{Code: errs.Invalid, Message: "The assignee is too long.", Fields: map[string]string{"assignee": "Use at most 200 characters."}}
		}
	}
	if len(ids) == 0 {
		return &errs.Error{Code: errs.Invalid, Message: "Choose at least one app.", Fields: map[string]string{"ids": "Choose at least one app."}}
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, id := range ids {
			res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_apps SET triage = ?, note = ?, assignee = ? WHERE id = ?"), state, note, who, id)
			if err != nil {
				return fmt.Errorf("triage app %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return errs.E(errs.NotFound, "No discovered app %d.", id)
			}
			if err := audit.Append(ctx, tx, s.now(), actor, "discovery.triage", "discovered_app", fmt.Sprint(id), map[string]string{"state": state, "note": note, "assignee": who}); err != nil {
				return err
			}
		}
		return nil
	})
}

// identifierFor is the catalogue identifier that makes an identifier match by itself next time.
func identifierFor(key, name string) (kind, value string) {
	switch {
	case strings.HasPrefix(key, KeyDomain):
		return "domain", strings.TrimPrefix(key, KeyDomain)
	case strings.HasPrefix(key, KeyEntra):
		return "entra_app_id", strings.TrimPrefix(key, KeyEntra)
	case strings.HasPrefix(key, KeyGoogle):
		return "google_client_id", strings.TrimPrefix(key, KeyGoogle)
	case strings.HasPrefix(key, KeyOkta):
		return "okta_app", strings.TrimPrefix(key, KeyOkta)
	default:
		return "alias", name
	}
}

// Link ties a discovered app to a catalogue app and records its identifiers as the catalogue
// app's, so the next import matches them by itself. It marks the app sanctioned when the
// catalogue app is approved, else reviewing. When another discovered app is already linked to
// the same catalogue app, the two are one real app and are merged; Link returns the id of the
// app that remains.
func (s *Store) Link(ctx context.Context, actor audit.Actor, id int64, slug string) (int64, error) {
	kept := id
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		d, err := getApp(ctx, tx, id)
		if err != nil {
			return err
		}
		var app struct {
			ID     int64  `db:"id"`
			Status string `db:"status"`
		}
		if err := tx.GetContext(ctx, &app, tx.Rebind("SELECT id, status FROM apps WHERE slug = ?"), slug); err != nil {
			if db.IsNotFound(err) {
				return &errs.Error{Code: errs.Invalid, Message: "Choose an app from the catalogue.", Fields: map[string]string{"slug": "Choose an app from the catalogue."}}
			}
			return err
		}
		triage := TriageReviewing
		if app.Status == "approved" || app.Status == "approved_with_conditions" {
			triage = TriageSanctioned
		}
		if triageRank[d.Triage] > triageRank[triage] && d.Triage != TriageSanctioned {
			triage = d.Triage // a block or a toleration stays until security changes it
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_apps SET app_id = ?, triage = ? WHERE id = ?"), app.ID, triage, id); err != nil {
			return fmt.Errorf("link app %d: %w", id, err)
		}
		var idents []struct {
			Key  string `db:"app_key"`
			Name string `db:"display_name"`
		}
		if err := tx.SelectContext(ctx, &idents, tx.Rebind("SELECT app_key, display_name FROM discovered_identifiers WHERE discovered_app_id = ? ORDER BY app_key"), id); err != nil {
			return err
		}
		var recorded []string
		for _, ident := range idents {
			kind, value := identifierFor(ident.Key, ident.Name)
			if value == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, ?, ?) ON CONFLICT (kind, value) DO NOTHING"), app.ID, kind, value); err != nil {
				return fmt.Errorf("record identifier: %w", err)
			}
			recorded = append(recorded, kind+":"+value)
		}
		if err := audit.Append(ctx, tx, s.now(), actor, "discovery.link", "discovered_app", fmt.Sprint(id), map[string]any{"app": slug, "identifiers": recorded}); err != nil {
			return err
		}
		// One catalogue app is one real app: fold this one into the app already linked to it.
		rkey := resolveCatalog + fmt.Sprint(app.ID)
		var other int64
		err = tx.GetContext(ctx, &other, tx.Rebind(`SELECT id FROM discovered_apps WHERE app_id = ? AND id <> ?
			UNION SELECT discovered_app_id FROM discovered_app_keys WHERE key = ? AND discovered_app_id <> ? ORDER BY 1 LIMIT 1`), app.ID, id, rkey, id)
		if err != nil && !db.IsNotFound(err) {
			return err
		}
		if other != 0 {
			kept = other
			return s.merge(ctx, tx, actor, id, other)
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO discovered_app_keys (key, discovered_app_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"), rkey, id)
		return err
	})
	return kept, err
}

// Merge folds discovered app from into into: its identifiers (pinned there, so the rules never
// move them back), the keys that led to it (so later imports follow), the more advanced triage,
// the assignee and both notes. People are recounted, each once.
func (s *Store) Merge(ctx context.Context, actor audit.Actor, from, into int64) error {
	if from == into {
		return &errs.Error{Code: errs.Invalid, Message: "Choose another app to merge with.", Fields: map[string]string{"into": "Choose another app to merge with."}}
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		return s.merge(ctx, tx, actor, from, into)
	})
}

func (s *Store) merge(ctx context.Context, tx *sqlx.Tx, actor audit.Actor, from, into int64) error {
	a, err := getApp(ctx, tx, from)
	if err != nil {
		return err
	}
	b, err := getApp(ctx, tx, into)
	if err != nil {
		return err
	}
	triage := b.Triage
	if triageRank[a.Triage] > triageRank[b.Triage] {
		triage = a.Triage
	}
	assignee := b.Assignee
	if assignee == "" {
		assignee = a.Assignee
	}
	note := b.Note
	switch {
	case note == "":
		note = a.Note
	case a.Note != "" && a.Note != note:
		note += "\n\n" + a.Note
	}
	if len(note) > maxNoteLen {
		note = note[:maxNoteLen]
	}
	appID := b.AppID
	if appID == nil {
		appID = a.AppID
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{"UPDATE discovered_apps SET triage = ?, note = ?, assignee = ?, app_id = ? WHERE id = ?", []any{triage, note, assignee, appID, into}},
		{"UPDATE discovered_identifiers SET discovered_app_id = ?, pinned = TRUE WHERE discovered_app_id = ?", []any{into, from}},
		{"UPDATE discovered_app_keys SET discovered_app_id = ? WHERE discovered_app_id = ?", []any{into, from}},
		{"DELETE FROM usage_discovered_users WHERE discovered_app_id = ?", []any{from}},
		{"DELETE FROM discovered_apps WHERE id = ?", []any{from}},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, tx.Rebind(st.sql), st.args...); err != nil {
			return fmt.Errorf("merge app %d into %d: %w", from, into, err)
		}
	}
	if err := recountPeople(ctx, tx, []int64{into}); err != nil {
		return err
	}
	return audit.Append(ctx, tx, s.now(), actor, "discovery.merge", "discovered_app", fmt.Sprint(into),
		map[string]any{"merged": from, "merged_name": a.Name, "into_name": b.Name, "triage": triage})
}

// identRow is an identifier's own columns.
type identRow struct {
	Key       string       `db:"app_key"`
	Name      string       `db:"display_name"`
	FirstSeen db.Timestamp `db:"first_seen"`
	LastSeen  db.Timestamp `db:"last_seen"`
}

// Split moves one identifier out of its discovered app into an app of its own, for good: later
// imports of that identifier go to the new app. The last identifier of an app cannot be split
// off. It returns the new app's id.
func (s *Store) Split(ctx context.Context, actor audit.Actor, id int64, identifier string) (int64, error) {
	var created int64
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		a, err := getApp(ctx, tx, id)
		if err != nil {
			return err
		}
		var idents []identRow
		if err := tx.SelectContext(ctx, &idents, tx.Rebind("SELECT app_key, display_name, first_seen, last_seen FROM discovered_identifiers WHERE discovered_app_id = ?"), id); err != nil {
			return err
		}
		i := slices.IndexFunc(idents, func(x identRow) bool { return x.Key == identifier })
		if i < 0 {
			return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("%s has no identifier %q.", a.Name, identifier),
				Fields: map[string]string{"identifier": "Choose one of this app's identifiers."}}
		}
		if len(idents) == 1 {
			return errs.E(errs.Conflict, "%q is the only identifier of %s: there is nothing to split it from.", identifier, a.Name)
		}
		ident := idents[i]
		if err := tx.GetContext(ctx, &created, tx.Rebind("INSERT INTO discovered_apps (display_name, first_seen, last_seen) VALUES (?, ?, ?) RETURNING id"),
			ident.Name, ident.FirstSeen.Time, ident.LastSeen.Time); err != nil {
			return fmt.Errorf("split %s: %w", identifier, err)
		}
		stmts := []struct {
			sql  string
			args []any
		}{
			{"UPDATE discovered_identifiers SET discovered_app_id = ?, pinned = TRUE WHERE app_key = ?", []any{created, identifier}},
			{"INSERT INTO discovered_app_keys (key, discovered_app_id) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET discovered_app_id = excluded.discovered_app_id", []any{resolveSplit + identifier, created}},
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, tx.Rebind(st.sql), st.args...); err != nil {
				return fmt.Errorf("split %s: %w", identifier, err)
			}
		}
		if err := recountPeople(ctx, tx, []int64{id, created}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, s.now(), actor, "discovery.split", "discovered_app", fmt.Sprint(id),
			map[string]any{"identifier": identifier, "new_app": created, "from_name": a.Name})
	})
	return created, err
}

// Reresolve applies the resolution rules again to every identifier that security has not
// pinned, as when catalogue identifiers or the registry change: identifiers move to the app
// their key now leads to, apps left without identifiers are folded into where theirs went
// (keeping their triage and notes), and the people of every app that changed are recounted.
// It reads the stored identifiers and rollups, never the raw events. It returns how many
// identifiers moved.
func (s *Store) Reresolve(ctx context.Context, actor audit.Actor) (int, error) {
	moved := 0
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		res, err := s.newResolver(ctx, tx)
		if err != nil {
			return err
		}
		var idents []struct {
			Key   string `db:"app_key"`
			Name  string `db:"display_name"`
			AppID int64  `db:"discovered_app_id"`
		}
		if err := tx.SelectContext(ctx, &idents, "SELECT app_key, display_name, discovered_app_id FROM discovered_identifiers WHERE NOT pinned ORDER BY app_key"); err != nil {
			return fmt.Errorf("load identifiers: %w", err)
		}
		keys := map[string]int64{}
		if err := loadPairs(ctx, tx, "SELECT key AS k, discovered_app_id AS id FROM discovered_app_keys", keys); err != nil {
			return err
		}
		touched := map[int64]bool{}
		went := map[int64]int64{} // an app an identifier left → where it went
		for _, ident := range idents {
			rkey, catalogID, _ := res.resolve(ident.Key, ident.Name)
			target, ok := keys[rkey]
			if !ok {
				// The first identifier of a key keeps its app, and with it its triage, unless
				// the catalogue app already has a discovered app.
				target = ident.AppID
				if catalogID != nil {
					err := tx.GetContext(ctx, &target, tx.Rebind("SELECT id FROM discovered_apps WHERE app_id = ? ORDER BY id LIMIT 1"), *catalogID)
					if db.IsNotFound(err) {
						target, err = ident.AppID, nil
					}
					if err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_apps SET app_id = ? WHERE id = ? AND app_id IS NULL"), *catalogID, target); err != nil {
						return err
					}
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO discovered_app_keys (key, discovered_app_id) VALUES (?, ?)"), rkey, target); err != nil {
					return fmt.Errorf("record key %s: %w", rkey, err)
				}
				keys[rkey] = target
			}
			if target == ident.AppID {
				continue
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_identifiers SET discovered_app_id = ? WHERE app_key = ?"), target, ident.Key); err != nil {
				return fmt.Errorf("move %s: %w", ident.Key, err)
			}
			moved++
			touched[target], touched[ident.AppID] = true, true
			went[ident.AppID] = target
		}
		// Apps left without identifiers hand their triage, notes and keys to where they went.
		gone := map[int64]int64{}
		for _, from := range slices.Sorted(maps.Keys(went)) {
			var left int
			if err := tx.GetContext(ctx, &left, tx.Rebind("SELECT COUNT(*) FROM discovered_identifiers WHERE discovered_app_id = ?"), from); err != nil {
				return err
			}
			if left > 0 {
				continue
			}
			into := went[from]
			for next, ok := gone[into]; ok; next, ok = gone[into] {
				into = next
			}
			if into == from {
				continue
			}
			if err := s.merge(ctx, tx, actor, from, into); err != nil {
				return err
			}
			gone[from] = into
			delete(touched, from)
		}
		return recountPeople(ctx, tx, slices.Collect(maps.Keys(touched)))
	})
	return moved, err
}
