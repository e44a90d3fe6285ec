package db_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestMigrationsRoundTrip(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t) // migrated up
			ctx := context.Background()
			var out bytes.Buffer
			if err := d.MigrationStatus(ctx, &out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "pending") || !strings.Contains(out.String(), "00001_users_audit") {
				t.Fatalf("status after up:\n%s", out.String())
			}
			// Down all the way, then up again: every Down must undo its Up.
			for {
				name, err := d.MigrateDown(ctx)
				if err != nil {
					if strings.Contains(err.Error(), "no migrations to run") || strings.Contains(err.Error(), "no current version") {
						break
					}
					t.Fatalf("down: %v", err)
				}
				if name == "" {
					break
				}
				if strings.HasPrefix(name, "00001") {
					break
				}
			}
			out.Reset()
			if err := d.MigrationStatus(ctx, &out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "applied") {
				t.Fatalf("status after down:\n%s", out.String())
			}
			applied, err := d.Migrate(ctx)
			if err != nil {
				t.Fatalf("up again: %v", err)
			}
			if len(applied) < 2 {
				t.Fatalf("re-applied %v, want every migration", applied)
			}
			again, err := d.Migrate(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second up applied %v (err %v), want nothing", again, err)
			}
		})
	}
}

func TestTimesRoundTripAndUniqueViolations(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			at := db.Time(time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("CET", 3600)))
			insert := d.Rebind("INSERT INTO users (issuer, subject, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
			if _, err := d.ExecContext(ctx, insert, "https://idp", "sub-1", "a@example.com", at, at); err != nil {
				t.Fatal(err)
			}
			var got time.Time
			if err := d.GetContext(ctx, &got, d.Rebind("SELECT created_at FROM users WHERE subject = ?"), "sub-1"); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(at) {
				t.Errorf("time read back %v, want %v", got, at)
			}
			// Times compare in SQL as instants: a minute earlier sorts before.
			var n int
			if err := d.GetContext(ctx, &n, d.Rebind("SELECT COUNT(*) FROM users WHERE created_at > ?"), at.Add(-time.Minute)); err != nil || n != 1 {
				t.Errorf("count after a minute earlier = %d (err %v), want 1", n, err)
			}
			if err := d.GetContext(ctx, &n, d.Rebind("SELECT COUNT(*) FROM users WHERE created_at > ?"), at.Add(time.Microsecond)); err != nil || n != 0 {
				t.Errorf("count after a microsecond later = %d (err %v), want 0", n, err)
			}
			_, err := d.ExecContext(ctx, insert, "https://idp", "sub-1", "b@example.com", at, at)
			if !db.IsUniqueViolation(err) {
				t.Errorf("duplicate (issuer, subject): err = %v, want a unique violation", err)
			}
			_, err = d.ExecContext(ctx, d.Rebind("INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id) VALUES (?, ?, ?, ?, ?, ?)"), at, 424242, "x", "a", "t", "1")
			if err == nil || db.IsUniqueViolation(err) {
				t.Errorf("audit row for a missing user: err = %v, want a foreign key error", err)
			}
		})
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	_, err := db.Open(context.Background(), db.Options{Dialect: db.Postgres, DSN: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"})
	if err == nil {
		t.Fatal("open succeeded against a closed port")
	}
}

func TestBulkCommitsRollsBackAndGivesItsConnectionBackAsItWas(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			d.SetMaxOpenConns(1) // the connection the bulk load used is the one asked for next
			ctx := context.Background()
			at := db.Time(time.Now())
			bulk, err := d.Bulk(ctx)
			if err != nil {
				t.Fatal(err)
			}
			insert := d.Rebind("INSERT INTO users (issuer, subject, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")
			if err := bulk.InTx(ctx, func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, insert, "https://idp", "kept", "a@example.com", at, at)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			if err := bulk.InTx(ctx, func(tx *sqlx.Tx) error {
				if _, err := tx.ExecContext(ctx, insert, "https://idp", "undone", "b@example.com", at, at); err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("InTx returned %v, want fn's error", err)
			}
			if err := bulk.Close(); err != nil {
				t.Fatal(err)
			}
			var subjects []string
			if err := d.SelectContext(ctx, &subjects, "SELECT subject FROM users ORDER BY subject"); err != nil {
				t.Fatal(err)
			}
			if strings.Join(subjects, ",") != "kept" {
				t.Errorf("users after a commit and a rollback: %v, want [kept]", subjects)
			}
			// The pool's connection checks foreign keys again.
			_, err = d.ExecContext(ctx, d.Rebind("INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id) VALUES (?, ?, ?, ?, ?, ?)"), at, 424242, "x", "a", "t", "1")
			if err == nil {
				t.Error("audit row for a missing user after the bulk load: accepted, want a foreign key error")
			}
			if d.Dialect == db.SQLite {
				var pages int
				if err := d.GetContext(ctx, &pages, "PRAGMA wal_autocheckpoint"); err != nil || pages != 1000 {
					t.Errorf("wal_autocheckpoint after the bulk load = %d (err %v), want 1000", pages, err)
				}
				var cache int
				if err := d.GetContext(ctx, &cache, "PRAGMA cache_size"); err != nil || cache != -2000 {
					t.Errorf("cache_size after the bulk load = %d (err %v), want SQLite's default -2000", cache, err)
				}
			}
		})
	}
}
