package db

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// bulkCheckpointPages is the WAL size, in pages, at which a bulk load's commits checkpoint
// (SQLite's default is 1,000). A bulk load dirties the same index pages commit after commit; a
// larger WAL writes each of them back to the database file once per checkpoint rather than once
// per few commits: a tenth faster on a 1M-event import, for 40 MB of WAL on disk and no memory.
const bulkCheckpointPages = 10000

// bulkCacheKiB is a bulk load's page cache, as PRAGMA cache_size takes it (negative: KiB).
// SQLite's default, 2 MiB, holds a fraction of the index and rollup pages an import writes
// batch after batch, so it reads most of them back from the WAL each time.
const bulkCacheKiB = -32768

// defaultCacheKiB is SQLite's default page cache, which the connection gets back.
const defaultCacheKiB = -2000

// Bulk is one connection held for a bulk load, such as a log import, by one goroutine. On
// SQLite it skips foreign-key checks and checkpoints less often; its caller must only write
// rows whose references it knows exist. Close gives the connection back as it was.
type Bulk struct {
	conn    *sqlx.Conn
	dialect Dialect
}

// Bulk takes a connection from the pool for a bulk load.
func (d *DB) Bulk(ctx context.Context) (*Bulk, error) {
	conn, err := d.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("take a connection for a bulk load: %w", err)
	}
	b := &Bulk{conn: conn, dialect: d.Dialect}
	if d.Dialect == SQLite {
		// Foreign-key checks make every multi-row INSERT keep a statement journal (a temp file
		// of the pages it touches, so the statement can be undone alone): a tenth of an import.
		// PRAGMA foreign_keys is ignored inside a transaction, so it is set here, between them.
		if err := b.pragmas(ctx, "PRAGMA foreign_keys = OFF", fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", bulkCheckpointPages),
			fmt.Sprintf("PRAGMA cache_size = %d", bulkCacheKiB)); err != nil {
			b.discard()
			return nil, err
		}
	}
	return b, nil
}

func (b *Bulk) pragmas(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := b.conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("prepare bulk load (%s): %w", s, err)
		}
	}
	return nil
}

// discard closes the connection instead of giving it back to the pool.
func (b *Bulk) discard() {
	_ = b.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = b.conn.Close()
}

// InTx runs fn in a transaction on the bulk connection, committing if fn returns nil.
func (b *Bulk) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := b.conn.BeginTxx(ctx, nil)
	return runTx(tx, err, fn)
}

// Close restores the connection's settings and gives it back to the pool; a connection whose
// settings cannot be restored is closed instead, so no other caller gets it.
func (b *Bulk) Close() error {
	if b.dialect == SQLite {
		ctx := context.Background()
		if err := b.pragmas(ctx, "PRAGMA foreign_keys = ON", "PRAGMA wal_autocheckpoint = 1000", fmt.Sprintf("PRAGMA cache_size = %d", defaultCacheKiB)); err != nil {
			b.discard()
			return err
		}
	}
	return b.conn.Close()
}
