// Package db opens Paved's SQL database (SQLite by default, PostgreSQL for scale-out), applies
// the embedded migrations and is the one place that knows how the two dialects differ. Domain
// packages write portable SQL with ? placeholders and call Rebind through this package.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/pavedhq/paved/migrations"
)

// Dialect names a supported SQL database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options say which database to open and how large its connection pool may grow.
type Options struct {
	Dialect Dialect
	// DSN is a file path for SQLite and a postgres:// URL for PostgreSQL.
	DSN string
	// MaxOpenConns 0 means a default per dialect: SQLite allows one writer at a time, so a few
	// connections serve readers under WAL; PostgreSQL takes more.
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
}

// DB is a database handle that knows its dialect.
type DB struct {
	*sqlx.DB
	Dialect Dialect
}

// Open connects, sets pool limits and pings the database.
func Open(ctx context.Context, o Options) (*DB, error) {
	var (
		driver, dsn string
		maxOpen     = o.MaxOpenConns
	)
	switch o.Dialect {
	case SQLite:
		driver = "sqlite"
		// WAL lets readers run beside the one writer; busy_timeout waits for the write lock
		// instead of failing; _txlock=immediate takes that lock at BEGIN so two transactions
		// never deadlock upgrading from read to write.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		q.Set("_time_format", "sqlite")
		dsn = "file:" + o.DSN + "?" + q.Encode()
		if maxOpen == 0 {
			maxOpen = 4
		}
	case Postgres:
		driver, dsn = "pgx", o.DSN
		if maxOpen == 0 {
			maxOpen = 20
		}
	default:
		return nil, fmt.Errorf("unknown database dialect %q", o.Dialect)
	}
	var (
		sqlDB *sql.DB
		err   error
	)
	if o.Dialect == SQLite {
		base, err := sqlite.NewConnector(dsn)
		if err != nil {
			return nil, fmt.Errorf("open %s database: %w", o.Dialect, err)
		}
		sqlDB = sql.OpenDB(cachingConnector{base})
	} else if sqlDB, err = sql.Open(driver, dsn); err != nil {
		return nil, fmt.Errorf("open %s database: %w", o.Dialect, err)
	}
	maxIdle := o.MaxIdleConns
	if maxIdle == 0 {
		maxIdle = maxOpen
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxIdle)
	if o.ConnMaxLifetime > 0 {
		sqlDB.SetConnMaxLifetime(o.ConnMaxLifetime)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to %s database: %w", o.Dialect, err)
	}
	// sqlx picks the placeholder style from the driver name: $n for pgx, ? otherwise.
	return &DB{DB: sqlx.NewDb(sqlDB, driver), Dialect: o.Dialect}, nil
}

// InTx runs fn in a transaction, committing when it returns nil and rolling back otherwise.
func (d *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := d.BeginTxx(ctx, nil)
	return runTx(tx, err, fn)
}

// runTx runs fn in tx, which began with err, and commits if fn returns nil.
func runTx(tx *sqlx.Tx, err error, fn func(tx *sqlx.Tx) error) error {
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// Ping reports whether the database answers, for readiness checks.
func (d *DB) Ping(ctx context.Context) error { return d.PingContext(ctx) }

// Time normalises a timestamp for storage: UTC (so SQLite's text times sort correctly) and
// microseconds (PostgreSQL's precision, so values read back compare equal).
func Time(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// IsUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// IsNotFound reports whether err means a query found no row.
func IsNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

func (d *DB) goose() (*goose.Provider, error) {
	fsys, err := migrations.For(string(d.Dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if d.Dialect == Postgres {
		dialect = goose.DialectPostgres
		// SQLite needs no lock: its write lock already lets one migrator in at a time.
		opts = append(opts, goose.WithSessionLocker(advisoryLocker{key: MigrationLockKey}))
	}
	return goose.NewProvider(dialect, d.DB.DB, fsys, opts...)
}

// Migrate applies every pending migration.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	p, err := d.goose()
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	var applied []string
	for _, r := range res {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}

// MigrateDown rolls back the newest applied migration.
func (d *DB) MigrateDown(ctx context.Context) (string, error) {
	p, err := d.goose()
	if err != nil {
		return "", fmt.Errorf("load migrations: %w", err)
	}
	res, err := p.Down(ctx)
	if err != nil {
		return "", fmt.Errorf("roll back migration: %w", err)
	}
	return res.Source.Path, nil
}

// MigrationStatus writes one line per migration: applied or pending.
func (d *DB) MigrationStatus(ctx context.Context, w io.Writer) error {
	p, err := d.goose()
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	for _, s := range st {
		when := "pending"
		if s.State == goose.StateApplied {
			when = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%05d  %-40s %s\n", s.Source.Version, strings.TrimSuffix(s.Source.Path, ".sql"), when)
	}
	return nil
}

// Timestamp scans a time from either dialect, including from SQLite aggregates (MIN, MAX),
// which come back as text because an expression has no declared column type.
type Timestamp struct{ time.Time }

// timeLayouts are the text forms SQLite stores times in (see Open's _time_format).
var timeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"}

// Scan implements sql.Scanner.
func (t *Timestamp) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = x
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a timestamp", v)
}

func (t *Timestamp) parse(s string) error {
	for _, l := range timeLayouts {
		if p, err := time.Parse(l, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("cannot read %q as a timestamp", s)
}
