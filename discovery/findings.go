package discovery

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Finding states.
const (
	FindingOpen         = "open"
	FindingAcknowledged = "acknowledged"
	FindingResolved     = "resolved"
)

// FindingStates lists them.
var FindingStates = []string{FindingOpen, FindingAcknowledged, FindingResolved}

// The condition kinds, as the catalogue names them.
const (
	condSeatLimit       = "seat_limit"
	condAllowedGroups   = "allowed_groups"
	condForbiddenScopes = "forbidden_scopes"
	condPilotEnd        = "pilot_end"
)

// Finding is usage found outside one of an app's conditions.
type Finding struct {
	ID          int64         `db:"id" json:"id"`
	AppSlug     string        `db:"slug" json:"app"`
	AppName     string        `db:"name" json:"app_name"`
	Kind        string        `db:"kind" json:"condition"`
	Status      string        `db:"status" json:"status"`
	PeopleText  string        `db:"people" json:"-"`
	PeopleCount int           `db:"people_count" json:"people_count"`
	Detail      string        `db:"detail" json:"detail"`
	FirstSeen   db.Timestamp  `db:"first_seen" json:"first_seen"`
	LastSeen    db.Timestamp  `db:"last_seen" json:"last_seen"`
	OpenedAt    db.Timestamp  `db:"opened_at" json:"opened_at"`
	ResolvedAt  *db.Timestamp `db:"resolved_at" json:"resolved_at,omitempty"`
	Note        string        `db:"note" json:"note,omitempty"`
}

// People are the people concerned, for security.
func (f Finding) People() []string {
	if f.PeopleText == "" {
		return nil
	}
	return strings.Split(f.PeopleText, "\n")
}

// violation is what one evaluation found for one condition of one app.
type violation struct {
	people      []string
	first, last time.Time
	detail      string
}

// conditioned is an app with checkable conditions.
type conditioned struct {
	AppID     int64      `db:"app_id"`
	Name      string     `db:"name"`
	SeatLimit *int       `db:"seat_limit"`
	Groups    string     `db:"allowed_groups"`
	Scopes    string     `db:"forbidden_scopes"`
	PilotEnd  *time.Time `db:"pilot_end"`
	// What the load query already knows of the app's use, so that conditions it keeps to need
	// no query of their own: the people of the last 30 days, the last use, and whether a
	// finding is still open or acknowledged.
	People30 int           `db:"people30"`
	LastUsed *db.Timestamp `db:"last_used"`
	Active   int           `db:"active"`
}

// EvaluateConditions holds every app's usage against its checkable conditions and brings the
// findings in line: a new violation opens a finding, a continuing one is updated (an
// acknowledged finding stays acknowledged), and one that stopped is resolved with the time it
// did. Running it again on the same usage changes nothing. It returns the findings it opened.
func (s *Store) EvaluateConditions(ctx context.Context) ([]Finding, error) {
	var apps []conditioned
	now := s.now()
	// One pass over the conditioned apps' people counts them all, instead of a query per app.
	if err := s.db.SelectContext(ctx, &apps, s.db.Rebind(`SELECT c.app_id, a.name, c.seat_limit, c.allowed_groups, c.forbidden_scopes, c.pilot_end,
			COALESCE(u.people30, 0) AS people30, u.last_used,
			(SELECT COUNT(*) FROM findings f WHERE f.app_id = c.app_id AND f.status <> 'resolved') AS active
		FROM app_conditions c JOIN apps a ON a.id = c.app_id
		LEFT JOIN (SELECT d.app_id, COUNT(DISTINCT CASE WHEN u.last_used > ? AND u.user_key <> '' THEN u.user_key END) AS people30, MAX(u.last_used) AS last_used
			FROM discovered_apps d JOIN usage_discovered_users u ON u.discovered_app_id = d.id
			WHERE d.app_id IN (SELECT app_id FROM app_conditions) GROUP BY d.app_id) u ON u.app_id = c.app_id
		ORDER BY c.app_id`), now.AddDate(0, 0, -30)); err != nil {
		return nil, fmt.Errorf("load conditions: %w", err)
	}
	var opened []int64
	for _, a := range apps {
		found := map[string]*violation{}
		var err error
		if a.SeatLimit != nil && a.People30 > *a.SeatLimit {
			if found[condSeatLimit], err = s.seatViolation(ctx, a, now); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(a.Groups) != "" && a.People30 > 0 {
			if found[condAllowedGroups], err = s.groupViolation(ctx, a, now); err != nil {
				return nil, err
			}
		}
		if strings.TrimSpace(a.Scopes) != "" {
			if found[condForbiddenScopes], err = s.scopeViolation(ctx, a); err != nil {
				return nil, err
			}
		}
		if a.PilotEnd != nil && a.LastUsed != nil && a.LastUsed.After(*a.PilotEnd) {
			if found[condPilotEnd], err = s.pilotViolation(ctx, a); err != nil {
				return nil, err
			}
		}
		if a.Active == 0 && !slices.ContainsFunc(slices.Collect(maps.Values(found)), func(v *violation) bool { return v != nil }) {
			continue // nothing found, nothing to close
		}
		ids, err := s.recordFindings(ctx, a, found, now)
		if err != nil {
			return nil, err
		}
		opened = append(opened, ids...)
	}
	var out []Finding
	for _, id := range opened {
		f, err := s.Finding(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// appPeopleSQL selects the people of a catalogue app's discovered apps (app id, then the time
// their last use must be after) with the span of their use. It starts from the app's discovered
// apps and reads their people by the (app, person) key, never scanning everyone's usage.
const appPeopleSQL = `SELECT u.user_key, MIN(u.first_used) AS first_used, MAX(u.last_used) AS last_used
	FROM usage_discovered_users u
	WHERE u.discovered_app_id IN (SELECT id FROM discovered_apps WHERE app_id = ?) AND u.last_used > ? AND u.user_key <> ''`

// usedSince lists the people of app's discovered apps whose last use is after since, each
// once, with the span of their use; extra narrows them further (with its args).
func (s *Store) usedSince(ctx context.Context, appID int64, since time.Time, extra string, args ...any) ([]string, time.Time, time.Time, error) {
	var rows []struct {
		Person string       `db:"user_key"`
		First  db.Timestamp `db:"first_used"`
		Last   db.Timestamp `db:"last_used"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(appPeopleSQL+extra+` GROUP BY u.user_key ORDER BY u.user_key`), append([]any{appID, since}, args...)...)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("people of app %d: %w", appID, err)
	}
	var people []string
	var first, last time.Time
	for _, r := range rows {
		people = append(people, r.Person)
		if first.IsZero() || r.First.Before(first) {
			first = r.First.Time
		}
		if r.Last.After(last) {
			last = r.Last.Time
		}
	}
	return people, first, last, nil
}

func (s *Store) seatViolation(ctx context.Context, a conditioned, now time.Time) (*violation, error) {
	people, first, last, err := s.usedSince(ctx, a.AppID, now.AddDate(0, 0, -30), "")
	if err != nil || len(people) <= *a.SeatLimit {
		return nil, err
	}
	return &violation{people: people, first: first, last: last,
		detail: fmt.Sprintf("%d people used it in the last 30 days; the limit is %d.", len(people), *a.SeatLimit)}, nil
}

func (s *Store) groupViolation(ctx context.Context, a conditioned, now time.Time) (*violation, error) {
	allowed := cleanLines(a.Groups)
	// Those outside are found in SQL: an app used by tens of thousands of people must not send
	// them all back as parameters.
	extra, args, err := sqlx.In(` AND NOT EXISTS (SELECT 1 FROM people p WHERE p.email = u.user_key AND p.department IN (?))
		AND NOT EXISTS (SELECT 1 FROM person_groups g WHERE g.email = u.user_key AND g.group_name IN (?))`, allowed, allowed)
	if err != nil {
		return nil, err
	}
	outside, first, last, err := s.usedSince(ctx, a.AppID, now.AddDate(0, 0, -30), extra, args...)
	if err != nil || len(outside) == 0 {
		return nil, err
	}
	return &violation{people: outside, first: first, last: last,
		detail: fmt.Sprintf("%d people outside %s used it in the last 30 days.", len(outside), strings.Join(allowed, ", "))}, nil
}

func (s *Store) scopeViolation(ctx context.Context, a conditioned) (*violation, error) {
	forbidden := cleanLines(a.Scopes)
	// A grant stands while no later revoke of its scope, or of the whole grant, took it back.
	q, args, err := sqlx.In(`SELECT g.user_key AS person, MIN(g.granted_at) AS first, MAX(g.granted_at) AS last
		FROM usage_grant_scopes g
		LEFT JOIN usage_grant_scopes w ON w.app_key = g.app_key AND w.user_key = g.user_key AND w.scope = '*'
		WHERE g.app_key IN (SELECT i.app_key FROM discovered_identifiers i JOIN discovered_apps d ON d.id = i.discovered_app_id WHERE d.app_id = ?)
		AND g.scope IN (?) AND g.granted_at IS NOT NULL
		AND (g.revoked_at IS NULL OR g.revoked_at < g.granted_at) AND (w.revoked_at IS NULL OR w.revoked_at < g.granted_at)
		GROUP BY g.user_key ORDER BY g.user_key`, a.AppID, forbidden)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Person string       `db:"person"`
		First  db.Timestamp `db:"first"`
		Last   db.Timestamp `db:"last"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("forbidden grants of %s: %w", a.Name, err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	v := &violation{detail: fmt.Sprintf("Grants that include %s.", strings.Join(forbidden, ", "))}
	for _, r := range rows {
		v.people = append(v.people, r.Person)
		if v.first.IsZero() || r.First.Before(v.first) {
			v.first = r.First.Time
		}
		if r.Last.After(v.last) {
			v.last = r.Last.Time
		}
	}
	return v, nil
}

func (s *Store) pilotViolation(ctx context.Context, a conditioned) (*violation, error) {
	people, first, last, err := s.usedSince(ctx, a.AppID, a.PilotEnd.UTC(), "")
	if err != nil || len(people) == 0 {
		return nil, err
	}
	return &violation{people: people, first: first, last: last,
		detail: fmt.Sprintf("%d people used it after the pilot ended on %s.", len(people), a.PilotEnd.UTC().Format("2 January 2006"))}, nil
}

func cleanLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// recordFindings brings one app's findings in line with what was found; it returns the ids of
// findings it opened.
func (s *Store) recordFindings(ctx context.Context, a conditioned, found map[string]*violation, now time.Time) ([]int64, error) {
	var opened []int64
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var active []struct {
			ID   int64  `db:"id"`
			Kind string `db:"kind"`
		}
		if err := tx.SelectContext(ctx, &active, tx.Rebind("SELECT id, kind FROM findings WHERE app_id = ? AND status <> 'resolved'"), a.AppID); err != nil {
			return fmt.Errorf("findings of %s: %w", a.Name, err)
		}
		byKind := map[string]int64{}
		for _, f := range active {
			byKind[f.Kind] = f.ID
		}
		for _, kind := range []string{condSeatLimit, condAllowedGroups, condForbiddenScopes, condPilotEnd} {
			v, id := found[kind], byKind[kind]
			switch {
			case v == nil && id != 0:
				if _, err := tx.ExecContext(ctx, tx.Rebind("UPDATE findings SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?"), now, now, id); err != nil {
					return fmt.Errorf("resolve finding %d: %w", id, err)
				}
				if err := audit.Append(ctx, tx, now, audit.System, "discovery.finding.resolve", "finding", fmt.Sprint(id), map[string]string{"app": a.Name, "condition": kind}); err != nil {
					return err
				}
			case v != nil && id != 0:
				if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE findings SET people = ?, people_count = ?, detail = ?, first_seen = ?, last_seen = ?, updated_at = ?
					WHERE id = ? AND (people <> ? OR detail <> ? OR last_seen <> ?)`),
					strings.Join(v.people, "\n"), len(v.people), v.detail, v.first, v.last, now, id, strings.Join(v.people, "\n"), v.detail, v.last); err != nil {
					return fmt.Errorf("update finding %d: %w", id, err)
				}
			case v != nil:
				var newID int64
				if err := tx.GetContext(ctx, &newID, tx.Rebind(`INSERT INTO findings (app_id, kind, status, people, people_count, detail, first_seen, last_seen, opened_at, updated_at)
					VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
					a.AppID, kind, strings.Join(v.people, "\n"), len(v.people), v.detail, v.first, v.last, now, now); err != nil {
					return fmt.Errorf("open a finding for %s: %w", a.Name, err)
				}
				if err := audit.Append(ctx, tx, now, audit.System, "discovery.finding.open", "finding", fmt.Sprint(newID), map[string]any{"app": a.Name, "condition": kind, "people": len(v.people)}); err != nil {
					return err
				}
				opened = append(opened, newID)
			}
		}
		return nil
	})
	return opened, err
}

// FindingFilter narrows the findings.
type FindingFilter struct {
	App    string // catalogue slug
	Status string
	Kind   string
}

const findingColumns = `SELECT f.id, a.slug, a.name, f.kind, f.status, f.people, f.people_count, f.detail, f.first_seen, f.last_seen,
	f.opened_at, f.resolved_at, f.note FROM findings f JOIN apps a ON a.id = f.app_id`

// Findings lists findings, open ones first, newest first within.
func (s *Store) Findings(ctx context.Context, f FindingFilter) ([]Finding, error) {
	q := findingColumns
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"a.slug", f.App}, {"f.status", f.Status}, {"f.kind", f.Kind}} {
		if c.v != "" {
			where, args = append(where, c.col+" = ?"), append(args, c.v)
		}
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY CASE f.status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, f.opened_at DESC, f.id DESC LIMIT 500"
	out := []Finding{}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	return out, nil
}

// Finding returns one finding.
func (s *Store) Finding(ctx context.Context, id int64) (Finding, error) {
	var f Finding
	err := s.db.GetContext(ctx, &f, s.db.Rebind(findingColumns+" WHERE f.id = ?"), id)
	if db.IsNotFound(err) {
		return f, errs.E(errs.NotFound, "No finding %d.", id)
	}
	if err != nil {
		return f, fmt.Errorf("get finding %d: %w", id, err)
	}
	return f, nil
}

// Acknowledge marks an open finding as seen by security, with a note; it stays until the usage
// stops, when evaluation resolves it.
func (s *Store) Acknowledge(ctx context.Context, actor audit.Actor, id int64, note string) error {
	note = strings.TrimSpace(note)
	if note == "" || len(note) > maxNoteLen {
		return &errs.Error{Code: errs.Invalid, Message: "Say what is being done about it.", Fields: map[string]string{"note": "Write a note of at most 2,000 characters."}}
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind("UPDATE findings SET status = 'acknowledged', note = ?, updated_at = ? WHERE id = ? AND status <> 'resolved'"), note, s.now(), id)
		if err != nil {
			return fmt.Errorf("acknowledge finding %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.Finding(ctx, id); err != nil {
				return err
			}
			return errs.E(errs.Conflict, "Finding %d is resolved already.", id)
		}
		return audit.Append(ctx, tx, s.now(), actor, "discovery.finding.acknowledge", "finding", fmt.Sprint(id), map[string]string{"note": note})
	})
}
