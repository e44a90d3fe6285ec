package discovery

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
)

// anyScope stands for every scope, in a revoke that names none (the person took the whole
// grant back).
const anyScope = "*"

// grantKey is one person's grant of one scope to one identifier.
type grantKey struct{ app, user, scope string }

// grantTimes are the last time a scope was granted and revoked.
type grantTimes struct{ granted, revoked time.Time }

// grantTally collects the OAuth scopes that events granted and revoked, so conditions can
// forbid scopes; usage_grant_scopes keeps the latest of each. An import keeps one in its tally
// and saves it with the other rollups; the events keep their scopes (storedScopes), so a run
// cut short is counted from them like the rest.
type grantTally map[grantKey]grantTimes

// add counts one event; intern returns the copy of a key string to keep.
func (g grantTally) add(e UsageEvent, person string, at time.Time, intern func(string) string) {
	if person == "" || e.Outcome != OutcomeSuccess && e.Outcome != OutcomeUnknown {
		return
	}
	scopes := e.Scopes
	switch e.Kind {
	case KindOAuthGrant:
	case KindOAuthRevoke:
		if len(scopes) == 0 {
			scopes = []string{anyScope}
		}
	default:
		return
	}
	app, person := intern(e.AppKey), intern(person)
	for _, sc := range scopes {
		g.note(grantKey{app, person, intern(sc)}, e.Kind == KindOAuthGrant, at)
	}
}

// note records a grant (or a revoke) of k at at, keeping the latest of each.
func (g grantTally) note(k grantKey, granted bool, at time.Time) {
	t := g[k]
	if granted && at.After(t.granted) {
		t.granted = at
	}
	if !granted && at.After(t.revoked) {
		t.revoked = at
	}
	g[k] = t
}

// scopeSep separates an event's scopes in usage_events.scopes; cleaning turns line breaks in
// log values into spaces, so no scope holds one.
const scopeSep = "\n"

// storedScopes is what usage_events.scopes holds for e: its scopes, one a line, for a grant or
// a revoke, and NULL for any other event.
func storedScopes(e UsageEvent) any {
	if e.Kind != KindOAuthGrant && e.Kind != KindOAuthRevoke {
		return nil
	}
	return strings.Join(e.Scopes, scopeSep)
}

// scopesOf reads back what storedScopes stored.
func scopesOf(stored string) []string {
	if stored == "" {
		return nil
	}
	return strings.Split(stored, scopeSep)
}

// rollUpGrants adds the grants of run runID's events with ids in (from, to] to
// usage_grant_scopes, from the stored events: what the import's own tally would have saved.
func rollUpGrants(ctx context.Context, tx *sqlx.Tx, runID, from, to int64) error {
	rows, err := tx.QueryxContext(ctx, tx.Rebind(`SELECT e.app_key, COALESCE(p.email, e.user_key), e.kind, e.outcome, e.occurred_at, e.scopes
		FROM usage_events e LEFT JOIN person_ids p ON p.user_key = e.user_key
		WHERE e.id > ? AND e.id <= ? AND e.import_run_id = ? AND e.scopes IS NOT NULL`), from, to, runID)
	if err != nil {
		return fmt.Errorf("roll up usage (granted scopes): %w", err)
	}
	defer rows.Close()
	g := grantTally{}
	for rows.Next() {
		var (
			e      UsageEvent
			person string
			at     db.Timestamp
			scopes string
		)
		if err := rows.Scan(&e.AppKey, &person, &e.Kind, &e.Outcome, &at, &scopes); err != nil {
			return fmt.Errorf("roll up usage (granted scopes): %w", err)
		}
		e.Scopes = scopesOf(scopes)
		g.add(e, person, db.Time(at.Time), func(s string) string { return s })
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("roll up usage (granted scopes): %w", err)
	}
	return g.save(ctx, tx)
}

// save merges the grants into usage_grant_scopes, keeping the latest times.
func (g grantTally) save(ctx context.Context, tx *sqlx.Tx) error {
	keys := slices.SortedFunc(maps.Keys(g), func(a, b grantKey) int {
		return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.user, b.user), strings.Compare(a.scope, b.scope))
	})
	orNil := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	return upsertRows(ctx, tx, "record granted scopes", "INSERT INTO usage_grant_scopes (app_key, user_key, scope, granted_at, revoked_at) VALUES ", 5,
		` ON CONFLICT (app_key, user_key, scope) DO UPDATE SET
			granted_at = CASE WHEN usage_grant_scopes.granted_at IS NULL OR excluded.granted_at > usage_grant_scopes.granted_at
				THEN COALESCE(excluded.granted_at, usage_grant_scopes.granted_at) ELSE usage_grant_scopes.granted_at END,
			revoked_at = CASE WHEN usage_grant_scopes.revoked_at IS NULL OR excluded.revoked_at > usage_grant_scopes.revoked_at
				THEN COALESCE(excluded.revoked_at, usage_grant_scopes.revoked_at) ELSE usage_grant_scopes.revoked_at END`,
		len(keys), func(i int, args []any) []any {
			t := g[keys[i]]
			return append(args, keys[i].app, keys[i].user, keys[i].scope, orNil(t.granted), orNil(t.revoked))
		})
}
