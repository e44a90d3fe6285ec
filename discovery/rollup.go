package discovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
)

// isUsage is the SQL test for an event that counts as use of an app: a successful sign-in or
// grant, or a record whose log does not say how it ended. Revokes and failures are not use.
const isUsage = `outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke'`

// dayOf is the SQL for the UTC day (YYYY-MM-DD) of an event's occurred_at.
func dayOf(d db.Dialect) string {
	if d == db.Postgres {
		return "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	return "substr(CAST(occurred_at AS TEXT), 1, 10)"
}

// rollupEvery is how many new events an import stores between two rollups: often enough that
// the dashboard follows a long import, rarely enough that each person's row is updated a few
// times per import rather than once per batch.
const rollupEvery = 200_000

// errRolledUp says another process rolled up the same events first.
var errRolledUp = errors.New("already rolled up")

// rollUpRun adds the events run runID stored since its last rollup to the usage rollups. The
// watermark (import_runs.rolled_up_to) moves by compare-and-set in the same transaction, taken
// first so that a second process doing the same waits and then finds nothing to do: an event
// is counted once whoever rolls it up, and a crash leaves the watermark and the rollups as
// they were. A run's ids only grow and its batches commit one after another, each moving
// last_event_id, so the run's rows in (rolled_up_to, last_event_id] are exactly those committed
// and not yet counted; the id range is a primary-key range scan.
//
// t, when not nil, is the import's own tally of the events it stored since its last rollup,
// which saves reading them back; it is used only if it covers exactly the range to roll up
// (another process may have rolled up part of it), and is reset once rolled up. With
// deferPeople, the tally's people are not added: the run is marked people_pending in the same
// transaction, and its importer recounts the people of the apps it touched at its end
// (recountPeopleOf), or RollUpPending does after a crash.
func (s *Store) rollUpRun(ctx context.Context, runner txRunner, runID int64, t *tally, deferPeople bool) error {
	rolledTo := int64(-1) // the watermark after this rollup, when known
	err := runner.InTx(ctx, func(tx *sqlx.Tx) error {
		var w struct {
			From int64 `db:"rolled_up_to"`
			To   int64 `db:"last_event_id"`
		}
		if err := tx.GetContext(ctx, &w, tx.Rebind("SELECT rolled_up_to, last_event_id FROM import_runs WHERE id = ?"), runID); err != nil {
			return fmt.Errorf("roll up run %d: %w", runID, err)
		}
		if w.To <= w.From {
			rolledTo = w.From
			return nil
		}
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE import_runs SET rolled_up_to = ? WHERE id = ? AND rolled_up_to = ?"), w.To, runID, w.From)
		if err != nil {
			return fmt.Errorf("roll up run %d: %w", runID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errRolledUp
		}
		rolledTo = w.To
		if err := lockPeople(ctx, tx, s.db.Dialect, true); err != nil {
			return err
		}
		if t != nil && t.from == w.From && t.to == w.To {
			if deferPeople {
				if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE import_runs SET people_pending = ? WHERE id = ?"), true, runID); err != nil {
					return fmt.Errorf("roll up run %d: %w", runID, err)
				}
			}
			return t.apply(ctx, tx, !deferPeople)
		}
		return rollUp(ctx, tx, s.db.Dialect, runID, w.From, w.To)
	})
	if errors.Is(err, errRolledUp) {
		err, rolledTo = nil, -1
	}
	if t != nil {
		if err != nil {
			rolledTo = -1
		}
		t.reset(rolledTo)
	}
	return err
}

// txRunner runs fn in a transaction: the pool (*db.DB) or an import's own connection (*db.Bulk).
type txRunner interface {
	InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error
}

// RollUpPending rolls up every run with events not yet counted: a run that crashed between
// two rollups, or one still going (which is safe, see rollUpRun). It then recounts the people
// of every discovered app if a run that is no longer going left them to be recounted.
func (s *Store) RollUpPending(ctx context.Context) error {
	var runs []int64
	if err := s.db.SelectContext(ctx, &runs, "SELECT id FROM import_runs WHERE last_event_id > rolled_up_to ORDER BY id"); err != nil {
		return fmt.Errorf("find runs to roll up: %w", err)
	}
	for _, id := range runs {
		if err := s.rollUpRun(ctx, s.db, id, nil, false); err != nil {
			return err
		}
	}
	return s.recountPending(ctx)
}

// recountPending recounts the people of every discovered app when a run that is not running
// any more (it crashed, or failed before its recount) left people_pending set. Which apps it
// touched is not stored, and crashes are rare: all of them are recounted, from the
// per-identifier rollups, which are complete.
func (s *Store) recountPending(ctx context.Context) error {
	q := s.db.Rebind("SELECT id FROM import_runs WHERE people_pending = ? AND status <> ?")
	var runs []int64
	if err := s.db.SelectContext(ctx, &runs, q, true, RunRunning); err != nil {
		return fmt.Errorf("find runs with people to recount: %w", err)
	}
	if len(runs) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &runs, q, true, RunRunning); err != nil || len(runs) == 0 {
			return err // another process recounted them meanwhile
		}
		var apps []int64
		if err := tx.SelectContext(ctx, &apps, "SELECT id FROM discovered_apps"); err != nil {
			return fmt.Errorf("recount people: %w", err)
		}
		if err := recountPeople(ctx, tx, apps); err != nil {
			return err
		}
		return clearPeoplePending(ctx, tx, runs...)
	})
}

// clearPeoplePending says the runs' people are counted.
func clearPeoplePending(ctx context.Context, tx *sqlx.Tx, runs ...int64) error {
	q, args, err := sqlx.In("UPDATE import_runs SET people_pending = ? WHERE id IN (?)", false, runs)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
		return fmt.Errorf("clear people to recount: %w", err)
	}
	return nil
}

// The rollups' upserts: what a row adds to one already there. Both ways of rolling up (rollUp
// from stored events, and tally.apply from an import's own tally) use them.
var (
	usersUpsert  = ` ON CONFLICT (app_key, user_key) DO UPDATE SET` + usageMerge("usage_app_users")
	peopleUpsert = ` ON CONFLICT (discovered_app_id, user_key) DO UPDATE SET` + usageMerge("usage_discovered_users")
	daysUpsert   = ` ON CONFLICT (app_key, day) DO UPDATE SET
		events = usage_app_days.events + excluded.events,
		failures = usage_app_days.failures + excluded.failures`
	sourcesUpsert = ` ON CONFLICT (app_key, source) DO NOTHING`
)

// usageMerge is what a (…, person) row adds to the one already in table.
func usageMerge(table string) string {
	return `
		first_used = CASE WHEN ` + table + `.first_used IS NULL OR excluded.first_used < ` + table + `.first_used
			THEN excluded.first_used ELSE ` + table + `.first_used END,
		last_used = CASE WHEN ` + table + `.last_used IS NULL OR excluded.last_used > ` + table + `.last_used
			THEN excluded.last_used ELSE ` + table + `.last_used END,
		last_seen = CASE WHEN excluded.last_seen > ` + table + `.last_seen THEN excluded.last_seen ELSE ` + table + `.last_seen END,
		events = ` + table + `.events + excluded.events,
		failures = ` + table + `.failures + excluded.failures`
}

// rollUp adds run runID's events with ids in (from, to] to the rollups. Set-based statements
// keep it to a few statements whatever the number of events; the granted scopes, which SQL
// would have to split, are read back and counted in Go.
func rollUp(ctx context.Context, tx *sqlx.Tx, d db.Dialect, runID, from, to int64) error {
	stmts := []struct{ what, sql string }{
		{"users", `INSERT INTO usage_app_users (app_key, user_key, first_used, last_used, last_seen, events, failures)
			SELECT app_key, user_key,
				MIN(CASE WHEN ` + isUsage + ` THEN occurred_at END),
				MAX(CASE WHEN ` + isUsage + ` THEN occurred_at END),
				MAX(occurred_at),
				COUNT(CASE WHEN ` + isUsage + ` THEN 1 END),
				COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
			FROM usage_events WHERE id > ? AND id <= ? AND import_run_id = ? GROUP BY app_key, user_key` + usersUpsert},
		{"people", `INSERT INTO usage_discovered_users (discovered_app_id, user_key, first_used, last_used, last_seen, events, failures)
			SELECT i.discovered_app_id, COALESCE(p.email, e.user_key),
				MIN(CASE WHEN ` + isUsage + ` THEN e.occurred_at END),
				MAX(CASE WHEN ` + isUsage + ` THEN e.occurred_at END),
				MAX(e.occurred_at),
				COUNT(CASE WHEN ` + isUsage + ` THEN 1 END),
				COUNT(CASE WHEN e.outcome = 'failure' THEN 1 END)
			FROM usage_events e JOIN discovered_identifiers i ON i.app_key = e.app_key LEFT JOIN person_ids p ON p.user_key = e.user_key
			WHERE e.id > ? AND e.id <= ? AND e.import_run_id = ? GROUP BY i.discovered_app_id, COALESCE(p.email, e.user_key)` + peopleUpsert},
		{"days", `INSERT INTO usage_app_days (app_key, day, events, failures)
			SELECT app_key, ` + dayOf(d) + `,
				COUNT(CASE WHEN ` + isUsage + ` THEN 1 END),
				COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
			FROM usage_events WHERE id > ? AND id <= ? AND import_run_id = ? GROUP BY app_key, ` + dayOf(d) + daysUpsert},
		{"sources", `INSERT INTO discovered_app_sources (app_key, source)
			SELECT DISTINCT app_key, source FROM usage_events WHERE id > ? AND id <= ? AND import_run_id = ?` + sourcesUpsert},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, tx.Rebind(st.sql), from, to, runID); err != nil {
			return fmt.Errorf("roll up usage (%s): %w", st.what, err)
		}
	}
	return rollUpGrants(ctx, tx, runID, from, to)
}
