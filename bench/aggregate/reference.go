package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
)

// The references the dashboard's queries are held against: the list as it was before
// discovered apps grouped identifiers, and a recount of every app from the raw events.

// makeBeforeTable creates bench_before_apps: the discovered apps table as it was before
// identifiers were grouped into apps (one row per identifier, keyed by it, with its triage,
// note and assignee), filled from the identifiers and their apps, so that the list as it was
// then can run on the same rollups.
func makeBeforeTable(ctx context.Context, d *db.DB) error {
	typ := "TIMESTAMP"
	if d.Dialect == db.Postgres {
		typ = "TIMESTAMPTZ"
	}
	_, err := d.ExecContext(ctx, `CREATE TABLE bench_before_apps (
		app_key TEXT PRIMARY KEY, display_name TEXT NOT NULL, app_id BIGINT REFERENCES apps (id) ON DELETE SET NULL,
		triage TEXT NOT NULL DEFAULT 'new', note TEXT NOT NULL DEFAULT '', assignee TEXT NOT NULL DEFAULT '',
		first_seen `+typ+` NOT NULL, last_seen `+typ+` NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create the before table: %w", err)
	}
	if _, err := d.ExecContext(ctx, `INSERT INTO bench_before_apps (app_key, display_name, app_id, triage, note, assignee, first_seen, last_seen)
		SELECT i.app_key, i.display_name, i.app_id, a.triage, a.note, a.assignee, i.first_seen, i.last_seen
		FROM discovered_identifiers i JOIN discovered_apps a ON a.id = i.discovered_app_id`); err != nil {
		return fmt.Errorf("fill the before table: %w", err)
	}
	return nil
}

// beforeApp is a row of the list as it was: one identifier.
type beforeApp struct {
	Key       string       `db:"app_key"`
	Name      string       `db:"display_name"`
	AppID     *int64       `db:"app_id"`
	Slug      *string      `db:"slug"`
	AppName   *string      `db:"app_name"`
	Status    *string      `db:"status"`
	Triage    string       `db:"triage"`
	Note      string       `db:"note"`
	Assignee  string       `db:"assignee"`
	FirstSeen db.Timestamp `db:"first_seen"`
	LastSeen  db.Timestamp `db:"last_seen"`
	Users7    int          `db:"users7"`
	Users30   int          `db:"users30"`
	Users90   int          `db:"users90"`
	UsersAll  int          `db:"users_all"`
	Events7   int          `db:"events7"`
	Events30  int          `db:"events30"`
	Events90  int          `db:"events90"`
	EventsAll int          `db:"events_all"`
	Failures  int          `db:"failures"`
}

// beforeApps is the dashboard list as it was computed before discovered apps grouped
// identifiers: one row per identifier, its people and events from the per-identifier
// rollups. The SQL is that of the code then, on bench_before_apps.
func beforeApps(ctx context.Context, d *db.DB, now time.Time, f discovery.AppFilter) ([]beforeApp, error) {
	var args []any
	for _, days := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -days))
	}
	for _, days := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -days).Format(time.DateOnly))
	}
	var where []string
	if f.Triage != "" {
		where, args = append(where, "d.triage = ?"), append(args, f.Triage)
	}
	if f.Source != "" {
		where, args = append(where, "EXISTS (SELECT 1 FROM discovered_app_sources x WHERE x.app_key = d.app_key AND x.source = ?)"), append(args, f.Source)
	}
	if f.ShadowOnly {
		where = append(where, "(a.status IS NULL OR a.status NOT IN ('approved', 'approved_with_conditions'))")
	}
	q := `SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,
		COALESCE(u.users7, 0) AS users7, COALESCE(u.users30, 0) AS users30, COALESCE(u.users90, 0) AS users90,
		COALESCE(u.users_all, 0) AS users_all, COALESCE(v.events7, 0) AS events7, COALESCE(v.events30, 0) AS events30,
		COALESCE(v.events90, 0) AS events90, COALESCE(v.events_all, 0) AS events_all, COALESCE(v.failures, 0) AS failures
		FROM bench_before_apps d LEFT JOIN apps a ON a.id = d.app_id
		LEFT JOIN (SELECT app_key,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users7,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users30,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users90,
			COUNT(last_used) AS users_all
			FROM usage_app_users GROUP BY app_key) u ON u.app_key = d.app_key
		LEFT JOIN (SELECT app_key,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events7,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events30,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events90,
			SUM(events) AS events_all, SUM(failures) AS failures
			FROM usage_app_days GROUP BY app_key) v ON v.app_key = d.app_key`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	q += fmt.Sprintf(` ORDER BY users30 DESC, events30 DESC, d.display_name LIMIT %d`, limit)
	var out []beforeApp
	if err := d.SelectContext(ctx, &out, d.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list as before: %w", err)
	}
	return out, nil
}

// rawApps recounts every discovered app from the raw events: each person once over all the
// app's identifiers.
func rawApps(ctx context.Context, d *db.DB, now time.Time) ([]discovery.DiscoveredApp, error) {
	const usage = `e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke'`
	q := `SELECT i.discovered_app_id AS id, MIN(i.display_name) AS display_name,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users7,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users30,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users90,
		COUNT(DISTINCT CASE WHEN ` + usage + ` THEN e.user_key END) AS users_all,
		COUNT(CASE WHEN ` + usage + ` THEN 1 END) AS events_all,
		COUNT(CASE WHEN e.outcome = 'failure' THEN 1 END) AS failures
		FROM discovered_identifiers i JOIN usage_events e ON e.app_key = i.app_key
		GROUP BY i.discovered_app_id`
	var args []any
	for _, days := range []int{7, 30, 90} {
		args = append(args, db.Time(now.AddDate(0, 0, -days)))
	}
	var out []discovery.DiscoveredApp
	if err := d.SelectContext(ctx, &out, d.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("recount from raw events: %w", err)
	}
	return out, nil
}

// compare checks every discovered app's figures (the list's first 500 apps, then the others
// one by one) against the raw recount. Event counts over a window are left out: the rollups
// count whole UTC days, the raw query exact times.
func compare(ctx context.Context, st *discovery.Store, raw []discovery.DiscoveredApp) (string, error) {
	rolled, err := st.Apps(ctx, discovery.AppFilter{Limit: 500})
	if err != nil {
		return "", err
	}
	listed := map[int64]bool{}
	for _, a := range rolled {
		listed[a.ID] = true
	}
	for _, r := range raw {
		if !listed[r.ID] {
			a, err := st.App(ctx, r.ID)
			if err != nil {
				return "", err
			}
			rolled = append(rolled, a)
		}
	}
	byID := map[int64]discovery.DiscoveredApp{}
	for _, a := range raw {
		byID[a.ID] = a
	}
	checked, bad, multi := 0, 0, 0
	var first string
	for _, a := range rolled {
		r, ok := byID[a.ID]
		if !ok {
			if a.UsersAll == 0 && a.EventsAll == 0 && a.Failures == 0 {
				continue // no events: nothing to recount
			}
			r = discovery.DiscoveredApp{}
		}
		checked++
		if a.Identifiers > 1 {
			multi++
		}
		if a.Users7 != r.Users7 || a.Users30 != r.Users30 || a.Users90 != r.Users90 || a.UsersAll != r.UsersAll ||
			a.EventsAll != r.EventsAll || a.Failures != r.Failures {
			if bad == 0 {
				first = fmt.Sprintf(" (first %s: rollup %+v, raw %+v)", a.Name,
					[]int{a.Users7, a.Users30, a.Users90, a.UsersAll, a.EventsAll, a.Failures},
					[]int{r.Users7, r.Users30, r.Users90, r.UsersAll, r.EventsAll, r.Failures})
			}
			bad++
		}
	}
	if bad > 0 {
		return fmt.Sprintf("MISMATCH in %d of %d apps%s", bad, checked, first), nil
	}
	if checked < len(raw) {
		return fmt.Sprintf("MISMATCH: %d apps have raw events, %d were checked", len(raw), checked), nil
	}
	return fmt.Sprintf("people (7/30/90 d, all), events and failures match for all %d apps (%d under several identifiers)", checked, multi), nil
}
