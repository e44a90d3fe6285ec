package discovery

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/jobs"
)

// Run states.
const (
	RunRunning  = "running"
	RunFinished = "finished"
	RunFailed   = "failed"
	// RunInterrupted is a run whose process died before it finished (see MarkInterrupted).
	RunInterrupted = "interrupted"
)

// staleRunAge is how long a run may stay "running" before it counts as interrupted.
const staleRunAge = time.Hour

// maxRejections is how many rejected lines a run keeps, with their line numbers and reasons.
const maxRejections = 100

// eventsPerStatement is how many events one INSERT stores: 1,000 rows × eventColumns values
// stays under both databases' limits on parameters (SQLite 32,766, PostgreSQL 65,535).
const eventsPerStatement = 1000

// eventColumns is how many values the insert stores per event.
const eventColumns = 11

// batchSize is how many events one transaction stores: large enough that commits do not
// dominate (on a 1M-event import into SQLite, 8,000 is 20% faster than 4,000, which doubled
// the throughput of 1,000), small enough that a crash loses little work (committed batches
// stay; the re-run skips them as duplicates) and that the batches in flight take a few MB.
const batchSize = 8000

// ImportRun is one import of a file or an API window.
type ImportRun struct {
	ID             int64      `db:"id" json:"id"`
	Source         string     `db:"source" json:"source"`
	Format         string     `db:"format" json:"format"`
	FileName       string     `db:"file_name" json:"file_name,omitempty"`
	Checksum       string     `db:"checksum" json:"checksum,omitempty"`
	Status         string     `db:"status" json:"status"`
	Read           int        `db:"read_count" json:"read"`
	New            int        `db:"new_count" json:"new"`
	Duplicate      int        `db:"duplicate_count" json:"duplicate"`
	Skipped        int        `db:"skipped_count" json:"skipped"`
	Rejected       int        `db:"rejected_count" json:"rejected"`
	RejectionsJSON string     `db:"rejections" json:"-"`
	Error          string     `db:"error" json:"error,omitempty"`
	StartedAt      time.Time  `db:"started_at" json:"started_at"`
	FinishedAt     *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	// Cleaned counts events stored without the control characters they held (this run only;
	// the audit entry keeps it).
	Cleaned int `db:"-" json:"cleaned"`
}

// Rejections returns the first rejected records of the run.
func (r ImportRun) Rejections() []Rejection {
	var out []Rejection
	_ = json.Unmarshal([]byte(r.RejectionsJSON), &out)
	return out
}

// Store keeps imported usage: events (idempotently), import runs and discovered apps.
type Store struct {
	db *db.DB
	// Now is the clock; tests set it.
	Now func() time.Time
	// Retention, when set, is how long raw events are kept (PAVED_USAGE_RETENTION). An import
	// skips older events: they would be pruned at once, and storing them again after they were
	// pruned would count them twice in the rollups.
	Retention time.Duration
	jobs      *jobs.Jobs // set by RegisterJobs; imports ask it to recount the trend
	// findingsNotifier sends security the digest of new findings; nil sends nothing.
	findingsNotifier FindingsNotifier
	// Metrics, when set, counts imports and pulls for /metrics.
	Metrics *Metrics
	// rollupAfter, when set, replaces rollupEvery (tests roll up after a few events).
	rollupAfter int
}

// rollupInterval is how many new events an import stores between two rollups.
func (s *Store) rollupInterval() int { return cmp.Or(s.rollupAfter, rollupEvery) }

// NewStore returns the discovery store on d.
func NewStore(d *db.DB) *Store { return &Store{db: d, Now: time.Now} }

func (s *Store) now() time.Time { return db.Time(s.Now()) }

// Import reads a log in format from r and stores its events. It records the run first, then
// commits events in batches, so a crash keeps every committed batch and the next import of
// the same file finishes the job (committed events come back as duplicates). A file that
// cannot be read ends the run as failed, with the line and the reason.
func (s *Store) Import(ctx context.Context, actor audit.Actor, format, fileName string, r io.Reader, opts ...Option) (ImportRun, error) {
	start := time.Now()
	run, err := s.importLog(ctx, actor, format, fileName, r, opts...)
	s.Metrics.observeImport(run, time.Since(start))
	return run, err
}

func (s *Store) importLog(ctx context.Context, actor audit.Actor, format, fileName string, r io.Reader, opts ...Option) (ImportRun, error) {
	p, err := ParserFor(format, opts...)
	if err != nil {
		return ImportRun{}, err
	}
	fileName, _ = cleanText(fileName) // a name from an upload form is the client's to choose
	run := ImportRun{Source: format, Format: format, FileName: fileName, Status: RunRunning, StartedAt: s.now(), RejectionsJSON: "[]"}
	// A run still "running" long after it started belongs to a process that died mid-import;
	// what it committed is kept, and this or a later import finishes the job.
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE import_runs SET status = ?, error = ? WHERE status = ? AND started_at < ?`),
		RunInterrupted, interruptedNote, RunRunning, run.StartedAt.Add(-staleRunAge)); err != nil {
		return run, fmt.Errorf("close interrupted import runs: %w", err)
	}
	// Events a crashed import committed after its last rollup are counted now.
	if err := s.RollUpPending(ctx); err != nil {
		return run, err
	}
	if err := s.db.GetContext(ctx, &run.ID, s.db.Rebind(`INSERT INTO import_runs (source, format, file_name, status, started_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		run.Source, run.Format, run.FileName, run.Status, run.StartedAt); err != nil {
		return run, fmt.Errorf("record import run: %w", err)
	}
	ids, err := s.loadIdentities(ctx)
	if err != nil {
		return run, err
	}
	// One connection stores the whole import, set up for a bulk load, which skips foreign-key
	// checks on SQLite: what it writes references this run and catalogue apps, which are retired
	// but never deleted.
	bulk, err := s.db.Bulk(ctx)
	if err != nil {
		return run, err
	}
	defer func() {
		if err := bulk.Close(); err != nil {
			slog.WarnContext(ctx, "release the import's connection", "err", err)
		}
	}()
	// The insert of a full chunk is prepared once, not parsed again for every chunk.
	full, err := s.db.PreparexContext(ctx, insertEventsSQL(s.db, eventsPerStatement))
	if err != nil {
		return run, fmt.Errorf("prepare the event insert: %w", err)
	}
	defer full.Close()
	sum := sha256.New()
	// Parsing and storing overlap: the parser fills the next batch while the previous one is
	// written, so an import takes about as long as the slower of the two, not their sum.
	var (
		batch      = make([]UsageEvent, 0, batchSize)
		rejections []Rejection
		batches    = make(chan []UsageEvent, 2)
		mu         sync.Mutex
		storeErr   error
		wg         sync.WaitGroup
	)
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return storeErr
	}
	var dd dedup
	counted := newTally(0) // a new run has rolled up nothing
	// A rollup before the import's end leaves out the people per discovered app, and notes
	// the identifiers it counted: the apps they belong to have their people recounted once
	// at the end, rather than each person's row being rewritten at every rollup.
	deferred := map[string]bool{}
	deferPeople := func() {
		for k := range counted.users {
			deferred[k.app] = true
		}
	}
	wg.Go(func() {
		unrolled := 0
		for b := range batches {
			if failed() != nil {
				continue // drain; the parser stops at its next batch
			}
			n, err := s.storeBatch(ctx, bulk, full, run.ID, b, ids, &dd, counted)
			if err != nil {
				// The tally may hold some of the batch, which was rolled back: the rollup at
				// the end reads the committed events back instead.
				counted.reset(-1)
			} else {
				run.New += n
				run.Duplicate += len(b) - n
				if unrolled += n; unrolled >= s.rollupInterval() || counted.entries() >= maxTallyEntries {
					deferPeople()
					unrolled, err = 0, s.rollUpRun(ctx, bulk, run.ID, counted, true)
				}
			}
			if err != nil {
				mu.Lock()
				storeErr = err
				mu.Unlock()
			}
		}
	})
	send := func() error {
		if err := failed(); err != nil {
			return err
		}
		if len(batch) > 0 {
			batches <- batch
			batch = make([]UsageEvent, 0, batchSize)
		}
		return nil
	}
	var cutoff time.Time
	if s.Retention > 0 {
		cutoff = run.StartedAt.Add(-s.Retention)
	}
	tooOld := 0
	var in io.Reader = io.TeeReader(r, sum)
	if o := optionsOf(opts); o.maxInflated > 0 {
		if in, err = Open(in, opts...); err != nil {
			in = failedReader{err} // the parser reports it as the input's problem
		}
	}
	stats, perr := p.Parse(ctx, in,
		func(e UsageEvent) error {
			if e.OccurredAt.Before(cutoff) {
				tooOld++
				return nil
			}
			batch = append(batch, e)
			if len(batch) >= batchSize {
				return send()
			}
			return nil
		},
		func(rj Rejection) error {
			if len(rejections) < maxRejections {
				rejections = append(rejections, rj)
			}
			return nil
		})
	if perr == nil {
		perr = send()
	}
	close(batches)
	wg.Wait()
	if err := failed(); err != nil && perr == nil {
		perr = err
	}
	// What was committed is counted even when the import failed or its caller went away. An
	// import that rolled up before counts its people at the end, as its earlier rollups left
	// them; one that did not counts them here.
	late := len(deferred) > 0
	if late {
		deferPeople()
	}
	if err := s.rollUpRun(context.WithoutCancel(ctx), bulk, run.ID, counted, late); err != nil && perr == nil {
		perr = err
	}
	// Also, people counted under a user id that this import tied to an e-mail become one person.
	if err := s.recountPeopleOf(context.WithoutCancel(ctx), run.ID, deferred, ids.learned); err != nil && perr == nil {
		perr = err
	}
	run.Read, run.Skipped, run.Rejected, run.Cleaned = stats.Read, stats.Skipped+tooOld, stats.Rejected, stats.Cleaned
	run.Checksum = hex.EncodeToString(sum.Sum(nil))
	raw, _ := json.Marshal(rejections)
	run.RejectionsJSON = string(raw)
	run.Status = RunFinished
	if perr != nil {
		run.Status, run.Error = RunFailed, perr.Error()
	}
	finished := s.now()
	run.FinishedAt = &finished
	// The run's end is written even when the caller's context is gone, so no run stays "running".
	endCtx := context.WithoutCancel(ctx)
	err = s.db.InTx(endCtx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(endCtx, tx.Rebind(`UPDATE import_runs SET status = ?, checksum = ?, read_count = ?, new_count = ?, duplicate_count = ?,
			skipped_count = ?, rejected_count = ?, rejections = ?, error = ?, finished_at = ? WHERE id = ?`),
			run.Status, run.Checksum, run.Read, run.New, run.Duplicate, run.Skipped, run.Rejected, run.RejectionsJSON, run.Error, finished, run.ID); err != nil {
			return fmt.Errorf("finish import run: %w", err)
		}
		return audit.Append(endCtx, tx, finished, actor, "discovery.import", "import_run", fmt.Sprint(run.ID),
			map[string]any{"format": format, "file": fileName, "status": run.Status, "new": run.New, "duplicate": run.Duplicate, "rejected": run.Rejected, "cleaned": run.Cleaned})
	})
	if err != nil {
		return run, err
	}
	if run.New > 0 {
		s.enqueueTrend(endCtx)
	}
	if perr != nil {
		return run, fmt.Errorf("import %s: %w", fileNameOr(fileName, format), perr)
	}
	return run, nil
}

func fileNameOr(name, format string) string {
	if name != "" {
		return name
	}
	return format + " log"
}

// dedup remembers, from one chunk to the next of an import, whether most events were already
// stored, as when a file is imported again or an export overlaps the last one.
type dedup struct{ mostlyKnown bool }

// storeBatch inserts events, skipping those already stored, and records their identifiers,
// the discovered apps they belong to and the user ids tied to e-mails; it returns how many
// events were new, and adds them to the import's tally for the rollups (which, if it fails,
// holds part of a batch that was rolled back). One multi-row statement per chunk keeps round
// trips few.
// While most events turn out to be known, each chunk first asks which of its ids are stored,
// a lookup that costs far less than offering every row to the insert, and inserts only the rest.
func (s *Store) storeBatch(ctx context.Context, bulk *db.Bulk, full *sqlx.Stmt, runID int64, events []UsageEvent, ids *identities, dd *dedup, counted *tally) (int, error) {
	added := 0
	st := newStaged()
	err := bulk.InTx(ctx, func(tx *sqlx.Tx) error {
		type span struct {
			name        string
			first, last time.Time
		}
		apps := map[string]*span{}
		var lastID int64 // the highest id this batch stored
		const chunk = eventsPerStatement
		for start := 0; start < len(events); start += chunk {
			part := events[start:min(start+chunk, len(events))]
			offered := len(part)
			if dd.mostlyKnown {
				var err error
				if part, err = withoutStored(ctx, tx, s.db.Dialect, part); err != nil {
					return err
				}
			}
			if len(part) == 0 {
				continue
			}
			args := make([]any, 0, len(part)*eventColumns)
			for _, e := range part {
				args = append(args, string(e.Source), e.SourceEventID, db.Time(e.OccurredAt), strings.ToLower(e.UserKey()), e.AppKey, e.AppName, string(e.Kind), string(e.Outcome), e.IP, runID, storedScopes(e))
			}
			var inserted []struct {
				ID            int64  `db:"id"`
				SourceEventID string `db:"source_event_id"`
			}
			var err error
			if len(part) == chunk {
				err = tx.StmtxContext(ctx, full).SelectContext(ctx, &inserted, args...)
			} else {
				err = tx.SelectContext(ctx, &inserted, insertEventsSQL(s.db, len(part)), args...)
			}
			if err != nil {
				return fmt.Errorf("store events: %w", err)
			}
			dd.mostlyKnown = 2*len(inserted) < offered
			if len(inserted) == 0 {
				continue
			}
			added += len(inserted)
			isNew := make(map[string]bool, len(inserted))
			for _, row := range inserted {
				isNew[row.SourceEventID] = true
				lastID = max(lastID, row.ID)
			}
			seen := map[string]string{}
			fresh := part[:0:0]
			for _, e := range part {
				if !isNew[e.SourceEventID] {
					continue
				}
				// A duplicate id inside one chunk is inserted once; count its app once too.
				delete(isNew, e.SourceEventID)
				fresh = append(fresh, e)
				if n, ok := seen[e.AppKey]; !ok || n == "" {
					seen[e.AppKey] = e.AppName
				}
				ids.learn(st, e)
			}
			if err := ids.assign(ctx, tx, s.now(), st, seen); err != nil {
				return err
			}
			for _, e := range fresh {
				at := db.Time(e.OccurredAt)
				user := strings.ToLower(e.UserKey())
				person := ids.person(st, e, user)
				counted.add(e, user, person, at)
				sp := apps[e.AppKey]
				if sp == nil {
					sp = &span{name: e.AppName, first: at, last: at}
					apps[e.AppKey] = sp
				}
				if sp.name == "" {
					sp.name = e.AppName
				}
				if at.Before(sp.first) {
					sp.first = at
				}
				if at.After(sp.last) {
					sp.last = at
				}
			}
		}
		if err := recordPeople(ctx, tx, st.people); err != nil {
			return err
		}
		// In key order, so that two imports touching the same apps lock them in the same order.
		keys := slices.Sorted(maps.Keys(apps))
		if err := upsertRows(ctx, tx, "record identifiers", "INSERT INTO discovered_identifiers (app_key, display_name, app_id, discovered_app_id, first_seen, last_seen) VALUES ", 6, identifierUpsert,
			len(keys), func(i int, args []any) []any {
				key, sp := keys[i], apps[keys[i]]
				app, _ := ids.appOf(st, key)
				return append(args, key, cmp.Or(sp.name, key), ids.res.m.match(key, sp.name), app, sp.first, sp.last)
			}); err != nil {
			return err
		}
		if added == 0 {
			return nil
		}
		// The rollups take the run's events up to last_event_id (see rollUpRun).
		counted.to = lastID
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE import_runs SET new_count = new_count + ?, last_event_id = ? WHERE id = ?"), added, lastID, runID)
		return err
	})
	if err != nil {
		return 0, err
	}
	ids.commit(st)
	return added, nil
}

// identifierUpsert merges an identifier's span into the one already recorded; the discovered
// app it belongs to stays as it was.
const identifierUpsert = ` ON CONFLICT (app_key) DO UPDATE SET
	first_seen = CASE WHEN excluded.first_seen < discovered_identifiers.first_seen THEN excluded.first_seen ELSE discovered_identifiers.first_seen END,
	last_seen = CASE WHEN excluded.last_seen > discovered_identifiers.last_seen THEN excluded.last_seen ELSE discovered_identifiers.last_seen END,
	app_id = COALESCE(discovered_identifiers.app_id, excluded.app_id),
	discovered_app_id = COALESCE(discovered_identifiers.discovered_app_id, excluded.discovered_app_id)`

// insertEventsSQL is the statement that stores n events, skipping ids already stored and
// returning the new rows' ids. On SQLite, OR IGNORE (rather than ON CONFLICT … DO NOTHING, which
// covers the unique key alone) lets no constraint abort the statement midway, so SQLite keeps
// no statement journal for it; the values it could ignore, NULLs, never come from Go strings
// and times.
func insertEventsSQL(d *db.DB, n int) string {
	verb, conflict := "INSERT OR IGNORE INTO", ""
	if d.Dialect == db.Postgres {
		verb, conflict = "INSERT INTO", " ON CONFLICT (source, source_event_id) DO NOTHING"
	}
	row := "(?" + strings.Repeat(", ?", eventColumns-1) + ")"
	return d.Rebind(verb + " usage_events (source, source_event_id, occurred_at, user_key, app_key, app_name, kind, outcome, ip, import_run_id, scopes) VALUES " +
		strings.Repeat(row+", ", n-1) + row + conflict + " RETURNING id, source_event_id")
}

// withoutStored returns the events of part whose ids are not stored yet. It is a shortcut for
// the insert, whose conflict clause still decides: an id it misses is only offered again.
func withoutStored(ctx context.Context, tx *sqlx.Tx, d db.Dialect, part []UsageEvent) ([]UsageEvent, error) {
	type eventID struct {
		source SourceKind
		id     string
	}
	bySource := map[SourceKind][]UsageEvent{}
	for _, e := range part {
		bySource[e.Source] = append(bySource[e.Source], e)
	}
	known := make(map[eventID]bool, len(part))
	for src, events := range bySource {
		stored, err := storedInWindow(ctx, tx, src, events)
		if err == nil && stored == nil {
			stored, err = storedByID(ctx, tx, d, src, events)
		}
		if err != nil {
			return nil, fmt.Errorf("look up stored events: %w", err)
		}
		for _, id := range stored {
			known[eventID{src, id}] = true
		}
	}
	fresh := part[:0:0]
	for _, e := range part {
		if !known[eventID{e.Source, e.SourceEventID}] {
			fresh = append(fresh, e)
		}
	}
	return fresh, nil
}

// windowSlack is how many stored events, per event looked up, storedInWindow may read before
// it gives up on the time window.
const windowSlack = 4

// storedInSpanSQL reads the events of a time span, up to a limit, by the time index.
const storedInSpanSQL = "SELECT source, source_event_id FROM usage_events WHERE occurred_at >= ? AND occurred_at <= ? LIMIT ?"

// storedInWindow returns the ids of source's stored events in the time span of events, or nil
// when that span holds more than windowSlack times as many, as when the log is not in time
// order or other imports share the span. Logs are exported in time order, so a chunk spans
// seconds, and one range scan of the time index replaced a thousand probes of the id index:
// a tenth of the database's work on a re-import.
func storedInWindow(ctx context.Context, tx *sqlx.Tx, src SourceKind, events []UsageEvent) ([]string, error) {
	first, last := events[0].OccurredAt, events[0].OccurredAt
	for _, e := range events[1:] {
		if e.OccurredAt.Before(first) {
			first = e.OccurredAt
		}
		if e.OccurredAt.After(last) {
			last = e.OccurredAt
		}
	}
	// The source is compared here rather than in SQL, so that no database is tempted by the
	// (source, source_event_id) index, which would read every event of the source.
	limit := windowSlack*len(events) + 1
	var rows []struct {
		Source string `db:"source"`
		ID     string `db:"source_event_id"`
	}
	err := tx.SelectContext(ctx, &rows, tx.Rebind(storedInSpanSQL), db.Time(first), db.Time(last), limit)
	if err != nil || len(rows) == limit {
		return nil, err
	}
	stored := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Source == string(src) {
			stored = append(stored, r.ID)
		}
	}
	return stored, nil
}

// storedByID returns which of events' ids are stored, by id.
func storedByID(ctx context.Context, tx *sqlx.Tx, d db.Dialect, src SourceKind, events []UsageEvent) ([]string, error) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.SourceEventID
	}
	// PostgreSQL takes the ids as one array parameter, which it plans and binds far faster
	// than 1,000 scalars; SQLite has no arrays.
	q, args := "SELECT source_event_id FROM usage_events WHERE source = ? AND source_event_id = ANY(?)", []any{string(src), ids}
	if d != db.Postgres {
		q = "SELECT source_event_id FROM usage_events WHERE source = ? AND source_event_id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
		args = args[:1]
		for _, id := range ids {
			args = append(args, id)
		}
	}
	stored := []string{}
	err := tx.SelectContext(ctx, &stored, tx.Rebind(q), args...)
	return stored, err
}

// ErrUnknownRun is returned for a run id that does not exist.
var ErrUnknownRun = errors.New("no such import run")

// Run returns one import run.
func (s *Store) Run(ctx context.Context, id int64) (ImportRun, error) {
	var r ImportRun
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT id, source, format, file_name, checksum, status, read_count, new_count, duplicate_count,
		skipped_count, rejected_count, rejections, error, started_at, finished_at FROM import_runs WHERE id = ?`), id)
	if db.IsNotFound(err) {
		return r, ErrUnknownRun
	}
	return r, err
}
