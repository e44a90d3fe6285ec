package catalog

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/jobs"
)

// IndexSyncArgs asks for the index entries of some apps to be brought in line with the
// database. Syncs are idempotent, so duplicates cost a little work and never lose an update.
type IndexSyncArgs struct {
	Slugs []string `json:"slugs"`
}

// IndexSyncKind is the job kind of IndexSyncArgs.
const IndexSyncKind = "catalog.index_sync"

// Kind names the job.
func (IndexSyncArgs) Kind() string { return IndexSyncKind }

// IndexSyncWorker runs index syncs; a failure (the index is down) is retried with River's
// backoff until the index answers.
type IndexSyncWorker struct {
	river.WorkerDefaults[IndexSyncArgs]
	Catalog *Service
}

// Work syncs the job's apps.
func (w *IndexSyncWorker) Work(ctx context.Context, job *river.Job[IndexSyncArgs]) error {
	return w.Catalog.SyncIndex(ctx, job.Args.Slugs...)
}

// Timeout bounds one sync; a batch of 100 apps takes well under a second.
func (w *IndexSyncWorker) Timeout(*river.Job[IndexSyncArgs]) time.Duration { return 2 * time.Minute }

// JobsOutbox queues index syncs as River jobs inside the caller's transaction, and with
// ResolveIdentifiers (when discovery's workers run on Jobs) the resolution of discovered
// identifiers after identifiers change.
type JobsOutbox struct {
	Jobs               *jobs.Jobs
	ResolveIdentifiers bool
}

// EnqueueIndexSync implements Outbox.
func (o JobsOutbox) EnqueueIndexSync(ctx context.Context, tx *sqlx.Tx, slugs ...string) error {
	_, err := o.Jobs.InsertTx(ctx, tx, IndexSyncArgs{Slugs: slugs}, nil)
	return err
}

// IdentifiersChangedArgs says that catalogue identifiers changed, so discovery resolves the
// identifiers it has seen again (discovery runs the worker).
type IdentifiersChangedArgs struct{}

// Kind names the job.
func (IdentifiersChangedArgs) Kind() string { return "catalog.identifiers_changed" }

// EnqueueIdentifiersChanged implements ResolverOutbox.
func (o JobsOutbox) EnqueueIdentifiersChanged(ctx context.Context, tx *sqlx.Tx) error {
	if !o.ResolveIdentifiers {
		return nil
	}
	_, err := o.Jobs.InsertTx(ctx, tx, IdentifiersChangedArgs{}, nil)
	return err
}

// VoteSettings govern the votes the periodic job closes and opens.
type VoteSettings struct {
	Rules     VotingRules
	Threshold DemandThreshold // 0: never open a vote by demand alone
}

// RegisterJobs adds the catalogue's workers to j.
func (s *Service) RegisterJobs(j *jobs.Jobs, settings ...VoteSettings) {
	jobs.AddWorker(j, &IndexSyncWorker{Catalog: s})
	v := VoteSettings{Rules: DefaultVotingRules()}
	if len(settings) > 0 {
		v = settings[0]
	}
	jobs.AddWorker(j, &CloseVotesWorker{Catalog: s, Rules: v.Rules, Threshold: v.Threshold})
}

// IndexLag counts index syncs not yet done: how far the index trails the database.
func IndexLag(ctx context.Context, j *jobs.Jobs) (int, error) { return j.Pending(ctx, IndexSyncKind) }

// CloseVotesArgs asks for every vote whose window has ended to be closed and tallied.
type CloseVotesArgs struct{}

// Kind names the job.
func (CloseVotesArgs) Kind() string { return "catalog.close_votes" }

// CloseVotesWorker closes ended votes with the configured rules, and opens votes on reviewed
// proposals whose demand reached the threshold.
type CloseVotesWorker struct {
	river.WorkerDefaults[CloseVotesArgs]
	Catalog   *Service
	Rules     VotingRules
	Threshold DemandThreshold
}

// Work closes the ended votes and opens the demanded ones.
func (w *CloseVotesWorker) Work(ctx context.Context, _ *river.Job[CloseVotesArgs]) error {
	if _, err := w.Catalog.CloseEndedVotes(ctx, w.Rules); err != nil {
		return err
	}
	if _, err := w.Catalog.ReopenEndedPilots(ctx); err != nil {
		return err
	}
	_, err := w.Catalog.OpenDemandedVotes(ctx, w.Threshold)
	return err
}

// CloseVotesPeriodic runs the vote-closing job every minute on one replica (River's leader).
func CloseVotesPeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
		return CloseVotesArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}
