package discovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// withoutStored finds stored ids by a range scan of the chunk's time span when that span is
// narrow, and by id otherwise; either way it returns exactly the events not stored yet.
func TestWithoutStoredByTimeSpanOrByID(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			base := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
			at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
			// 200 stored events, one a second.
			var log strings.Builder
			log.WriteString("time,email,app,id\n")
			for i := range 200 {
				fmt.Fprintf(&log, "%s,u%d@example.com,Slack,evt-%03d\n", at(i).Format(time.RFC3339), i%7, i)
			}
			if _, err := NewStore(d).Import(ctx, audit.System, FormatCSV, "a.csv", strings.NewReader(log.String())); err != nil {
				t.Fatal(err)
			}
			// Event i is stored for i < 200; event 1000+i is not, and happened beside event i.
			if d.Dialect == db.SQLite {
				// Without statistics SQLite could pick another index, and read every event.
				var plan []struct {
					ID, Parent, NotUsed int
					Detail              string
				}
				if err := d.SelectContext(ctx, &plan, "EXPLAIN QUERY PLAN "+storedInSpanSQL, at(0), at(1), 10); err != nil {
					t.Fatal(err)
				}
				if len(plan) != 1 || !strings.Contains(plan[0].Detail, "INDEX usage_events_time") {
					t.Errorf("plan of the span scan: %+v, want a search of usage_events_time", plan)
				}
			}
			event := func(i int) UsageEvent {
				return UsageEvent{Source: SourceCSV, SourceEventID: fmt.Sprintf("evt-%03d", i), OccurredAt: at(i % 1000)}
			}
			for _, c := range []struct {
				name       string
				part       []int // event numbers
				wantWindow bool  // whether the time span is narrow enough to scan
			}{
				{"narrow span, some new", []int{40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 1041, 1049}, true},
				{"narrow span, all stored", []int{100, 101, 102, 103}, true},
				{"wide span: by id", []int{0, 199, 1005, 1150}, false},
				{"out of order, narrow", []int{12, 10, 11, 1011, 13}, true},
			} {
				t.Run(c.name, func(t *testing.T) {
					var part []UsageEvent
					var want []string
					for _, i := range c.part {
						part = append(part, event(i))
						if i >= 1000 {
							want = append(want, event(i).SourceEventID)
						}
					}
					err := d.InTx(ctx, func(tx *sqlx.Tx) error {
						inWindow, err := storedInWindow(ctx, tx, SourceCSV, part)
						if err != nil {
							return err
						}
						if (inWindow != nil) != c.wantWindow {
							t.Errorf("time span scanned: %v, want %v", inWindow != nil, c.wantWindow)
						}
						fresh, err := withoutStored(ctx, tx, d.Dialect, part)
						if err != nil {
							return err
						}
						var got []string
						for _, e := range fresh {
							got = append(got, e.SourceEventID)
						}
						if !slices.Equal(got, want) {
							t.Errorf("not stored: %v, want %v", got, want)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}
