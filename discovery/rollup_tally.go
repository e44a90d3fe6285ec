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
)

// tally is an import's own count of the events it stored since its last rollup, kept as it
// stores them so that rolling up does not read them back (a sixth of a first import's time
// went to reading and grouping them). It counts exactly what rollUp's statements count from
// the stored rows; TestRollupsMatchRawEvents compares the two.
//
// It holds one entry per (app, person) pair and per (app, day) seen since the last rollup, at
// most rollupEvery events' worth, with each distinct key string once.
type tally struct {
	from, to int64 // the run's events with ids in (from, to]; from -1 matches no watermark
	users    map[pairKey]userTally
	// people counts, per identifier and person, the events whose user key stands for another
	// person (an IdP user id tied to an e-mail); every other (identifier, user) entry of users
	// is its own person. mapped marks the users entries counted in people instead.
	people  map[pairKey]userTally
	mapped  map[pairKey]bool
	days    map[dayKey]dayTally
	sources map[sourceKey]bool
	grants  grantTally
	strs    map[string]string // interned keys
}

type pairKey struct{ app, user string }

type personKey struct {
	app    int64
	person string
}

// userTally's times are Unix microseconds (db.Time's precision); 0 is none (no log is that old).
type userTally struct {
	firstUsed, lastUsed, lastSeen int64
	events, failures              int32
}

type dayKey struct{ app, day string }

type dayTally struct{ events, failures int32 }

type sourceKey struct{ app, source string }

// maxTallyEntries bounds an import's tally: past it, the import rolls up early, whatever
// rollupEvery says, so memory stays flat in an organisation of any size (about 100 bytes an
// entry, and at most as many (app, person) entries again).
const maxTallyEntries = 100_000

// entries is how many (identifier, user) and (identifier, day) entries the tally holds, or
// granted scope entries if there are more of those. The (app, person) entries are left out:
// each stands for one or more (identifier, user) entries, so there are never more of them, and
// counting them would make imports roll up sooner (up to twice as often), writing the same
// (identifier, user) rows more times. The scopes are bounded on their own for the same reason:
// a log with many grants would otherwise roll up sooner than one without.
func (t *tally) entries() int { return max(len(t.users)+len(t.days), len(t.grants)) }

func newTally(from int64) *tally {
	t := &tally{}
	t.reset(from)
	return t
}

// reset empties the tally, which then starts after event id from.
func (t *tally) reset(from int64) {
	t.from, t.to = from, from
	t.users, t.people, t.mapped, t.days = map[pairKey]userTally{}, map[pairKey]userTally{}, map[pairKey]bool{}, map[dayKey]dayTally{}
	t.sources, t.grants, t.strs = map[sourceKey]bool{}, grantTally{}, map[string]string{}
}

// intern returns s, sharing the copy already held.
func (t *tally) intern(s string) string {
	if v, ok := t.strs[s]; ok {
		return v
	}
	t.strs[s] = s
	return s
}

// isUse is isUsage for one event.
func isUse(e UsageEvent) bool {
	return (e.Outcome == OutcomeSuccess || e.Outcome == OutcomeUnknown) && e.Kind != KindOAuthRevoke
}

// add counts one stored event, with the user key and time as stored, and the person it counts
// as. Which discovered app the identifier belongs to is read when the tally is applied, in the
// rollup's transaction, so a merge or split made meanwhile is followed.
func (t *tally) add(e UsageEvent, user, person string, at time.Time) {
	app, us := t.intern(e.AppKey), at.UnixMicro()
	pk := pairKey{app, t.intern(user)}
	u := t.users[pk]
	dk := dayKey{app, t.intern(at.UTC().Format(time.DateOnly))}
	d := t.days[dk]
	use, failed := isUse(e), e.Outcome == OutcomeFailure
	u.count(us, use, failed)
	if person != user {
		gk := pairKey{app, t.intern(person)}
		g := t.people[gk]
		g.count(us, use, failed)
		t.people[gk], t.mapped[pk] = g, true
	}
	switch {
	case use:
		d.events++
	case failed:
		d.failures++
	}
	t.users[pk], t.days[dk] = u, d
	t.sources[sourceKey{app, t.intern(string(e.Source))}] = true
	t.grants.add(e, person, at, t.intern)
}

// count adds one event at us (Unix microseconds): a use, a failure or neither.
func (u *userTally) count(us int64, use, failed bool) {
	u.lastSeen = max(u.lastSeen, us)
	switch {
	case use:
		if u.firstUsed == 0 || us < u.firstUsed {
			u.firstUsed = us
		}
		u.lastUsed = max(u.lastUsed, us)
		u.events++
	case failed:
		u.failures++
	}
}

// merge adds v, another tally of the same key.
func (u *userTally) merge(v userTally) {
	if v.firstUsed != 0 && (u.firstUsed == 0 || v.firstUsed < u.firstUsed) {
		u.firstUsed = v.firstUsed
	}
	u.lastUsed, u.lastSeen = max(u.lastUsed, v.lastUsed), max(u.lastSeen, v.lastSeen)
	u.events += v.events
	u.failures += v.failures
}

// rowsPerUpsert keeps each statement under both databases' limits on parameters (7 a row).
const rowsPerUpsert = 1000

// apply adds the tally to the rollups, in key order so that two writers lock rows in the same
// order. Without people, the (app, person) rows are left for a recount (see Store.Import).
func (t *tally) apply(ctx context.Context, tx *sqlx.Tx, people bool) error {
	users := slices.SortedFunc(maps.Keys(t.users), func(a, b pairKey) int { return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.user, b.user)) })
	if err := upsertRows(ctx, tx, "roll up usage (users)", "INSERT INTO usage_app_users (app_key, user_key, first_used, last_used, last_seen, events, failures) VALUES ", 7, usersUpsert,
		len(users), func(i int, args []any) []any {
			u := t.users[users[i]]
			return append(args, users[i].app, users[i].user, orNull(u.firstUsed), orNull(u.lastUsed), microTime(u.lastSeen), u.events, u.failures)
		}); err != nil {
		return err
	}
	if people {
		if err := t.applyPeople(ctx, tx); err != nil {
			return err
		}
	}
	if err := t.grants.save(ctx, tx); err != nil {
		return err
	}
	days := slices.SortedFunc(maps.Keys(t.days), func(a, b dayKey) int { return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.day, b.day)) })
	if err := upsertRows(ctx, tx, "roll up usage (days)", "INSERT INTO usage_app_days (app_key, day, events, failures) VALUES ", 4, daysUpsert,
		len(days), func(i int, args []any) []any {
			d := t.days[days[i]]
			return append(args, days[i].app, days[i].day, d.events, d.failures)
		}); err != nil {
		return err
	}
	sources := slices.SortedFunc(maps.Keys(t.sources), func(a, b sourceKey) int {
		return cmp.Or(strings.Compare(a.app, b.app), strings.Compare(a.source, b.source))
	})
	return upsertRows(ctx, tx, "roll up usage (sources)", "INSERT INTO discovered_app_sources (app_key, source) VALUES ", 2, sourcesUpsert,
		len(sources), func(i int, args []any) []any { return append(args, sources[i].app, sources[i].source) })
}

// applyPeople adds the tally's people to usage_discovered_users, per discovered app.
func (t *tally) applyPeople(ctx context.Context, tx *sqlx.Tx) error {
	people, err := t.peopleByApp(ctx, tx)
	if err != nil {
		return err
	}
	pkeys := slices.SortedFunc(maps.Keys(people), func(a, b personKey) int {
		return cmp.Or(cmp.Compare(a.app, b.app), strings.Compare(a.person, b.person))
	})
	return upsertRows(ctx, tx, "roll up usage (people)", "INSERT INTO usage_discovered_users (discovered_app_id, user_key, first_used, last_used, last_seen, events, failures) VALUES ", 7, peopleUpsert,
		len(pkeys), func(i int, args []any) []any {
			u := people[pkeys[i]]
			return append(args, pkeys[i].app, pkeys[i].person, orNull(u.firstUsed), orNull(u.lastUsed), microTime(u.lastSeen), u.events, u.failures)
		})
}

// peopleByApp sums the tally's people per discovered app, as the identifiers belong now.
func (t *tally) peopleByApp(ctx context.Context, tx *sqlx.Tx) (map[personKey]userTally, error) {
	idents := map[string]bool{}
	for k := range t.users {
		idents[k.app] = true
	}
	keys := slices.Sorted(maps.Keys(idents))
	appOf := make(map[string]int64, len(keys))
	for start := 0; start < len(keys); start += 500 {
		q, args, err := sqlx.In("SELECT app_key, discovered_app_id FROM discovered_identifiers WHERE app_key IN (?)", keys[start:min(start+500, len(keys))])
		if err != nil {
			return nil, err
		}
		var rows []struct {
			Key string `db:"app_key"`
			ID  int64  `db:"discovered_app_id"`
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("roll up usage (people): %w", err)
		}
		for _, r := range rows {
			appOf[r.Key] = r.ID
		}
	}
	out := make(map[personKey]userTally, len(t.users))
	add := func(k pairKey, v userTally) error {
		app, ok := appOf[k.app]
		if !ok {
			return fmt.Errorf("roll up usage (people): identifier %s has no discovered app", k.app)
		}
		g := out[personKey{app, k.user}]
		g.merge(v)
		out[personKey{app, k.user}] = g
		return nil
	}
	for k, v := range t.users {
		if !t.mapped[k] {
			if err := add(k, v); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range t.people {
		if err := add(k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// upsertRows runs insert … VALUES (…), (…) … upsert for n rows of width values, rowsPerUpsert
// rows a statement; row appends row i's values to args, and what names the work in errors.
func upsertRows(ctx context.Context, tx *sqlx.Tx, what, insert string, width int, upsert string, n int, row func(i int, args []any) []any) error {
	tuple := "(?" + strings.Repeat(", ?", width-1) + ")"
	for start := 0; start < n; start += rowsPerUpsert {
		end := min(start+rowsPerUpsert, n)
		args := make([]any, 0, (end-start)*width)
		for i := start; i < end; i++ {
			args = row(i, args)
		}
		q := insert + strings.Repeat(tuple+", ", end-start-1) + tuple + upsert
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// orNull is the time us (Unix microseconds), or NULL for 0.
func orNull(us int64) any {
	if us == 0 {
		return nil
	}
	return microTime(us)
}

func microTime(us int64) time.Time { return time.UnixMicro(us).UTC() }
