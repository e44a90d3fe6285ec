package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
)

// Generation of the synthetic organisation: its apps, their identifiers and their events, in SQL.

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
