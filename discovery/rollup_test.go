package discovery_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// rawUsage recomputes an app's usage from its raw events, the way the rollups must count it.
type rawUsage struct {
	Users7, Users30, Users90, UsersAll     int
	Events7, Events30, Events90, EventsAll int
	Failures                               int
}

// rawUsageOf recounts discovered app id's usage from the raw events of its identifiers, each
// person once: an e-mail, or the e-mail an IdP user id is tied to.
func rawUsageOf(t *testing.T, d *db.DB, id int64, now time.Time) rawUsage {
	t.Helper()
	const use = `outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke'`
	const from = ` FROM usage_events e JOIN discovered_identifiers i ON i.app_key = e.app_key LEFT JOIN person_ids p ON p.user_key = e.user_key WHERE i.discovered_app_id = ? AND `
	const people = `SELECT COUNT(DISTINCT COALESCE(p.email, e.user_key))`
	var u rawUsage
	for _, c := range []struct {
		dst  *int
		q    string
		args []any
	}{
		{&u.Users7, people + from + use + ` AND occurred_at >= ?`, []any{id, now.AddDate(0, 0, -7)}},
		{&u.Users30, people + from + use + ` AND occurred_at >= ?`, []any{id, now.AddDate(0, 0, -30)}},
		{&u.Users90, people + from + use + ` AND occurred_at >= ?`, []any{id, now.AddDate(0, 0, -90)}},
		{&u.UsersAll, people + from + use, []any{id}},
		{&u.EventsAll, `SELECT COUNT(*)` + from + use, []any{id}},
		{&u.Failures, `SELECT COUNT(*)` + from + `outcome = 'failure'`, []any{id}},
	} {
		if err := d.Get(c.dst, d.Rebind(c.q), c.args...); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// TestRollupsMatchRawEvents imports every fixture, half of one first and then all of it (so
// rows merge across runs), and a second time (duplicates), then checks that each discovered
// app's counts and its users equal a recount of its raw events, on both databases.
func TestRollupsMatchRawEvents(t *testing.T) {
	fixtures := []struct{ format, file string }{
		{"okta", "okta/logs_array.json"},
		{"entra", "entra/graph_signins_pages.json"},
		{"entra", "entra/portal_signins.csv"},
		{"entra", "entra/permission_grants.json"},
		{"google", "google/token_pages.json"},
		{"csv", "csv/proxy_log.csv"},
		{"csv", "csv/casb_export.csv"},
	}
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			st := discovery.NewStore(d)
			st.Now = testNow
			// The first half of the proxy log, cut at a line end.
			raw, err := os.ReadFile(filepath.Join("testdata", "csv/proxy_log.csv"))
			if err != nil {
				t.Fatal(err)
			}
			half := raw[:bytes.IndexByte(raw[len(raw)/2:], '\n')+len(raw)/2+1]
			if _, err := st.Import(ctx, audit.System, "csv", "half.csv", bytes.NewReader(half)); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				for _, fx := range fixtures {
					importFile(t, st, fx.format, fx.file)
				}
			}
			// Look from just after the newest event, so the 7/30/90-day windows hold some of them.
			var newest db.Timestamp
			if err := d.Get(&newest, "SELECT MAX(occurred_at) FROM usage_events"); err != nil {
				t.Fatal(err)
			}
			now := newest.Add(12 * time.Hour)
			st.Now = func() time.Time { return now }
			check(t, d, st, now)
			counted := rollupRows(t, d) // as the imports counted them, without reading events back

			// A crash right after events were committed leaves them stored but not counted.
			// RollUpPending counts them, once, even when two processes do it at the same time.
			for _, q := range []string{"DELETE FROM usage_app_users", "DELETE FROM usage_discovered_users", "DELETE FROM usage_app_days", "DELETE FROM discovered_app_sources",
				"DELETE FROM usage_grant_scopes", "UPDATE import_runs SET rolled_up_to = 0"} {
				if _, err := d.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					if err := st.RollUpPending(ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			check(t, d, st, now)
			if recounted := rollupRows(t, d); !slices.Equal(recounted, counted) {
				t.Errorf("rollups recounted from the stored events differ from the imports' own tally:\n%s", diffLines(counted, recounted))
			}
		})
	}
}

// rollupRows returns every row of the rollup tables, the granted scopes among them, as text,
// in order.
func rollupRows(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT app_key, user_key, first_used, last_used, last_seen, events, failures FROM usage_app_users ORDER BY app_key, user_key",
		"SELECT discovered_app_id, user_key, first_used, last_used, last_seen, events, failures FROM usage_discovered_users ORDER BY discovered_app_id, user_key",
		"SELECT app_key, day, events, failures FROM usage_app_days ORDER BY app_key, day",
		"SELECT app_key, source FROM discovered_app_sources ORDER BY app_key, source",
		"SELECT app_key, user_key, scope, granted_at, revoked_at FROM usage_grant_scopes ORDER BY app_key, user_key, scope",
	} {
		rows, err := d.Queryx(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals, err := rows.SliceScan()
			if err != nil {
				t.Fatal(err)
			}
			line := ""
			for _, v := range vals {
				if tm, ok := v.(time.Time); ok {
					v = tm.UTC().Format(time.RFC3339Nano)
				}
				line += fmt.Sprintf("%v|", v)
			}
			out = append(out, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if len(out) < 50 {
		t.Fatalf("%d rollup rows: the comparison would prove little", len(out))
	}
	return out
}

// diffLines lists the lines only one of a and b has.
func diffLines(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

// check compares each discovered app's rolled-up usage, and its per-source breakdown, with a
// recount of its raw events.
func check(t *testing.T, d *db.DB, st *discovery.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	apps, err := st.Apps(ctx, discovery.AppFilter{Limit: 500, WithSources: true})
	if err != nil {
		t.Fatal(err)
	}
	checkSources(t, d, apps)
	recent := 0
	for _, a := range apps {
		recent += a.Users7
	}
	if len(apps) < 20 || recent == 0 {
		t.Fatalf("%d discovered apps, %d recent users: the test would prove little", len(apps), recent)
	}
	for _, a := range apps {
		want := rawUsageOf(t, d, a.ID, now)
		got := rawUsage{a.Users7, a.Users30, a.Users90, a.UsersAll, 0, 0, 0, a.EventsAll, a.Failures}
		if got != want {
			t.Errorf("%s: rollup %+v, raw events %+v", a.Name, got, want)
		}
		users, err := st.Users(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var distinct int
		if err := d.Get(&distinct, d.Rebind(`SELECT COUNT(DISTINCT COALESCE(p.email, e.user_key)) FROM usage_events e JOIN discovered_identifiers i ON i.app_key = e.app_key
			LEFT JOIN person_ids p ON p.user_key = e.user_key WHERE i.discovered_app_id = ?`), a.ID); err != nil {
			t.Fatal(err)
		}
		if len(users) != min(distinct, 500) {
			t.Errorf("%s: %d users listed, %d in the events", a.Name, len(users), distinct)
		}
		days, err := st.Daily(ctx, a.ID, 100000)
		if err != nil {
			t.Fatal(err)
		}
		sum, fails := 0, 0
		for _, dc := range days {
			sum, fails = sum+dc.Events, fails+dc.Failures
		}
		if sum != want.EventsAll || fails != want.Failures {
			t.Errorf("%s: daily series sums to %d events and %d failures, want %d and %d", a.Name, sum, fails, want.EventsAll, want.Failures)
		}
	}
}

// TestImportsWithSeveralRollupsCountPeopleAtTheEnd imports the fixtures into two databases,
// once as usual and once rolling up every 7 events (so each import rolls up many times and
// counts its people once, at its end): the rollups, people and granted scopes are the same
// and match the raw events. A run that died before its end leaves its people to be counted:
// the next RollUpPending recounts them.
func TestImportsWithSeveralRollupsCountPeopleAtTheEnd(t *testing.T) {
	fixtures := []struct{ format, file string }{
		{"okta", "okta/logs_array.json"},
		{"entra", "entra/graph_signins_pages.json"},
		{"entra", "entra/permission_grants.json"},
		{"google", "google/token_pages.json"},
		{"csv", "csv/proxy_log.csv"},
	}
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			var rows [2][]string
			var d *db.DB
			var st *discovery.Store
			for i, every := range []int{0, 7} {
				d = b.Open(t)
				st = discovery.NewStore(d)
				st.Now = testNow
				if every > 0 {
					discovery.SetRollupEvery(st, every)
				}
				for range 2 {
					for _, fx := range fixtures {
						importFile(t, st, fx.format, fx.file)
					}
				}
				if n := count(t, d, "SELECT COUNT(*) FROM import_runs WHERE people_pending = "+sqlTrue(d)); n != 0 {
					t.Errorf("%d runs still have people to count", n)
				}
				rows[i] = rollupRows(t, d)
			}
			if !slices.Equal(rows[0], rows[1]) {
				t.Errorf("rolling up every 7 events counts differently:\n%s", diffLines(rows[0], rows[1]))
			}
			var newest db.Timestamp
			if err := d.Get(&newest, "SELECT MAX(occurred_at) FROM usage_events"); err != nil {
				t.Fatal(err)
			}
			now := newest.Add(12 * time.Hour)
			st.Now = func() time.Time { return now }
			check(t, d, st, now)

			// The process died between a rollup that left the people out and its end.
			for _, q := range []string{"DELETE FROM usage_discovered_users",
				"UPDATE import_runs SET people_pending = " + sqlTrue(d) + ", status = 'running' WHERE id = (SELECT MAX(id) FROM import_runs)"} {
				if _, err := d.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.RollUpPending(ctx); err != nil {
				t.Fatal(err)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM usage_discovered_users"); n != 0 {
				t.Errorf("people recounted under a run that may still be going: %d rows", n)
			}
			if _, err := d.Exec("UPDATE import_runs SET status = 'interrupted' WHERE people_pending = " + sqlTrue(d)); err != nil {
				t.Fatal(err)
			}
			if err := st.RollUpPending(ctx); err != nil {
				t.Fatal(err)
			}
			if got := rollupRows(t, d); !slices.Equal(got, rows[0]) {
				t.Errorf("people recounted after a crash differ:\n%s", diffLines(rows[0], got))
			}
			if n := count(t, d, "SELECT COUNT(*) FROM import_runs WHERE people_pending = "+sqlTrue(d)); n != 0 {
				t.Errorf("%d runs still have people to count after the recount", n)
			}
		})
	}
}

// sqlTrue is true as d's SQL spells it for a people_pending column.
func sqlTrue(d *db.DB) string {
	if d.Dialect == db.Postgres {
		return "true"
	}
	return "1"
}

// checkSources compares each identifier in the apps' breakdowns with a recount of its raw
// events: the people who used it (each once) and its uses.
func checkSources(t *testing.T, d *db.DB, apps []discovery.DiscoveredApp) {
	t.Helper()
	const use = `outcome IN ('success', 'unknown') AND kind <> 'oauth_revoke'`
	idents := 0
	for _, a := range apps {
		if len(a.Sources) == 0 {
			t.Errorf("%s: no sources in its breakdown", a.Name)
		}
		for _, src := range a.Sources {
			idents++
			var want struct {
				Users  int `db:"users"`
				Events int `db:"events"`
			}
			if err := d.Get(&want, d.Rebind(`SELECT COUNT(DISTINCT COALESCE(p.email, e.user_key)) AS users, COUNT(*) AS events
				FROM usage_events e LEFT JOIN person_ids p ON p.user_key = e.user_key WHERE e.app_key = ? AND `+use), src.Identifier); err != nil {
				t.Fatal(err)
			}
			if src.UsersAll != want.Users || src.EventsAll != want.Events {
				t.Errorf("%s, %s from %s: %d people and %d events in the breakdown, %d and %d in the raw events",
					a.Name, src.Identifier, src.Source, src.UsersAll, src.EventsAll, want.Users, want.Events)
			}
		}
	}
	if idents == 0 {
		t.Fatal("no identifiers in the breakdowns: the test would prove little")
	}
}

// TestImportAfterKnownEventsStoresTheRest imports the first 2,500 events of a log and then the
// whole log of 6,000: the second import meets only known events in its first chunks, so it
// switches to looking ids up before inserting, and must still store the other 3,500 once,
// including some that repeat within the log, and count them in the rollups.
func TestImportAfterKnownEventsStoresTheRest(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			st := discovery.NewStore(d)
			now := testNow()
			st.Now = func() time.Time { return now }
			var lines []string
			for i := range 6000 {
				at := now.Add(-time.Duration(i) * time.Minute).Format(time.RFC3339)
				lines = append(lines, fmt.Sprintf("evt-%d,%s,user%d@example.com,App %d,success", i, at, i%97, i%29))
			}
			// Some events are delivered twice, far apart.
			for i := 3000; i < 6000; i += 500 {
				lines = append(lines, lines[i])
			}
			head := "id,time,user,app,outcome\n"
			first, err := st.Import(ctx, audit.System, "csv", "part.csv", strings.NewReader(head+strings.Join(lines[:2500], "\n")))
			if err != nil || first.New != 2500 {
				t.Fatalf("first import: %+v, %v", first, err)
			}
			all, err := st.Import(ctx, audit.System, "csv", "all.csv", strings.NewReader(head+strings.Join(lines, "\n")))
			if err != nil || all.New != 3500 || all.Duplicate != len(lines)-3500 {
				t.Fatalf("second import: new %d, duplicate %d (%v); want 3500 and %d", all.New, all.Duplicate, err, len(lines)-3500)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM usage_events"); n != 6000 {
				t.Errorf("%d events stored, want 6000", n)
			}
			check(t, d, st, now)
		})
	}
}
