// Command aggregate measures discovery's usage aggregation at scale, on SQLite and PostgreSQL:
//
//   - it fills a fresh database with N synthetic events (generated in SQL, all in one import
//     run) for A discovered apps, each seen under one to four identifiers (an Okta app
//     instance, an Entra application id, a Google OAuth client, a domain in a proxy CSV log;
//     about 2.5 per app): Zipf-shaped app popularity, each app used by an audience that shrinks
//     with its rank and overlaps from one identifier of the app to the next, times spread over
//     the last D days, ~5% failures; the identifiers, discovered apps and resolution keys are
//     recorded as an import records them;
//   - it times discovery.Store.RollUpPending over all of them at once, the worst case (an
//     import of everything in one run), which also counts each app's people once across its
//     identifiers;
//   - it times the dashboard list (Store.Apps: one row per discovered app, people merged
//     across identifiers) side by side with the list as it was before discovered apps existed
//     (one row per identifier from the per-identifier rollups, the same SQL on a table of the
//     same shape), alternating the two, p50/p95 of 20 runs each after 2 warm-ups, with each
//     filter; then the other dashboard queries;
//   - it recounts every discovered app's people and events from the raw events (each person
//     once over the app's identifiers) and checks the rollups' figures against them, app by app.
//
// PostgreSQL comes from PAVED_TEST_POSTGRES_URL (a database of its own is created and dropped);
// it is skipped with a message when the variable is unset.
//
//	make bench-aggregate                         # 10,000,000 events, PostgreSQL from the test harness
//	make bench-aggregate ARGS='-events 200000'
//	go run ./bench/aggregate -events 200000 -dialects sqlite
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
)

type config struct {
	events, users, apps, days int
	seed                      uint64
	keep                      bool
}

// row is one line of the printed table.
type row struct {
	db, what, runs, p50, p95, note string
}

func main() {
	var cfg config
	flag.IntVar(&cfg.events, "events", 10_000_000, "raw usage events to generate")
	flag.IntVar(&cfg.users, "users", 20_000, "people in the simulated organisation")
	flag.IntVar(&cfg.apps, "apps", 1000, "discovered apps (each seen under 1 to 4 identifiers, 2.5 on average)")
	flag.IntVar(&cfg.days, "days", 180, "days the events are spread over, up to now")
	flag.Uint64Var(&cfg.seed, "seed", 20240305, "generator seed (the same seed gives the same events in both databases)")
	dialects := flag.String("dialects", "sqlite,postgres", "databases to measure, comma-separated")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the databases (the SQLite folder, the PostgreSQL database)")
	flag.Parse()
	if err := run(context.Background(), cfg, strings.Split(*dialects, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "bench/aggregate:", err)
		os.Exit(1)
	}
}
func run(ctx context.Context, cfg config, dialects []string) error {
	if cfg.events < 1 || cfg.users < 2 || cfg.apps < 2 || cfg.days < 1 {
		return errors.New("-events, -days must be ≥ 1, -users and -apps ≥ 2")
	}
	var rows []row
	for _, name := range dialects {
		var (
			r   []row
			err error
		)
		switch strings.TrimSpace(name) {
		case "sqlite":
			r, err = benchSQLite(ctx, cfg)
		case "postgres":
			base := os.Getenv("PAVED_TEST_POSTGRES_URL")
			if base == "" {
				fmt.Fprintln(os.Stderr, "PostgreSQL skipped: PAVED_TEST_POSTGRES_URL is unset (use make bench-aggregate)")
				r = []row{{db: "PostgreSQL", what: "skipped", note: "PAVED_TEST_POSTGRES_URL is unset (use make bench-aggregate)"}}
				break
			}
			r, err = benchPostgres(ctx, cfg, base)
		default:
			err = fmt.Errorf("unknown dialect %q (want sqlite or postgres)", name)
		}
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}

	fmt.Printf("\nUsage aggregation: %d events, %d users, %d apps (Zipf) under %d identifiers, %d days; %d CPUs, %s, %s/%s\n\n",
		cfg.events, cfg.users, cfg.apps, identCount(cfg.apps), cfg.days, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tMEASURE\tRUNS\tP50\tP95\tNOTES")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.db, r.what, r.runs, r.p50, r.p95, r.note)
	}
	return tw.Flush()
}

func benchSQLite(ctx context.Context, cfg config) ([]row, error) {
	dir, err := os.MkdirTemp("", "paved-bench-aggregate-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "keeping", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	path := filepath.Join(dir, "paved.db")
	d, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: path})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rows, err := benchDB(ctx, cfg, "SQLite", d)
	if err != nil {
		return nil, err
	}
	// Fold the WAL into the file so its size is the database's.
	if _, err := d.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if info, err := os.Stat(path); err == nil {
		rows = append(rows, row{db: "SQLite", what: "database file", note: fmt.Sprintf("%.0f MB", float64(info.Size())/1e6)})
	}
	return rows, nil
}

func benchPostgres(ctx context.Context, cfg config, base string) ([]row, error) {
	admin, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "bench_aggregate_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	if cfg.keep {
		fmt.Fprintln(os.Stderr, "keeping PostgreSQL database", name)
	} else {
		defer func() {
			if _, err := admin.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
				fmt.Fprintln(os.Stderr, "bench/aggregate: drop database:", err)
			}
		}()
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parse PAVED_TEST_POSTGRES_URL: %w", err)
	}
	u.Path = "/" + name
	d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: u.String()})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rows, err := benchDB(ctx, cfg, "PostgreSQL", d)
	if err != nil {
		return nil, err
	}
	var size int64
	if err := d.GetContext(ctx, &size, "SELECT pg_database_size(current_database())"); err != nil {
		return nil, fmt.Errorf("database size: %w", err)
	}
	return append(rows, row{db: "PostgreSQL", what: "database size", note: fmt.Sprintf("%.0f MB", float64(size)/1e6)}), nil
}

// benchDB generates the events into a migrated copy of d, rolls them up and times the queries.
func benchDB(ctx context.Context, cfg config, label string, d *db.DB) ([]row, error) {
	if _, err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	var rows []row
	add := func(what, runs, p50, p95, note string) {
		rows = append(rows, row{label, what, runs, p50, p95, note})
	}

	fmt.Fprintf(os.Stderr, "%s: generating %d events…\n", label, cfg.events)
	start := time.Now()
	apps, err := generate(ctx, cfg, d, now)
	if err != nil {
		return nil, fmt.Errorf("%s: generate: %w", label, err)
	}
	gen := time.Since(start)
	fmt.Fprintf(os.Stderr, "%s: generated in %s\n", label, gen.Round(time.Millisecond))
	note := fmt.Sprintf("%.0f events/s, with the indexes", float64(cfg.events)/gen.Seconds())
	if d.Dialect == db.Postgres {
		note += " and VACUUM ANALYZE"
	}
	add("generate events (SQL)", "1", dur(gen), "", note)

	st := discovery.NewStore(d)
	// The queries' windows end at the generator's now, like the raw reference's, so the two
	// can be compared exactly.
	st.Now = func() time.Time { return now }
	fmt.Fprintf(os.Stderr, "%s: RollUpPending…\n", label)
	start = time.Now()
	if err := st.RollUpPending(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	roll := time.Since(start)
	fmt.Fprintf(os.Stderr, "%s: rolled up in %s\n", label, roll.Round(time.Millisecond))
	add("RollUpPending (all events, one run)", "1", dur(roll), "", fmt.Sprintf("%.0f events/s", float64(cfg.events)/roll.Seconds()))
	if err := makeBeforeTable(ctx, d); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	if d.Dialect == db.Postgres {
		// Autovacuum would analyze the fresh rollups within a minute; don't time plans made blind.
		if _, err := d.ExecContext(ctx, `ANALYZE usage_app_users; ANALYZE usage_app_days; ANALYZE discovered_app_sources;
			ANALYZE usage_discovered_users; ANALYZE discovered_identifiers; ANALYZE discovered_apps; ANALYZE bench_before_apps`); err != nil {
			return nil, fmt.Errorf("%s: analyze: %w", label, err)
		}
	}

	// The dashboard list, per discovered app (now) and per identifier (before), alternating.
	const warm, runs = 2, 20
	lists := []struct {
		name   string
		filter discovery.AppFilter
	}{
		{"no filter, limit 200", discovery.AppFilter{Limit: 200}},
		{"{Source: okta}", discovery.AppFilter{Source: "okta"}},
		{"{ShadowOnly}", discovery.AppFilter{ShadowOnly: true}},
		{"{Triage: new}", discovery.AppFilter{Triage: discovery.TriageNew}},
	}
	for _, l := range lists {
		fmt.Fprintf(os.Stderr, "%s: dashboard list %s, before and now…\n", label, l.name)
		var nowN, beforeN int
		before, after, err := sideBySide(warm, runs, func() error {
			a, err := beforeApps(ctx, d, now, l.filter)
			beforeN = len(a)
			return err
		}, func() error {
			a, err := st.Apps(ctx, l.filter)
			nowN = len(a)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: list %s: %w", label, l.name, err)
		}
		b50, a50 := pct(before, 50), pct(after, 50)
		add("list "+l.name+": before (per identifier)", fmt.Sprint(runs), dur(b50), dur(pct(before, 95)), fmt.Sprintf("%d identifiers", beforeN))
		add("list "+l.name+": now (per app)", fmt.Sprint(runs), dur(a50), dur(pct(after, 95)),
			fmt.Sprintf("%d apps; now/before %.2f× (p50), %.2f× (p95)", nowN, a50.Seconds()/b50.Seconds(), pct(after, 95).Seconds()/pct(before, 95).Seconds()))
	}

	top := apps[0]
	user := userKey(int(top.off))
	queries := []struct {
		name string
		fn   func() (string, error)
	}{
		{"Apps {Sort: risk, WithSources}", func() (string, error) {
			a, err := st.Apps(ctx, discovery.AppFilter{Sort: discovery.SortRisk, WithSources: true})
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"App (top app, with its sources)", func() (string, error) {
			a, err := st.App(ctx, top.id)
			return fmt.Sprintf("%d users in 30 d, %d all time, %d identifiers", a.Users30, a.UsersAll, len(a.Sources)), err
		}},
		{"Users (top app)", func() (string, error) {
			u, err := st.Users(ctx, top.id)
			return fmt.Sprintf("%d rows", len(u)), err
		}},
		{"Daily (top app, 30 days)", func() (string, error) {
			days, err := st.Daily(ctx, top.id, 30)
			return fmt.Sprintf("%d days", len(days)), err
		}},
		{"MyUnapprovedApps (one user)", func() (string, error) {
			a, err := st.MyUnapprovedApps(ctx, user)
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"ActiveUsers (nil, top app name)", func() (string, error) {
			n, err := st.ActiveUsers(ctx, nil, top.name)
			return fmt.Sprintf("%d users", n), err
		}},
		{"Overview", func() (string, error) {
			o, err := st.Overview(ctx)
			return fmt.Sprintf("%d shadow apps, %d people", o.ShadowApps, o.ShadowPeople), err
		}},
	}
	for _, q := range queries {
		fmt.Fprintf(os.Stderr, "%s: %s…\n", label, q.name)
		times, note, err := measure(warm, runs, q.fn)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", label, q.name, err)
		}
		add(q.name, fmt.Sprint(runs), dur(pct(times, 50)), dur(pct(times, 95)), note)
	}

	fmt.Fprintf(os.Stderr, "%s: every app recounted from raw events (reference)…\n", label)
	start = time.Now()
	raw, err := rawApps(ctx, d, now)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	rawTime := time.Since(start)
	check, err := compare(ctx, st, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	add("reference: every app from raw usage_events", "1", dur(rawTime), "", check)
	if _, err := d.ExecContext(ctx, "DROP TABLE bench_before_apps"); err != nil {
		return nil, fmt.Errorf("%s: drop the before table: %w", label, err)
	}

	for _, t := range []string{"usage_events", "discovered_identifiers", "discovered_apps", "discovered_app_keys",
		"usage_app_users", "usage_discovered_users", "usage_app_days", "discovered_app_sources"} {
		var n int64
		if err := d.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+t); err != nil {
			return nil, fmt.Errorf("%s: count %s: %w", label, t, err)
		}
		add("rows in "+t, "", "", "", fmt.Sprintf("%d", n))
	}
	var mix struct {
		Failures int64 `db:"failures"`
		Grants   int64 `db:"grants"`
		Unknown  int64 `db:"unknown"`
	}
	if err := d.GetContext(ctx, &mix, `SELECT COUNT(CASE WHEN outcome = 'failure' THEN 1 END) AS failures,
		COUNT(CASE WHEN kind = 'oauth_grant' THEN 1 END) AS grants, COUNT(CASE WHEN outcome = 'unknown' THEN 1 END) AS unknown FROM usage_events`); err != nil {
		return nil, fmt.Errorf("%s: event mix: %w", label, err)
	}
	pc := func(n int64) float64 { return 100 * float64(n) / float64(cfg.events) }
	add("event mix", "", "", "", fmt.Sprintf("%.1f%% failures, %.1f%% OAuth grants, %.1f%% proxy records (outcome unknown)",
		pc(mix.Failures), pc(mix.Grants), pc(mix.Unknown)))
	return rows, nil
}

// measure runs fn warm times untimed, then runs times timed; it returns the durations and the
// last run's note.
func measure(warm, runs int, fn func() (string, error)) ([]time.Duration, string, error) {
	for range warm {
		if _, err := fn(); err != nil {
			return nil, "", err
		}
	}
	var (
		times []time.Duration
		note  string
	)
	for range runs {
		start := time.Now()
		n, err := fn()
		if err != nil {
			return nil, "", err
		}
		times = append(times, time.Since(start))
		note = n
	}
	return times, note, nil
}

// sideBySide runs a and b warm times each untimed, then runs times each, alternating which
// goes first, so that both see the same machine; it returns their durations.
func sideBySide(warm, runs int, a, b func() error) (ta, tb []time.Duration, err error) {
	for range warm {
		if err := a(); err != nil {
			return nil, nil, err
		}
		if err := b(); err != nil {
			return nil, nil, err
		}
	}
	timed := func(fn func() error, into *[]time.Duration) error {
		start := time.Now()
		if err := fn(); err != nil {
			return err
		}
		*into = append(*into, time.Since(start))
		return nil
	}
	for i := range runs {
		first, second := func() error { return timed(a, &ta) }, func() error { return timed(b, &tb) }
		if i%2 == 1 {
			first, second = second, first
		}
		if err := first(); err != nil {
			return nil, nil, err
		}
		if err := second(); err != nil {
			return nil, nil, err
		}
	}
	return ta, tb, nil
}

// pct is the p-th percentile of ts by the nearest-rank method.
func pct(ts []time.Duration, p int) time.Duration {
	s := slices.Sorted(slices.Values(ts))
	i := (p*len(s)+99)/100 - 1
	return s[max(i, 0)]
}

func dur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

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

// benchIdent is one identifier of a generated app, and the source whose events name it.
type benchIdent struct {
	key, name, source, kind string
}

// benchApp is one generated discovered app. Its audience is off, off+1, … off+pop-1 (modulo
// the users), shifted by pop/3 from one of its identifiers to the next, so the people seen
// under two identifiers of an app overlap without being the same.
type benchApp struct {
	id       int64
	name     string
	pop, off int64
	idents   []benchIdent
	catalog  bool
}

func userKey(i int) string { return fmt.Sprintf("user%06d@northwind.example", i) }

// identsOf returns the identifiers app i is seen under: always an Okta app instance; an Entra
// application id for three apps in four; a Google OAuth client for every other app; a domain
// in a proxy log for one app in four (2.5 identifiers an app on average): 4, 2, 3 or 1 by i
// mod 4, which eventsSQL relies on.
func identsOf(i int, name string) []benchIdent {
	ids := []benchIdent{{discovery.KeyOkta + fmt.Sprintf("0oa%017d", i), name, "okta", "sso_login"}}
	if i%4 != 3 {
		ids = append(ids, benchIdent{discovery.KeyEntra + fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), name, "entra", "sso_login"})
	}
	if i%2 == 0 {
		ids = append(ids, benchIdent{discovery.KeyGoogle + fmt.Sprintf("%d-bench.apps.googleusercontent.com", 100000+i), name, "google", "oauth_grant"})
	}
	if i%4 == 0 {
		ids = append(ids, benchIdent{discovery.KeyDomain + fmt.Sprintf("app%04d-bench.example", i), "", "csv", "sso_login"})
	}
	return ids
}

// identCount is how many identifiers apps apps have.
func identCount(apps int) int {
	n := 0
	for i := range apps {
		n += len(identsOf(i, ""))
	}
	return n
}

// Constants of the SQL pseudo-random numbers: r_k(n) = ((n·A_k + S_k) mod M) / M, one stream
// per k. Deterministic, so the same seed gives the same events in both databases, and products
// stay below 2^63 in both (SQLite would turn an overflow into a float, PostgreSQL fail).
const modulus = 2147483647

var multipliers = [...]int64{1583458089, 784588716, 1222621691, 950706376, 1036675201}

// generate stores cfg.events events in one import run, with their identifiers, discovered
// apps and resolution keys as an import records them, and links every fifth app to an
// approved catalogue app. It returns the apps, most popular first.
func generate(ctx context.Context, cfg config, d *db.DB, now time.Time) ([]benchApp, error) {
	apps := make([]benchApp, cfg.apps)
	for i := range apps {
		name := fmt.Sprintf("Bench App %04d", i)
		// An app's audience shrinks with its rank, so people use a few dozen apps, not all.
		pop := max(int64(cfg.users)*4/int64(i+4), min(50, int64(cfg.users)))
		apps[i] = benchApp{name: name, pop: pop, off: int64(i) * 7919 % int64(cfg.users), idents: identsOf(i, name), catalog: i%5 == 1}
		if n := [...]int{4, 2, 3, 1}[i%4]; len(apps[i].idents) != n {
			return nil, fmt.Errorf("app %d has %d identifiers, eventsSQL expects %d", i, len(apps[i].idents), n)
		}
	}

	var runID int64
	if err := d.GetContext(ctx, &runID, d.Rebind(`INSERT INTO import_runs (source, format, file_name, status, started_at, finished_at, read_count, new_count)
		VALUES ('okta', 'okta', 'bench', 'finished', ?, ?, ?, ?) RETURNING id`), now, now, cfg.events, cfg.events); err != nil {
		return nil, fmt.Errorf("import run: %w", err)
	}
	// A scratch table the generator joins on: app index·4 + identifier index → identifier,
	// source and the app's audience.
	if _, err := d.ExecContext(ctx, `CREATE TABLE bench_idents (id INTEGER PRIMARY KEY, k INTEGER NOT NULL,
		app_key TEXT NOT NULL, display_name TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, pop BIGINT NOT NULL, off BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("scratch table: %w", err)
	}
	first := db.Time(now.AddDate(0, 0, -cfg.days))
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO categories (slug, name) VALUES ('bench', 'Bench')`); err != nil {
			return fmt.Errorf("category: %w", err)
		}
		for i := range apps {
			a := &apps[i]
			var catalogID *int64
			triage, rkeys := discovery.TriageNew, []string{discovery.KeyName + discovery.NormalizeAppName(a.name)}
			if a.catalog {
				var id int64
				if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES (?, ?, 'bench', 'approved', ?, ?) RETURNING id`),
					fmt.Sprintf("bench-app-%04d", i), a.name, now, now); err != nil {
					return fmt.Errorf("catalogue app: %w", err)
				}
				catalogID, triage, rkeys = &id, discovery.TriageSanctioned, []string{fmt.Sprintf("catalog:%d", id)}
			}
			if err := tx.GetContext(ctx, &a.id, tx.Rebind(`INSERT INTO discovered_apps (display_name, app_id, triage, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) RETURNING id`),
				a.name, catalogID, triage, first, now); err != nil {
				return fmt.Errorf("discovered app: %w", err)
			}
			for k, id := range a.idents {
				name := id.name
				if name == "" { // a proxy log names the domain only; it resolves by its registrable domain
					name = strings.TrimPrefix(id.key, discovery.KeyDomain)
					if !a.catalog {
						rkeys = append(rkeys, discovery.KeyName+discovery.NormalizeAppName(discovery.RegistrableDomain(name)))
					}
				}
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO bench_idents (id, k, app_key, display_name, source, kind, pop, off) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
					4*i+k, k, id.key, name, id.source, id.kind, a.pop, a.off); err != nil {
					return fmt.Errorf("scratch identifier: %w", err)
				}
				// Span from the events, below.
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO discovered_identifiers (app_key, display_name, app_id, discovered_app_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)`),
					id.key, name, catalogID, a.id, first, now); err != nil {
					return fmt.Errorf("identifier: %w", err)
				}
			}
			for _, k := range rkeys {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO discovered_app_keys (key, discovered_app_id) VALUES (?, ?)`), k, a.id); err != nil {
					return fmt.Errorf("resolution key: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// SQLite: a bigger page cache while generating, on one connection, restored before it goes
	// back to the pool so that the rollup and the queries run with the app's settings.
	conn, err := d.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	defer conn.Close()
	if d.Dialect == db.SQLite {
		var cache int64
		if err := conn.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
			return nil, fmt.Errorf("cache size: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = -1048576"); err != nil {
			return nil, fmt.Errorf("cache size: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.Background(), fmt.Sprintf("PRAGMA cache_size = %d", cache)) }()
	}
	const chunk = 500_000 // rows per statement (and transaction): progress, and a bounded WAL
	started := time.Now()
	for lo := 0; lo < cfg.events; lo += chunk {
		hi := min(lo+chunk, cfg.events)
		if _, err := conn.ExecContext(ctx, eventsSQL(d.Dialect, cfg, runID, now, lo, hi)); err != nil {
			return nil, fmt.Errorf("events %d–%d: %w", lo, hi, err)
		}
		fmt.Fprintf(os.Stderr, "  %d/%d (%s)\n", hi, cfg.events, time.Since(started).Round(time.Second))
	}
	// What an import's batches record as they commit, and what the rollup reads up to.
	if _, err := conn.ExecContext(ctx, d.Rebind("UPDATE import_runs SET last_event_id = (SELECT MAX(id) FROM usage_events WHERE import_run_id = ?) WHERE id = ?"), runID, runID); err != nil {
		return nil, fmt.Errorf("last event id: %w", err)
	}
	// Each identifier's span is its events', as an import records it: one pass over the events.
	type span struct {
		key         string
		first, last db.Timestamp
	}
	var spans []span
	rs, err := conn.QueryContext(ctx, d.Rebind(`SELECT app_key, MIN(occurred_at), MAX(occurred_at) FROM usage_events WHERE import_run_id = ? GROUP BY app_key`), runID)
	if err != nil {
		return nil, fmt.Errorf("identifier spans: %w", err)
	}
	for rs.Next() {
		var sp span
		if err := rs.Scan(&sp.key, &sp.first, &sp.last); err != nil {
			rs.Close()
			return nil, fmt.Errorf("identifier spans: %w", err)
		}
		spans = append(spans, sp)
	}
	if err := errors.Join(rs.Err(), rs.Close()); err != nil {
		return nil, fmt.Errorf("identifier spans: %w", err)
	}
	for _, sp := range spans {
		if _, err := conn.ExecContext(ctx, d.Rebind("UPDATE discovered_identifiers SET first_seen = ?, last_seen = ? WHERE app_key = ?"),
			db.Time(sp.first.Time), db.Time(sp.last.Time), sp.key); err != nil {
			return nil, fmt.Errorf("identifier span: %w", err)
		}
	}
	fmt.Fprintf(os.Stderr, "  identifier spans recorded (%s)\n", time.Since(started).Round(time.Second))
	if _, err := conn.ExecContext(ctx, "DROP TABLE bench_idents"); err != nil {
		return nil, fmt.Errorf("drop scratch table: %w", err)
	}
	if d.Dialect == db.Postgres {
		// What autovacuum would have done by the time anyone looks: hint bits, visibility map, stats.
		if _, err := conn.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return nil, fmt.Errorf("vacuum: %w", err)
		}
	}
	return apps, nil
}

// eventsSQL inserts events lo…hi-1 in one statement.
func eventsSQL(d db.Dialect, cfg config, runID int64, now time.Time, lo, hi int) string {
	r := func(k int) string {
		s := (cfg.seed + uint64(k+1)*0x9E3779B97F4A7C15) % modulus
		if d == db.Postgres {
			return fmt.Sprintf("((n * %d + %d) %% %d)::float8 / %d", multipliers[k], s, modulus, modulus)
		}
		return fmt.Sprintf("((n * %d + %d) %% %d) * 1.0 / %d", multipliers[k], s, modulus, modulus)
	}
	// trunc is floor for non-negative numbers (PostgreSQL's CAST rounds).
	trunc := func(x string) string {
		if d == db.Postgres {
			return "floor(" + x + ")::bigint"
		}
		return "CAST(" + x + " AS INTEGER)"
	}
	span := int64(cfg.days) * 86400
	var series, pad, at string
	if d == db.Postgres {
		series = fmt.Sprintf("generate_series(%d::bigint, %d) AS s(n)", lo, hi-1)
		pad = "lpad((%s)::text, %d, '0')"
		at = fmt.Sprintf("to_timestamp(%d - r.t)", now.Unix())
	} else {
		series = fmt.Sprintf("(WITH RECURSIVE seq(n) AS (SELECT %d UNION ALL SELECT n + 1 FROM seq WHERE n < %d) SELECT n FROM seq)", lo, hi-1)
		pad = "printf('%%0%[2]dd', %[1]s)"
		// The text form the driver writes for a UTC time.Time (see db.Open's _time_format).
		at = fmt.Sprintf("strftime('%%Y-%%m-%%d %%H:%%M:%%S', %d - r.t, 'unixepoch') || '+00:00'", now.Unix())
	}
	cube := "a * a * a"
	// App rank ~ apps·U³: Zipf-like, the top app gets ~1/10 of the events with 1,000 apps. The
	// identifier is uniform among the app's (12 is a multiple of 1…4), the person uniform
	// within the identifier's audience. ~5% fail; a proxy log records the rest as unknown.
	return fmt.Sprintf(`INSERT INTO usage_events (source, source_event_id, occurred_at, user_key, app_key, app_name, kind, outcome, ip, import_run_id)
		SELECT b.source,
			%[1]s,
			%[2]s,
			'user' || %[3]s || '@northwind.example',
			b.app_key, b.display_name, b.kind,
			CASE WHEN r.f < 0.05 THEN 'failure' WHEN b.source = 'csv' THEN 'unknown' ELSE 'success' END,
			'', %[4]d
		FROM (SELECT n, u, t, f, ai * 4 + %[12]s %% (CASE ai %% 4 WHEN 0 THEN 4 WHEN 1 THEN 2 WHEN 2 THEN 3 ELSE 1 END) AS ident
			FROM (SELECT n, %[11]s AS ai, %[6]s AS u, %[7]s AS t, %[8]s AS f, %[9]s AS g
				FROM (SELECT n, %[5]s AS a FROM %[10]s) r0) r1) r
		CROSS JOIN bench_idents b
		WHERE b.id = r.ident`,
		fmt.Sprintf(pad, "r.n", 10),
		at,
		fmt.Sprintf(pad, "(b.off + b.k * (b.pop / 3) + "+trunc("b.pop * r.u")+") % "+fmt.Sprint(cfg.users), 6),
		runID,
		r(0), r(1), trunc(r(2)+" * "+fmt.Sprint(span)), r(3), r(4),
		series,
		trunc(fmt.Sprintf("%d * %s", cfg.apps, cube)),
		trunc("g * 12"))
}
