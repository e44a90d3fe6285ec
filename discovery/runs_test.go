package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// A run that a crash left "running" is marked interrupted when the server starts; on
// PostgreSQL a recent one may belong to another replica and is left alone.
func TestMarkInterruptedAtStart(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			st := discovery.NewStore(d)
			start := time.Now()
			for _, age := range []time.Duration{2 * time.Hour, time.Minute} {
				if _, err := d.Exec(d.Rebind("INSERT INTO import_runs (source, format, status, started_at) VALUES ('okta', 'okta', 'running', ?)"), db.Time(start.Add(-age))); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Exec(d.Rebind("INSERT INTO import_runs (source, format, status, started_at) VALUES ('okta', 'okta', 'finished', ?)"), db.Time(start.Add(-3*time.Hour))); err != nil {
				t.Fatal(err)
			}
			n, err := st.MarkInterrupted(context.Background(), start)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(2)
			if b.Name == "postgres" {
				want = 1
			}
			if n != want || count(t, d, "SELECT COUNT(*) FROM import_runs WHERE status = 'interrupted'") != int(want) {
				t.Errorf("marked %d runs interrupted, want %d", n, want)
			}
			if count(t, d, "SELECT COUNT(*) FROM import_runs WHERE status = 'finished'") != 1 {
				t.Error("a finished run changed")
			}
		})
	}
}
