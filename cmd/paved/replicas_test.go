package main

import (
	"context"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestServersStartTogetherOnEmptyPostgres starts three `paved serve` at the same moment on a
// PostgreSQL database nobody has set up: all three come up, every migration (Paved's and the
// job queue's) is applied once by exactly one of them, and the others wait for it and then find
// nothing to do.
func TestServersStartTogetherOnEmptyPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers; skipped with -short")
	}
	dsn := testutil.EmptyPostgresDatabase(t)
	bin := pavedBinary(t)
	tmp := t.TempDir()
	var servers []*server
	for i := range 3 {
		servers = append(servers, startServer(t, bin, map[string]string{
			"PAVED_DATABASE_URL": dsn,
			"PAVED_DATA_DIR":     filepath.Join(tmp, string(rune('a'+i))),
			"PAVED_LOG_LEVEL":    "debug", // migrations are logged at debug
		}))
	}
	applied := map[string]int{}
	migrators := 0
	for _, s := range servers {
		base := s.waitServing(t, 60*time.Second)
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s/readyz = %d", base, resp.StatusCode)
		}
		files := s.logged("applied migration", "file")
		if len(files) > 0 {
			migrators++
		}
		for _, f := range files {
			applied[f]++
		}
	}
	for f, n := range applied {
		if n != 1 {
			t.Errorf("migration %s applied %d times", f, n)
		}
	}
	var names []string
	for f := range applied {
		names = append(names, f)
	}
	sort.Strings(names)
	// Both kinds of migration were applied, by one server (the lock's holder) for each kind.
	var paved, river int
	for _, f := range names {
		if strings.HasPrefix(f, "river/") {
			river++
		} else {
			paved++
		}
	}
	if paved == 0 || river == 0 {
		t.Fatalf("applied %v; want Paved's and the job queue's migrations", names)
	}
	if migrators < 1 || migrators > 2 {
		t.Errorf("%d servers applied migrations; want one (or one for each kind)", migrators)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: dsn, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var rows int
	if err := d.GetContext(ctx, &rows, "SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0"); err != nil {
		t.Fatal(err)
	}
	if rows != paved {
		t.Errorf("goose_db_version holds %d applied versions; the servers logged %d", rows, paved)
	}
	for _, s := range servers {
		s.stop(t)
	}
}
