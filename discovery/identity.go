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
	"golang.org/x/net/publicsuffix"

	"github.com/pavedhq/paved/catalog/seed"
	"github.com/pavedhq/paved/internal/db"
)

// Every identifier a log names (an Okta app instance, an Entra application id, a Google OAuth
// client, a domain, a name) belongs to one discovered app: the real app behind it. Which one
// is decided by a resolution key, tried in this order:
//
//  1. "catalog:<id>" when a catalogue app claims the identifier (its domains, aliases, IdP app
//     ids and client ids, or its name);
//  2. the same, or "name:<normalised name>", when the registry of well-known identifiers that
//     ships with the seed catalogue knows it;
//  3. "name:<normalised name>": for a domain, its registrable domain (eTLD+1, from the public
//     suffix list); otherwise the name the log gives.
//
// discovered_app_keys maps each key to its app, so a new identifier with a known key joins the
// app security already triaged, merged or linked. A merge or a split pins the identifiers it
// moves: the rules never move them again.
const (
	resolveCatalog = "catalog:" // + catalogue app id
	resolveName    = "name:"    // + normalised name
	resolveSplit   = "split:"   // + identifier, for an identifier split off into its own app
	resolveOwn     = "own:"     // + identifier, when nothing else names the app
)

// resolver applies the rules, without the database.
type resolver struct {
	m          *matcher
	known      map[string]string // event app key ("domain:…", "entra:…") → registry slug
	knownNames map[string]string // normalised name (Okta app names, Google client names) → slug
	seedNames  map[string]string // registry slug → the app's name in the seed catalogue
	slugs      map[string]int64  // catalogue slug → app id
	names      map[int64]string  // catalogue app id → name
}

func (s *Store) newResolver(ctx context.Context, q sqlx.QueryerContext) (*resolver, error) {
	m, err := newMatcher(ctx, q)
	if err != nil {
		return nil, err
	}
	r := &resolver{m: m, known: map[string]string{}, knownNames: map[string]string{}, seedNames: map[string]string{},
		slugs: map[string]int64{}, names: map[int64]string{}}
	var apps []struct {
		ID   int64  `db:"id"`
		Slug string `db:"slug"`
		Name string `db:"name"`
	}
	if err := sqlx.SelectContext(ctx, q, &apps, "SELECT id, slug, name FROM apps"); err != nil {
		return nil, fmt.Errorf("load catalogue apps: %w", err)
	}
	for _, a := range apps {
		r.slugs[a.Slug], r.names[a.ID] = a.ID, a.Name
	}
	known, err := seed.KnownIdentifiers()
	if err != nil {
		return nil, err
	}
	seedApps, err := seed.Apps()
	if err != nil {
		return nil, err
	}
	// The seed catalogue's own domains, names and aliases are well-known identifiers too, for
	// a catalogue that was never seeded or has dropped an app.
	for _, a := range seedApps {
		r.seedNames[a.Slug] = a.Name
		r.known[KeyDomain+a.Domain] = a.Slug
		for _, n := range append([]string{a.Name}, a.Aliases...) {
			if k := NormalizeAppName(n); k != "" {
				r.knownNames[k] = a.Slug
			}
		}
	}
	for _, k := range known {
		switch k.Kind {
		case seed.KnownDomain:
			r.known[KeyDomain+k.Value] = k.Slug
		case seed.KnownEntraAppID:
			r.known[KeyEntra+k.Value] = k.Slug
		case seed.KnownOktaAppName, seed.KnownGoogleName:
			r.knownNames[NormalizeAppName(k.Value)] = k.Slug
		}
	}
	return r, nil
}

// resolve returns the resolution key of the identifier key seen under name, the catalogue app
// it belongs to (if any) and a display name for a new discovered app.
func (r *resolver) resolve(key, name string) (rkey string, catalogID *int64, display string) {
	display = cmp.Or(name, strings.TrimPrefix(key, KeyDomain))
	if id := r.m.match(key, name); id != nil {
		return resolveCatalog + fmt.Sprint(*id), id, cmp.Or(r.names[*id], display)
	}
	if slug := r.knownSlug(key, name); slug != "" {
		if id, ok := r.slugs[slug]; ok {
			return resolveCatalog + fmt.Sprint(id), &id, cmp.Or(r.names[id], display)
		}
		if n := r.seedNames[slug]; n != "" {
			return resolveName + NormalizeAppName(n), nil, n
		}
	}
	if host, ok := strings.CutPrefix(key, KeyDomain); ok {
		if site := RegistrableDomain(host); site != "" {
			return resolveName + NormalizeAppName(site), nil, cmp.Or(name, site)
		}
	}
	if n := NormalizeAppName(name); n != "" {
		return resolveName + n, nil, display
	}
	if rest, ok := strings.CutPrefix(key, KeyName); ok {
		return resolveName + rest, nil, display
	}
	return resolveOwn + key, nil, display
}

// knownSlug looks the identifier up in the registry: a domain or any parent of it, an Entra
// application id, or the name.
func (r *resolver) knownSlug(key, name string) string {
	if host, ok := strings.CutPrefix(key, KeyDomain); ok {
		for h := host; strings.Contains(h, "."); {
			if slug := r.known[KeyDomain+h]; slug != "" {
				return slug
			}
			_, h, _ = strings.Cut(h, ".")
		}
	}
	if slug := r.known[strings.ToLower(key)]; slug != "" {
		return slug
	}
	if n := NormalizeAppName(name); n != "" {
		return r.knownNames[n]
	}
	return ""
}

// RegistrableDomain is the part of host that its owner registered (eTLD+1): "us02web.zoom.us"
// → "zoom.us", "acme.my.salesforce.com" → "salesforce.com", "x.example.co.uk" →
// "example.co.uk". Empty when host is a public suffix itself or not a host.
func RegistrableDomain(host string) string {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	site, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return ""
	}
	return site
}

// identities is an import's view of resolution: what the database held when it started, plus
// what its own committed batches added.
type identities struct {
	res    *resolver
	ident  map[string]int64  // identifier → discovered app id
	keys   map[string]int64  // resolution key → discovered app id
	people map[string]string // "id:…" user key → e-mail
	idKeys map[string]string // IdP user id as logged → its "id:…" user key
	// learned are the user keys this import tied to an e-mail; people counted under them
	// before are re-counted at its end.
	learned map[string]bool
}

// staged is what one batch adds to identities, applied only once the batch commits.
type staged struct {
	ident  map[string]int64
	keys   map[string]int64
	people map[string]string
}

func (s *Store) loadIdentities(ctx context.Context) (*identities, error) {
	res, err := s.newResolver(ctx, s.db)
	if err != nil {
		return nil, err
	}
	ids := &identities{res: res, ident: map[string]int64{}, keys: map[string]int64{}, people: map[string]string{}, idKeys: map[string]string{}, learned: map[string]bool{}}
	if err := loadPairs(ctx, s.db, "SELECT app_key AS k, discovered_app_id AS id FROM discovered_identifiers WHERE discovered_app_id IS NOT NULL", ids.ident); err != nil {
		return nil, err
	}
	if err := loadPairs(ctx, s.db, "SELECT key AS k, discovered_app_id AS id FROM discovered_app_keys", ids.keys); err != nil {
		return nil, err
	}
	var people []struct {
		Key   string `db:"user_key"`
		Email string `db:"email"`
	}
	if err := s.db.SelectContext(ctx, &people, "SELECT user_key, email FROM person_ids"); err != nil {
		return nil, fmt.Errorf("load person ids: %w", err)
	}
	for _, p := range people {
		ids.people[p.Key] = p.Email
	}
	return ids, nil
}

// loadPairs reads query's rows, a key k and an app id, into into.
func loadPairs(ctx context.Context, q sqlx.QueryerContext, query string, into map[string]int64) error {
	var rows []struct {
		K  string `db:"k"`
		ID int64  `db:"id"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, query); err != nil {
		return fmt.Errorf("load identities: %w", err)
	}
	for _, r := range rows {
		into[r.K] = r.ID
	}
	return nil
}

// newStaged starts a batch's changes.
func newStaged() *staged {
	return &staged{ident: map[string]int64{}, keys: map[string]int64{}, people: map[string]string{}}
}

// commit applies a committed batch's changes.
func (ids *identities) commit(st *staged) {
	maps.Copy(ids.ident, st.ident)
	maps.Copy(ids.keys, st.keys)
	for k, v := range st.people {
		ids.people[k] = v
		ids.learned[k] = true
	}
}

// appOf returns the discovered app of identifier key, as known or staged.
func (ids *identities) appOf(st *staged, key string) (int64, bool) {
	if id, ok := st.ident[key]; ok {
		return id, true
	}
	id, ok := ids.ident[key]
	return id, ok
}

// person is who an event counts as: its e-mail, else the e-mail its IdP user id is tied to,
// else the user id.
func (ids *identities) person(st *staged, e UsageEvent, userKey string) string {
	if e.UserEmail != "" || userKey == "" {
		return userKey
	}
	if email, ok := st.people[userKey]; ok {
		return email
	}
	if email, ok := ids.people[userKey]; ok {
		return email
	}
	return userKey
}

// learn notes, from an event that carries both, that its IdP user id is this e-mail.
func (ids *identities) learn(st *staged, e UsageEvent) {
	if e.UserEmail == "" || e.UserID == "" {
		return
	}
	// Most events come from people seen before: their key is looked up, not built again.
	k, ok := ids.idKeys[e.UserID]
	if !ok {
		k = strings.ToLower("id:" + e.UserID)
		ids.idKeys[strings.Clone(e.UserID)] = k
	}
	if ids.people[k] != e.UserEmail {
		st.people[k] = e.UserEmail
	}
}

// assign finds or creates the discovered app of every identifier in seen (identifier → the
// name the log gives it) that the import does not know yet, inside the batch's transaction.
func (ids *identities) assign(ctx context.Context, tx *sqlx.Tx, now time.Time, st *staged, seen map[string]string) error {
	var unknown []string
	for key := range seen {
		if _, ok := ids.appOf(st, key); !ok {
			unknown = append(unknown, key)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	// Another import may have recorded some of them since this one started.
	for start := 0; start < len(unknown); start += 500 {
		part := unknown[start:min(start+500, len(unknown))]
		q, args, err := sqlx.In("SELECT app_key, discovered_app_id FROM discovered_identifiers WHERE discovered_app_id IS NOT NULL AND app_key IN (?)", part)
		if err != nil {
			return err
		}
		var rows []struct {
			Key string `db:"app_key"`
			ID  int64  `db:"discovered_app_id"`
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("look up identifiers: %w", err)
		}
		for _, r := range rows {
			st.ident[r.Key] = r.ID
		}
	}
	for _, key := range unknown {
		if _, ok := st.ident[key]; ok {
			continue
		}
		rkey, catalogID, display := ids.res.resolve(key, seen[key])
		id, err := ids.appFor(ctx, tx, now, st, rkey, catalogID, display)
		if err != nil {
			return err
		}
		st.ident[key] = id
	}
	return nil
}

// appFor returns the discovered app that resolution key rkey leads to, creating it.
func (ids *identities) appFor(ctx context.Context, tx *sqlx.Tx, now time.Time, st *staged, rkey string, catalogID *int64, display string) (int64, error) {
	if id, ok := st.keys[rkey]; ok {
		return id, nil
	}
	if id, ok := ids.keys[rkey]; ok {
		return id, nil
	}
	id, err := appForKey(ctx, tx, now, rkey, catalogID, display)
	if err != nil {
		return 0, err
	}
	st.keys[rkey] = id
	return id, nil
}

// appForKey returns the app of a resolution key, creating the app when no key leads to one.
// Two imports that create the same key at once meet on discovered_app_keys' primary key.
func appForKey(ctx context.Context, tx *sqlx.Tx, now time.Time, rkey string, catalogID *int64, display string) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind("SELECT discovered_app_id FROM discovered_app_keys WHERE key = ?"), rkey)
	if err == nil {
		return id, nil
	}
	if !db.IsNotFound(err) {
		return 0, fmt.Errorf("look up %s: %w", rkey, err)
	}
	// A catalogue app has one discovered app: one linked by hand may hold no key yet.
	if catalogID != nil {
		err := tx.GetContext(ctx, &id, tx.Rebind("SELECT id FROM discovered_apps WHERE app_id = ? ORDER BY id LIMIT 1"), *catalogID)
		if err != nil && !db.IsNotFound(err) {
			return 0, fmt.Errorf("look up the discovered app of catalogue app %d: %w", *catalogID, err)
		}
	}
	if id == 0 {
		if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO discovered_apps (display_name, app_id, first_seen, last_seen) VALUES (?, ?, ?, ?) RETURNING id`),
			display, catalogID, now, now); err != nil {
			return 0, fmt.Errorf("record discovered app %s: %w", rkey, err)
		}
	}
	var got []int64
	if err := tx.SelectContext(ctx, &got, tx.Rebind("INSERT INTO discovered_app_keys (key, discovered_app_id) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING discovered_app_id"), rkey, id); err != nil {
		return 0, fmt.Errorf("record key %s: %w", rkey, err)
	}
	if len(got) == 1 {
		return id, nil
	}
	// Another import recorded the key first: use its app and drop ours.
	if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM discovered_apps WHERE id = ? AND NOT EXISTS (SELECT 1 FROM discovered_identifiers WHERE discovered_app_id = ?)"), id, id); err != nil {
		return 0, err
	}
	if err := tx.GetContext(ctx, &id, tx.Rebind("SELECT discovered_app_id FROM discovered_app_keys WHERE key = ?"), rkey); err != nil {
		return 0, fmt.Errorf("look up %s: %w", rkey, err)
	}
	return id, nil
}

// recordPeople stores the user ids a batch tied to e-mails.
func recordPeople(ctx context.Context, tx *sqlx.Tx, people map[string]string) error {
	keys := slices.Sorted(maps.Keys(people))
	return upsertRows(ctx, tx, "record person ids", "INSERT INTO person_ids (user_key, email) VALUES ", 2,
		" ON CONFLICT (user_key) DO UPDATE SET email = excluded.email", len(keys),
		func(i int, args []any) []any { return append(args, keys[i], people[keys[i]]) })
}

// peopleLockKey is the PostgreSQL advisory lock that orders recounts of people (which rebuild
// usage_discovered_users from the per-identifier rollups) against rollups (which add to both):
// rollups share it, recounts take it alone, so a recount never misses or doubles a rollup that
// commits meanwhile. SQLite has one writer at a time anyway.
const peopleLockKey = 0x70617665_64000001

// lockPeople takes the lock for the rest of tx, shared or alone.
func lockPeople(ctx context.Context, tx *sqlx.Tx, d db.Dialect, shared bool) error {
	if d != db.Postgres {
		return nil
	}
	fn := "pg_advisory_xact_lock"
	if shared {
		fn += "_shared"
	}
	if _, err := tx.ExecContext(ctx, "SELECT "+fn+"($1)", int64(peopleLockKey)); err != nil {
		return fmt.Errorf("lock usage: %w", err)
	}
	return nil
}

// recountPeople rebuilds the people of the given discovered apps from the per-identifier
// rollups, each person once however many identifiers and sources they were seen through.
func recountPeople(ctx context.Context, tx *sqlx.Tx, appIDs []int64) error {
	appIDs = slices.Compact(slices.Sorted(slices.Values(appIDs)))
	for start := 0; start < len(appIDs); start += 500 {
		part := appIDs[start:min(start+500, len(appIDs))]
		del, args, err := sqlx.In("DELETE FROM usage_discovered_users WHERE discovered_app_id IN (?)", part)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(del), args...); err != nil {
			return fmt.Errorf("recount people: %w", err)
		}
		ins, args, err := sqlx.In(`INSERT INTO usage_discovered_users (discovered_app_id, user_key, first_used, last_used, last_seen, events, failures)
			SELECT i.discovered_app_id, COALESCE(p.email, u.user_key), MIN(u.first_used), MAX(u.last_used), MAX(u.last_seen), SUM(u.events), SUM(u.failures)
			FROM usage_app_users u JOIN discovered_identifiers i ON i.app_key = u.app_key LEFT JOIN person_ids p ON p.user_key = u.user_key
			WHERE i.discovered_app_id IN (?) GROUP BY i.discovered_app_id, COALESCE(p.email, u.user_key)`, part)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(ins), args...); err != nil {
			return fmt.Errorf("recount people: %w", err)
		}
	}
	return nil
}

// recountPeopleOf recounts, at the end of run runID, the people of the discovered apps of the
// identifiers whose people its rollups left out (see rollUpRun), and of the apps where people
// were counted under user ids that it has since tied to e-mails, so each of them becomes one
// person with their other sign-ins; then the run's people are counted. Recounting reads the
// per-identifier rollups, which are complete, so it is right whatever other imports, merges and
// splits did meanwhile.
func (s *Store) recountPeopleOf(ctx context.Context, runID int64, idents, learned map[string]bool) error {
	if len(idents) == 0 && len(learned) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := lockPeople(ctx, tx, s.db.Dialect, false); err != nil {
			return err
		}
		var apps []int64
		for _, c := range []struct {
			q    string
			keys map[string]bool
		}{
			{"SELECT DISTINCT discovered_app_id FROM discovered_identifiers WHERE discovered_app_id IS NOT NULL AND app_key IN (?)", idents},
			{"SELECT DISTINCT discovered_app_id FROM usage_discovered_users WHERE user_key IN (?)", learned},
		} {
			keys := slices.Sorted(maps.Keys(c.keys))
			for start := 0; start < len(keys); start += 500 {
				q, args, err := sqlx.In(c.q, keys[start:min(start+500, len(keys))])
				if err != nil {
					return err
				}
				var part []int64
				if err := tx.SelectContext(ctx, &part, tx.Rebind(q), args...); err != nil {
					return fmt.Errorf("find people to recount: %w", err)
				}
				apps = append(apps, part...)
			}
		}
		if err := recountPeople(ctx, tx, apps); err != nil {
			return err
		}
		if len(idents) == 0 {
			return nil
		}
		return clearPeoplePending(ctx, tx, runID)
	})
}
