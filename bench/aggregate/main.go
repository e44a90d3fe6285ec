// Command aggregate measures discovery's usage aggregation at scale, on SQLite and PostgreSQL:
//
//   - it fills a fresh database with N synthetic events (generated in SQL, all in one import
//     run: Zipf-shaped app popularity, each app used by an audience that shrinks with its
//     rank, times spread over the last D days, ~5% failures, ~3% OAuth grants);
//   - it times discovery.Store.RollUpPending over all of them at once, the worst case (an
//     import of everything in one run);
//   - it times the dashboard's queries on the rollups (p50/p95 of 20 runs after 2 warm-ups)
//     and, as the reference, the dashboard list computed from the raw events the way it was
//     before the rollups (3 runs), whose results it also checks against the rollups'.
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
	flag.IntVar(&cfg.apps, "apps", 400, "discovered apps")
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

	fmt.Printf("\nUsage aggregation: %d events, %d users, %d apps (Zipf), %d days; %d CPUs, %s, %s/%s\n\n",
		cfg.events, cfg.users, cfg.apps, cfg.days, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
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
	if d.Dialect == db.Postgres {
		// Autovacuum would analyze the fresh rollups within a minute; don't time plans made blind.
		if _, err := d.ExecContext(ctx, "ANALYZE usage_app_users; ANALYZE usage_app_days; ANALYZE discovered_app_sources"); err != nil {
			return nil, fmt.Errorf("%s: analyze: %w", label, err)
		}
	}

	top := apps[0]
	user := userKey(int(top.off))
	topID, err := st.AppOfIdentifier(ctx, top.key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	queries := []struct {
		name string
		fn   func() (string, error)
	}{
		{"Apps (no filter, limit 200)", func() (string, error) {
			a, err := st.Apps(ctx, discovery.AppFilter{Limit: 200})
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"Apps {Source: okta}", func() (string, error) {
			a, err := st.Apps(ctx, discovery.AppFilter{Source: "okta"})
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"Apps {ShadowOnly}", func() (string, error) {
			a, err := st.Apps(ctx, discovery.AppFilter{ShadowOnly: true})
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"Apps {Triage: new}", func() (string, error) {
			a, err := st.Apps(ctx, discovery.AppFilter{Triage: discovery.TriageNew})
			return fmt.Sprintf("%d apps", len(a)), err
		}},
		{"App (top app)", func() (string, error) {
			a, err := st.App(ctx, topID)
			return fmt.Sprintf("%d users in 30 d, %d all time", a.Users30, a.UsersAll), err
		}},
		{"Users (top app)", func() (string, error) {
			u, err := st.Users(ctx, topID)
			return fmt.Sprintf("%d rows", len(u)), err
		}},
		{"Daily (top app, 30 days)", func() (string, error) {
			days, err := st.Daily(ctx, topID, 30)
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
	}
	const warm, runs = 2, 20
	var listP50 time.Duration
	for _, q := range queries {
		fmt.Fprintf(os.Stderr, "%s: %s…\n", label, q.name)
		times, note, err := measure(warm, runs, q.fn)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", label, q.name, err)
		}
		if listP50 == 0 {
			listP50 = pct(times, 50)
		}
		add(q.name, fmt.Sprintf("%d", runs), dur(pct(times, 50)), dur(pct(times, 95)), note)
	}

	fmt.Fprintf(os.Stderr, "%s: dashboard list from raw events (reference)…\n", label)
	var raw []discovery.DiscoveredApp
	times, _, err := measure(0, 3, func() (string, error) {
		var err error
		raw, err = rawApps(ctx, d, now)
		return "", err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: raw dashboard list: %w", label, err)
	}
	rolled, err := st.Apps(ctx, discovery.AppFilter{Limit: 200})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	add("reference: Apps from raw usage_events", "3", dur(pct(times, 50)), dur(slices.Max(times)),
		fmt.Sprintf("raw/rollup %.0f× (p50); %s", pct(times, 50).Seconds()/listP50.Seconds(), compare(raw, rolled)))

	for _, t := range []string{"usage_events", "usage_app_users", "usage_app_days", "discovered_app_sources", "discovered_apps"} {
		var n int64
		if err := d.GetContext(ctx, &n, "SELECT COUNT(*) FROM "+t); err != nil {
			return nil, fmt.Errorf("%s: count %s: %w", label, t, err)
		}
		add("rows in "+t, "", "", "", fmt.Sprintf("%d", n))
	}
	var mix struct {
		Failures int64 `db:"failures"`
		Grants   int64 `db:"grants"`
	}
	if err := d.GetContext(ctx, &mix, `SELECT COUNT(CASE WHEN outcome = 'failure' THEN 1 END) AS failures,
		COUNT(CASE WHEN kind = 'oauth_grant' THEN 1 END) AS grants FROM usage_events`); err != nil {
		return nil, fmt.Errorf("%s: event mix: %w", label, err)
	}
	add("event mix", "", "", "", fmt.Sprintf("%.1f%% failures, %.1f%% OAuth grants",
		100*float64(mix.Failures)/float64(cfg.events), 100*float64(mix.Grants)/float64(cfg.events)))
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

// rawApps is the dashboard list as it was computed before the rollups: every app joined to all
// its raw events and grouped.
func rawApps(ctx context.Context, d *db.DB, now time.Time) ([]discovery.DiscoveredApp, error) {
	const usage = `e.outcome IN ('success', 'unknown') AND e.kind <> 'oauth_revoke'`
	q := `SELECT d.app_key, d.display_name, d.app_id, a.slug, a.name AS app_name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users7,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users30,
		COUNT(DISTINCT CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN e.user_key END) AS users90,
		COUNT(DISTINCT CASE WHEN ` + usage + ` THEN e.user_key END) AS users_all,
		COUNT(CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN 1 END) AS events7,
		COUNT(CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN 1 END) AS events30,
		COUNT(CASE WHEN e.occurred_at >= ? AND ` + usage + ` THEN 1 END) AS events90,
		COUNT(CASE WHEN ` + usage + ` THEN 1 END) AS events_all,
		COUNT(CASE WHEN e.outcome = 'failure' THEN 1 END) AS failures
		FROM discovered_apps d LEFT JOIN apps a ON a.id = d.app_id LEFT JOIN usage_events e ON e.app_key = d.app_key
		GROUP BY d.app_key, d.display_name, d.app_id, a.slug, a.name, a.status, d.triage, d.note, d.assignee, d.first_seen, d.last_seen
		ORDER BY users30 DESC, events30 DESC, d.display_name LIMIT 200`
	var args []any
	for range 2 {
		for _, days := range []int{7, 30, 90} {
			args = append(args, db.Time(now.AddDate(0, 0, -days)))
		}
	}
	var out []discovery.DiscoveredApp
	if err := d.SelectContext(ctx, &out, d.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("raw dashboard list: %w", err)
	}
	return out, nil
}

// compare checks the rollups' dashboard list against the raw one, app by app. Event counts over
// a window are left out: the rollups count whole UTC days, the raw query exact times.
func compare(raw, rolled []discovery.DiscoveredApp) string {
	byKey := map[string]discovery.DiscoveredApp{}
	for _, a := range raw {
		byKey[a.Name] = a
	}
	checked, bad := 0, 0
	var first string
	for _, a := range rolled {
		r, ok := byKey[a.Name]
		if !ok {
			continue
		}
		checked++
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
		return fmt.Sprintf("MISMATCH in %d of %d apps%s", bad, checked, first)
	}
	return fmt.Sprintf("users and all-time counts match for %d apps", checked)
}

// benchApp is one generated app. Its audience is off, off+1, … off+pop-1 (modulo the users).
type benchApp struct {
	key, name string
	pop, off  int64
}

func userKey(i int) string { return fmt.Sprintf("user%06d@northwind.example", i) }

// Constants of the SQL pseudo-random numbers: r_k(n) = ((n·A_k + S_k) mod M) / M, one stream
// per k. Deterministic, so the same seed gives the same events in both databases, and products
// stay below 2^63 in both (SQLite would turn an overflow into a float, PostgreSQL fail).
const modulus = 2147483647

var multipliers = [...]int64{1583458089, 784588716, 1222621691, 950706376, 1036675201}

// generate stores cfg.events events and their discovered apps, in one import run, and links
// every fifth app to an approved catalogue app. It returns the apps, most popular first.
func generate(ctx context.Context, cfg config, d *db.DB, now time.Time) ([]benchApp, error) {
	apps := make([]benchApp, cfg.apps)
	seen := map[string]bool{}
	for i := range apps {
		name := fmt.Sprintf("Bench App %04d", i)
		key := discovery.KeyName + discovery.NormalizeAppName(name)
		if seen[key] {
			return nil, fmt.Errorf("app key %q twice", key)
		}
		seen[key] = true
		// An app's audience shrinks with its rank, so people use a few dozen apps, not all.
		pop := max(int64(cfg.users)*4/int64(i+4), min(50, int64(cfg.users)))
		apps[i] = benchApp{key: key, name: name, pop: pop, off: int64(i) * 7919 % int64(cfg.users)}
	}

	var runID int64
	if err := d.GetContext(ctx, &runID, d.Rebind(`INSERT INTO import_runs (source, format, file_name, status, started_at, finished_at, read_count, new_count)
		VALUES ('okta', 'okta', 'bench', 'finished', ?, ?, ?, ?) RETURNING id`), now, now, cfg.events, cfg.events); err != nil {
		return nil, fmt.Errorf("import run: %w", err)
	}
	// A scratch table the generator joins on: app index → key, name, audience.
	if _, err := d.ExecContext(ctx, `CREATE TABLE bench_apps (idx INTEGER PRIMARY KEY, app_key TEXT NOT NULL, display_name TEXT NOT NULL, pop BIGINT NOT NULL, off BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("scratch table: %w", err)
	}
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO categories (slug, name) VALUES ('bench', 'Bench')`); err != nil {
			return fmt.Errorf("category: %w", err)
		}
		for i, a := range apps {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO bench_apps (idx, app_key, display_name, pop, off) VALUES (?, ?, ?, ?, ?)`), i, a.key, a.name, a.pop, a.off); err != nil {
				return fmt.Errorf("scratch app: %w", err)
			}
			var appID *int64
			triage := discovery.TriageNew
			if i%5 == 1 {
				var id int64
				if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES (?, ?, 'bench', 'approved', ?, ?) RETURNING id`),
					fmt.Sprintf("bench-app-%04d", i), a.name, now, now); err != nil {
					return fmt.Errorf("catalogue app: %w", err)
				}
				appID, triage = &id, discovery.TriageSanctioned
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO discovered_apps (app_key, display_name, app_id, triage, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)`),
				a.key, a.name, appID, triage, db.Time(now.AddDate(0, 0, -cfg.days)), now); err != nil {
				return fmt.Errorf("discovered app: %w", err)
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
	for lo := 0; lo < cfg.events; lo += chunk {
		hi := min(lo+chunk, cfg.events)
		if _, err := conn.ExecContext(ctx, eventsSQL(d.Dialect, cfg, runID, now, lo, hi)); err != nil {
			return nil, fmt.Errorf("events %d–%d: %w", lo, hi, err)
		}
		fmt.Fprintf(os.Stderr, "  %d/%d\n", hi, cfg.events)
	}
	// What an import's batches record as they commit, and what the rollup reads up to.
	if _, err := conn.ExecContext(ctx, d.Rebind("UPDATE import_runs SET last_event_id = (SELECT MAX(id) FROM usage_events WHERE import_run_id = ?) WHERE id = ?"), runID, runID); err != nil {
		return nil, fmt.Errorf("last event id: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "DROP TABLE bench_apps"); err != nil {
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
	cube := "r.a * r.a * r.a"
	// App rank ~ apps·U³: Zipf-like, the top app gets ~1/7 of the events with 400 apps. The
	// person is uniform within the app's audience. ~5% fail, ~3% are OAuth grants (from Google).
	return fmt.Sprintf(`INSERT INTO usage_events (source, source_event_id, occurred_at, user_key, app_key, app_name, kind, outcome, ip, import_run_id)
		SELECT CASE WHEN r.g < 0.03 THEN 'google' ELSE 'okta' END,
			%[1]s,
			%[2]s,
			'user' || %[3]s || '@northwind.example',
			b.app_key, b.display_name,
			CASE WHEN r.g < 0.03 THEN 'oauth_grant' ELSE 'sso_login' END,
			CASE WHEN r.f < 0.05 THEN 'failure' ELSE 'success' END,
			'', %[4]d
		FROM (SELECT n, %[5]s AS a, %[6]s AS u, %[7]s AS t, %[8]s AS f, %[9]s AS g FROM %[10]s) r
		CROSS JOIN bench_apps b
		WHERE b.idx = %[11]s`,
		fmt.Sprintf(pad, "r.n", 10),
		at,
		fmt.Sprintf(pad, "(b.off + "+trunc("b.pop * r.u")+") % "+fmt.Sprint(cfg.users), 6),
		runID,
		r(0), r(1), trunc(r(2)+" * "+fmt.Sprint(span)), r(3), r(4),
		series,
		trunc(fmt.Sprintf("%d * %s", cfg.apps, cube)))
}
