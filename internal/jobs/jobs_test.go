package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// wait bounds every wait on a channel: long enough for a slow CI machine, short enough that a
// job that never runs fails the test instead of hanging it.
const wait = 15 * time.Second

// forEachBackend runs test on SQLite and PostgreSQL, each on a fresh database.
func forEachBackend(t *testing.T, test func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			test(t, b.Open(t))
		})
	}
}

// newJobs returns a migrated, fast-polling Jobs, not started, whose workers setup registers, and
// a subscription to its events of jobs finishing.
func newJobs(t *testing.T, d *db.DB, opts Options, setup func(j *Jobs)) (*Jobs, <-chan *river.Event) {
	t.Helper()
	ctx := context.Background()
	opts.TestOnly = true
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	j, err := New(ctx, d, log, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(j.Close)
	applied, err := j.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if len(applied) == 0 {
		t.Fatal("Migrate applied nothing to a fresh database")
	}
	if again, err := j.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing to do", again, err)
	}
	setup(j)
	events, cancel := j.client.subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	t.Cleanup(cancel)
	return j, events
}

func start(t *testing.T, j *Jobs) {
	t.Helper()
	if err := j.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// waitDone waits for the jobs with the given ids to be finalised (completed, cancelled or
// discarded; a failed attempt that will be retried does not count) and returns the last row of
// the first one.
func waitDone(t *testing.T, events <-chan *river.Event, ids ...int64) *rivertype.JobRow {
	t.Helper()
	pending := make(map[int64]bool, len(ids))
	for _, id := range ids {
		pending[id] = true
	}
	var first *rivertype.JobRow
	timeout := time.After(wait)
	for len(pending) > 0 {
		select {
		case ev := <-events:
			if !pending[ev.Job.ID] || ev.Job.FinalizedAt == nil {
				continue
			}
			delete(pending, ev.Job.ID)
			if ev.Job.ID == ids[0] {
				first = ev.Job
			}
		case <-timeout:
			t.Fatalf("jobs %v did not finish within %s", ids, wait)
		}
	}
	return first
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("%s did not happen within %s", what, wait)
		var zero T
		return zero
	}
}

func jobCount(t *testing.T, d *db.DB, kind string) int {
	t.Helper()
	var n int
	if err := d.Get(&n, d.Rebind("SELECT count(*) FROM river_job WHERE kind = ?"), kind); err != nil {
		t.Fatalf("count jobs: %v", err)
	}
	return n
}

// --- commit and rollback ---------------------------------------------------------------------

// syncArgs stands for the outbox job of a domain change: sync the search index for one app.
type syncArgs struct {
	Slug string `json:"slug"`
}

func (syncArgs) Kind() string { return "test_sync" }

// syncWorker reads the app it was told about, which proves the job only runs once the change
// that enqueued it is visible.
type syncWorker struct {
	river.WorkerDefaults[syncArgs]
	d    *db.DB
	runs atomic.Int32
	seen chan string // the app names read, one per run
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[syncArgs]) error {
	w.runs.Add(1)
	var name string
	if err := w.d.GetContext(ctx, &name, w.d.Rebind("SELECT name FROM jobs_test_apps WHERE slug = ?"), job.Args.Slug); err != nil {
		return err
	}
	w.seen <- name
	return nil
}

func createAppsTable(t *testing.T, d *db.DB) {
	t.Helper()
	if _, err := d.Exec("CREATE TABLE jobs_test_apps (slug TEXT PRIMARY KEY, name TEXT NOT NULL)"); err != nil {
		t.Fatalf("create test table: %v", err)
	}
}

// saveApp is a domain method in miniature: the change and its outbox job in one transaction.
func saveApp(ctx context.Context, d *db.DB, j *Jobs, slug, name string, fail error) (int64, error) {
	var id int64
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO jobs_test_apps (slug, name) VALUES (?, ?)"), slug, name); err != nil {
			return err
		}
		res, err := j.InsertTx(ctx, tx, syncArgs{Slug: slug}, nil)
		if err != nil {
			return err
		}
		id = res.Job.ID
		return fail
	})
	return id, err
}

func TestInsertTxCommittedRunsOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		createAppsTable(t, d)
		w := &syncWorker{d: d, seen: make(chan string, 10)}
		j, events := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		start(t, j)

		id, err := saveApp(ctx, d, j, "figma", "Figma", nil)
		if err != nil {
			t.Fatalf("save app: %v", err)
		}
		if got := recv(t, w.seen, "the sync job"); got != "Figma" {
			t.Errorf("worker read %q, want Figma", got)
		}
		if job := waitDone(t, events, id); job.State != rivertype.JobStateCompleted {
			t.Errorf("job state = %s, want completed", job.State)
		}
		if n := w.runs.Load(); n != 1 {
			t.Errorf("worker ran %d times, want 1", n)
		}
		if n := jobCount(t, d, "test_sync"); n != 1 {
			t.Errorf("%d jobs in river_job, want 1", n)
		}
	})
}

func TestInsertTxRolledBackNeverRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		createAppsTable(t, d)
		w := &syncWorker{d: d, seen: make(chan string, 10)}
		j, events := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		start(t, j)

		boom := errors.New("validation failed")
		if _, err := saveApp(ctx, d, j, "miro", "Miro", boom); !errors.Is(err, boom) {
			t.Fatalf("save app = %v, want %v", err, boom)
		}
		if n := jobCount(t, d, "test_sync"); n != 0 {
			t.Fatalf("%d jobs in river_job after rollback, want 0", n)
		}
		// A later committed job runs, and it is the only run: the rolled-back one never existed.
		id, err := saveApp(ctx, d, j, "miro", "Miro", nil)
		if err != nil {
			t.Fatalf("save app: %v", err)
		}
		waitDone(t, events, id)
		if n := w.runs.Load(); n != 1 {
			t.Errorf("worker ran %d times, want 1 (the committed job only)", n)
		}
	})
}

// Domain transactions enqueueing from several goroutines while River works: on SQLite they all
// share Paved's small pool with River and queue for the one write lock instead of failing.
func TestConcurrentInsertTxWhileWorking(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		createAppsTable(t, d)
		w := &syncWorker{d: d, seen: make(chan string, 100)}
		j, events := newJobs(t, d, Options{Queues: map[string]int{river.QueueDefault: 4}}, func(j *Jobs) { AddWorker(j, w) })
		start(t, j)

		const writers, each = 8, 8
		ids := make(chan int64, writers*each)
		errs := make(chan error, writers)
		for g := range writers {
			go func() {
				for i := range each {
					slug := fmt.Sprintf("app-%d-%d", g, i)
					id, err := saveApp(ctx, d, j, slug, slug, nil)
					if err != nil {
						errs <- fmt.Errorf("save %s: %w", slug, err)
						return
					}
					ids <- id
				}
				errs <- nil
			}()
		}
		for range writers {
			if err := recv(t, errs, "a writer's end"); err != nil {
				t.Fatal(err)
			}
		}
		close(ids)
		var all []int64
		for id := range ids {
			all = append(all, id)
		}
		waitDone(t, events, all...)
		if n := w.runs.Load(); n != writers*each {
			t.Errorf("worker ran %d times, want %d", n, writers*each)
		}
	})
}

// --- retries ---------------------------------------------------------------------------------

type flakyArgs struct{}

func (flakyArgs) Kind() string { return "test_flaky" }

// flakyWorker fails its first attempt and retries almost at once.
type flakyWorker struct {
	river.WorkerDefaults[flakyArgs]
	attempts atomic.Int32
}

func (w *flakyWorker) Work(ctx context.Context, job *river.Job[flakyArgs]) error {
	if w.attempts.Add(1) == 1 {
		return errors.New("index unreachable")
	}
	return nil
}

func (w *flakyWorker) NextRetry(*river.Job[flakyArgs]) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

func TestFailingJobIsRetried(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := &flakyWorker{}
		j, events := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		start(t, j)

		res, err := j.Insert(ctx, flakyArgs{}, nil)
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		job := waitDone(t, events, res.Job.ID)
		if job.State != rivertype.JobStateCompleted || job.Attempt != 2 || len(job.Errors) != 1 {
			t.Errorf("job = state %s, attempt %d, %d errors; want completed on attempt 2 after 1 error",
				job.State, job.Attempt, len(job.Errors))
		}
		if len(job.Errors) == 1 && job.Errors[0].Error != "index unreachable" {
			t.Errorf("recorded error = %q", job.Errors[0].Error)
		}
	})
}

// --- periodic jobs ---------------------------------------------------------------------------

type tickArgs struct{}

func (tickArgs) Kind() string { return "test_tick" }

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	ticks chan struct{}
}

func (w *tickWorker) Work(context.Context, *river.Job[tickArgs]) error {
	w.ticks <- struct{}{}
	return nil
}

func TestPeriodicJobRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		w := &tickWorker{ticks: make(chan struct{}, 100)}
		tick := river.NewPeriodicJob(river.PeriodicInterval(100*time.Millisecond),
			func() (river.JobArgs, *river.InsertOpts) { return tickArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true})
		j, _ := newJobs(t, d, Options{Periodic: []*river.PeriodicJob{tick}}, func(j *Jobs) { AddWorker(j, w) })
		start(t, j)

		// Two runs: the one on start and at least one by the schedule.
		recv(t, w.ticks, "the first periodic run")
		recv(t, w.ticks, "the second periodic run")
	})
}

// --- unique jobs -----------------------------------------------------------------------------

func TestUniqueJobsDeduplicate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		createAppsTable(t, d)
		w := &syncWorker{d: d, seen: make(chan string, 10)}
		j, events := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		if _, err := d.Exec(d.Rebind("INSERT INTO jobs_test_apps (slug, name) VALUES (?, ?), (?, ?)"), "figma", "Figma", "miro", "Miro"); err != nil {
			t.Fatalf("insert apps: %v", err)
		}

		// Enqueued before the client starts, so none has run when the duplicates arrive.
		unique := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
		var ids []int64
		for i, slug := range []string{"figma", "figma", "miro"} {
			err := d.InTx(ctx, func(tx *sqlx.Tx) error {
				res, err := j.InsertTx(ctx, tx, syncArgs{Slug: slug}, unique)
				if err != nil {
					return err
				}
				if want := i == 1; res.UniqueSkippedAsDuplicate != want {
					t.Errorf("insert %d (%s): UniqueSkippedAsDuplicate = %v, want %v", i, slug, res.UniqueSkippedAsDuplicate, want)
				}
				ids = append(ids, res.Job.ID)
				return nil
			})
			if err != nil {
				t.Fatalf("insert %d: %v", i, err)
			}
		}
		if ids[0] != ids[1] || ids[0] == ids[2] {
			t.Fatalf("job ids = %v, want the duplicate to return the first job and miro a job of its own", ids)
		}
		if _, err := j.Insert(ctx, syncArgs{Slug: "figma"}, unique); err != nil {
			t.Fatalf("Insert outside a transaction: %v", err)
		}
		if n := jobCount(t, d, "test_sync"); n != 2 {
			t.Fatalf("%d jobs in river_job, want 2", n)
		}

		start(t, j)
		waitDone(t, events, ids[0], ids[2])
		if n := w.runs.Load(); n != 2 {
			t.Errorf("worker ran %d times, want 2 (figma once, miro once)", n)
		}
	})
}

// --- cancellation ----------------------------------------------------------------------------

func TestCancelScheduledJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := &tickWorker{ticks: make(chan struct{}, 10)}
		j, _ := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })

		later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		a, err := j.Insert(ctx, tickArgs{}, later)
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		b, err := j.Insert(ctx, tickArgs{}, later)
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		if err := j.Cancel(ctx, a.Job.ID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if err := d.InTx(ctx, func(tx *sqlx.Tx) error { return j.CancelTx(ctx, tx, b.Job.ID) }); err != nil {
			t.Fatalf("CancelTx: %v", err)
		}
		for _, id := range []int64{a.Job.ID, b.Job.ID} {
			var state string
			if err := d.Get(&state, d.Rebind("SELECT state FROM river_job WHERE id = ?"), id); err != nil {
				t.Fatalf("read job %d: %v", id, err)
			}
			if state != string(rivertype.JobStateCancelled) {
				t.Errorf("job %d state = %s, want cancelled", id, state)
			}
		}
	})
}

// --- stopping --------------------------------------------------------------------------------

type slowArgs struct{}

func (slowArgs) Kind() string { return "test_slow" }

// slowWorker runs until released or cancelled, and reports how it ended.
type slowWorker struct {
	river.WorkerDefaults[slowArgs]
	started chan struct{}
	release chan struct{}
	ended   chan error // nil when released, the context's error when cancelled
}

func (w *slowWorker) Work(ctx context.Context, job *river.Job[slowArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
		w.ended <- nil
		return nil
	case <-ctx.Done():
		w.ended <- ctx.Err()
		return ctx.Err()
	}
}

func newSlowWorker() *slowWorker {
	return &slowWorker{started: make(chan struct{}, 1), release: make(chan struct{}), ended: make(chan error, 1)}
}

func TestStopWaitsForRunningJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newSlowWorker()
		j, events := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		if err := j.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		res, err := j.Insert(ctx, slowArgs{}, nil)
		if err != nil {
			t.Fatalf("Insert: %v", err)
		}
		recv(t, w.started, "the job's start")

		stopped := make(chan error, 1)
		go func() {
			stopCtx, cancel := context.WithTimeout(ctx, wait)
			defer cancel()
			stopped <- j.Stop(stopCtx)
		}()
		select {
		case err := <-stopped:
			t.Fatalf("Stop returned (%v) while the job was still running", err)
		default:
		}
		close(w.release)
		if err := recv(t, stopped, "Stop"); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		select {
		case err := <-w.ended:
			if err != nil {
				t.Errorf("the job was cancelled (%v) instead of finishing", err)
			}
		default:
			t.Error("Stop returned before the job ended")
		}
		if job := waitDone(t, events, res.Job.ID); job.State != rivertype.JobStateCompleted {
			t.Errorf("job state = %s, want completed", job.State)
		}
	})
}

func TestStopDeadlineCancelsRunningJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newSlowWorker()
		j, _ := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, w) })
		if err := j.Start(ctx); err != nil {
			t.Fatalf("Start: %v", err)
		}
		if _, err := j.Insert(ctx, slowArgs{}, nil); err != nil {
			t.Fatalf("Insert: %v", err)
		}
		recv(t, w.started, "the job's start")

		stopCtx, cancel := context.WithCancel(ctx)
		cancel() // the grace period is already over
		if err := j.Stop(stopCtx); !errors.Is(err, context.Canceled) {
			t.Errorf("Stop = %v, want the context's error", err)
		}
		if err := recv(t, w.ended, "the job's end"); err == nil {
			t.Error("the job finished normally; want its context cancelled")
		}
		// The hard stop completes once the job has returned.
		done, cancelDone := context.WithTimeout(ctx, wait)
		defer cancelDone()
		if err := j.Stop(done); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

func TestAddWorkerAfterStartPanics(t *testing.T) {
	d := testutil.SQLite(t)
	j, _ := newJobs(t, d, Options{}, func(j *Jobs) { AddWorker(j, &tickWorker{ticks: make(chan struct{}, 100)}) })
	start(t, j)
	defer func() {
		if recover() == nil {
			t.Error("AddWorker after Start did not panic")
		}
	}()
	AddWorker(j, newSlowWorker())
}

// borrowTx is how River's pgx driver writes into Paved's database/sql transactions.
func TestBorrowedTxOnPostgres(t *testing.T) {
	d := testutil.Postgres(t)
	ctx := context.Background()
	createAppsTable(t, d)
	insert := "INSERT INTO jobs_test_apps (slug, name) VALUES ($1, $1)"
	err := d.InTx(ctx, func(tx *sqlx.Tx) error {
		btx, err := borrowTx(ctx, tx.Tx)
		if err != nil {
			return err
		}
		if err := btx.Commit(ctx); !errors.Is(err, errNotOwned) {
			t.Errorf("Commit of the outer transaction = %v, want refusal", err)
		}
		if err := btx.Rollback(ctx); !errors.Is(err, errNotOwned) {
			t.Errorf("Rollback of the outer transaction = %v, want refusal", err)
		}
		if _, err := btx.Exec(ctx, insert, "kept"); err != nil {
			return err
		}
		nested, err := btx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := nested.Exec(ctx, insert, "undone"); err != nil {
			return err
		}
		if err := nested.Rollback(ctx); err != nil {
			return err
		}
		if err := nested.Commit(ctx); !errors.Is(err, pgx.ErrTxClosed) {
			t.Errorf("Commit after Rollback = %v, want ErrTxClosed", err)
		}
		nested, err = btx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := nested.Exec(ctx, insert, "released"); err != nil {
			return err
		}
		if err := nested.Commit(ctx); err != nil {
			return err
		}
		// The database/sql side sees what the borrowed side wrote: one transaction.
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT count(*) FROM jobs_test_apps"); err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("the *sql.Tx sees %d rows, want 2", n)
		}
		return errors.New("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatalf("transaction: %v", err)
	}
	var n int
	if err := d.Get(&n, "SELECT count(*) FROM jobs_test_apps"); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows after the *sql.Tx rolled back, want 0", n)
	}
	if _, err := borrowTx(ctx, finishedTx(t, d)); err == nil {
		t.Error("borrowTx of a finished transaction succeeded")
	}
}

// finishedTx returns a transaction that has already been rolled back.
func finishedTx(t *testing.T, d *db.DB) *sql.Tx {
	t.Helper()
	tx, err := d.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback()
	return tx
}
