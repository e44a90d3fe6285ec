package jobs

import (
	"context"
	"sync"
	"testing"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestMigrationsRunOnceWhenStartedTogether has four processes' worth of connections migrate an
// empty PostgreSQL database at the same moment, as replicas starting together do: Paved's and
// the job queue's migrations are each applied exactly once, by one of them, and the others
// find nothing to do instead of failing on tables another one is creating.
func TestMigrationsRunOnceWhenStartedTogether(t *testing.T) {
	dsn := testutil.EmptyPostgresDatabase(t)
	ctx := context.Background()
	const replicas = 4
	type result struct {
		paved, river []string
		err          error
	}
	results := make([]result, replicas)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range replicas {
		d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: dsn, MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			r := &results[i]
			if r.paved, r.err = d.Migrate(ctx); r.err != nil {
				return
			}
			j, err := New(ctx, d, nil, Options{})
			if err != nil {
				r.err = err
				return
			}
			defer j.Close()
			r.river, r.err = j.Migrate(ctx)
		}()
	}
	close(ready)
	wg.Wait()

	pavedBy, riverBy := 0, 0
	var pavedApplied, riverApplied int
	for i, r := range results {
		if r.err != nil {
			t.Errorf("replica %d: %v", i, r.err)
		}
		if len(r.paved) > 0 {
			pavedBy++
			pavedApplied = len(r.paved)
		}
		if len(r.river) > 0 {
			riverBy++
			riverApplied = len(r.river)
		}
	}
	if pavedBy != 1 || riverBy != 1 {
		t.Fatalf("Paved's migrations applied by %d replicas and River's by %d; want exactly one each", pavedBy, riverBy)
	}
	d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: dsn, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// goose records a version once per application: a second application shows as a repeat.
	var versions, distinct int
	if err := d.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0").Scan(&versions, &distinct); err != nil {
		t.Fatal(err)
	}
	if versions != pavedApplied || distinct != pavedApplied {
		t.Errorf("goose_db_version holds %d rows for %d versions; want the %d applied, once each", versions, distinct, pavedApplied)
	}
	var riverRows int
	if err := d.QueryRowContext(ctx, "SELECT COUNT(*) FROM river_migration").Scan(&riverRows); err != nil {
		t.Fatal(err)
	}
	if riverRows != riverApplied {
		t.Errorf("river_migration holds %d rows; want the %d applied", riverRows, riverApplied)
	}
}
