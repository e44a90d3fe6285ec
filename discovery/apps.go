package discovery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Triage states of a discovered app.
const (
	TriageNew        = "new"
	TriageReviewing  = "reviewing"
	TriageSanctioned = "sanctioned"
	TriageTolerated  = "tolerated"
	TriageBlocked    = "blocked"
	TriageIgnored    = "ignored"
)

// TriageStates lists them in workflow order.
var TriageStates = []string{TriageNew, TriageReviewing, TriageSanctioned, TriageTolerated, TriageBlocked, TriageIgnored}

// DiscoveredApp is a real app seen in the logs, under one or more identifiers, with its usage
// merged across them: each person counts once however many identifiers and sources they were
// seen through. Successful sign-ins and grants count as usage, and so do records whose log does
// not say (a proxy log records only what happened); failures are counted beside them, never as
// usage.
type DiscoveredApp struct {
	ID          int64         `db:"id" json:"id"`
	Name        string        `db:"display_name" json:"name"`
	AppID       *int64        `db:"app_id" json:"-"`
	Slug        *string       `db:"slug" json:"catalogue_slug,omitempty"`
	AppName     *string       `db:"app_name" json:"catalogue_name,omitempty"`
	Status      *string       `db:"status" json:"catalogue_status,omitempty"`
	Triage      string        `db:"triage" json:"triage"`
	Note        string        `db:"note" json:"note,omitempty"`
	Assignee    string        `db:"assignee" json:"assignee,omitempty"`
	FirstSeen   db.Timestamp  `db:"first_seen" json:"first_seen"`
	LastSeen    db.Timestamp  `db:"last_seen" json:"last_seen"`
	Identifiers int           `db:"identifiers" json:"identifier_count"`
	Users7      int           `db:"users7" json:"users_7d"`
	Users30     int           `db:"users30" json:"users_30d"`
	Users90     int           `db:"users90" json:"users_90d"`
	UsersAll    int           `db:"users_all" json:"users_all"`
	Events7     int           `db:"events7" json:"events_7d"`
	Events30    int           `db:"events30" json:"events_30d"`
	Events90    int           `db:"events90" json:"events_90d"`
	EventsAll   int           `db:"events_all" json:"events_all"`
	Failures    int           `db:"failures" json:"failures"`
	Sources     []SourceUsage `db:"-" json:"sources"`
}

// SourceUsage is one identifier of a discovered app and its own usage: the per-source breakdown.
// Its users are the people seen under this identifier; a person seen under two identifiers is
// in both rows and once in the app's total.
type SourceUsage struct {
	Source     string       `db:"source" json:"source"`
	Identifier string       `db:"app_key" json:"identifier"`
	Name       string       `db:"display_name" json:"name"`
	Pinned     bool         `db:"pinned" json:"pinned"`
	UsersAll   int          `db:"users_all" json:"users_all"`
	EventsAll  int          `db:"events_all" json:"events_all"`
	LastSeen   db.Timestamp `db:"last_seen" json:"last_seen"`
}

// Shadow reports whether the app is in use without being approved.
func (a DiscoveredApp) Shadow() bool {
	return a.Status == nil || (*a.Status != "approved" && *a.Status != "approved_with_conditions")
}

// Sort orders of the discovered apps.
const (
	SortUsers    = "users"     // most people in the last 30 days first (the default)
	SortLastSeen = "last_seen" // most recently seen first
	SortRisk     = "risk"      // by the catalogue's risk score, which the portal adds; here blocked and not approved first
)

// AppFilter narrows the discovered apps.
type AppFilter struct {
	Triage      string
	Source      string // only apps seen in this source's events (okta, entra, google, csv)
	ShadowOnly  bool
	NewSince    time.Time
	Sort        string
	WithSources bool // fill in each app's per-source breakdown
	Limit       int
}

// appsFrom joins a discovered app (d) to its identifiers' span (s), its catalogue app (a) and
// its usage: u for people, v for events. Distinct people over a window are those whose last use
// falls in it; events over a window are summed by UTC day over the app's identifiers. one
// narrows the rollups to one app (its id follows each group of window arguments).
func appsFrom(one bool) string {
	users, days := "", ""
	if one {
		users, days = " WHERE discovered_app_id = ?", " WHERE i.discovered_app_id = ?"
	}
	return ` FROM discovered_apps d
		JOIN (SELECT discovered_app_id, MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen, COUNT(*) AS identifiers
			FROM discovered_identifiers GROUP BY discovered_app_id) s ON s.discovered_app_id = d.id
		LEFT JOIN apps a ON a.id = d.app_id
		LEFT JOIN (SELECT discovered_app_id,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users7,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users30,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users90,
			COUNT(last_used) AS users_all
			FROM usage_discovered_users` + users + ` GROUP BY discovered_app_id) u ON u.discovered_app_id = d.id
		LEFT JOIN (SELECT i.discovered_app_id,
			SUM(CASE WHEN v.day >= ? THEN v.events ELSE 0 END) AS events7,
			SUM(CASE WHEN v.day >= ? THEN v.events ELSE 0 END) AS events30,
			SUM(CASE WHEN v.day >= ? THEN v.events ELSE 0 END) AS events90,
			SUM(v.events) AS events_all, SUM(v.failures) AS failures
			FROM usage_app_days v JOIN discovered_identifiers i ON i.app_key = v.app_key` + days + ` GROUP BY i.discovered_app_id) v ON v.discovered_app_id = d.id`
}

const appColumns = `SELECT d.id, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee,
	s.first_seen, s.last_seen, s.identifiers,
	COALESCE(u.users7, 0) AS users7, COALESCE(u.users30, 0) AS users30, COALESCE(u.users90, 0) AS users90,
	COALESCE(u.users_all, 0) AS users_all, COALESCE(v.events7, 0) AS events7, COALESCE(v.events30, 0) AS events30,
	COALESCE(v.events90, 0) AS events90, COALESCE(v.events_all, 0) AS events_all, COALESCE(v.failures, 0) AS failures`

// shadowSQL is true of a discovered app (d joined to its catalogue app a) in use without approval.
const shadowSQL = "(a.status IS NULL OR a.status NOT IN ('approved', 'approved_with_conditions'))"

// usageArgs are appsFrom's arguments: the window starts for people, then for days, each
// group followed by id when one app is asked for.
func (s *Store) usageArgs(id ...int64) []any {
	now := s.now()
	var args []any
	for _, d := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -d))
	}
	for _, k := range id {
		args = append(args, k)
	}
	for _, d := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -d).Format(time.DateOnly))
	}
	for _, k := range id {
		args = append(args, k)
	}
	return args
}

// Apps lists discovered apps with their usage, most used in the last 30 days first unless
// f.Sort says otherwise.
func (s *Store) Apps(ctx context.Context, f AppFilter) ([]DiscoveredApp, error) {
	args := s.usageArgs()
	var where []string
	if f.Triage != "" {
		where, args = append(where, "d.triage = ?"), append(args, f.Triage)
	}
	if f.Source != "" {
		where, args = append(where, `EXISTS (SELECT 1 FROM discovered_app_sources x JOIN discovered_identifiers xi ON xi.app_key = x.app_key
			WHERE xi.discovered_app_id = d.id AND x.source = ?)`), append(args, f.Source)
	}
	if f.ShadowOnly {
		where = append(where, shadowSQL)
	}
	if !f.NewSince.IsZero() {
		where, args = append(where, "s.first_seen >= ?"), append(args, db.Time(f.NewSince))
	}
	q := appColumns + appsFrom(false)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	switch f.Sort {
	case SortLastSeen:
		q += " ORDER BY s.last_seen DESC, d.display_name"
	case SortRisk:
		q += ` ORDER BY CASE WHEN d.triage = 'blocked' OR a.status = 'not_approved' THEN 0
			WHEN a.status IS NULL OR a.status IN ('under_review', 'retired') THEN 1 ELSE 2 END, users30 DESC, d.display_name`
	default:
		q += " ORDER BY users30 DESC, events30 DESC, d.display_name"
	}
	q += fmt.Sprintf(" LIMIT %d", limit)
	var out []DiscoveredApp
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list discovered apps: %w", err)
	}
	if f.WithSources {
		if err := s.fillSources(ctx, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// App returns one discovered app with its usage and per-source breakdown.
func (s *Store) App(ctx context.Context, id int64) (DiscoveredApp, error) {
	args := append(s.usageArgs(id), id)
	var a DiscoveredApp
	err := s.db.GetContext(ctx, &a, s.db.Rebind(appColumns+appsFrom(true)+` WHERE d.id = ?`), args...)
	if db.IsNotFound(err) {
		return a, errs.E(errs.NotFound, "No discovered app %d.", id)
	}
	if err != nil {
		return a, fmt.Errorf("get discovered app: %w", err)
	}
	one := []DiscoveredApp{a}
	if err := s.fillSources(ctx, one); err != nil {
		return a, err
	}
	return one[0], nil
}

// fillSources sets each app's per-source breakdown, from the per-identifier rollups.
func (s *Store) fillSources(ctx context.Context, apps []DiscoveredApp) error {
	if len(apps) == 0 {
		return nil
	}
	byID := make(map[int64]int, len(apps))
	ids := make([]int64, len(apps))
	for i, a := range apps {
		byID[a.ID], ids[i] = i, a.ID
		apps[i].Sources = []SourceUsage{}
	}
	// The people and events of all the identifiers are counted by one grouped query each, not
	// by a subquery per identifier and source: on PostgreSQL those ran one after another.
	// People are grouped in two steps (distinct pairs, then a count per identifier), which
	// both databases do with a hash or an index rather than a sort per identifier.
	q, args, err := sqlx.In(`WITH idents AS (
			SELECT app_key, discovered_app_id, display_name, pinned, last_seen FROM discovered_identifiers WHERE discovered_app_id IN (?)
		), people AS (
			SELECT app_key, COUNT(*) AS users_all FROM (
				SELECT DISTINCT u.app_key, COALESCE(p.email, u.user_key) AS person
				FROM idents i JOIN usage_app_users u ON u.app_key = i.app_key LEFT JOIN person_ids p ON p.user_key = u.user_key
				WHERE u.last_used IS NOT NULL
			) used GROUP BY app_key
		), events AS (
			SELECT v.app_key, SUM(v.events) AS events_all FROM idents i JOIN usage_app_days v ON v.app_key = i.app_key GROUP BY v.app_key
		)
		SELECT i.discovered_app_id, COALESCE(x.source, '') AS source, i.app_key, i.display_name, i.pinned, i.last_seen,
			COALESCE(pe.users_all, 0) AS users_all, COALESCE(ev.events_all, 0) AS events_all
		FROM idents i LEFT JOIN discovered_app_sources x ON x.app_key = i.app_key
			LEFT JOIN people pe ON pe.app_key = i.app_key LEFT JOIN events ev ON ev.app_key = i.app_key
		ORDER BY i.discovered_app_id, users_all DESC, i.app_key, x.source`, ids)
	if err != nil {
		return err
	}
	var rows []struct {
		AppID int64 `db:"discovered_app_id"`
		SourceUsage
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return fmt.Errorf("list identifiers: %w", err)
	}
	for _, r := range rows {
		i := byID[r.AppID]
		apps[i].Sources = append(apps[i].Sources, r.SourceUsage)
	}
	return nil
}

// UserUsage is one person's use of a discovered app (security only).
type UserUsage struct {
	User     string       `db:"user_key" json:"user"`
	Events   int          `db:"events" json:"events"`
	Failures int          `db:"failures" json:"failures"`
	LastSeen db.Timestamp `db:"last_seen" json:"last_seen"`
}

// Users lists who used an app, each person once, most active first.
func (s *Store) Users(ctx context.Context, id int64) ([]UserUsage, error) {
	var out []UserUsage
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT user_key, events, failures, last_seen
		FROM usage_discovered_users WHERE discovered_app_id = ? ORDER BY events DESC, user_key LIMIT 500`), id)
	if err != nil {
		return nil, fmt.Errorf("list users of app %d: %w", id, err)
	}
	return out, nil
}

// DailyCount is one UTC day of an app's use.
type DailyCount struct {
	Day      string `db:"day" json:"day"`
	Events   int    `db:"events" json:"events"`
	Failures int    `db:"failures" json:"failures"`
}

// Daily returns an app's use (sign-ins and grants) and failures per day over the last days
// days, summed over its identifiers.
func (s *Store) Daily(ctx context.Context, id int64, days int) ([]DailyCount, error) {
	var out []DailyCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT v.day, SUM(v.events) AS events, SUM(v.failures) AS failures
		FROM usage_app_days v JOIN discovered_identifiers i ON i.app_key = v.app_key
		WHERE i.discovered_app_id = ? AND v.day >= ? GROUP BY v.day ORDER BY v.day`), id, s.now().AddDate(0, 0, -days).Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("daily usage of app %d: %w", id, err)
	}
	return out, nil
}

// MyUnapprovedApps lists the apps user has used that are not approved, for their home page,
// one entry per real app.
func (s *Store) MyUnapprovedApps(ctx context.Context, user string) ([]DiscoveredApp, error) {
	var out []DiscoveredApp
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT d.id, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, '' AS note, '' AS assignee,
		u.first_used AS first_seen, u.last_used AS last_seen
		FROM usage_discovered_users u JOIN discovered_apps d ON d.id = u.discovered_app_id LEFT JOIN apps a ON a.id = d.app_id
		WHERE u.user_key = ? AND u.last_used IS NOT NULL AND `+shadowSQL+`
		AND d.triage <> 'ignored'
		ORDER BY u.last_used DESC LIMIT 20`), strings.ToLower(strings.TrimSpace(user)))
	if err != nil {
		return nil, fmt.Errorf("apps used by %s: %w", user, err)
	}
	return out, nil
}

// CatalogueSlug is the linked catalogue app's slug, or "".
func (a DiscoveredApp) CatalogueSlug() string {
	if a.Slug == nil {
		return ""
	}
	return *a.Slug
}

// CatalogueStatus is the linked catalogue app's status, or "".
func (a DiscoveredApp) CatalogueStatus() string {
	if a.Status == nil {
		return ""
	}
	return *a.Status
}

// ActiveUsers counts the people who used an app in the last 90 days, for the demand of a
// request: the people of the discovered apps linked to appID, or known by the app's
// normalised name, each once.
func (s *Store) ActiveUsers(ctx context.Context, appID *int64, name string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(DISTINCT user_key) FROM usage_discovered_users
		WHERE discovered_app_id IN (SELECT id FROM discovered_apps WHERE app_id = ? UNION SELECT discovered_app_id FROM discovered_app_keys WHERE key = ?)
		AND last_used >= ?`),
		appID, resolveName+NormalizeAppName(name), s.now().AddDate(0, 0, -90))
	if err != nil {
		return 0, fmt.Errorf("active users of %s: %w", name, err)
	}
	return n, nil
}

// Overview is the top of the discovery dashboard.
type Overview struct {
	ShadowApps     int `db:"shadow_apps" json:"shadow_apps_in_use"`       // unapproved apps used in the last 30 days
	ShadowPeople   int `db:"shadow_people" json:"people_using_shadow_it"` // distinct people using them
	NewThisWeek    int `db:"new_this_week" json:"apps_new_this_week"`     // unapproved apps first seen in the last 7 days
	AwaitingTriage int `db:"awaiting_triage" json:"apps_awaiting_triage"` // unapproved apps still "new"
}

// Overview counts what security acts on. Ignored apps are left out.
func (s *Store) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	now := s.now()
	month, week := now.AddDate(0, 0, -30), now.AddDate(0, 0, -7)
	err := s.db.GetContext(ctx, &o, s.db.Rebind(`SELECT
		(SELECT COUNT(DISTINCT u.discovered_app_id) FROM usage_discovered_users u JOIN discovered_apps d ON d.id = u.discovered_app_id LEFT JOIN apps a ON a.id = d.app_id
			WHERE u.last_used >= ? AND d.triage <> 'ignored' AND `+shadowSQL+`) AS shadow_apps,
		(SELECT COUNT(DISTINCT u.user_key) FROM usage_discovered_users u JOIN discovered_apps d ON d.id = u.discovered_app_id LEFT JOIN apps a ON a.id = d.app_id
			WHERE u.last_used >= ? AND d.triage <> 'ignored' AND `+shadowSQL+`) AS shadow_people,
		(SELECT COUNT(*) FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id
			WHERE d.triage <> 'ignored' AND `+shadowSQL+` AND (SELECT MIN(first_seen) FROM discovered_identifiers i WHERE i.discovered_app_id = d.id) >= ?) AS new_this_week,
		(SELECT COUNT(*) FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id
			WHERE d.triage = 'new' AND `+shadowSQL+` AND EXISTS (SELECT 1 FROM discovered_identifiers i WHERE i.discovered_app_id = d.id)) AS awaiting_triage`),
		month, month, week)
	if err != nil {
		return o, fmt.Errorf("discovery overview: %w", err)
	}
	return o, nil
}

// TrendDay is one UTC day of the overview's chart.
type TrendDay struct {
	Day    string `db:"day" json:"day"`
	People int    `db:"people" json:"people"`
}

// ShadowTrend returns the distinct people who used unapproved apps on each of the last days
// days, as last computed by RefreshShadowTrend.
func (s *Store) ShadowTrend(ctx context.Context, days int) ([]TrendDay, error) {
	var out []TrendDay
	err := s.db.SelectContext(ctx, &out, s.db.Rebind("SELECT day, people FROM discovery_shadow_days WHERE day >= ? ORDER BY day"),
		s.now().AddDate(0, 0, -days+1).Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("shadow trend: %w", err)
	}
	return out, nil
}

// trendDays is how far back RefreshShadowTrend counts.
const trendDays = 90

// RefreshShadowTrend recounts, from the raw events of the last 90 days, how many distinct
// people used an unapproved (and not ignored) app on each day. It runs as a job after imports
// and every night, as what is approved changes; days older than the raw events keep the
// count they had.
func (s *Store) RefreshShadowTrend(ctx context.Context) error {
	from := s.now().AddDate(0, 0, -trendDays+1).Truncate(24 * time.Hour)
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var days []TrendDay
		err := tx.SelectContext(ctx, &days, tx.Rebind(`SELECT day, COUNT(DISTINCT person) AS people FROM (
				SELECT `+dayOf(s.db.Dialect)+` AS day, COALESCE(p.email, e.user_key) AS person
				FROM usage_events e JOIN discovered_identifiers i ON i.app_key = e.app_key JOIN discovered_apps d ON d.id = i.discovered_app_id
				LEFT JOIN apps a ON a.id = d.app_id LEFT JOIN person_ids p ON p.user_key = e.user_key
				WHERE e.occurred_at >= ? AND e.user_key <> '' AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke'
				AND d.triage <> 'ignored' AND `+shadowSQL+`) t GROUP BY day`), from)
		if err != nil {
			return fmt.Errorf("count the shadow trend: %w", err)
		}
		var oldest db.Timestamp
		if err := tx.GetContext(ctx, &oldest, "SELECT MIN(occurred_at) FROM usage_events"); err != nil {
			return fmt.Errorf("count the shadow trend: %w", err)
		}
		// Days the raw events still cover are recounted; older ones keep their count.
		start := from.Format(time.DateOnly)
		if d := oldest.UTC().Format(time.DateOnly); !oldest.IsZero() && d > start {
			start = d
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM discovery_shadow_days WHERE day >= ?"), start); err != nil {
			return fmt.Errorf("count the shadow trend: %w", err)
		}
		var keep []TrendDay
		for _, d := range days {
			if d.Day >= start {
				keep = append(keep, d)
			}
		}
		return upsertRows(ctx, tx, "record the shadow trend", "INSERT INTO discovery_shadow_days (day, people) VALUES ", 2,
			" ON CONFLICT (day) DO UPDATE SET people = excluded.people", len(keep),
			func(i int, args []any) []any { return append(args, keep[i].Day, keep[i].People) })
	})
}

// AppOfIdentifier returns the discovered app an identifier belongs to.
func (s *Store) AppOfIdentifier(ctx context.Context, identifier string) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, s.db.Rebind("SELECT discovered_app_id FROM discovered_identifiers WHERE app_key = ?"), identifier)
	if db.IsNotFound(err) {
		return 0, errs.E(errs.NotFound, "No discovered app has the identifier %q.", identifier)
	}
	if err != nil {
		return 0, fmt.Errorf("find identifier %s: %w", identifier, err)
	}
	return id, nil
}
