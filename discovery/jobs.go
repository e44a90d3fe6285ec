package discovery

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/jobs"
)

// PruneEvents deletes raw events older than retention. The usage rollups and the discovered
// apps' first and last seen dates are kept, so the dashboard's counts do not change.
func (s *Store) PruneEvents(ctx context.Context, retention time.Duration) (int64, error) {
	// Count every event before any is deleted.
	if err := s.RollUpPending(ctx); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM usage_events WHERE occurred_at < ?"), s.now().Add(-retention))
	if err != nil {
		return 0, fmt.Errorf("prune usage events: %w", err)
	}
	return res.RowsAffected()
}

// PruneArgs asks for raw events past the retention window to be deleted.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "discovery.prune_events" }

// PruneWorker runs the retention.
type PruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	Store     *Store
	Retention time.Duration
}

// Work deletes the expired events.
func (w *PruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	_, err := w.Store.PruneEvents(ctx, w.Retention)
	return err
}

// PrunePeriodic runs the retention every six hours on one replica.
func PrunePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return PruneArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// RegisterJobs adds discovery's workers to j.
func (s *Store) RegisterJobs(j *jobs.Jobs, retention time.Duration) {
	jobs.AddWorker(j, &PruneWorker{Store: s, Retention: retention})
}
