package actions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/internal/db"
)

// A process carrying an action out holds its lease, renewed every leaseTTL/4. When the process
// dies (killed, out of memory, the machine lost) its River job stays "running" until River's
// rescuer notices, an hour later by default; the lease runs out within leaseTTL instead, and
// the resume job starts the action again on another worker within a minute after that.
const (
	leaseTTL       = 2 * time.Minute
	resumeInterval = time.Minute
)

// newOwner names this process's leases: host, process and a random part, so two services in
// one process (tests) hold distinct leases too.
func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// hold takes the action's lease for this process and renews it until release is called. ok is
// false when another live process holds it: that one finishes the work. The returned context
// ends if the lease is lost (taken over after this process could not renew it in time), so
// that two processes never work on one action at once.
func (s *Service) hold(ctx context.Context, id int64) (held context.Context, release func(), ok bool, err error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE actions SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`),
		s.owner, db.Time(now.Add(leaseTTL)), id, now, s.owner)
	if err != nil {
		return nil, nil, false, fmt.Errorf("take the lease of action %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil, false, nil
	}
	held, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(leaseTTL / 4)
		defer t.Stop()
		for {
			select {
			case <-held.Done():
				return
			case <-t.C:
			}
			res, err := s.db.ExecContext(held, s.db.Rebind(`UPDATE actions SET lease_until = ? WHERE id = ? AND lease_owner = ?`),
				db.Time(s.now().Add(leaseTTL)), id, s.owner)
			if err != nil {
				s.log.WarnContext(held, "actions: renew lease", "action", id, "err", err)
				continue // tried again at the next tick; the lease outlives three misses
			}
			if n, _ := res.RowsAffected(); n == 0 {
				s.log.WarnContext(held, "actions: lease lost to another process", "action", id)
				cancel()
				return
			}
		}
	}()
	release = func() {
		cancel()
		<-stopped
		// A job stopping because its context ended still gives the lease back, so the next
		// attempt need not wait for it to run out.
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer done()
		if _, err := s.db.ExecContext(rctx, s.db.Rebind(`UPDATE actions SET lease_owner = '', lease_until = NULL WHERE id = ? AND lease_owner = ?`),
			id, s.owner); err != nil {
			s.log.WarnContext(rctx, "actions: release lease", "action", id, "err", err)
		}
	}
	return held, release, true, nil
}

// ResumeArgs asks for the actions whose process died to be carried on.
type ResumeArgs struct{}

// Kind names the job.
func (ResumeArgs) Kind() string { return "actions.resume" }

// ResumeWorker resumes actions whose lease ran out.
type ResumeWorker struct {
	river.WorkerDefaults[ResumeArgs]
	s *Service
}

// Work enqueues the stalled actions again.
func (w *ResumeWorker) Work(ctx context.Context, _ *river.Job[ResumeArgs]) error {
	_, err := w.s.ResumeStalled(ctx)
	return err
}

// ResumePeriodic looks for stalled actions every minute, and at start, on one replica.
func ResumePeriodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(resumeInterval), func() (river.JobArgs, *river.InsertOpts) {
		return ResumeArgs{}, nil
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

// ResumeStalled enqueues a run (or an undo) for every action still running (or undoing) whose
// lease ran out, and returns how many it enqueued. Each lease that ran out gets one job: the
// job's arguments name it, and River keeps them unique.
func (s *Service) ResumeStalled(ctx context.Context) (int, error) {
	var stalled []struct {
		ID    int64     `db:"id"`
		State State     `db:"state"`
		Until time.Time `db:"lease_until"`
	}
	if err := s.db.SelectContext(ctx, &stalled, s.db.Rebind(`SELECT id, state, lease_until FROM actions
		WHERE state IN (?, ?) AND lease_until IS NOT NULL AND lease_until < ? ORDER BY id`),
		StateRunning, StateUndoing, s.now()); err != nil {
		return 0, fmt.Errorf("list stalled actions: %w", err)
	}
	n := 0
	for _, a := range stalled {
		lease := a.Until.UTC().Format(time.RFC3339Nano)
		var args river.JobArgs = RunArgs{ActionID: a.ID, Lease: lease}
		if a.State == StateUndoing {
			args = UndoArgs{ActionID: a.ID, Lease: lease}
		}
		res, err := s.jobs.Insert(ctx, args, resumeOpts)
		if err != nil {
			return n, err
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
			s.log.InfoContext(ctx, "actions: resuming an action whose process stopped", "action", a.ID, "state", a.State, "lease_until", lease)
		}
	}
	return n, nil
}

var resumeOpts = &river.InsertOpts{MaxAttempts: runOpts.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
