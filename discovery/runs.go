package discovery

import (
	"context"
	"fmt"
	"time"

	"github.com/pavedhq/paved/internal/db"
)

// interruptedNote is the error an interrupted run shows.
const interruptedNote = "interrupted: the import stopped before it finished; what it committed is kept"

// MarkInterrupted closes, as interrupted, the runs still "running" that no live process can be
// running: on SQLite every one started before this process (one machine, one server); on
// PostgreSQL, where another replica may be importing right now, those older than an hour. It
// runs when the server starts, and returns how many it closed.
func (s *Store) MarkInterrupted(ctx context.Context, processStart time.Time) (int64, error) {
	cutoff := processStart
	if s.db.Dialect == db.Postgres {
		cutoff = processStart.Add(-staleRunAge)
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE import_runs SET status = ?, error = ? WHERE status = ? AND started_at < ?`),
		RunInterrupted, interruptedNote, RunRunning, db.Time(cutoff))
	if err != nil {
		return 0, fmt.Errorf("mark interrupted import runs: %w", err)
	}
	return res.RowsAffected()
}
