package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/pavedhq/paved/internal/db"
)

// Backend is one of the SQL databases every storage test runs against.
type Backend struct {
	Name string
	// Open returns a freshly migrated, empty database that is removed when the test ends.
	Open func(t testing.TB) *db.DB
}

// Backends returns SQLite and PostgreSQL. Storage tests loop over them so that the same test
// functions prove both databases behave alike:
//
//	for _, b := range testutil.Backends() {
//		t.Run(b.Name, func(t *testing.T) { d := b.Open(t); … })
//	}
func Backends() []Backend {
	return []Backend{{Name: "sqlite", Open: SQLite}, {Name: "postgres", Open: Postgres}}
}

// SQLite opens a migrated SQLite database in the test's temp dir.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), db.Options{Dialect: db.SQLite, DSN: filepath.Join(t.TempDir(), "paved.db")})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	migrate(t, d)
	return d
}

// Postgres opens a migrated PostgreSQL database in a schema of its own, dropped at the end, so
// tests can run in parallel against one server.
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer admin.Close()
	schema := "t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse PAVED_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: u.String(), MaxOpenConns: 8})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		d.Close()
		if a, err := db.Open(context.Background(), db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1}); err == nil {
			_, _ = a.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			a.Close()
		}
	})
	migrate(t, d)
	return d
}

func migrate(t testing.TB, d *db.DB) {
	t.Helper()
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", d.Dialect, err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// EmptyPostgresDatabase creates an empty database on the test PostgreSQL server, dropped when
// the test ends, and returns its URL. Unlike Postgres it runs no migration: it is for tests of
// what happens on a database nobody has set up yet, such as replicas starting together.
func EmptyPostgresDatabase(t testing.TB) string {
	t.Helper()
	base := PostgresURL(t)
	ctx := context.Background()
	admin, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1})
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer admin.Close()
	name := "t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if a, err := db.Open(context.Background(), db.Options{Dialect: db.Postgres, DSN: base, MaxOpenConns: 1}); err == nil {
			// FORCE ends the sessions a failed test may have left behind.
			_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			a.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse PAVED_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
