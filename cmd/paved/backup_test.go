package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/internal/db"
)

// TestBackupUnderLoadAndRestore backs up a SQLite database while another connection keeps
// writing to it, then restores the backup into a new data dir: the backup passes SQLite's
// integrity check and holds whole transactions only, the restored database has the same rows
// in every table as the backup, and the search index is rebuilt from it.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	live := filepath.Join(tmp, "live")
	liveEnv := envOf(map[string]string{"PAVED_DATA_DIR": live})
	var errOut bytes.Buffer
	if code := run(ctx, []string{"seed"}, liveEnv, io.Discard, &errOut); code != 0 {
		t.Fatalf("seed: %d %s", code, errOut.String())
	}
	d, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: filepath.Join(live, "paved.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	// Each write is a user and its audit entry in one transaction: a consistent copy holds as
	// many of one as of the other.
	var written atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	var writeErr error
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			now := db.Time(time.Now())
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				res, err := tx.ExecContext(ctx, "INSERT INTO users (issuer, subject, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
					"https://load", fmt.Sprintf("load-%d", i), fmt.Sprintf("load-%d@example.com", i), now, now)
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				_, err = tx.ExecContext(ctx, "INSERT INTO audit_log (at, actor_id, actor, action, object_type, object_id) VALUES (?, ?, 'load', 'load.write', 'user', ?)",
					now, id, fmt.Sprint(id))
				return err
			})
			if err != nil {
				writeErr = err
				return
			}
			written.Add(1)
		}
	}()
	waitFor := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for written.Load() < n {
			if time.Now().After(deadline) {
				close(stop)
				wg.Wait()
				t.Fatalf("only %d writes in 30 s (%v)", written.Load(), writeErr)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(200)
	backup := filepath.Join(tmp, "backup.db")
	var out bytes.Buffer
	errOut.Reset()
	if code := run(ctx, []string{"backup", backup}, liveEnv, &out, &errOut); code != 0 {
		t.Fatalf("backup: %d %s", code, errOut.String())
	}
	after := written.Load()
	waitFor(after + 100) // the writes went on during and after the backup
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer: %v", writeErr)
	}
	if !strings.Contains(out.String(), "backed up") {
		t.Errorf("backup said %q", out.String())
	}

	if err := db.CheckSQLiteBackup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	b, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: backup, MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	backupCounts := tableCounts(t, b)
	var users, audits int
	if err := b.GetContext(ctx, &users, "SELECT COUNT(*) FROM users WHERE issuer = 'https://load'"); err != nil {
		t.Fatal(err)
	}
	if err := b.GetContext(ctx, &audits, "SELECT COUNT(*) FROM audit_log WHERE action = 'load.write'"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	total := written.Load()
	t.Logf("backup taken with %d of %d writes in it", users, total)
	if users != audits || users < 200 || int64(users) >= total {
		t.Errorf("backup holds %d load users and %d of their audit entries, of %d written; want equal numbers, between 200 and %d", users, audits, total, total)
	}

	// Restore into a fresh data dir.
	restored := filepath.Join(tmp, "restored")
	resEnv := envOf(map[string]string{"PAVED_DATA_DIR": restored})
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"restore", backup}, resEnv, &out, &errOut); code != 0 {
		t.Fatalf("restore: %d %s", code, errOut.String())
	}
	r, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: filepath.Join(restored, "paved.db"), MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := r.GetContext(ctx, &check, "PRAGMA integrity_check"); err != nil || check != "ok" {
		t.Errorf("restored database integrity_check = %q, %v", check, err)
	}
	restoredCounts := tableCounts(t, r)
	r.Close()
	if len(restoredCounts) != len(backupCounts) {
		t.Errorf("restored database has %d tables, the backup %d", len(restoredCounts), len(backupCounts))
	}
	for table, n := range backupCounts {
		if restoredCounts[table] != n {
			t.Errorf("table %s: %d rows restored, %d in the backup", table, restoredCounts[table], n)
		}
	}
	apps := backupCounts["apps"]
	if apps == 0 || !strings.Contains(out.String(), fmt.Sprintf("indexed %d apps", apps)) {
		t.Errorf("restore said %q; want the %d apps indexed", out.String(), apps)
	}
	ix, err := bleveindex.Open(filepath.Join(restored, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx); err != nil || n != apps {
		t.Errorf("restored search index holds %d documents (%v); want %d", n, err, apps)
	}
	ix.Close()

	// A second restore over the now existing database needs --force.
	errOut.Reset()
	if code := run(ctx, []string{"restore", backup}, resEnv, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "--force") {
		t.Errorf("restore over an existing database: exit %d, %q; want a refusal naming --force", code, errOut.String())
	}
	errOut.Reset()
	if code := run(ctx, []string{"restore", "--force", backup}, resEnv, io.Discard, &errOut); code != 0 {
		t.Errorf("restore --force: %d %s", code, errOut.String())
	}
	// A backup never overwrites a file.
	errOut.Reset()
	if code := run(ctx, []string{"backup", backup}, liveEnv, io.Discard, &errOut); code != 1 || !strings.Contains(errOut.String(), "exists") {
		t.Errorf("backup over an existing file: exit %d, %q", code, errOut.String())
	}
	// A file that is not a Paved database is refused and the database left alone.
	junk := filepath.Join(tmp, "junk.db")
	if err := os.WriteFile(junk, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(ctx, []string{"restore", "--force", junk}, resEnv, io.Discard, &errOut); code != 1 {
		t.Errorf("restore of a junk file: exit %d, %q", code, errOut.String())
	}
	if err := db.CheckSQLiteBackup(ctx, filepath.Join(restored, "paved.db")); err != nil {
		t.Errorf("the database after a refused restore: %v", err)
	}
}

// TestBackupOnPostgresNamesItsTool checks that backup and restore on PostgreSQL refuse and
// print the pg_dump and pg_restore lines to use, without the database password.
func TestBackupOnPostgresNamesItsTool(t *testing.T) {
	env := envOf(map[string]string{"PAVED_DATABASE_URL": "postgres://paved:s3cret@db.example:5432/paved", "PAVED_DATA_DIR": t.TempDir()})
	for _, c := range []struct{ cmd, want string }{
		{"backup", `pg_dump --format=custom --file=paved.dump "$PAVED_DATABASE_URL"`},
		{"restore", `pg_restore --clean --if-exists --no-owner --dbname="$PAVED_DATABASE_URL" paved.dump && paved reindex`},
	} {
		var errOut bytes.Buffer
		code := run(context.Background(), []string{c.cmd, "paved.dump"}, env, io.Discard, &errOut)
		if code != 1 || !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), "s3cret") {
			t.Errorf("%s on PostgreSQL: exit %d, %q; want 1 and %s", c.cmd, code, errOut.String(), c.want)
		}
	}
}

// tableCounts returns the number of rows of every table of a SQLite database.
func tableCounts(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	var tables []string
	if err := d.SelectContext(context.Background(), &tables, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, name := range tables {
		var n int
		if err := d.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM "`+name+`"`); err != nil {
			t.Fatal(err)
		}
		counts[name] = n
	}
	return counts
}
