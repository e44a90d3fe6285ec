package discovery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestFindingsAbout: a person sees the findings that name them, by their whole address in any
// case (p1 is not p10; a_b is not axb, whatever LIKE makes of "_"), and not once resolved.
func TestFindingsAbout(t *testing.T) {
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
			log := "time,user,app,domain\n"
			for _, p := range []string{"p1", "p10", "a_b"} {
				log += now.AddDate(0, 0, -1).Format(time.RFC3339) + "," + p + "@example.com,Zoom,zoom.us\n"
			}
			if _, err := st.Import(ctx, audit.System, "csv", "u", strings.NewReader(log)); err != nil {
				t.Fatal(err)
			}
			limit := func(n int) {
				t.Helper()
				if _, err := d.Exec(d.Rebind(`INSERT INTO app_conditions (app_id, seat_limit, updated_at) VALUES (?, ?, ?)
					ON CONFLICT (app_id) DO UPDATE SET seat_limit = excluded.seat_limit`), zoom, n, db.Time(now)); err != nil {
					t.Fatal(err)
				}
				if _, err := st.EvaluateConditions(ctx); err != nil {
					t.Fatal(err)
				}
			}
			limit(2)
			for person, want := range map[string]int{"p1@example.com": 1, " P10@Example.com ": 1, "a_b@example.com": 1, "axb@example.com": 0, "p@example.com": 0, "": 0, "%": 0} {
				got, err := st.FindingsAbout(ctx, person)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != want || (want == 1 && got[0].AppSlug != "zoom") {
					t.Errorf("findings about %q: %+v, want %d", person, got, want)
				}
			}
			limit(3)
			if got, _ := st.FindingsAbout(ctx, "p1@example.com"); len(got) != 0 {
				t.Errorf("a resolved finding is still about p1: %+v", got)
			}
		})
	}
}
