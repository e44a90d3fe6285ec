package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
)

// PostgreSQL is backed up with its own tools, which do it consistently and fast; Paved only
// says how. The URL stays in the variable so that its password is never printed.
const (
	pgDumpLine    = `pg_dump --format=custom --file=%s "$PAVED_DATABASE_URL"`
	pgRestoreLine = `pg_restore --clean --if-exists --no-owner --dbname="$PAVED_DATABASE_URL" %s && paved reindex`
)

// runBackup writes a consistent copy of the SQLite database while Paved keeps serving.
func runBackup(ctx context.Context, e env, args []string) error {
	cfg, rest, err := config.Load("backup", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "Usage: paved backup [flags] FILE")
		return errUsage
	}
	file := rest[0]
	dbc, err := backupTarget(cfg)
	if err != nil {
		return err
	}
	if dbc.Driver == "postgres" {
		return fmt.Errorf("a PostgreSQL database is backed up with PostgreSQL's own tool, not by paved:\n  "+pgDumpLine, file)
	}
	if _, err := os.Stat(dbc.DSN); err != nil {
		return fmt.Errorf("no database to back up at %s (check PAVED_DATA_DIR and PAVED_DATABASE_URL): %w", dbc.DSN, err)
	}
	d, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: dbc.DSN, MaxOpenConns: 1})
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	if err := d.BackupSQLite(ctx, file); err != nil {
		return err
	}
	if err := db.CheckSQLiteBackup(ctx, file); err != nil {
		return fmt.Errorf("the backup failed its check: %w", err)
	}
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s (%d bytes) in %s\n", dbc.DSN, file, st.Size(), time.Since(start).Round(time.Millisecond))
	return nil
}

// runRestore replaces the SQLite database with a backup, brings its schema up to date and
// rebuilds the search index from it.
func runRestore(ctx context.Context, e env, args []string) error {
	var force bool
	cfg, rest, err := config.LoadWith("restore", args, e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&force, "force", false, "(command) replace an existing database")
	})
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		fmt.Fprintln(e.stderr, "Usage: paved restore [--force] [flags] FILE")
		return errUsage
	}
	file := rest[0]
	dbc, err := backupTarget(cfg)
	if err != nil {
		return err
	}
	if dbc.Driver == "postgres" {
		return fmt.Errorf("a PostgreSQL database is restored with PostgreSQL's own tool, then the search index rebuilt:\n  "+pgRestoreLine, file)
	}
	if err := cfg.PrepareDataDir(); err != nil {
		return err
	}
	if err := db.RestoreSQLite(ctx, file, dbc.DSN, force); err != nil {
		if errors.Is(err, db.ErrBackupExists) {
			return err
		}
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(e.stdout, "restored %s to %s\n", file, dbc.DSN)
	// The backup may predate this version: migrate it, then index what it holds.
	dm, err := openDomain(ctx, cfg, newLogger(cfg, e.stderr), true)
	if err != nil {
		return err
	}
	defer dm.Close()
	start := time.Now()
	n, err := dm.catalog.Reindex(ctx)
	if err != nil {
		return fmt.Errorf("the database is restored but the search index is not rebuilt (run `paved reindex`): %w", err)
	}
	fmt.Fprintf(e.stdout, "indexed %d apps in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// backupTarget validates the settings and says which database they name.
func backupTarget(cfg *config.Config) (config.Database, error) {
	if err := cfg.Validate(); err != nil {
		return config.Database{}, err
	}
	return config.ParseDatabaseURL(cfg.DatabaseURL, cfg.DataDir)
}
