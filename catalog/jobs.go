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

// RegisterJobs adds the catalogue's workers to j.
func (s *Service) RegisterJobs(j *jobs.Jobs) {
	jobs.AddWorker(j, &IndexSyncWorker{Catalog: s})
}

// IndexLag counts index syncs not yet done: how far the index trails the database.
func IndexLag(ctx context.Context, j *jobs.Jobs) (int, error) { return j.Pending(ctx, IndexSyncKind) }
