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

// usage counts successful use (sign-ins and grants, not revokes) per window, and failures.
const usageColumns = `
	COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN e.user_key END) AS users7,
	COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN e.user_key END) AS users30,
	COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN e.user_key END) AS users90,
	COUNT(DISTINCT CASE WHEN e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN e.user_key END) AS users_all,
	COUNT(CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN 1 END) AS events7,
	COUNT(CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN 1 END) AS events30,
	COUNT(CASE WHEN e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN 1 END) AS events90,
	COUNT(CASE WHEN e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke' THEN 1 END) AS events_all,
	COUNT(CASE WHEN e.outcome = 'failure' THEN 1 END) AS failures`

func (s *Store) windows() []any {
	now := s.now()
	w := []any{now.AddDate(0, 0, -7), now.AddDate(0, 0, -30), now.AddDate(0, 0, -90)}
	return append(w, w...)
}

// Apps lists discovered apps with their usage, most used in the last 30 days first.
func (s *Store) Apps(ctx context.Context, f AppFilter) ([]DiscoveredApp, error) {
	args := s.windows()
	var where []string
	if f.Triage != "" {
		where, args = append(where, "d.triage = ?"), append(args, f.Triage)
	}
	if f.Source != "" {
		where, args = append(where, "EXISTS (SELECT 1 FROM usage_events x WHERE x.app_key = d.app_key AND x.source = ?)"), append(args, f.Source)
	}
	if f.ShadowOnly {
		where = append(where, "(a.status IS NULL OR a.status NOT IN ('approved', 'approved_with_conditions'))")
	}
	if !f.NewSince.IsZero() {
		where, args = append(where, "d.first_seen >= ?"), append(args, db.Time(f.NewSince))
	}
	q := `SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,` + usageColumns + `
		FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id LEFT JOIN usage_events e ON e.app_key = d.app_key`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	q += fmt.Sprintf(` GROUP BY d.app_key, d.display_name, d.app_id, a.slug, a.name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen
		ORDER BY users30 DESC, events30 DESC, d.display_name LIMIT %d`, limit)
	var out []DiscoveredApp
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list discovered apps: %w", err)
	}
	return out, nil
}

// App returns one discovered app with its usage.
func (s *Store) App(ctx context.Context, key string) (DiscoveredApp, error) {
	args := append(s.windows(), key)
	var a DiscoveredApp
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,`+usageColumns+`
		FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id LEFT JOIN usage_events e ON e.app_key = d.app_key
		WHERE d.app_key = ? GROUP BY d.app_key, d.display_name, d.app_id, a.slug, a.name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen`), args...)
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
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT user_key, COUNT(CASE WHEN outcome IN ('success', 'unknown') THEN 1 END) AS events,
		COUNT(CASE WHEN outcome = 'failure' THEN 1 END) AS failures, MAX(occurred_at) AS last_seen
		FROM usage_events WHERE app_key = ? GROUP BY user_key ORDER BY events DESC, user_key LIMIT 500`), key)
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", key, err)
	}
	return out, nil
}

// DailyCount is one day of an app's use.
type DailyCount struct {
	Day      string `db:"day" json:"day"`
	Users    int    `db:"users" json:"users"`
	Failures int    `db:"failures" json:"failures"`
}

// Daily returns an app's daily distinct users and failures over the last days days.
func (s *Store) Daily(ctx context.Context, key string, days int) ([]DailyCount, error) {
	day := "substr(CAST(occurred_at AS TEXT), 1, 10)"
	if s.db.Dialect == db.Postgres {
		day = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	}
	var out []DailyCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+day+` AS day,
		COUNT(DISTINCT CASE WHEN outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke' THEN user_key END) AS users,
		COUNT(CASE WHEN outcome = 'failure' THEN 1 END) AS failures
		FROM usage_events WHERE app_key = ? AND occurred_at >= ? GROUP BY `+day+` ORDER BY day`), key, s.now().AddDate(0, 0, -days))
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
		MIN(e.occurred_at) AS first_seen, MAX(e.occurred_at) AS last_seen
		FROM usage_events e JOIN discovered_apps d ON d.app_key = e.app_key LEFT JOIN apps a ON a.id = d.app_id
		WHERE e.user_key = ? AND e.outcome IN ('success', 'unknown') AND (a.status IS NULL OR a.status NOT IN ('approved', 'approved_with_conditions'))
		AND d.triage <> 'ignored'
		GROUP BY d.app_key, d.display_name, d.app_id, a.slug, a.name, a.status, d.triage ORDER BY MAX(e.occurred_at) DESC LIMIT 20`), strings.ToLower(user))
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
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(DISTINCT e.user_key) FROM usage_events e JOIN discovered_apps d ON d.app_key = e.app_key
		WHERE (d.app_id = ? OR d.app_key = ?) AND e.occurred_at >= ? AND e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke'`),
		appID, KeyName+NormalizeAppName(name), s.now().AddDate(0, 0, -90))
	if err != nil {
		return 0, fmt.Errorf("active users of %s: %w", name, err)
	}
	return n, nil
}
