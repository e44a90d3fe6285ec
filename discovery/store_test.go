package discovery_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

type expectation struct {
	Emitted      int      `json:"emitted"`
	Rejected     int      `json:"rejected"`
	Skipped      int      `json:"skipped"`
	Read         int      `json:"read"`
	DistinctIDs  int      `json:"distinct_event_ids"`
	DistinctApps int      `json:"distinct_app_keys"`
	AppKeys      []string `json:"app_keys"`
}

func expectOf(t *testing.T, file string) expectation {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file+".expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectation
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func importFile(t *testing.T, st *discovery.Store, format, file string) discovery.ImportRun {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run, err := st.Import(context.Background(), audit.System, format, file, f)
	if err != nil {
		t.Fatalf("import %s: %v", file, err)
	}
	return run
}

func count(t *testing.T, d *db.DB, q string) int {
	t.Helper()
	var n int
	if err := d.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestImportIsIdempotent imports each fixture twice: the first run stores each distinct event
// once, the second adds nothing.
func TestImportIsIdempotent(t *testing.T) {
	fixtures := []struct{ format, file string }{
		{"okta", "okta/logs_array.json"},
		{"entra", "entra/graph_signins_pages.json"},
		{"google", "google/token_pages.json"},
		{"csv", "csv/proxy_log.csv"},
	}
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			st := discovery.NewStore(d)
			total := 0
			for _, fx := range fixtures {
				want := expectOf(t, fx.file)
				run := importFile(t, st, fx.format, fx.file)
				if run.Status != discovery.RunFinished || run.Read != want.Read || run.New != want.DistinctIDs || run.Duplicate != want.Emitted-want.DistinctIDs || run.Rejected != want.Rejected || run.Skipped != want.Skipped {
					t.Errorf("%s first import = %+v, want read %d, new %d, rejected %d", fx.file, run, want.Read, want.DistinctIDs, want.Rejected)
				}
				if len(run.Rejections()) != min(want.Rejected, 100) || (want.Rejected > 0 && run.Rejections()[0].Line == 0) {
					t.Errorf("%s rejections = %+v", fx.file, run.Rejections())
				}
				if len(run.Checksum) != 64 {
					t.Errorf("checksum %q", run.Checksum)
				}
				again := importFile(t, st, fx.format, fx.file)
				if again.New != 0 || again.Duplicate != want.Emitted {
					t.Errorf("%s re-import added %d (duplicates %d)", fx.file, again.New, again.Duplicate)
				}
				total += want.DistinctIDs
				if n := count(t, d, "SELECT COUNT(*) FROM usage_events"); n != total {
					t.Errorf("after %s: %d events stored, want %d", fx.file, n, total)
				}
			}
			if n := count(t, d, "SELECT COUNT(*) FROM import_runs WHERE status <> 'finished'"); n != 0 {
				t.Errorf("%d runs not finished", n)
			}
		})
	}
}

func TestOverlappingExportsStoreEachEventOnce(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	a := importFile(t, st, "entra", "entra/graph_signins_pages.json")
	b := importFile(t, st, "entra", "entra/portal_signins.json")
	if b.Duplicate == 0 {
		t.Fatalf("the portal export shares no sign-ins with the Graph pages: %+v", b)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM usage_events"); n != a.New+b.New {
		t.Errorf("%d events, want %d", n, a.New+b.New)
	}
}

func TestBadFileFailsTheRunWithItsLine(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	run, err := st.Import(context.Background(), audit.System, "okta", "truncated.json", strings.NewReader(`[{"uuid":"a","eventType":"user.authentication.sso","published":"2026-01-01T00:00:00.000Z"`))
	if err == nil || run.Status != discovery.RunFailed || !strings.Contains(run.Error, "line") {
		t.Fatalf("run = %+v, err = %v", run, err)
	}
	stored, err := st.Run(context.Background(), run.ID)
	if err != nil || stored.Status != discovery.RunFailed || stored.FinishedAt == nil {
		t.Errorf("stored run = %+v (%v): a failed import must not stay running", stored, err)
	}
}

func TestDiscoveredAppsMatchTheCatalogue(t *testing.T) {
	d := testutil.SQLite(t)
	ctx := context.Background()
	now := db.Time(testNow())
	// A catalogued app known by its domain, as the seed records it.
	var slackID int64
	if _, err := d.Exec(d.Rebind("INSERT INTO categories (slug, name) VALUES ('chat', 'Chat')")); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&slackID, d.Rebind("INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES ('slack', 'Slack', 'chat', 'approved', ?, ?) RETURNING id"), now, now); err != nil {
		t.Fatal(err)
	}
	st := discovery.NewStore(d)
	run, err := st.Import(ctx, audit.System, "csv", "log.csv", strings.NewReader("time,user,app,domain\n2026-05-01T10:00:00Z,a@example.com,Slack Technologies,\n2026-05-02T10:00:00Z,b@example.com,Unheard Of Tool,unheardof.io\n"))
	if err != nil || run.New != 2 {
		t.Fatalf("import: %+v, %v", run, err)
	}
	var matched, unmatched int
	_ = d.Get(&matched, d.Rebind("SELECT COUNT(*) FROM discovered_apps WHERE app_id = ?"), slackID)
	_ = d.Get(&unmatched, "SELECT COUNT(*) FROM discovered_apps WHERE app_id IS NULL")
	if matched != 1 || unmatched != 1 {
		t.Errorf("matched %d to Slack and left %d unmatched, want 1 and 1", matched, unmatched)
	}
}

func testNow() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }

func TestUsageAggregatesTriageAndLinking(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			st := discovery.NewStore(d)
			st.Now = testNow
			now := testNow()
			at := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339) }
			csv := "time,user,app,domain,outcome\n" +
				at(1) + ",a@example.com,Miro,miro.com,success\n" +
				at(2) + ",A@example.com,Miro,miro.com,success\n" + // the same person
				at(3) + ",b@example.com,Miro,miro.com,failure\n" + // a failure is not usage
				at(20) + ",c@example.com,Miro,miro.com,success\n" +
				at(60) + ",d@example.com,Miro,miro.com,success\n" +
				at(200) + ",e@example.com,Miro,miro.com,success\n"
			if _, err := st.Import(ctx, audit.System, "csv", "miro.csv", strings.NewReader(csv)); err != nil {
				t.Fatal(err)
			}
			apps, err := st.Apps(ctx, discovery.AppFilter{ShadowOnly: true})
			if err != nil || len(apps) != 1 {
				t.Fatalf("apps = %+v, %v", apps, err)
			}
			a := apps[0]
			if a.Users7 != 1 || a.Users30 != 2 || a.Users90 != 3 || a.UsersAll != 4 || a.Events7 != 2 || a.EventsAll != 5 || a.Failures != 1 {
				t.Errorf("usage = %+v", a)
			}
			if days, err := st.Daily(ctx, a.ID, 30); err != nil || len(days) != 4 {
				t.Errorf("daily = %+v, %v", days, err)
			}
			users, err := st.Users(ctx, a.ID)
			if err != nil || len(users) != 6-1 || users[0].User != "a@example.com" || users[0].Events != 2 {
				t.Errorf("users = %+v, %v", users, err)
			}
			mine, _ := st.MyUnapprovedApps(ctx, "A@example.com")
			if len(mine) != 1 || mine[0].Name != "Miro" {
				t.Errorf("my unapproved apps = %+v", mine)
			}
			if err := st.Triage(ctx, audit.System, []int64{a.ID}, "maybe", ""); err == nil {
				t.Error("unknown triage state accepted")
			}
			if err := st.Triage(ctx, audit.System, []int64{a.ID}, discovery.TriageTolerated, "Design team only.", "sam@example.com"); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.App(ctx, a.ID); got.Assignee != "sam@example.com" || got.Triage != discovery.TriageTolerated {
				t.Errorf("after triage: %+v", got)
			}
			if bySource, _ := st.Apps(ctx, discovery.AppFilter{Source: "okta"}); len(bySource) != 0 {
				t.Errorf("a CSV-only app listed under okta: %+v", bySource)
			}
			if bySource, _ := st.Apps(ctx, discovery.AppFilter{Source: "csv"}); len(bySource) != 1 {
				t.Errorf("source filter csv: %d apps", len(bySource))
			}
			// Linking to an approved catalogue app sanctions it and teaches the next import.
			now2 := db.Time(now)
			if _, err := d.Exec(d.Rebind("INSERT INTO categories (slug, name) VALUES ('diagramming', 'Diagramming')")); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(d.Rebind("INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES ('miro-board', 'Miro Board', 'diagramming', 'approved', ?, ?)"), now2, now2); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Link(ctx, audit.System, a.ID, "miro-board"); err != nil {
				t.Fatal(err)
			}
			if shadow, _ := st.Apps(ctx, discovery.AppFilter{ShadowOnly: true}); len(shadow) != 0 {
				t.Errorf("a linked, approved app is still shadow IT: %+v", shadow)
			}
			var ids int
			_ = d.Get(&ids, "SELECT COUNT(*) FROM app_identifiers WHERE kind = 'domain' AND value = 'miro.com'")
			if ids != 1 {
				t.Errorf("link recorded %d identifiers for miro.com", ids)
			}
			if mine, _ := st.MyUnapprovedApps(ctx, "a@example.com"); len(mine) != 0 {
				t.Errorf("an approved app is listed as unapproved: %+v", mine)
			}
		})
	}
}

func TestRetentionPrunesEventsAndKeepsApps(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	st.Now = testNow
	now := testNow()
	log := "time,user,app\n" + now.AddDate(0, 0, -200).Format(time.RFC3339) + ",a@example.com,Miro\n" + now.AddDate(0, 0, -10).Format(time.RFC3339) + ",b@example.com,Miro\n"
	if _, err := st.Import(context.Background(), audit.System, "csv", "x.csv", strings.NewReader(log)); err != nil {
		t.Fatal(err)
	}
	n, err := st.PruneEvents(context.Background(), 180*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	id, err := st.AppOfIdentifier(context.Background(), "name:miro")
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.App(context.Background(), id)
	// The raw event is gone; the counts it made are kept.
	if err != nil || !a.FirstSeen.Equal(now.AddDate(0, 0, -200)) || a.EventsAll != 2 || a.UsersAll != 2 || a.Users30 != 1 {
		t.Errorf("after pruning: %+v, %v", a, err)
	}
}

func TestDemoLogImportsOnce(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	ctx := context.Background()
	if err := st.ImportDemo(ctx); err != nil {
		t.Fatal(err)
	}
	n := count(t, d, "SELECT COUNT(*) FROM usage_events")
	if n < 200 {
		t.Fatalf("demo logs stored %d events", n)
	}
	if sources := count(t, d, "SELECT COUNT(DISTINCT source) FROM usage_events"); sources != 4 {
		t.Errorf("demo logs cover %d sources, want okta, entra, google and csv", sources)
	}
	if err := st.ImportDemo(ctx); err != nil || count(t, d, "SELECT COUNT(*) FROM import_runs") != 4 {
		t.Errorf("second demo import ran (%v)", err)
	}
	mine, err := st.MyUnapprovedApps(ctx, "employee@example.com")
	if err != nil || len(mine) == 0 {
		t.Errorf("the demo employee uses no unapproved app: %v", err)
	}
	// Zoom is seen through all four sources, and is one app with each person once.
	apps, err := st.Apps(ctx, discovery.AppFilter{WithSources: true, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, a := range apps {
		names[a.Name]++
		if a.Name != "Zoom" {
			continue
		}
		sources := map[string]bool{}
		for _, s := range a.Sources {
			sources[s.Source] = true
		}
		if len(sources) != 4 || a.UsersAll != 25 {
			t.Errorf("Zoom: %d people through %d sources, want 25 through 4: %+v", a.UsersAll, len(sources), a.Sources)
		}
	}
	for name, k := range names {
		if k > 1 {
			t.Errorf("%s is %d discovered apps", name, k)
		}
	}
	if names["Zoom"] != 1 || names["Microsoft Teams"] != 1 {
		t.Errorf("demo apps: %v", names)
	}
}

func TestInterruptedRunsAreClosed(t *testing.T) {
	d := testutil.SQLite(t)
	st := discovery.NewStore(d)
	old := db.Time(time.Now().Add(-2 * time.Hour))
	if _, err := d.Exec(d.Rebind("INSERT INTO import_runs (source, format, status, started_at) VALUES ('okta', 'okta', 'running', ?)"), old); err != nil {
		t.Fatal(err)
	}
	recent := db.Time(time.Now().Add(-time.Minute))
	if _, err := d.Exec(d.Rebind("INSERT INTO import_runs (source, format, status, started_at) VALUES ('okta', 'okta', 'running', ?)"), recent); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Import(context.Background(), audit.System, "csv", "x.csv", strings.NewReader("time,user,app\n2026-01-01T00:00:00Z,a@example.com,Miro\n")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM import_runs WHERE status = 'interrupted' AND error LIKE 'interrupted%'"); n != 1 {
		t.Errorf("%d interrupted runs closed, want the old one only", n)
	}
	if n := count(t, d, "SELECT COUNT(*) FROM import_runs WHERE status = 'running'"); n != 1 {
		t.Errorf("%d runs still running, want the recent one (it may be alive)", n)
	}
}
