package discovery_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// findingOf returns the one unresolved finding of a kind, or nil.
func findingOf(t *testing.T, st *discovery.Store, kind string) *discovery.Finding {
	t.Helper()
	all, err := st.Findings(context.Background(), discovery.FindingFilter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range all {
		if f.Status != discovery.FindingResolved {
			return &f
		}
	}
	return nil
}

func TestConditionsAndFindings(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			now := testNow()
			st := discovery.NewStore(d)
			st.Now = func() time.Time { return now }
			zoom := insertApp(t, d, "zoom", "Zoom", "approved_with_conditions")
			if _, err := d.Exec(d.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, 'domain', 'zoom.us')"), zoom); err != nil {
				t.Fatal(err)
			}
			if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader("email,department,groups\n"+
				"p1@example.com,Sales,customer-facing\np2@example.com,Sales,\np3@example.com,Support,customer-facing\n"+
				"p4@example.com,Engineering,\np5@example.com,Engineering,\n")); err != nil {
				t.Fatal(err)
			}
			use := func(days int, people ...string) {
				t.Helper()
				log := "time,user,app,domain\n"
				for _, p := range people {
					log += now.AddDate(0, 0, -days).Format(time.RFC3339) + "," + p + "@example.com,Zoom,zoom.us\n"
				}
				if _, err := st.Import(ctx, audit.System, "csv", fmt.Sprint("u", days, people), strings.NewReader(log)); err != nil {
					t.Fatal(err)
				}
			}
			evaluate := func() []discovery.Finding {
				t.Helper()
				opened, err := st.EvaluateConditions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return opened
			}
			setConditions := func(seat any, groups, scopes string, pilot any) {
				t.Helper()
				if _, err := d.Exec(d.Rebind(`INSERT INTO app_conditions (app_id, seat_limit, allowed_groups, forbidden_scopes, pilot_end, updated_at) VALUES (?, ?, ?, ?, ?, ?)
					ON CONFLICT (app_id) DO UPDATE SET seat_limit = excluded.seat_limit, allowed_groups = excluded.allowed_groups,
					forbidden_scopes = excluded.forbidden_scopes, pilot_end = excluded.pilot_end`), zoom, seat, groups, scopes, pilot, db.Time(now)); err != nil {
					t.Fatal(err)
				}
			}
			use(2, "p1", "p2", "p3", "p4", "p5")
			use(45, "p6") // outside the 30-day window

			// Seat limit: exactly at the limit is inside; one more is outside.
			setConditions(5, "", "", nil)
			if opened := evaluate(); len(opened) != 0 {
				t.Errorf("5 people under a limit of 5 opened %+v", opened)
			}
			setConditions(4, "", "", nil)
			opened := evaluate()
			if len(opened) != 1 || opened[0].Kind != "seat_limit" || opened[0].PeopleCount != 5 || len(opened[0].People()) != 5 {
				t.Fatalf("a limit of 4 for 5 people: %+v", opened)
			}
			// Idempotent: evaluating again opens nothing and changes nothing.
			var rows int
			_ = d.Get(&rows, "SELECT COUNT(*) FROM findings")
			if again := evaluate(); len(again) != 0 {
				t.Errorf("evaluating again opened %+v", again)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM findings"); n != rows {
				t.Errorf("evaluating again: %d findings, want %d", n, rows)
			}
			if err := st.Acknowledge(ctx, audit.System, opened[0].ID, "Buying a sixth seat."); err != nil {
				t.Fatal(err)
			}
			evaluate()
			if f := findingOf(t, st, "seat_limit"); f == nil || f.Status != discovery.FindingAcknowledged {
				t.Errorf("an acknowledged finding after evaluating again: %+v", f)
			}
			// The limit goes up: the finding resolves itself, with the time.
			setConditions(10, "", "", nil)
			evaluate()
			all, _ := st.Findings(ctx, discovery.FindingFilter{Kind: "seat_limit"})
			if len(all) != 1 || all[0].Status != discovery.FindingResolved || all[0].ResolvedAt == nil || !all[0].ResolvedAt.Equal(now) {
				t.Errorf("after raising the limit: %+v", all)
			}

			// Allowed groups: Sales or customer-facing; p4 and p5 (Engineering) are outside.
			setConditions(nil, "Sales\ncustomer-facing", "", nil)
			evaluate()
			f := findingOf(t, st, "allowed_groups")
			if f == nil || !slices.Equal(f.People(), []string{"p4@example.com", "p5@example.com"}) {
				t.Fatalf("allowed groups: %+v", f)
			}
			// p5 moves to Sales: only p4 stays outside.
			if _, err := st.ImportPeople(ctx, audit.System, strings.NewReader("email,department\np5@example.com,Sales\n")); err != nil {
				t.Fatal(err)
			}
			evaluate()
			if f = findingOf(t, st, "allowed_groups"); f == nil || !slices.Equal(f.People(), []string{"p4@example.com"}) || f.PeopleCount != 1 {
				t.Errorf("after p5 moved: %+v", f)
			}

			// Forbidden scopes: a Google grant with drive, revoked later.
			setConditions(nil, "", "https://www.googleapis.com/auth/drive", nil)
			grant := func(name string, q int, days int) string {
				return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"token","customerId":"C1"},`+
					`"actor":{"callerType":"USER","email":"p1@example.com","profileId":"11"},"events":[{"type":"auth","name":%q,"parameters":[`+
					`{"name":"client_id","value":"77-zoom.apps.googleusercontent.com"},{"name":"app_name","value":"Zoom"},`+
					`{"name":"scope","multiValue":["openid","https://www.googleapis.com/auth/drive"]}]}]}`, now.AddDate(0, 0, -days).Format("2006-01-02T15:04:05.000Z"), q, name)
			}
			if _, err := st.Import(ctx, audit.System, "google", "g1", strings.NewReader(`{"items":[`+grant("authorize", 1, 3)+`]}`)); err != nil {
				t.Fatal(err)
			}
			evaluate()
			if f = findingOf(t, st, "forbidden_scopes"); f == nil || !slices.Equal(f.People(), []string{"p1@example.com"}) {
				t.Fatalf("a forbidden grant: %+v", f)
			}
			if _, err := st.Import(ctx, audit.System, "google", "g2", strings.NewReader(`{"items":[`+grant("revoke", 2, 1)+`]}`)); err != nil {
				t.Fatal(err)
			}
			evaluate()
			if f = findingOf(t, st, "forbidden_scopes"); f != nil {
				t.Errorf("a revoked grant still a finding: %+v", f)
			}

			// Pilot end: use after the end date.
			setConditions(nil, "", "", db.Time(now.AddDate(0, 0, -10)))
			evaluate()
			if f = findingOf(t, st, "pilot_end"); f == nil || f.PeopleCount != 5 {
				t.Errorf("use after the pilot: %+v", f)
			}
		})
	}
}
