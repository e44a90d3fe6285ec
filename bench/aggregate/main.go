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

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
)

type config struct {
	events, users, apps, days int
	seed                      uint64
	keep                      bool
	conditions, onlyConds     bool
	profile                   string
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
	flag.BoolVar(&cfg.conditions, "conditions", false, "also make every app conditioned, add a people directory of -users people, and time evaluating every condition against the dashboard list")
	flag.StringVar(&cfg.profile, "cpuprofile", "", "with -conditions: write a CPU profile of the timed evaluations to this file (.SQLite or .PostgreSQL appended)")
	flag.BoolVar(&cfg.onlyConds, "only-conditions", false, "with -conditions: skip the before/now lists, the other queries and the raw-event reference")
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

	if cfg.conditions && cfg.onlyConds {
		r, err := benchConditions(ctx, cfg, label, d, st, apps, now)
		return append(rows, r...), err
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
	if cfg.conditions {
		r, err := benchConditions(ctx, cfg, label, d, st, apps, now)
		return append(rows, r...), err
	}
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
