package db

import (
	"context"
	"database/sql"
	"fmt"
)

// MigrationLockKey is the PostgreSQL advisory lock every schema migration takes, Paved's own
// and the job queue's alike. Replicas starting together on an empty database would otherwise
// race to create the same tables; with it the first migrates and the others wait, then find
// nothing left to do.
const MigrationLockKey int64 = 0x7061766564_0001 // "paved", 1

// advisoryLocker is goose's session locker for PostgreSQL, blocking in pg_advisory_lock rather
// than polling pg_try_advisory_lock as goose's own does every 5 s, so a waiting replica goes on
// the moment the first one finishes. Cancelling ctx ends the wait: pgx cancels the query.
type advisoryLocker struct{ key int64 }

func (l advisoryLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", l.key); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return nil
}

func (l advisoryLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var released bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_advisory_unlock($1)", l.key).Scan(&released); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	if !released {
		return fmt.Errorf("release migration lock: this session did not hold it")
	}
	return nil
}
