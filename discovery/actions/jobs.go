package actions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
)

// RunArgs asks for an approved action's pending steps to be carried out.
type RunArgs struct {
	ActionID int64 `json:"action_id"`
	// Lease, on a job that resumes an action whose process stopped, is when that process's
	// lease ran out: one resume job per stalled run.
	Lease string `json:"lease,omitempty"`
}

// Kind names the job.
func (RunArgs) Kind() string { return "actions.run" }

// UndoArgs asks for an action's done steps to be reversed.
type UndoArgs struct {
	ActionID int64  `json:"action_id"`
	Lease    string `json:"lease,omitempty"`
}

// Kind names the job.
func (UndoArgs) Kind() string { return "actions.undo" }

// runOpts: a job that stops (a crash, a deploy, an error reaching the database) is tried again
// and resumes at the first step not recorded.
var runOpts = &river.InsertOpts{MaxAttempts: 10}

// jobTimeout bounds one attempt; rate-limit waits can be long, and a timed-out attempt resumes
// where it stopped on the next.
const jobTimeout = 30 * time.Minute

// RunWorker carries actions out.
type RunWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

// Timeout lets an attempt run longer than River's default minute.
func (w *RunWorker) Timeout(*river.Job[RunArgs]) time.Duration { return jobTimeout }

// Work carries out the action's steps.
func (w *RunWorker) Work(ctx context.Context, j *river.Job[RunArgs]) error {
	return w.s.run(ctx, j.Args.ActionID)
}

// UndoWorker reverses actions.
type UndoWorker struct {
	river.WorkerDefaults[UndoArgs]
	s *Service
}

// Timeout lets an attempt run longer than River's default minute.
func (w *UndoWorker) Timeout(*river.Job[UndoArgs]) time.Duration { return jobTimeout }

// Work reverses the action's done steps.
func (w *UndoWorker) Work(ctx context.Context, j *river.Job[UndoArgs]) error {
	return w.s.undo(ctx, j.Args.ActionID)
}

// RegisterJobs adds the workers to j.
func (s *Service) RegisterJobs(j *jobs.Jobs) {
	jobs.AddWorker(j, &RunWorker{s: s})
	jobs.AddWorker(j, &UndoWorker{s: s})
	jobs.AddWorker(j, &ResumeWorker{s: s})
}

// actorJob names the job in the audit log.
var actorJob = audit.Actor{Name: "system"}

// provider loads what a job needs to act. Its errors are recorded on the action, so the page
// says why nothing happens.
func (s *Service) provider(ctx context.Context, a Action) (discovery.Source, Provider, error) {
	src, err := s.sources(ctx, a.SourceID)
	if err != nil {
		return src, nil, fmt.Errorf("source %q: %w", a.SourceName, err)
	}
	p := s.providers[src.Kind]
	if p == nil {
		return src, nil, fmt.Errorf("paved cannot act through %s sources", src.Kind)
	}
	return src, p, nil
}

// run carries out the pending steps one at a time. Each result is committed before the next
// step starts, so an attempt that stops anywhere resumes at the first step without a result: a
// step is done at most once, except one whose Do succeeded and whose record was lost, which
// the provider takes as done (an object already gone counts as done).
func (s *Service) run(ctx context.Context, id int64) error {
	ctx, release, ok, err := s.hold(ctx, id)
	if err != nil || !ok {
		return err
	}
	defer release()
	a, err := getAction(ctx, s.db, id)
	if err != nil {
		return err
	}
	if a.State != StateApproved && a.State != StateRunning {
		return nil // retried after it finished, or undone meanwhile
	}
	if a.State == StateApproved {
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			if ok, err := setState(ctx, tx, id, s.now(), StateRunning, StateApproved); err != nil || !ok {
				return err
			}
			return audit.Append(ctx, tx, s.now(), actorJob, "action.start", "action", fmt.Sprint(id), map[string]any{"kind": a.Kind, "app": a.AppName})
		})
		if err != nil {
			return err
		}
	}
	src, p, err := s.provider(ctx, a)
	if err != nil {
		return s.stopRun(ctx, a, err)
	}
	done := 0
	for {
		step, ok, err := nextPending(ctx, s.db, id)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		derr := p.Do(ctx, src, a.Kind, step.step())
		if ctx.Err() != nil {
			// Stopping: the step stays pending and the next attempt does it again.
			return ctx.Err()
		}
		if err := s.recordStep(ctx, a, step, derr); err != nil {
			return err
		}
		done++
		if s.afterStep != nil {
			if err := s.afterStep(id, done); err != nil {
				return err
			}
		}
	}
	return s.finish(ctx, a)
}

// stopRun ends a run that cannot act at all. A refusal that waiting will not mend (the source
// was deleted or made read-only) fails the action at once, its steps left pending for a retry
// once an admin has fixed the source; anything else is tried again by the job.
func (s *Service) stopRun(ctx context.Context, a Action, cause error) error {
	now := s.now()
	if !errors.Is(cause, discovery.ErrUnknownSource) && !errs.Is(cause, errs.Invalid) && !errs.Is(cause, errs.NotFound) {
		_ = setLastError(ctx, s.db, a.ID, now, cause.Error())
		return cause
	}
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if ok, err := setState(ctx, tx, a.ID, now, StateFailed, StateRunning); err != nil || !ok {
			return err
		}
		if err := finishAction(ctx, tx, a.ID, now, StateFailed, cause.Error()); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actorJob, "action.finish", "action", fmt.Sprint(a.ID), map[string]any{"state": StateFailed, "error": cause.Error()})
	})
}

func (s *Service) recordStep(ctx context.Context, a Action, step StepRecord, derr error) error {
	status, msg, action := StepDone, "", "action.step.done"
	if derr != nil {
		status, msg, action = StepFailed, derr.Error(), "action.step.fail"
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		ok, err := recordStep(ctx, tx, step.ID, now, status, msg)
		if err != nil || !ok {
			return err
		}
		details := map[string]any{"step": step.Position, "person": step.Person, "object": step.Object, "object_id": step.ObjectID}
		if msg != "" {
			details["error"] = msg
		}
		return audit.Append(ctx, tx, now, actorJob, action, "action", fmt.Sprint(a.ID), details)
	})
}

// finish closes the run: done when every step is, partial when some failed, failed when none
// was done; and tells the people reached, each once per action.
func (s *Service) finish(ctx context.Context, a Action) error {
	steps, err := listSteps(ctx, s.db, a.ID)
	if err != nil {
		return err
	}
	a.Steps = steps
	a.count()
	state := StateDone
	switch {
	case a.Counts.Failed > 0 && a.Counts.Done == 0:
		state = StateFailed
	case a.Counts.Failed > 0:
		state = StatePartial
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if ok, err := setState(ctx, tx, a.ID, now, state, StateRunning); err != nil || !ok {
			return err
		}
		if err := finishAction(ctx, tx, a.ID, now, state, ""); err != nil {
			return err
		}
		told, err := s.tell(ctx, tx, a)
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actorJob, "action.finish", "action", fmt.Sprint(a.ID), map[string]any{
			"state": state, "done": a.Counts.Done, "failed": a.Counts.Failed, "told": told})
	})
}

// tell queues one message for each person the action reached who was not told yet, inside
// tx: a person is told exactly when their step's result is committed.
func (s *Service) tell(ctx context.Context, tx *sqlx.Tx, a Action) (int, error) {
	people, err := unnotified(ctx, tx, a.ID)
	if err != nil {
		return 0, err
	}
	if wide, err := appWideUntold(ctx, tx, a.ID); err != nil {
		return 0, err
	} else if wide && a.DiscoveredAppID != nil {
		if people, err = appUsers(ctx, tx, *a.DiscoveredAppID); err != nil {
			return 0, err
		}
	}
	if len(people) == 0 {
		return 0, nil
	}
	if s.notifier != nil {
		if err := s.notifier.EnqueueTx(ctx, s.jobs, tx, s.message(a, people)); err != nil {
			return 0, err
		}
	}
	return len(people), markNotified(ctx, tx, a.ID, s.now())
}

// message is what people are told: the app, why, what to use instead, how to ask.
func (s *Service) message(a Action, people []string) notify.Event {
	summary := "Why: " + a.Reason
	if len(a.Alternatives) > 0 {
		summary += "\n\nUse instead:"
		for _, x := range a.Alternatives {
			summary += "\n- " + x.Name
		}
	}
	summary += "\n\nIf you need " + a.AppName + " for your work, you can ask for an exception on the page linked below."
	return notify.Event{Kind: notify.AccessRemoved, Title: a.AppName, Summary: summary, URL: a.ExceptionURL, Recipients: people}
}

// undo reverses the done steps that carry undo data, one at a time, each recorded.
func (s *Service) undo(ctx context.Context, id int64) error {
	ctx, release, ok, err := s.hold(ctx, id)
	if err != nil || !ok {
		return err
	}
	defer release()
	a, err := getAction(ctx, s.db, id)
	if err != nil {
		return err
	}
	if a.State != StateUndoing {
		return nil
	}
	src, p, err := s.provider(ctx, a)
	if err != nil {
		_ = setLastError(ctx, s.db, id, s.now(), err.Error())
		return err
	}
	steps, err := listSteps(ctx, s.db, id)
	if err != nil {
		return err
	}
	failed := 0
	for _, st := range steps {
		if !st.CanUndo() {
			continue
		}
		uerr := p.Undo(ctx, src, a.Kind, st.step())
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg, action := "", "action.step.undo"
		if uerr != nil {
			failed++
			msg, action = "undo: "+uerr.Error(), "action.step.undo_fail"
			if errors.Is(uerr, ErrCannotUndo) {
				msg = "undo: " + ErrCannotUndo.Error()
			}
		}
		now := s.now()
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			if err := recordUndo(ctx, tx, st.ID, now, msg); err != nil {
				return err
			}
			details := map[string]any{"step": st.Position, "person": st.Person, "object": st.Object, "object_id": st.ObjectID}
			if msg != "" {
				details["error"] = msg
			}
			return audit.Append(ctx, tx, now, actorJob, action, "action", fmt.Sprint(id), details)
		})
		if err != nil {
			return err
		}
	}
	state := StateUndone
	if failed > 0 {
		state = StatePartial
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if ok, err := setState(ctx, tx, id, now, state, StateUndoing); err != nil || !ok {
			return err
		}
		if err := finishAction(ctx, tx, id, now, state, ""); err != nil {
			return err
		}
		return audit.Append(ctx, tx, now, actorJob, "action.undo.finish", "action", fmt.Sprint(id), map[string]any{"state": state, "failed": failed})
	})
}
