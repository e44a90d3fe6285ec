package discovery

import (
	"context"
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

// rollUp adds the events a batch of run runID just stored (those with id ≥ fromID) to the
// usage rollups, in the batch's transaction, so the rollups always match the stored events.
// Set-based statements keep it to three round trips whatever the batch's size; the id range is
// a primary-key range scan over rows that are still in cache.
func rollUp(ctx context.Context, tx *sqlx.Tx, d db.Dialect, runID, fromID int64) error {
	stmts := []struct{ what, sql string }{
		{"users", `INSERT INTO usage_app_users (app_key, user_key, first_used, last_used, last_seen, events, failures)
			SELECT app_key, user_key,
				MIN(CASE WHEN ` + isUsage + ` THEN occurred_at END),
				MAX(CASE WHEN ` + isUsage + ` THEN occurred_at END),
				MAX(occurred_at),
				COUNT(CASE WHEN ` + isUsage + ` THEN 1 END),
				COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
			FROM usage_events WHERE id >= ? AND import_run_id = ? GROUP BY app_key, user_key
			ON CONFLICT (app_key, user_key) DO UPDATE SET
				first_used = CASE WHEN usage_app_users.first_used IS NULL OR excluded.first_used < usage_app_users.first_used
					THEN excluded.first_used ELSE usage_app_users.first_used END,
				last_used = CASE WHEN usage_app_users.last_used IS NULL OR excluded.last_used > usage_app_users.last_used
					THEN excluded.last_used ELSE usage_app_users.last_used END,
				last_seen = CASE WHEN excluded.last_seen > usage_app_users.last_seen THEN excluded.last_seen ELSE usage_app_users.last_seen END,
				events = usage_app_users.events + excluded.events,
				failures = usage_app_users.failures + excluded.failures`},
		{"days", `INSERT INTO usage_app_days (app_key, day, events, failures)
			SELECT app_key, ` + dayOf(d) + `,
				COUNT(CASE WHEN ` + isUsage + ` THEN 1 END),
				COUNT(CASE WHEN outcome = 'failure' THEN 1 END)
			FROM usage_events WHERE id >= ? AND import_run_id = ? GROUP BY app_key, ` + dayOf(d) + `
			ON CONFLICT (app_key, day) DO UPDATE SET
				events = usage_app_days.events + excluded.events,
				failures = usage_app_days.failures + excluded.failures`},
		{"sources", `INSERT INTO discovered_app_sources (app_key, source)
			SELECT DISTINCT app_key, source FROM usage_events WHERE id >= ? AND import_run_id = ?
			ON CONFLICT (app_key, source) DO NOTHING`},
	}
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, tx.Rebind(st.sql), fromID, runID); err != nil {
			return fmt.Errorf("roll up usage (%s): %w", st.what, err)
		}
	}
	return nil
}
