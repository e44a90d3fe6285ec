package discovery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
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

// DiscoveredApp is an app seen in the logs, with its usage. Successful sign-ins and grants
// count as usage, and so do records whose log does not say (a proxy log records only what
// happened); failures are counted beside them, never as usage.
type DiscoveredApp struct {
	Key       string       `db:"app_key" json:"key"`
	Name      string       `db:"display_name" json:"name"`
	AppID     *int64       `db:"app_id" json:"-"`
	Slug      *string      `db:"slug" json:"catalogue_slug,omitempty"`
	AppName   *string      `db:"app_name" json:"catalogue_name,omitempty"`
	Status    *string      `db:"status" json:"catalogue_status,omitempty"`
	Triage    string       `db:"triage" json:"triage"`
	Note      string       `db:"note" json:"note,omitempty"`
	Assignee  string       `db:"assignee" json:"assignee,omitempty"`
	FirstSeen db.Timestamp `db:"first_seen" json:"first_seen"`
	LastSeen  db.Timestamp `db:"last_seen" json:"last_seen"`
	Users7    int          `db:"users7" json:"users_7d"`
	Users30   int          `db:"users30" json:"users_30d"`
	Users90   int          `db:"users90" json:"users_90d"`
	UsersAll  int          `db:"users_all" json:"users_all"`
	Events7   int          `db:"events7" json:"events_7d"`
	Events30  int          `db:"events30" json:"events_30d"`
	Events90  int          `db:"events90" json:"events_90d"`
	EventsAll int          `db:"events_all" json:"events_all"`
	Failures  int          `db:"failures" json:"failures"`
}

// Shadow reports whether the app is in use without being approved.
func (a DiscoveredApp) Shadow() bool {
	return a.Status == nil || (*a.Status != "approved" && *a.Status != "approved_with_conditions")
}

// AppFilter narrows the discovered apps.
type AppFilter struct {
	Triage     string
	Source     string // only apps seen in this source's events (okta, entra, google, csv)
	ShadowOnly bool
	NewSince   time.Time
	Limit      int
}

// usageFrom joins a discovered app (d) to its usage from the rollups: u for people, v for
// events. Distinct users over a window are the people whose last use falls in it; events over
// a window are summed by UTC day. one narrows the rollups to one app (its key follows each
// group of window arguments) rather than grouping them all.
func usageFrom(one bool) string {
	where := ""
	if one {
		where = " WHERE app_key = ?"
	}
	return `
		LEFT JOIN (SELECT app_key,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users7,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users30,
			COUNT(CASE WHEN last_used >= ? THEN 1 END) AS users90,
			COUNT(last_used) AS users_all
			FROM usage_app_users` + where + ` GROUP BY app_key) u ON u.app_key = d.app_key
		LEFT JOIN (SELECT app_key,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events7,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events30,
			SUM(CASE WHEN day >= ? THEN events ELSE 0 END) AS events90,
			SUM(events) AS events_all, SUM(failures) AS failures
			FROM usage_app_days` + where + ` GROUP BY app_key) v ON v.app_key = d.app_key`
}

const usageColumns = `
	COALESCE(u.users7, 0) AS users7, COALESCE(u.users30, 0) AS users30, COALESCE(u.users90, 0) AS users90,
	COALESCE(u.users_all, 0) AS users_all, COALESCE(v.events7, 0) AS events7, COALESCE(v.events30, 0) AS events30,
	COALESCE(v.events90, 0) AS events90, COALESCE(v.events_all, 0) AS events_all, COALESCE(v.failures, 0) AS failures`

// usageArgs are usageFrom's arguments: the window starts for people, then for days, each
// group followed by key when one app is asked for.
func (s *Store) usageArgs(key ...string) []any {
	now := s.now()
	var args []any
	for _, d := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -d))
	}
	for _, k := range key {
		args = append(args, k)
	}
	for _, d := range []int{7, 30, 90} {
		args = append(args, now.AddDate(0, 0, -d).Format(time.DateOnly))
	}
	for _, k := range key {
		args = append(args, k)
	}
	return args
}

// Apps lists discovered apps with their usage, most used in the last 30 days first.
func (s *Store) Apps(ctx context.Context, f AppFilter) ([]DiscoveredApp, error) {
	args := s.usageArgs()
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
	if !f.NewSince.IsZero() {
		where, args = append(where, "d.first_seen >= ?"), append(args, db.Time(f.NewSince))
	}
	q := `SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,` + usageColumns + `
		FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id` + usageFrom(false)
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	q += fmt.Sprintf(` ORDER BY users30 DESC, events30 DESC, d.display_name LIMIT %d`, limit)
	var out []DiscoveredApp
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list discovered apps: %w", err)
	}
	return out, nil
}

// App returns one discovered app with its usage.
func (s *Store) App(ctx context.Context, key string) (DiscoveredApp, error) {
	args := append(s.usageArgs(key), key)
	var a DiscoveredApp
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,`+usageColumns+`
		FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id`+usageFrom(true)+`
		WHERE d.app_key = ?`), args...)
	if db.IsNotFound(err) {
		return a, errs.E(errs.NotFound, "No discovered app %q.", key)
	}
	if err != nil {
		return a, fmt.Errorf("get discovered app: %w", err)
	}
	return a, nil
}

// UserUsage is one person's use of a discovered app (security only).
type UserUsage struct {
	User     string       `db:"user_key" json:"user"`
	Events   int          `db:"events" json:"events"`
	Failures int          `db:"failures" json:"failures"`
	LastSeen db.Timestamp `db:"last_seen" json:"last_seen"`
}

// Users lists who used an app, most active first.
func (s *Store) Users(ctx context.Context, key string) ([]UserUsage, error) {
	var out []UserUsage
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT user_key, events, failures, last_seen
		FROM usage_app_users WHERE app_key = ? ORDER BY events DESC, user_key LIMIT 500`), key)
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", key, err)
	}
	return out, nil
}

// DailyCount is one UTC day of an app's use.
type DailyCount struct {
	Day      string `db:"day" json:"day"`
	Events   int    `db:"events" json:"events"`
	Failures int    `db:"failures" json:"failures"`
}

// Daily returns an app's use (sign-ins and grants) and failures per day over the last days days.
func (s *Store) Daily(ctx context.Context, key string, days int) ([]DailyCount, error) {
	var out []DailyCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT day, events, failures FROM usage_app_days
		WHERE app_key = ? AND day >= ? ORDER BY day`), key, s.now().AddDate(0, 0, -days).Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("daily usage of %s: %w", key, err)
	}
	return out, nil
}

// Triage records security's decision about a discovered app, with a note and who follows it up.
func (s *Store) Triage(ctx context.Context, actor audit.Actor, key, state, note string, assignee ...string) error {
	valid := false
	for _, t := range TriageStates {
		valid = valid || t == state
	}
	if !valid {
		return &errs.Error{Code: errs.Invalid, Message: "Choose a triage state.", Fields: map[string]string{"triage": "Choose a triage state."}}
	}
	note = strings.TrimSpace(note)
	if len(note) > 2000 {
		return &errs.Error{Code: errs.Invalid, Message: "The note is too long.", Fields: map[string]string{"note": "Use at most 2,000 characters."}}
	}
	who := ""
	if len(assignee) > 0 {
		who = strings.TrimSpace(assignee[0])
		if len(who) > 200 {
			return &errs.Error{Code: errs.Invalid, Message: "The assignee is too long.", Fields: map[string]string{"assignee": "Use at most 200 characters."}}
		}
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_apps SET triage = ?, note = ?, assignee = ? WHERE app_key = ?"), state, note, who, key)
		if err != nil {
			return fmt.Errorf("triage %s: %w", key, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "No discovered app %q.", key)
		}
		return audit.Append(ctx, tx, s.now(), actor, "discovery.triage", "discovered_app", key, map[string]string{"state": state, "note": note, "assignee": who})
	})
}

// identifierFor is the catalogue identifier that makes an app key match by itself next time.
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

// Link ties a discovered app to a catalogue app and records the app key as one of its
// identifiers, so the next import matches it by itself. It marks the app sanctioned when the
// catalogue app is approved, else reviewing.
func (s *Store) Link(ctx context.Context, actor audit.Actor, key, slug string) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var d DiscoveredApp
		if err := tx.GetContext(ctx, &d, tx.Rebind("SELECT app_key, display_name, triage, note, first_seen, last_seen FROM discovered_apps WHERE app_key = ?"), key); err != nil {
			if db.IsNotFound(err) {
				return errs.E(errs.NotFound, "No discovered app %q.", key)
			}
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
		if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE discovered_apps SET app_id = ?, triage = ? WHERE app_key = ?"), app.ID, triage, key); err != nil {
			return fmt.Errorf("link %s: %w", key, err)
		}
		kind, value := identifierFor(key, d.Name)
		if value != "" {
			if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, ?, ?) ON CONFLICT (kind, value) DO NOTHING"), app.ID, kind, value); err != nil {
				return fmt.Errorf("record identifier: %w", err)
			}
		}
		return audit.Append(ctx, tx, s.now(), actor, "discovery.link", "discovered_app", key, map[string]string{"app": slug, "identifier": kind + ":" + value})
	})
}

// MyUnapprovedApps lists the apps user has used that are not approved, for their home page.
func (s *Store) MyUnapprovedApps(ctx context.Context, user string) ([]DiscoveredApp, error) {
	var out []DiscoveredApp
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, '' AS note, '' AS assignee,
		u.first_used AS first_seen, u.last_used AS last_seen
		FROM usage_app_users u JOIN discovered_apps d ON d.app_key = u.app_key LEFT JOIN apps a ON a.id = d.app_id
		WHERE u.user_key = ? AND u.last_used IS NOT NULL AND (a.status IS NULL OR a.status NOT IN ('approved', 'approved_with_conditions'))
		AND d.triage <> 'ignored'
		ORDER BY u.last_used DESC LIMIT 20`), strings.ToLower(user))
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
// request: the discovered apps linked to appID, or known by the app's normalised name.
func (s *Store) ActiveUsers(ctx context.Context, appID *int64, name string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(DISTINCT user_key) FROM usage_app_users
		WHERE app_key IN (SELECT app_key FROM discovered_apps WHERE app_id = ? UNION SELECT ?) AND last_used >= ?`),
		appID, KeyName+NormalizeAppName(name), s.now().AddDate(0, 0, -90))
	if err != nil {
		return 0, fmt.Errorf("active users of %s: %w", name, err)
	}
	return n, nil
}
