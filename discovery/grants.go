package discovery

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// anyScope stands for every scope, in a revoke that names none (the person took the whole
// grant back).
const anyScope = "*"

// grantKey is one person's grant of one scope to one identifier.
type grantKey struct{ app, user, scope string }

// grantTimes are the last time a scope was granted and revoked.
type grantTimes struct{ granted, revoked time.Time }

// grantTally collects the OAuth scopes a batch's events granted and revoked, so conditions can
// forbid scopes; usage_grant_scopes keeps the latest of each.
type grantTally map[grantKey]grantTimes

func (g grantTally) add(e UsageEvent, person string, at time.Time) {
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
	for _, sc := range scopes {
		k := grantKey{e.AppKey, person, sc}
		t := g[k]
		if e.Kind == KindOAuthGrant && at.After(t.granted) {
			t.granted = at
		}
		if e.Kind == KindOAuthRevoke && at.After(t.revoked) {
			t.revoked = at
		}
		g[k] = t
	}
}

// save merges the batch's grants into usage_grant_scopes, keeping the latest times.
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
