package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/audit"
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

// ResolveWorker resolves the identifiers seen so far again when catalogue identifiers change.
type ResolveWorker struct {
	river.WorkerDefaults[catalog.IdentifiersChangedArgs]
	Store *Store
}

// Work re-runs the resolution over the stored identifiers.
func (w *ResolveWorker) Work(ctx context.Context, _ *river.Job[catalog.IdentifiersChangedArgs]) error {
	moved, err := w.Store.Reresolve(ctx, audit.System)
	if moved > 0 {
		slog.InfoContext(ctx, "discovery: identifiers resolved again", "moved", moved)
		w.Store.enqueueTrend(ctx)
	}
	return err
}

// ResolvePeriodic resolves identifiers again once a day and at start (which also regroups
// identifiers recorded before apps were resolved at all).
func ResolvePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return catalog.IdentifiersChangedArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// TrendArgs asks for the overview's trend of people using unapproved apps to be recounted.
type TrendArgs struct{}

// Kind names the job.
func (TrendArgs) Kind() string { return "discovery.shadow_trend" }

// TrendWorker recounts the trend.
type TrendWorker struct {
	river.WorkerDefaults[TrendArgs]
	Store *Store
}

// Work recounts the trend.
func (w *TrendWorker) Work(ctx context.Context, _ *river.Job[TrendArgs]) error {
	return w.Store.RefreshShadowTrend(ctx)
}

// TrendPeriodic recounts the trend every night, and at start, as approvals change what is
// shadow IT; imports ask for it too.
func TrendPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return TrendArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// ConditionsArgs asks for usage to be held against every app's conditions.
type ConditionsArgs struct{}

// Kind names the job.
func (ConditionsArgs) Kind() string { return "discovery.evaluate_conditions" }

// ConditionsWorker evaluates the conditions.
type ConditionsWorker struct {
	river.WorkerDefaults[ConditionsArgs]
	Store *Store
}

// Work evaluates every condition and sends security one digest of the findings it opened.
func (w *ConditionsWorker) Work(ctx context.Context, _ *river.Job[ConditionsArgs]) error {
	return w.Store.EvaluateAndAnnounce(ctx)
}

// ConditionsPeriodic evaluates the conditions every night (a pilot ends, a window moves) and at
// start; imports ask for it too.
func ConditionsPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return ConditionsArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// enqueueTrend asks for the trend to be recounted and the conditions evaluated after usage
// changed, when jobs run.
func (s *Store) enqueueTrend(ctx context.Context) {
	if s.jobs == nil {
		return
	}
	for _, args := range []river.JobArgs{TrendArgs{}, ConditionsArgs{}} {
		if _, err := s.jobs.Insert(ctx, args, nil); err != nil {
			slog.WarnContext(ctx, "discovery: queue a recount", "job", args.Kind(), "err", err)
		}
	}
}

// RegisterJobs adds discovery's workers to j.
func (s *Store) RegisterJobs(j *jobs.Jobs, retention time.Duration) {
	s.jobs = j
	jobs.AddWorker(j, &PruneWorker{Store: s, Retention: retention})
	jobs.AddWorker(j, &ResolveWorker{Store: s})
	jobs.AddWorker(j, &TrendWorker{Store: s})
	jobs.AddWorker(j, &ConditionsWorker{Store: s})
}
