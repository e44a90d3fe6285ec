package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
)

// ChangeLog is the outbox for an embedded index: each change adds its slugs to catalog_changes
// in the change's transaction, and every replica's Follower applies them to its own index. A
// River job would run on one replica only and leave the others' indexes behind.
type ChangeLog struct {
	Now func() time.Time
	// Resolver, when set, queues discovery's re-resolution when identifiers change.
	Resolver ResolverOutbox
}

// EnqueueIdentifiersChanged implements ResolverOutbox through Resolver.
func (c ChangeLog) EnqueueIdentifiersChanged(ctx context.Context, tx *sqlx.Tx) error {
	if c.Resolver == nil {
		return nil
	}
	return c.Resolver.EnqueueIdentifiersChanged(ctx, tx)
}

// EnqueueIndexSync implements Outbox.
func (c ChangeLog) EnqueueIndexSync(ctx context.Context, tx *sqlx.Tx, slugs ...string) error {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	at := db.Time(now())
	for _, sl := range slugs {
		if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO catalog_changes (slug, changed_at) VALUES (?, ?)"), sl, at); err != nil {
			return fmt.Errorf("log catalogue change: %w", err)
		}
	}
	return nil
}

// Follower applies the catalogue's change log to this replica's own index. Its cursor (the last
// change applied) lives in a file beside the index, so it moves with the index: a replica that
// was down catches up from where its index stopped, and a new or emptied index is rebuilt.
type Follower struct {
	Catalog    *Service
	CursorFile string
	// Interval is how often the log is polled; 0 means one second.
	Interval time.Duration
	// GapWait is how long a hole in the ids may stay open before it counts as a rolled-back
	// change; 0 means 30 seconds. (On PostgreSQL a change can commit after a later one.)
	GapWait time.Duration
	Log     *slog.Logger

	mu     sync.Mutex
	cursor int64
	gaps   map[int64]time.Time // first id of a hole → when it was first seen
	stop   context.CancelFunc
	done   chan struct{}
}

const followBatch = 1000

// Start loads the cursor (rebuilding the index when there is none, or when the index is empty
// while the catalogue is not) and applies the log every Interval until ctx ends.
func (f *Follower) Start(ctx context.Context) error {
	if err := f.load(ctx); err != nil {
		return err
	}
	if err := f.CatchUp(ctx); err != nil {
		f.logger().Warn("search index catch-up failed; retrying", "err", err)
	}
	interval := f.Interval
	if interval <= 0 {
		interval = time.Second
	}
	ctx, f.stop = context.WithCancel(ctx)
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
					f.logger().Warn("search index catch-up failed; retrying", "err", err)
				}
			}
		}
	}()
	return nil
}

// Stop ends the polling Start began and waits for it.
func (f *Follower) Stop() {
	if f.stop != nil {
		f.stop()
		<-f.done
	}
}

func (f *Follower) logger() *slog.Logger {
	if f.Log != nil {
		return f.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (f *Follower) load(ctx context.Context) error {
	raw, err := os.ReadFile(f.CursorFile)
	if errors.Is(err, fs.ErrNotExist) {
		_, err := f.Rebuild(ctx)
		return err
	}
	if err != nil {
		return fmt.Errorf("read the search index cursor: %w", err)
	}
	cur, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		f.logger().Warn("search index cursor unreadable; rebuilding the index", "file", f.CursorFile)
		_, err := f.Rebuild(ctx)
		return err
	}
	n, err := f.Catalog.index.Count(ctx)
	if err != nil {
		return fmt.Errorf("count the search index: %w", err)
	}
	var apps int
	if err := f.Catalog.db.GetContext(ctx, &apps, "SELECT COUNT(*) FROM apps"); err != nil {
		return err
	}
	if n == 0 && apps > 0 {
		_, err := f.Rebuild(ctx)
		return err
	}
	f.mu.Lock()
	f.cursor = cur
	f.mu.Unlock()
	return nil
}

// Rebuild rebuilds this replica's index from the database and moves the cursor to the newest
// change: changes logged while it runs are applied again after, which syncs allow.
func (f *Follower) Rebuild(ctx context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var last int64
	if err := f.Catalog.db.GetContext(ctx, &last, "SELECT COALESCE(MAX(id), 0) FROM catalog_changes"); err != nil {
		return 0, fmt.Errorf("read the catalogue change log: %w", err)
	}
	n, err := f.Catalog.Reindex(ctx)
	if err != nil {
		return n, err
	}
	if err := f.save(last); err != nil {
		return n, err
	}
	f.cursor, f.gaps = last, nil
	return n, nil
}

type change struct {
	ID   int64  `db:"id"`
	Slug string `db:"slug"`
}

// CatchUp applies every logged change past the cursor to the index, in batches.
func (f *Follower) CatchUp(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		var rows []change
		if err := f.Catalog.db.SelectContext(ctx, &rows, f.Catalog.db.Rebind("SELECT id, slug FROM catalog_changes WHERE id > ? ORDER BY id LIMIT ?"), f.cursor, followBatch); err != nil {
			return fmt.Errorf("read the catalogue change log: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		seen := map[string]bool{}
		var slugs []string
		for _, r := range rows {
			if !seen[r.Slug] {
				seen[r.Slug] = true
				slugs = append(slugs, r.Slug)
			}
		}
		if err := f.Catalog.SyncIndex(ctx, slugs...); err != nil {
			return err
		}
		next := f.advance(rows)
		if next == f.cursor {
			return nil // held at a hole; the rows past it were applied and will be again
		}
		if err := f.save(next); err != nil {
			return err
		}
		f.cursor = next
		if len(rows) < followBatch {
			return nil
		}
	}
}

// advance is how far the cursor may move over rows: up to the first hole in the ids that is
// younger than GapWait, since the change that fills it may still commit.
func (f *Follower) advance(rows []change) int64 {
	wait := f.GapWait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	now := time.Now()
	cur := f.cursor
	for _, r := range rows {
		if r.ID != cur+1 {
			first, ok := f.gaps[cur+1]
			if !ok {
				if f.gaps == nil {
					f.gaps = map[int64]time.Time{}
				}
				f.gaps[cur+1] = now
				return cur
			}
			if now.Sub(first) < wait {
				return cur
			}
		}
		delete(f.gaps, cur+1)
		cur = r.ID
	}
	return cur
}

// Lag counts the logged changes this replica's index has not applied yet.
func (f *Follower) Lag(ctx context.Context) (int, error) {
	f.mu.Lock()
	cur := f.cursor
	f.mu.Unlock()
	var n int
	err := f.Catalog.db.GetContext(ctx, &n, f.Catalog.db.Rebind("SELECT COUNT(*) FROM catalog_changes WHERE id > ?"), cur)
	return n, err
}

// save writes the cursor atomically, so a crash leaves the old or the new one.
func (f *Follower) save(cur int64) error {
	tmp := f.CursorFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(f.CursorFile), 0o750); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(cur, 10)+"\n"), 0o640); err != nil {
		return fmt.Errorf("write the search index cursor: %w", err)
	}
	return os.Rename(tmp, f.CursorFile)
}
