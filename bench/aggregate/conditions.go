package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
)

// The conditions section (-conditions): every generated app becomes a catalogue app approved
// with checkable conditions, the simulated organisation gets a people directory, the Google
// grants get scopes, and evaluating every condition is timed side by side with the dashboard
// list of the same data.

// Departments and groups of the generated directory: each person is in one department of
// benchDepts and in two groups of benchGroups.
const (
	benchDepts  = 40
	benchGroups = 200
	driveScope  = "https://www.googleapis.com/auth/drive"
)

// pilotOf is app i's pilot end: one app in four has one.
func pilotOf(i int, end time.Time) *time.Time {
	if i%4 != 0 {
		return nil
	}
	return &end
}

func benchDept(i int) string  { return fmt.Sprintf("Dept %02d", i%benchDepts) }
func benchGroup(i int) string { return fmt.Sprintf("team-%03d", i%benchGroups) }

// conditionApps links every generated app to a catalogue app approved with conditions and gives
// each conditions. Every condition is evaluated; most are kept, as in a catalogue whose
// conditions mostly hold:
//   - a seat limit on every app: a quarter of its audience for one in five (over it), twice its
//     audience for the others;
//   - allowed departments on one in two: nine in ten of the departments for one in ten apps (a
//     tenth of their people are outside), all of them for the others;
//   - a forbidden scope on one in three: the Drive scope, which one person in ten granted, for
//     one app in fifteen, a scope no one granted for the others;
//   - a pilot end on one in four: 10 days ago for one app in twenty, in 30 days for the others.
//
// It also stores the directory and the grants' scopes.
func conditionApps(ctx context.Context, cfg config, d *db.DB, apps []benchApp, now time.Time) error {
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		for i, a := range apps {
			var id int64
			err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT app_id FROM discovered_apps WHERE id = ? AND app_id IS NOT NULL`), a.id)
			if err != nil {
				if err := tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES (?, ?, 'bench', 'approved_with_conditions', ?, ?) RETURNING id`),
					fmt.Sprintf("bench-cond-%04d", i), a.name, now, now); err != nil {
					return fmt.Errorf("catalogue app: %w", err)
				}
				for _, q := range []string{`UPDATE discovered_apps SET app_id = ? WHERE id = ?`, `UPDATE discovered_identifiers SET app_id = ? WHERE discovered_app_id = ?`} {
					if _, err := tx.ExecContext(ctx, tx.Rebind(q), id, a.id); err != nil {
						return fmt.Errorf("link app: %w", err)
					}
				}
			} else if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE apps SET status = 'approved_with_conditions' WHERE id = ?`), id); err != nil {
				return fmt.Errorf("status: %w", err)
			}
			limit := a.pop * 2
			if i%5 == 0 {
				limit = max(a.pop/4, 1)
			}
			var groups, scopes string
			if i%2 == 1 {
				allowed := benchDepts // everyone inside: evaluated, nothing found
				if i%10 == 1 {
					allowed -= benchDepts / 10
				}
				for k := range allowed {
					groups += benchDept(i+k) + "\n"
				}
			}
			switch {
			case i%15 == 0:
				scopes = driveScope
			case i%3 == 0:
				scopes = "https://www.googleapis.com/auth/gmail.modify" // granted by no one
			}
			pilot := now.AddDate(0, 0, 30) // still running
			if i%20 == 0 {
				pilot = now.AddDate(0, 0, -10)
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO app_conditions (app_id, seat_limit, allowed_groups, forbidden_scopes, pilot_end, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
				id, limit, groups, scopes, pilotOf(i, pilot), now); err != nil {
				return fmt.Errorf("conditions: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	st := discovery.NewStore(d)
	st.Now = func() time.Time { return now }
	people := make([]discovery.Person, cfg.users)
	for i := range people {
		people[i] = discovery.Person{Email: userKey(i), Department: benchDept(i), Groups: []string{benchGroup(i), benchGroup(i * 7)}}
	}
	if _, err := st.SyncDirectory(ctx, audit.System, "okta:0", people); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	// Every Google grant includes openid; one person in ten's also the Drive scope.
	if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO usage_grant_scopes (app_key, user_key, scope, granted_at)
		SELECT app_key, user_key, 'openid', MAX(occurred_at) FROM usage_events WHERE kind = 'oauth_grant' GROUP BY app_key, user_key`)); err != nil {
		return fmt.Errorf("grant scopes: %w", err)
	}
	if _, err := d.ExecContext(ctx, d.Rebind(`INSERT INTO usage_grant_scopes (app_key, user_key, scope, granted_at)
		SELECT app_key, user_key, ?, granted_at FROM usage_grant_scopes WHERE scope = 'openid' AND user_key LIKE '%3@%'`), driveScope); err != nil {
		return fmt.Errorf("grant scopes: %w", err)
	}
	if d.Dialect == db.Postgres {
		if _, err := d.ExecContext(ctx, `ANALYZE apps; ANALYZE app_conditions; ANALYZE people; ANALYZE person_groups; ANALYZE usage_grant_scopes;
			ANALYZE discovered_apps; ANALYZE discovered_identifiers`); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	return nil
}

// benchConditions times EvaluateConditions against the dashboard list, alternating.
func benchConditions(ctx context.Context, cfg config, label string, d *db.DB, st *discovery.Store, apps []benchApp, now time.Time) ([]row, error) {
	fmt.Fprintf(os.Stderr, "%s: conditions on %d apps, a directory of %d people…\n", label, len(apps), cfg.users)
	start := time.Now()
	if err := conditionApps(ctx, cfg, d, apps, now); err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var rows []row
	add := func(what, runs, p50, p95, note string) { rows = append(rows, row{label, what, runs, p50, p95, note}) }
	add("conditions and directory stored", "1", dur(time.Since(start)), "", fmt.Sprintf("%d conditioned apps, %d people", len(apps), cfg.users))

	// The first evaluation opens the findings; the timed ones find the same usage again, as the
	// nightly and after-import runs mostly do.
	start = time.Now()
	opened, err := st.EvaluateConditions(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: evaluate: %w", label, err)
	}
	add("EvaluateConditions, first run", "1", dur(time.Since(start)), "", fmt.Sprintf("%d findings opened", len(opened)))
	const warm, runs = 1, 7
	if cfg.profile != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s", cfg.profile, label))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(os.Stderr, "%s: EvaluateConditions and the dashboard list, alternating…\n", label)
	var listN int
	eval, list, err := sideBySide(warm, runs, func() error {
		o, err := st.EvaluateConditions(ctx)
		if err == nil && len(o) > 0 {
			err = fmt.Errorf("a run on the same usage opened %d findings", len(o))
		}
		return err
	}, func() error {
		a, err := st.Apps(ctx, discovery.AppFilter{Limit: 200})
		listN = len(a)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var open int
	if err := d.GetContext(ctx, &open, "SELECT COUNT(*) FROM findings WHERE status = 'open'"); err != nil {
		return nil, err
	}
	e50, l50 := pct(eval, 50), pct(list, 50)
	add("dashboard list, no filter, limit 200", fmt.Sprint(runs), dur(l50), dur(pct(list, 95)), fmt.Sprintf("%d apps", listN))
	add("EvaluateConditions (every condition)", fmt.Sprint(runs), dur(e50), dur(pct(eval, 95)),
		fmt.Sprintf("%d open findings; evaluate/list %.2f× (p50), %.2f× (p95)", open, e50.Seconds()/l50.Seconds(), pct(eval, 95).Seconds()/pct(list, 95).Seconds()))
	return rows, nil
}
