package actions_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestKilledProcessResumesWhenItsLeaseRunsOut: a process dies in the middle of an action
// without a word (its River job stays "running", which River rescues only after an hour).
// Another process resumes the action once the dead one's lease has run out, not before, and
// does each step once.
func TestKilledProcessResumesWhenItsLeaseRunsOut(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			a := e.preview(t, revokeAll())

			// The first process keeps its own clock: its lease runs out two minutes after t0.
			t0 := e.now
			first := e.svc
			first.Now = func() time.Time { return t0 }
			frozen, thaw := make(chan struct{}), make(chan struct{})
			actions.SetAfterStep(first, func(_ int64, n int) error {
				if n == 1 {
					close(frozen)
					<-thaw // hangs here, as a killed process never returns
					return errors.New("killed")
				}
				return nil
			})
			t.Cleanup(func() { close(thaw) })
			if _, err := first.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			select {
			case <-frozen:
			case <-time.After(20 * time.Second):
				t.Fatal("the job never ran")
			}
			e.stop(t) // gives up waiting for the hung job, which stays running in River's table
			if n := e.count(t, "SELECT COUNT(*) FROM river_job WHERE kind = 'actions.run' AND state = 'running'"); n != 1 {
				t.Fatalf("%d run jobs left running, want the dead process's one", n)
			}

			// A second process, a minute later: the lease still holds, nothing is resumed.
			e.now = t0.Add(time.Minute)
			e.start(t)
			if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 0 {
				t.Fatalf("resumed %d under a live lease (%v)", n, err)
			}
			mid, _ := e.svc.Get(ctx, a.ID)
			if mid.State != actions.StateRunning || mid.Counts.Done != 1 || mid.Counts.Pending != 2 {
				t.Fatalf("before the lease ran out: %s %+v", mid.State, mid.Counts)
			}

			// Three minutes after the first process took it, the lease has run out.
			e.now = t0.Add(3 * time.Minute)
			if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 1 {
				t.Fatalf("resumed %d stalled actions (%v), want 1", n, err)
			}
			if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 0 {
				t.Fatalf("the same stalled run was resumed again: %d (%v)", n, err)
			}
			done := e.wait(t, a.ID)
			if done.State != actions.StateDone || done.Counts.Done != 3 {
				t.Fatalf("after resuming: %s %+v", done.State, done.Counts)
			}
			do, _ := e.prov.calls()
			for _, p := range people {
				if do["g-"+p] != 1 {
					t.Errorf("%s: Do called %d times", p, do["g-"+p])
				}
			}
			for _, s := range done.Steps {
				if s.Attempts != 1 {
					t.Errorf("step %d recorded %d attempts", s.Position, s.Attempts)
				}
			}
			if n := e.count(t, "SELECT COUNT(*) FROM actions WHERE id = ? AND lease_until IS NULL AND lease_owner = ''", a.ID); n != 1 {
				t.Error("the finished action still holds a lease")
			}
			// Nothing is left to resume, even much later.
			e.now = t0.Add(time.Hour)
			if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 0 {
				t.Fatalf("resumed a finished action: %d (%v)", n, err)
			}
		})
	}
}
