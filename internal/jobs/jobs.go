// Package jobs runs Paved's background jobs on River, on whichever database Paved uses: River's
// SQLite driver on SQLite and its pgx driver on PostgreSQL. River keeps its queue in tables of its
// own beside Paved's, so a domain change and the job it implies (an index sync, a vote close)
// commit or roll back together: InsertTx enqueues inside the caller's transaction.
//
// This is the only package that constructs a River client; packages that define jobs import
// River for its Worker and JobArgs types and register their workers here.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/pavedhq/paved/internal/db"
)

// Options configure the job runner.
type Options struct {
	// Queues maps a queue name to how many of its jobs this process works at once. Nil means
	// {"default": 2}; River puts jobs in "default" unless InsertOpts.Queue names another.
	Queues map[string]int
	// Periodic jobs are enqueued by whichever process holds River's leadership, so each runs
	// once per period however many replicas serve.
	Periodic []*river.PeriodicJob
	// TestOnly makes River poll every few milliseconds and skip its start-up jitter, so tests
	// see jobs run at once. Never set it in production.
	TestOnly bool
}

// Jobs enqueues and works background jobs. Create it with New, register workers with AddWorker,
// then Start it; enqueueing works whether or not this process was started.
type Jobs struct {
	workers *river.Workers
	client  client
	db      *db.DB

	mu      sync.Mutex
	started bool

	metricsOnce sync.Once
	metrics     []prometheus.Collector
	unsubscribe func()
}

// client is what Jobs needs from a River client. River's client is generic in its driver's
// transaction type (*sql.Tx for SQLite, pgx.Tx for PostgreSQL); riverClient adapts either one
// to Paved's database/sql transactions.
type client interface {
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	cancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	cancelTx(ctx context.Context, tx *sql.Tx, id int64) (*rivertype.JobRow, error)
	migrate(ctx context.Context) (*rivermigrate.MigrateResult, error)
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	close()
}

// New creates the River client for d's dialect. On PostgreSQL it opens a pgx pool of its own to
// the same database (River's pgx driver needs one); Close releases it.
func New(ctx context.Context, d *db.DB, log *slog.Logger, opts Options) (*Jobs, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	queues := opts.Queues
	if queues == nil {
		queues = map[string]int{river.QueueDefault: 2}
	}
	workers := river.NewWorkers()
	cfg := &river.Config{
		Logger:       log.With("component", "jobs"),
		Queues:       make(map[string]river.QueueConfig, len(queues)),
		PeriodicJobs: opts.Periodic,
		Workers:      workers,
	}
	for name, n := range queues {
		cfg.Queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	if opts.TestOnly {
		cfg.TestOnly = true
		cfg.FetchCooldown = 5 * time.Millisecond
		cfg.FetchPollInterval = 20 * time.Millisecond
	}

	j := &Jobs{workers: workers, db: d}
	var err error
	switch d.Dialect {
	case db.SQLite:
		j.client, err = newSQLiteClient(d, cfg)
	case db.Postgres:
		j.client, err = newPostgresClient(ctx, d, cfg)
	default:
		err = fmt.Errorf("unknown database dialect %q", d.Dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("create job client: %w", err)
	}
	return j, nil
}

// AddWorker registers the worker for jobs whose args are T. It must be called before Start and
// panics on a second worker for the same kind or after Start: both are wiring mistakes.
func AddWorker[T river.JobArgs](j *Jobs, w river.Worker[T]) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.started {
		panic("jobs: AddWorker called after Start")
	}
	river.AddWorker(j.workers, w)
}

// Migrate applies River's own schema migrations (its river_* tables live beside Paved's) and
// returns the names of those it applied.
func (j *Jobs) Migrate(ctx context.Context) ([]string, error) {
	res, err := j.client.migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply job queue migrations: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river/%03d_%s", v.Version, v.Name))
	}
	return applied, nil
}

// InsertTx enqueues a job inside tx: it becomes visible to workers when tx commits and vanishes
// if tx rolls back. This is how domain changes enqueue their follow-up work (the outbox). tx must
// not be used by another goroutine until InsertTx returns. A nil opts takes the defaults.
func (j *Jobs) InsertTx(ctx context.Context, tx *sqlx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := j.client.insertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// Insert enqueues a job in a transaction of its own. Inside a transaction use InsertTx: on
// SQLite, Insert would wait for the write lock that transaction holds.
func (j *Jobs) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := j.client.insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return res, nil
}

// Cancel cancels a job: one not yet running never runs; a running one has its context
// cancelled, on this process at once and on others when they next hear of it.
func (j *Jobs) Cancel(ctx context.Context, id int64) error {
	if _, err := j.client.cancel(ctx, id); err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	return nil
}

// CancelTx is Cancel inside tx, so that a domain status change (an import marked cancelled)
// and the job's cancellation commit together.
func (j *Jobs) CancelTx(ctx context.Context, tx *sqlx.Tx, id int64) error {
	if _, err := j.client.cancelTx(ctx, tx.Tx, id); err != nil {
		return fmt.Errorf("cancel job %d: %w", id, err)
	}
	return nil
}

// Start begins working jobs in the background and returns. Cancelling ctx stops the workers
// at once (their job contexts are cancelled); Stop is the graceful way.
func (j *Jobs) Start(ctx context.Context) error {
	j.mu.Lock()
	j.started = true
	j.mu.Unlock()
	if err := j.client.start(ctx); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish. If ctx ends first, it cancels
// the running jobs' contexts and returns without waiting further.
func (j *Jobs) Stop(ctx context.Context) error {
	err := j.client.stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// ctx is already done, so this only cancels the jobs' contexts and returns.
		_ = j.client.stopAndCancel(ctx)
		return fmt.Errorf("stop jobs: running jobs did not finish in time and were cancelled: %w", err)
	}
	return fmt.Errorf("stop jobs: %w", err)
}

// Close releases what New opened (the PostgreSQL pool). Call it after Stop; it waits for
// connections still in use.
func (j *Jobs) Close() {
	if j.unsubscribe != nil {
		j.unsubscribe()
	}
	j.client.close()
}

// riverClient binds a River client to its driver and to the way a database/sql transaction
// becomes the driver's transaction type.
type riverClient[TTx any] struct {
	river   *river.Client[TTx]
	driver  riverdriver.Driver[TTx]
	logger  *slog.Logger
	schema  string
	asTx    func(ctx context.Context, tx *sql.Tx) (TTx, error)
	lock    func(ctx context.Context) (unlock func(), err error) // serialises migrations, if needed
	onClose func()
}

func (c *riverClient[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return c.river.Insert(ctx, args, opts)
}

func (c *riverClient[TTx]) insertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	ttx, err := c.asTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	return c.river.InsertTx(ctx, ttx, args, opts)
}

func (c *riverClient[TTx]) cancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return c.river.JobCancel(ctx, id)
}

func (c *riverClient[TTx]) cancelTx(ctx context.Context, tx *sql.Tx, id int64) (*rivertype.JobRow, error) {
	ttx, err := c.asTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	return c.river.JobCancelTx(ctx, ttx, id)
}

func (c *riverClient[TTx]) migrate(ctx context.Context) (*rivermigrate.MigrateResult, error) {
	logger := c.logger
	if logger != nil {
		logger = slog.New(demoteInfo{logger.Handler()})
	}
	m, err := rivermigrate.New(c.driver, &rivermigrate.Config{Logger: logger, Schema: c.schema})
	if err != nil {
		return nil, err
	}
	if c.lock != nil {
		unlock, err := c.lock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	return m.Migrate(ctx, rivermigrate.DirectionUp, nil)
}

func (c *riverClient[TTx]) start(ctx context.Context) error { return c.river.Start(ctx) }
func (c *riverClient[TTx]) stop(ctx context.Context) error  { return c.river.Stop(ctx) }
func (c *riverClient[TTx]) stopAndCancel(ctx context.Context) error {
	return c.river.StopAndCancel(ctx)
}

func (c *riverClient[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return c.river.Subscribe(kinds...)
}

func (c *riverClient[TTx]) close() {
	if c.onClose != nil {
		c.onClose()
	}
}

// newSQLiteClient shares Paved's own pool: SQLite has one writer at a time, and Paved's DSN
// makes every transaction take the write lock at BEGIN and wait for it (busy_timeout), so
// River's concurrent statements queue up instead of failing with SQLITE_BUSY.
func newSQLiteClient(d *db.DB, cfg *river.Config) (client, error) {
	driver := riversqlite.New(d.DB.DB)
	rc, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err
	}
	return &riverClient[*sql.Tx]{
		river:  rc,
		driver: driver,
		logger: cfg.Logger,
		asTx:   func(_ context.Context, tx *sql.Tx) (*sql.Tx, error) { return tx, nil },
	}, nil
}

// riverSchemaName is what River accepts as Config.Schema.
var riverSchemaName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// newPostgresClient gives River a pgx pool to the same database as d. River's tables go in the
// schema Paved's own tables use (the first of search_path), named explicitly so that River's
// LISTEN/NOTIFY channels are per schema too and installations sharing a server stay apart.
func newPostgresClient(ctx context.Context, d *db.DB, cfg *river.Config) (client, error) {
	var schema sql.NullString
	if err := d.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("read current schema: %w", err)
	}
	if !schema.Valid {
		return nil, errors.New("no schema of search_path exists")
	}
	if riverSchemaName.MatchString(schema.String) {
		cfg.Schema = schema.String
	} // otherwise River names its tables unqualified and search_path finds them.

	pool, err := poolLike(ctx, d)
	if err != nil {
		return nil, err
	}
	driver := riverpgxv5.New(pool)
	rc, err := river.NewClient(driver, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &riverClient[pgx.Tx]{
		river:   rc,
		driver:  driver,
		logger:  cfg.Logger,
		schema:  cfg.Schema,
		asTx:    borrowTx,
		lock:    func(ctx context.Context) (func(), error) { return advisoryLock(ctx, pool, db.MigrationLockKey) },
		onClose: pool.Close,
	}, nil
}

// poolLike opens a pgx pool with the connection settings of d's pgx connections (search_path
// included), read from a live connection because db.DB does not keep its DSN.
func poolLike(ctx context.Context, d *db.DB) (*pgxpool.Pool, error) {
	conn, err := d.DB.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	var connString string
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("PostgreSQL is open with driver %T, want pgx's stdlib driver", dc)
		}
		connString = pc.Conn().Config().ConnString()
		return nil
	})
	if err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("parse connection settings: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open pgx pool: %w", err)
	}
	return pool, nil
}

// advisoryLock holds a session advisory lock on a connection of its own until unlock is called.
func advisoryLock(ctx context.Context, pool *pgxpool.Pool, key int64) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire migration lock connection: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		conn.Release()
		return nil, fmt.Errorf("take migration lock: %w", err)
	}
	return func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			// A connection that may still hold the lock must not go back to the pool.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}

// Pending counts the jobs of kind that have not finished yet (waiting, scheduled, retrying or
// running), for readiness reports such as the search index's lag.
func (j *Jobs) Pending(ctx context.Context, kind string) (int, error) {
	var n int
	err := j.db.GetContext(ctx, &n, j.db.Rebind(`SELECT COUNT(*) FROM river_job WHERE kind = ?
		AND state IN ('available', 'pending', 'retryable', 'scheduled', 'running')`), kind)
	if err != nil {
		return 0, fmt.Errorf("count pending %s jobs: %w", kind, err)
	}
	return n, nil
}

// demoteInfo reports information messages at debug level: River's "applied migration" lines are
// routine at every first start and would drown what the operator needs to read.
type demoteInfo struct{ h slog.Handler }

func (d demoteInfo) level(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}

func (d demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, d.level(l))
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = d.level(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(as []slog.Attr) slog.Handler { return demoteInfo{d.h.WithAttrs(as)} }
func (d demoteInfo) WithGroup(name string) slog.Handler    { return demoteInfo{d.h.WithGroup(name)} }
