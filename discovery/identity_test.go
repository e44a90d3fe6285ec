package discovery_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/testutil"
)

// The same people using one app, seen through four sources under four identifiers.
func oktaZoom(now time.Time, id, userID, login string, daysAgo int) string {
	return fmt.Sprintf(`{"uuid":%q,"published":%q,"eventType":"user.authentication.sso","actor":{"id":%q,"type":"User","alternateId":%q},`+
		`"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"10.0.0.1"},"target":[{"id":"0oaZoom1","type":"AppInstance","alternateId":"Zoom","displayName":"Zoom"}]}`,
		id, now.AddDate(0, 0, -daysAgo).Format("2006-01-02T15:04:05.000Z"), userID, login)
}

func entraZoom(now time.Time, id, upn, userID string, daysAgo int) string {
	return fmt.Sprintf(`{"id":%q,"createdDateTime":%q,"userPrincipalName":%q,"userId":%q,"appId":"5e3ce6c0-2b1f-4285-8d4b-75ee78787346","appDisplayName":"Zoom","ipAddress":"10.0.0.2","status":{"errorCode":0}}`,
		id, now.AddDate(0, 0, -daysAgo).Format("2006-01-02T15:04:05.0000000Z"), upn, userID)
}

func googleZoom(now time.Time, q int, email string, daysAgo int) string {
	return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"token","customerId":"C1"},`+
		`"actor":{"callerType":"USER","email":%q,"profileId":"1%d"},"events":[{"type":"auth","name":"authorize","parameters":[`+
		`{"name":"client_id","value":"4242-zoom.apps.googleusercontent.com"},{"name":"app_name","value":"Zoom"},{"name":"scope","multiValue":["openid"]}]}]}`,
		now.AddDate(0, 0, -daysAgo).Format("2006-01-02T15:04:05.000Z"), q, email, q)
}

// importZoom imports the four logs: alice in Okta, Entra and Google, bob in Okta and the proxy
// log, carol in the proxy log only, erin in Google only (200 days ago), and dave first through
// an Okta event that names only his user id (his login is not an address), then through one
// that carries both, which ties the id to his e-mail.
func importZoom(t *testing.T, st *discovery.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	okta1 := "[" + strings.Join([]string{
		oktaZoom(now, "o1", "00uAlice", "Alice@Example.com", 1),
		oktaZoom(now, "o2", "00uBob", "bob@example.com", 20),
		oktaZoom(now, "o3", "00uDave", "dave", 3), // an opaque login: only the id names him
	}, ",") + "]"
	entra := `{"value":[` + strings.Join([]string{
		entraZoom(now, "e1", "alice@example.com", "a-1", 2),
		entraZoom(now, "e2", "alice@example.com", "a-1", 40),
	}, ",") + `]}`
	google := `{"kind":"admin#reports#activities","items":[` + strings.Join([]string{
		googleZoom(now, 1, "alice@example.com", 5),
		googleZoom(now, 2, "erin@example.com", 200),
	}, ",") + `]}`
	csv := "time,user,app,domain\n" +
		now.AddDate(0, 0, -6).Format(time.RFC3339) + ",bob@example.com,Zoom,us02web.zoom.us\n" +
		now.AddDate(0, 0, -60).Format(time.RFC3339) + ",carol@example.com,Zoom,zoom.us\n"
	// Dave's id is tied to his address by a later Okta event that carries both.
	okta2 := "[" + oktaZoom(now, "o4", "00uDave", "dave@example.com", 100) + "]"
	for _, l := range []struct{ format, body string }{{"okta", okta1}, {"entra", entra}, {"google", google}, {"csv", csv}, {"okta", okta2}} {
		run, err := st.Import(ctx, audit.System, l.format, l.format+".log", strings.NewReader(l.body))
		if err != nil || run.Rejected > 0 || run.New == 0 {
			t.Fatalf("import %s: %+v, %v", l.format, run, err)
		}
	}
}

// wantZoom is who used Zoom when: alice (1, 2, 5, 40 days ago), bob (6, 20), dave (3, 100),
// carol (60), erin (200): ten events.
var wantZoom = [4]int{3, 3, 4, 5} // people over 7, 30, 90 days and all time

func zoomOf(t *testing.T, st *discovery.Store) discovery.DiscoveredApp {
	t.Helper()
	apps, err := st.Apps(context.Background(), discovery.AppFilter{WithSources: true})
	if err != nil {
		t.Fatal(err)
	}
	var found []discovery.DiscoveredApp
	for _, a := range apps {
		if strings.Contains(strings.ToLower(a.Name), "zoom") {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Zoom is %d discovered apps, want 1: %+v", len(found), found)
	}
	return found[0]
}

func checkZoom(t *testing.T, a discovery.DiscoveredApp, want [4]int, events int) {
	t.Helper()
	if got := [4]int{a.Users7, a.Users30, a.Users90, a.UsersAll}; got != want {
		t.Errorf("%s: people over 7/30/90 days and all time = %v, want %v", a.Name, got, want)
	}
	if a.EventsAll != events {
		t.Errorf("%s: %d events, want %d", a.Name, a.EventsAll, events)
	}
}

// TestOneAppAcrossSources: four sources, four identifiers, one Zoom with one right count of
// people, whether the catalogue knows Zoom or not.
func TestOneAppAcrossSources(t *testing.T) {
	for _, b := range testutil.Backends() {
		for _, catalogued := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/catalogued=%v", b.Name, catalogued), func(t *testing.T) {
				d := b.Open(t)
				now := testNow()
				st := discovery.NewStore(d)
				st.Now = func() time.Time { return now }
				var zoomID int64
				if catalogued {
					zoomID = insertApp(t, d, "zoom", "Zoom", "under_review")
					if _, err := d.Exec(d.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, 'domain', 'zoom.us')"), zoomID); err != nil {
						t.Fatal(err)
					}
				}
				importZoom(t, st, now)
				z := zoomOf(t, st)
				checkZoom(t, z, wantZoom, 10)
				if catalogued && z.CatalogueSlug() != "zoom" {
					t.Errorf("Zoom is linked to %q, want the catalogue's zoom", z.CatalogueSlug())
				}
				// The breakdown names each identifier with its own people.
				perIdent := map[string]int{}
				for _, s := range z.Sources {
					perIdent[s.Identifier] = s.UsersAll
				}
				want := map[string]int{"okta:0oaZoom1": 3, "entra:5e3ce6c0-2b1f-4285-8d4b-75ee78787346": 1,
					"google:4242-zoom.apps.googleusercontent.com": 2, "domain:us02web.zoom.us": 1, "domain:zoom.us": 1}
				for k, n := range want {
					if perIdent[k] != n {
						t.Errorf("breakdown %s: %d people, want %d (all: %v)", k, perIdent[k], n, perIdent)
					}
				}
				users, err := st.Users(context.Background(), z.ID)
				if err != nil || len(users) != 5 {
					t.Errorf("per-user list: %d people (%v), want 5: %+v", len(users), err, users)
				}
				// Each person sees Zoom once among the apps they use.
				mine, _ := st.MyUnapprovedApps(context.Background(), "alice@example.com")
				if len(mine) != 1 || mine[0].ID != z.ID {
					t.Errorf("alice's unapproved apps = %+v", mine)
				}
				if catalogued {
					n, err := st.ActiveUsers(context.Background(), &zoomID, "Zoom")
					if err != nil || n != wantZoom[2] {
						t.Errorf("demand: %d active people (%v), want %d", n, err, wantZoom[2])
					}
				}
				// Importing everything again adds nothing and changes no count.
				importAgain(t, st, now)
				checkZoom(t, zoomOf(t, st), wantZoom, 10)
			})
		}
	}
}

func importAgain(t *testing.T, st *discovery.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	csv := "time,user,app,domain\n" + now.AddDate(0, 0, -6).Format(time.RFC3339) + ",bob@example.com,Zoom,us02web.zoom.us\n"
	run, err := st.Import(ctx, audit.System, "csv", "again.csv", strings.NewReader(csv))
	if err != nil || run.New != 0 || run.Duplicate != 1 {
		t.Fatalf("re-import: %+v, %v", run, err)
	}
}

func insertApp(t *testing.T, d *db.DB, slug, name, status string) int64 {
	t.Helper()
	now := db.Time(testNow())
	if _, err := d.Exec(d.Rebind("INSERT INTO categories (slug, name) VALUES ('video-conferencing', 'Video') ON CONFLICT (slug) DO NOTHING")); err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := d.Get(&id, d.Rebind("INSERT INTO apps (slug, name, category, status, created_at, updated_at) VALUES (?, ?, 'video-conferencing', ?, ?, ?) RETURNING id"), slug, name, status, now, now); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestMergeAndSplit: security's corrections keep the counts exact, persist for later imports,
// and refuse what makes no sense.
func TestMergeAndSplit(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			now := testNow()
			st := discovery.NewStore(d)
			st.Now = func() time.Time { return now }
			at := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339) }
			// "Loom" on loom.com and "Loom Recorder" are one app the rules cannot tell apart.
			log := "time,user,app,domain\n" +
				at(1) + ",a@example.com,Loom,loom.com\n" +
				at(2) + ",b@example.com,Loom,loom.com\n" +
				at(3) + ",b@example.com,Loom Recorder,\n" +
				at(40) + ",c@example.com,Loom Recorder,\n"
			if _, err := st.Import(ctx, audit.System, "csv", "a.csv", strings.NewReader(log)); err != nil {
				t.Fatal(err)
			}
			loom, err := st.AppOfIdentifier(ctx, "domain:loom.com")
			if err != nil {
				t.Fatal(err)
			}
			recorder, err := st.AppOfIdentifier(ctx, "name:loom recorder")
			if err != nil || recorder == loom {
				t.Fatalf("Loom Recorder is app %d (%v), Loom %d: want two apps", recorder, err, loom)
			}
			if err := st.Triage(ctx, audit.System, []int64{recorder}, discovery.TriageBlocked, "Records customer calls.", "sam@example.com"); err != nil {
				t.Fatal(err)
			}
			if err := st.Triage(ctx, audit.System, []int64{loom}, discovery.TriageReviewing, "Asked the owner."); err != nil {
				t.Fatal(err)
			}
			var events int
			_ = d.Get(&events, "SELECT COUNT(*) FROM usage_events")

			// Refusals: itself (400), unknown (404), the last identifier (409).
			if err := st.Merge(ctx, audit.System, loom, loom); !errs.Is(err, errs.Invalid) {
				t.Errorf("merge with itself: %v, want invalid", err)
			}
			if err := st.Merge(ctx, audit.System, loom, 99999); !errs.Is(err, errs.NotFound) {
				t.Errorf("merge into an unknown app: %v, want not found", err)
			}
			if _, err := st.Split(ctx, audit.System, loom, "domain:loom.com"); !errs.Is(err, errs.Conflict) {
				t.Errorf("split off the only identifier: %v, want conflict", err)
			}
			if _, err := st.Split(ctx, audit.System, 99999, "domain:loom.com"); !errs.Is(err, errs.NotFound) {
				t.Errorf("split an unknown app: %v, want not found", err)
			}

			if err := st.Merge(ctx, audit.System, recorder, loom); err != nil {
				t.Fatal(err)
			}
			if _, err := st.App(ctx, recorder); !errs.Is(err, errs.NotFound) {
				t.Errorf("the merged app is still there: %v", err)
			}
			a, err := st.App(ctx, loom)
			if err != nil {
				t.Fatal(err)
			}
			// a, b, c: b once although seen under both identifiers.
			if got := [4]int{a.Users7, a.Users30, a.Users90, a.UsersAll}; got != [4]int{2, 2, 3, 3} || a.EventsAll != 4 {
				t.Errorf("merged: people %v, events %d; want [2 2 3 3] and 4", got, a.EventsAll)
			}
			if a.Triage != discovery.TriageBlocked || a.Assignee != "sam@example.com" || !strings.Contains(a.Note, "Asked the owner.") || !strings.Contains(a.Note, "Records customer calls.") {
				t.Errorf("merged triage %q, assignee %q, note %q", a.Triage, a.Assignee, a.Note)
			}
			// Later imports follow the merge, and re-imports change nothing.
			later := "time,user,app,domain\n" + at(0) + ",d@example.com,Loom Recorder,\n"
			if _, err := st.Import(ctx, audit.System, "csv", "b.csv", strings.NewReader(log+later[len("time,user,app,domain\n"):])); err != nil {
				t.Fatal(err)
			}
			if a, _ = st.App(ctx, loom); a.UsersAll != 4 || a.Identifiers != 2 {
				t.Errorf("after a later import: %d people under %d identifiers, want 4 under 2", a.UsersAll, a.Identifiers)
			}
			// A new identifier that resolves like the merged one joins the merged app.
			if _, err := st.Import(ctx, audit.System, "okta", "o.json", strings.NewReader("["+oktaLoom(now)+"]")); err != nil {
				t.Fatal(err)
			}
			if a, _ = st.App(ctx, loom); a.Identifiers != 3 || a.UsersAll != 5 {
				t.Errorf("a new Loom Recorder identifier: %d identifiers, %d people; want 3 and 5", a.Identifiers, a.UsersAll)
			}

			// Split the recorder off again: its people are its own, and it stays apart.
			split, err := st.Split(ctx, audit.System, loom, "name:loom recorder")
			if err != nil {
				t.Fatal(err)
			}
			s, _ := st.App(ctx, split)
			if s.UsersAll != 3 || s.Identifiers != 1 { // b, c, d
				t.Errorf("split app: %d people under %d identifiers, want 3 under 1", s.UsersAll, s.Identifiers)
			}
			if a, _ = st.App(ctx, loom); a.UsersAll != 3 { // a, b, e (okta)
				t.Errorf("after the split: %d people, want 3", a.UsersAll)
			}
			again := "time,user,app,domain\n" + at(0) + ",f@example.com,Loom Recorder,\n"
			if _, err := st.Import(ctx, audit.System, "csv", "c.csv", strings.NewReader(again)); err != nil {
				t.Fatal(err)
			}
			if s, _ = st.App(ctx, split); s.UsersAll != 4 {
				t.Errorf("a later import of the split identifier: %d people, want 4", s.UsersAll)
			}
			// Resolving again respects both choices.
			if _, err := st.Reresolve(ctx, audit.System); err != nil {
				t.Fatal(err)
			}
			if id, _ := st.AppOfIdentifier(ctx, "name:loom recorder"); id != split {
				t.Errorf("re-resolution moved a split identifier to %d", id)
			}
			var after int
			_ = d.Get(&after, "SELECT COUNT(*) FROM usage_events")
			if after != events+3 {
				t.Errorf("raw events: %d, want %d (only the new imports add)", after, events+3)
			}
			var audits int
			_ = d.Get(&audits, "SELECT COUNT(*) FROM audit_log WHERE action IN ('discovery.merge', 'discovery.split')")
			if audits != 2 {
				t.Errorf("%d merge/split audit entries, want 2", audits)
			}
		})
	}
}

func oktaLoom(now time.Time) string {
	return fmt.Sprintf(`{"uuid":"l1","published":%q,"eventType":"user.authentication.sso","actor":{"id":"00uE","type":"User","alternateId":"e@example.com"},`+
		`"outcome":{"result":"SUCCESS"},"target":[{"id":"0oaLoomRec","type":"AppInstance","displayName":"Loom Recorder"}]}`, now.Format("2006-01-02T15:04:05.000Z"))
}

// TestReresolveWhenTheCatalogueLearns: two identifiers the rules kept apart become one app
// when the catalogue learns that both are Figma; the triage made on either is kept.
func TestReresolveWhenTheCatalogueLearns(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			now := testNow()
			st := discovery.NewStore(d)
			st.Now = func() time.Time { return now }
			at := now.AddDate(0, 0, -1).Format(time.RFC3339)
			log := "time,user,app,domain\n" + at + ",a@example.com,Figma,figma.com\n" + at + ",a@example.com,FigJam Whiteboard,\n" + at + ",b@example.com,FigJam Whiteboard,\n"
			if _, err := st.Import(ctx, audit.System, "csv", "f.csv", strings.NewReader(log)); err != nil {
				t.Fatal(err)
			}
			figjam, _ := st.AppOfIdentifier(ctx, "name:figjam whiteboard")
			if err := st.Triage(ctx, audit.System, []int64{figjam}, discovery.TriageTolerated, "Design only."); err != nil {
				t.Fatal(err)
			}
			figma := insertApp(t, d, "figma", "Figma", "approved")
			for _, v := range []string{"figma.com", "FigJam Whiteboard"} {
				kind := "domain"
				if !strings.Contains(v, ".") {
					kind = "alias"
				}
				if _, err := d.Exec(d.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, ?, ?)"), figma, kind, v); err != nil {
					t.Fatal(err)
				}
			}
			moved, err := st.Reresolve(ctx, audit.System)
			if err != nil || moved == 0 {
				t.Fatalf("re-resolve moved %d (%v)", moved, err)
			}
			one, _ := st.AppOfIdentifier(ctx, "domain:figma.com")
			two, _ := st.AppOfIdentifier(ctx, "name:figjam whiteboard")
			if one != two {
				t.Fatalf("figma.com is app %d and FigJam app %d, want one", one, two)
			}
			a, err := st.App(ctx, one)
			if err != nil || a.UsersAll != 2 || a.CatalogueSlug() != "figma" || a.Triage != discovery.TriageTolerated || a.Note != "Design only." {
				t.Errorf("after re-resolving: %+v, %v", a, err)
			}
			if again, err := st.Reresolve(ctx, audit.System); err != nil || again != 0 {
				t.Errorf("a second re-resolve moved %d (%v), want 0", again, err)
			}
		})
	}
}

func TestRegistrableDomain(t *testing.T) {
	for in, want := range map[string]string{
		"us02web.zoom.us": "zoom.us", "acme.my.salesforce.com": "salesforce.com", "x.example.co.uk": "example.co.uk",
		"Slack.COM.": "slack.com", "co.uk": "", "": "",
	} {
		if got := discovery.RegistrableDomain(in); got != want {
			t.Errorf("RegistrableDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUpgradeRegroupsLegacyApps: a database from before identity resolution, with one app per
// identifier and triage on each, becomes one app per real app, keeping the more advanced
// triage and counting each person once.
func TestUpgradeRegroupsLegacyApps(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			for {
				name, err := d.MigrateDown(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(name, "00010") {
					break
				}
			}
			now := db.Time(testNow())
			day := now.AddDate(0, 0, -1)
			for _, row := range [][]any{
				{"okta:0oaZ", "Zoom", "blocked", "Use Teams."},
				{"domain:zoom.us", "zoom.us", "new", ""},
				{"name:gliffy", "Gliffy", "tolerated", ""},
			} {
				if _, err := d.Exec(d.Rebind("INSERT INTO discovered_apps (app_key, display_name, triage, note, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)"), append(row, day, day)...); err != nil {
					t.Fatal(err)
				}
			}
			for _, row := range [][]any{{"okta:0oaZ", "a@example.com"}, {"okta:0oaZ", "b@example.com"}, {"domain:zoom.us", "b@example.com"}, {"name:gliffy", "c@example.com"}} {
				if _, err := d.Exec(d.Rebind("INSERT INTO usage_app_users (app_key, user_key, first_used, last_used, last_seen, events) VALUES (?, ?, ?, ?, ?, 1)"), row[0], row[1], day, day, day); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			st := discovery.NewStore(d)
			st.Now = testNow
			// Until the resolver runs, each identifier keeps its own app and triage.
			if apps, _ := st.Apps(ctx, discovery.AppFilter{}); len(apps) != 3 {
				t.Fatalf("after the upgrade: %d apps, want 3", len(apps))
			}
			if _, err := st.Reresolve(ctx, audit.System); err != nil {
				t.Fatal(err)
			}
			apps, err := st.Apps(ctx, discovery.AppFilter{})
			if err != nil || len(apps) != 2 {
				t.Fatalf("after resolving: %+v, %v; want Zoom and Gliffy", apps, err)
			}
			for _, a := range apps {
				switch a.Name {
				case "Zoom", "zoom.us":
					if a.UsersAll != 2 || a.Triage != discovery.TriageBlocked || a.Note != "Use Teams." || a.Identifiers != 2 {
						t.Errorf("Zoom: %+v", a)
					}
				case "Gliffy":
					if a.UsersAll != 1 || a.Triage != discovery.TriageTolerated {
						t.Errorf("Gliffy: %+v", a)
					}
				default:
					t.Errorf("unexpected app %+v", a)
				}
			}
		})
	}
}
