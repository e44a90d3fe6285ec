package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrBackupExists is returned when a backup or restore would overwrite a file.
var ErrBackupExists = errors.New("file exists")

// BackupSQLite writes a consistent copy of the SQLite database to path while it stays in use.
// VACUUM INTO reads the database in one transaction, so the copy is the database as it stood
// at one moment however many writes go on meanwhile, compacted and without a WAL of its own.
// It refuses to overwrite an existing file.
func (d *DB) BackupSQLite(ctx context.Context, path string) error {
	if d.Dialect != SQLite {
		return fmt.Errorf("online backup is for SQLite; this database is %s", d.Dialect)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s: %w; choose a new file name", path, ErrBackupExists)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if _, err := d.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		_ = os.Remove(abs) // a half-written copy must not pass for a backup
		return fmt.Errorf("back up to %s: %w", path, err)
	}
	return nil
}

// CheckSQLiteBackup opens the SQLite file at path read-only and checks that it is whole
// (PRAGMA integrity_check) and a Paved database (it has the migrations table).
func CheckSQLiteBackup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer c.Close()
	var res []string
	rows, err := c.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		res = append(res, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	}
	if len(res) != 1 || res[0] != "ok" {
		return fmt.Errorf("%s fails SQLite's integrity check: %s", path, strings.Join(res, "; "))
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM goose_db_version").Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("%s is not a Paved database (no migrations recorded)", path)
	}
	return nil
}

// RestoreSQLite replaces the SQLite database at dst with the backup at src after checking the
// backup. An existing database with data is only replaced when force is set. No process may
// have dst open meanwhile: stop every `paved` using it first.
//
// The copy is written beside dst and renamed over it, so dst is at every moment either the old
// database or the whole backup. The old database's WAL is checkpointed away first: a WAL left
// beside the new file would be replayed into it.
func RestoreSQLite(ctx context.Context, src, dst string, force bool) error {
	if err := CheckSQLiteBackup(ctx, src); err != nil {
		return err
	}
	if same, _ := sameFile(src, dst); same {
		return fmt.Errorf("%s is the database itself; restore from a copy", src)
	}
	if st, err := os.Stat(dst); err == nil && st.Size() > 0 {
		if !force {
			return fmt.Errorf("%s: %w and would be overwritten; pass --force to replace it (stop every paved process using it first)", dst, ErrBackupExists)
		}
		if err := checkpoint(ctx, dst); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return err
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("replace %s: %w", dst, err)
	}
	return nil
}

// checkpoint folds the WAL of the database at path into the file and empties it.
func checkpoint(ctx context.Context, path string) error {
	c, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint %s before replacing it: %w", path, err)
	}
	return nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
