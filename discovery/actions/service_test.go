package actions_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
	"github.com/pavedhq/paved/internal/testutil"
)

var (
	ann = audit.Actor{UserID: ptr(int64(1)), Name: "ann@example.com"}
	bob = audit.Actor{UserID: ptr(int64(2)), Name: "bob@example.com"}
)

func ptr[T any](v T) *T { return &v }

// memProvider is an identity provider held in memory: who holds a grant of the app, and how
// often each object was acted on, so tests can prove nothing is done twice.
type memProvider struct {
	mu      sync.Mutex
	holders map[string]bool
	do      map[string]int
	undo    map[string]int
	fail    map[string]int // object id → failures left
	err     error          // every Preview fails with it
}

func newMem(people ...string) *memProvider {
	m := &memProvider{holders: map[string]bool{}, do: map[string]int{}, undo: map[string]int{}, fail: map[string]int{}}
	for _, p := range people {
		m.holders[p] = true
	}
	return m
}

func (m *memProvider) Preview(_ context.Context, _ discovery.Source, k actions.Kind, t actions.Target) ([]actions.Step, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, m.err
	}
	want := map[string]bool{}
	for _, p := range t.People {
		want[p] = true
	}
	var out []actions.Step
	for _, p := range sortedKeys(m.holders) {
		if len(want) > 0 && !want[p] {
			continue
		}
		st := actions.Step{Person: p, Object: "grant", ObjectID: "g-" + p, Description: "Remove " + p + "'s grant to " + t.App}
		if k != actions.GoogleRevokeTokens {
			st.Undo = json.RawMessage(fmt.Sprintf(`{"person":%q}`, p))
		}
		out = append(out, st)
	}
	return out, nil
}

func (m *memProvider) Do(_ context.Context, _ discovery.Source, _ actions.Kind, s actions.Step) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.do[s.ObjectID]++
	if m.fail[s.ObjectID] > 0 {
		m.fail[s.ObjectID]--
		return errors.New("503 from the provider, after retries")
	}
	delete(m.holders, s.Person) // already gone counts as done
	return nil
}

func (m *memProvider) Undo(_ context.Context, _ discovery.Source, _ actions.Kind, s actions.Step) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(s.Undo) == 0 {
		return actions.ErrCannotUndo
	}
	m.undo[s.ObjectID]++
	m.holders[s.Person] = true
	return nil
}

func (m *memProvider) calls() (do, undo map[string]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	do, undo = map[string]int{}, map[string]int{}
	for k, v := range m.do {
		do[k] = v
	}
	for k, v := range m.undo {
		undo[k] = v
	}
	return do, undo
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// env is a service on a real database with a real job queue.
type env struct {
	d     *db.DB
	j     *jobs.Jobs
	svc   *actions.Service
	disc  *discovery.Store
	app   int64 // the discovered app seen under a Google client id and an Entra app id
	prov  *memProvider
	now   time.Time
	deps  actions.Deps
	alive bool
}

const clientID = "123-abc.apps.googleusercontent.com"

var people = []string{"p1@example.com", "p2@example.com", "p3@example.com"}

// googleLog is a Reports API page in which each person granted the app a token.
func googleLog(now time.Time, who ...string) string {
	var items []string
	for i, p := range who {
		items = append(items, fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"time":%q,"uniqueQualifier":"%d","applicationName":"token","customerId":"C1"},"actor":{"email":%q},"events":[{"type":"auth","name":"authorize","parameters":[{"name":"client_id","value":%q},{"name":"app_name","value":"Miro"},{"name":"scope","multiValue":["https://www.googleapis.com/auth/drive"]}]}]}`,
			now.Add(-time.Duration(i+1)*time.Hour).Format(time.RFC3339), i+1, p, clientID))
	}
	return `{"kind":"admin#reports#activities","items":[` + strings.Join(items, ",") + `]}`
}

func newEnv(t *testing.T, b testutil.Backend, sources actions.SourceLoader) *env {
	t.Helper()
	return newEnvWith(t, b, sources, nil)
}

// newEnvWith is newEnv with the dependencies changed by change before the service starts.
func newEnvWith(t *testing.T, b testutil.Backend, sources actions.SourceLoader, change func(*actions.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{d: b.Open(t), now: time.Now().UTC().Truncate(time.Second), prov: newMem(people...)}
	e.disc = discovery.NewStore(e.d)
	for _, u := range []*audit.Actor{&ann, &bob} {
		var id int64
		if err := e.d.Get(&id, e.d.Rebind(`INSERT INTO users (issuer, subject, email, name, roles, created_at, updated_at, last_login_at)
			VALUES ('test', ?, ?, ?, 'employee security', ?, ?, ?) RETURNING id`), u.Name, u.Name, u.Name, e.now, e.now, e.now); err != nil {
			t.Fatal(err)
		}
		u.UserID = &id
	}
	if _, err := e.disc.Import(ctx, audit.System, discovery.FormatGoogle, "tokens", strings.NewReader(googleLog(e.now, people...))); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Get(&e.app, "SELECT discovered_app_id FROM discovered_identifiers WHERE app_key = 'google:"+clientID+"'"); err != nil {
		t.Fatal(err)
	}
	if sources == nil {
		sources = func(_ context.Context, id int64) (discovery.Source, error) {
			if id != 7 {
				return discovery.Source{}, discovery.ErrUnknownSource
			}
			return discovery.Source{ID: 7, Kind: discovery.FormatGoogle, Name: "Workspace", Secret: "x"}, nil
		}
	}
	e.deps = actions.Deps{DB: e.d, Discovery: e.disc, Sources: sources,
		Providers: map[string]actions.Provider{discovery.FormatGoogle: e.prov, discovery.FormatEntra: e.prov},
		Notifier:  notify.New(notify.Config{SMTP: notify.SMTPConfig{Host: "127.0.0.1", From: "Paved <paved@example.com>"}, BaseURL: "https://paved.example.com"})}
	if change != nil {
		change(&e.deps)
	}
	e.start(t)
	return e
}

// start creates a job client and a service on it, as a process starting would.
func (e *env) start(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	j, err := jobs.New(ctx, e.d, nil, jobs.Options{TestOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e.deps.Jobs = j
	e.svc = actions.New(e.deps)
	e.svc.Now = func() time.Time { return e.now }
	e.svc.RegisterJobs(j)
	e.deps.Notifier.Register(j) // they try port 587 on loopback and fail; the queue shows what was sent
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	e.j, e.alive = j, true
	t.Cleanup(func() { e.stop(t) })
}

// stop stops the job client, as a process ending would.
func (e *env) stop(t *testing.T) {
	if !e.alive {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.j.Stop(ctx)
	e.j.Close()
	e.alive = false
}

func (e *env) preview(t *testing.T, r actions.Request) actions.Action {
	t.Helper()
	a, err := e.svc.Preview(context.Background(), ann, r)
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	return a
}

func revokeAll() actions.Request {
	return actions.Request{Kind: actions.GoogleRevokeTokens, SourceID: 7, App: clientID, People: actions.PeopleEveryone, Reason: "Miro holds customer data without a DPA."}
}

// wait waits for the jobs to finish with the action.
func (e *env) wait(t *testing.T, id int64) actions.Action {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, err := e.svc.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !a.State.Busy() {
			return a
		}
		if time.Now().After(deadline) {
			var errsText []string
			_ = e.d.Select(&errsText, "SELECT errors FROM river_job WHERE kind LIKE 'actions.%' AND errors IS NOT NULL")
			t.Logf("job errors: %v", errsText)
			t.Fatalf("action %d still %s: %+v", id, a.State, a.Steps)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.d.Get(&n, e.d.Rebind(q), args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// emailsTo counts the e-mails queued to an address.
func (e *env) emailsTo(t *testing.T, addr string) int {
	t.Helper()
	var n int
	for _, args := range e.queued(t, notify.EmailKind) {
		if strings.Contains(args, `"`+addr+`"`) {
			n++
		}
	}
	return n
}

func (e *env) queued(t *testing.T, kind string) []string {
	t.Helper()
	var out []string
	q := "SELECT CAST(args AS TEXT) FROM river_job WHERE kind = ?"
	if e.d.Dialect == db.SQLite {
		q = "SELECT json(args) FROM river_job WHERE kind = ?" // River's SQLite driver stores JSONB
	}
	if err := e.d.Select(&out, e.d.Rebind(q), kind); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPreview(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()

			r := revokeAll()
			r.App, r.DiscoveredAppID = "", e.app
			a := e.preview(t, r)
			if a.State != actions.StatePreviewed || a.TargetApp != clientID || a.AppName != "Miro" || len(a.Steps) != 3 || a.Counts.People != 3 {
				t.Fatalf("preview: %+v", a)
			}
			if !a.ExpiresAt.Equal(e.now.Add(24*time.Hour)) || a.StartedBy != ann.Name {
				t.Errorf("expires %v, started by %q", a.ExpiresAt, a.StartedBy)
			}
			for i, s := range a.Steps {
				if s.Person != people[i] || s.Status != actions.StepPending || s.Attempts != 0 {
					t.Errorf("step %d: %+v", i, s)
				}
			}
			if do, _ := e.prov.calls(); len(do) != 0 {
				t.Errorf("a preview changed something: %v", do)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'action.preview' AND object_id = ?", fmt.Sprint(a.ID)); n != 1 {
				t.Errorf("%d audit entries", n)
			}

			// A list of people, from the catalogue's decision instead of the discovered app.
			r = revokeAll()
			r.App, r.People, r.Emails = clientID, actions.PeopleList, []string{"P2@example.com, p3@example.com"}
			a = e.preview(t, r)
			if len(a.Steps) != 2 || a.Steps[0].Person != "p2@example.com" || strings.Join(a.Emails, ",") != "p2@example.com,p3@example.com" {
				t.Errorf("list preview: %+v", a.Steps)
			}

			before := e.count(t, "SELECT COUNT(*) FROM actions")
			for name, tc := range map[string]struct {
				r     actions.Request
				field string
			}{
				"no reason":     {actions.Request{Kind: actions.GoogleRevokeTokens, SourceID: 7, DiscoveredAppID: e.app}, "reason"},
				"bad e-mail":    {actions.Request{Kind: actions.GoogleRevokeTokens, SourceID: 7, DiscoveredAppID: e.app, Reason: "x", People: actions.PeopleList, Emails: []string{"nobody"}}, "emails"},
				"unknown kind":  {actions.Request{Kind: "google.delete_everything", SourceID: 7, DiscoveredAppID: e.app, Reason: "x"}, "kind"},
				"no source":     {actions.Request{Kind: actions.GoogleRevokeTokens, SourceID: 99, DiscoveredAppID: e.app, Reason: "x"}, "source"},
				"wrong kind":    {actions.Request{Kind: actions.EntraRemoveGrants, SourceID: 7, DiscoveredAppID: e.app, Reason: "x"}, "kind"},
				"app-wide list": {actions.Request{Kind: actions.OktaDeactivateApp, SourceID: 7, App: "0oa1", Reason: "x", People: actions.PeopleList, Emails: []string{"a@example.com"}}, "people"},
			} {
				_, err := e.svc.Preview(ctx, ann, tc.r)
				ee, ok := errs.As(err)
				if !ok || ee.Code != errs.Invalid || ee.Fields[tc.field] == "" {
					t.Errorf("%s: got %v, want an error on %s", name, err, tc.field)
				}
			}

			// Credentials the provider refuses: a clear error, nothing stored.
			e.prov.err = errors.New("401 Unauthorized: invalid_grant")
			_, err := e.svc.Preview(ctx, ann, revokeAll())
			if ee, ok := errs.As(err); !ok || ee.Code != errs.Invalid || !strings.Contains(ee.Message, "invalid_grant") || ee.Fields["source"] == "" {
				t.Errorf("refused credentials: %v", err)
			}
			// A source that may not act is the loader's refusal, shown under the source.
			e.svc = actions.New(actions.Deps{DB: e.d, Jobs: e.j, Discovery: e.disc, Providers: e.deps.Providers,
				Sources: func(context.Context, int64) (discovery.Source, error) {
					return discovery.Source{}, &errs.Error{Code: errs.Invalid, Message: "Source \"Workspace\" is read-only.", Fields: map[string]string{"source": "This source is read-only."}}
				}})
			_, err = e.svc.Preview(ctx, ann, revokeAll())
			if ee, ok := errs.As(err); !ok || ee.Fields["source"] != "This source is read-only." {
				t.Errorf("read-only source: %v", err)
			}
			if after := e.count(t, "SELECT COUNT(*) FROM actions"); after != before {
				t.Errorf("failed previews stored %d actions", after-before)
			}
		})
	}
}

func TestFourEyesAndRun(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			r := revokeAll()
			r.DiscoveredAppID = e.app
			a := e.preview(t, r)

			_, err := e.svc.Approve(ctx, ann, a.ID)
			if !errs.Is(err, errs.Forbidden) || !errors.Is(err, actions.ErrSelfApproval) {
				t.Fatalf("the starter approved: %v", err)
			}
			// The same person through a token acting as them is still the same person.
			if _, err := e.svc.Approve(ctx, audit.Actor{UserID: ann.UserID, Name: "token:ci"}, a.ID); !errs.Is(err, errs.Forbidden) {
				t.Fatalf("the starter's token approved: %v", err)
			}
			got, err := e.svc.Approve(ctx, bob, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ApprovedBy != bob.Name || got.ApprovedAt == nil {
				t.Errorf("approved: %+v", got)
			}
			if _, err := e.svc.Approve(ctx, bob, a.ID); !errs.Is(err, errs.Conflict) {
				t.Errorf("approved twice: %v", err)
			}
			done := e.wait(t, a.ID)
			if done.State != actions.StateDone || done.Counts.Done != 3 || done.FinishedAt == nil {
				t.Fatalf("finished: %s %+v", done.State, done.Counts)
			}
			do, _ := e.prov.calls()
			for _, p := range people {
				if do["g-"+p] != 1 {
					t.Errorf("%s: Do called %d times", p, do["g-"+p])
				}
				if n := e.emailsTo(t, p); n != 1 {
					t.Errorf("%s got %d e-mails", p, n)
				}
			}
			if len(e.prov.holders) != 0 {
				t.Errorf("grants left: %v", e.prov.holders)
			}
			for action, want := range map[string]int{"action.approve": 1, "action.start": 1, "action.step.done": 3, "action.finish": 1} {
				if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = ? AND object_id = ?", action, fmt.Sprint(a.ID)); n != want {
					t.Errorf("%s: %d audit entries, want %d", action, n, want)
				}
			}
			// Their home page says it too.
			ns, err := e.svc.Notices(ctx, "P1@example.com")
			if err != nil || len(ns) != 1 || ns[0].AppName != "Miro" || !strings.Contains(ns[0].Reason, "DPA") {
				t.Errorf("notices: %+v, %v", ns, err)
			}
			if ns, _ := e.svc.Notices(ctx, "stranger@example.com"); len(ns) != 0 {
				t.Errorf("a stranger is told: %+v", ns)
			}
			// Google's tokens cannot be given back.
			if _, err := e.svc.Undo(ctx, bob, a.ID); !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "cannot be restored") {
				t.Errorf("undo of revoked tokens: %v", err)
			}
		})
	}
}

func TestApprovalExpires(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			a := e.preview(t, revokeAll())
			e.now = e.now.Add(24*time.Hour + time.Second)
			if got, _ := e.svc.Get(ctx, a.ID); got.State != actions.StateExpired {
				t.Errorf("shown as %s", got.State)
			}
			if _, err := e.svc.Approve(ctx, bob, a.ID); !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "expired") {
				t.Fatalf("approved an expired preview: %v", err)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM actions WHERE id = ? AND state = 'expired'", a.ID); n != 1 {
				t.Error("not stored as expired")
			}
			if do, _ := e.prov.calls(); len(do) != 0 {
				t.Errorf("an expired preview acted: %v", do)
			}
		})
	}
}

func TestCrashBetweenStepsResumes(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			a := e.preview(t, revokeAll())

			// The first attempt stops after two steps, as a crash would.
			stopped := make(chan struct{})
			var once sync.Once
			actions.SetAfterStep(e.svc, func(_ int64, n int) error {
				if n == 2 {
					once.Do(func() { close(stopped) })
					return errors.New("process killed")
				}
				return nil
			})
			if _, err := e.svc.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stopped:
			case <-time.After(20 * time.Second):
				t.Fatal("the job never ran")
			}
			e.stop(t)
			mid, _ := e.svc.Get(ctx, a.ID)
			if mid.State != actions.StateRunning || mid.Counts.Done != 2 || mid.Counts.Pending != 1 {
				t.Fatalf("after the crash: %s %+v", mid.State, mid.Counts)
			}

			// A new process picks the job up again and does only what is left.
			e.start(t)
			done := e.wait(t, a.ID)
			if done.State != actions.StateDone || done.Counts.Done != 3 {
				t.Fatalf("after the restart: %s %+v", done.State, done.Counts)
			}
			do, _ := e.prov.calls()
			for _, p := range people {
				if do["g-"+p] != 1 {
					t.Errorf("%s: Do called %d times", p, do["g-"+p])
				}
				if n := e.emailsTo(t, p); n != 1 {
					t.Errorf("%s got %d e-mails", p, n)
				}
			}
			for _, s := range done.Steps {
				if s.Attempts != 1 {
					t.Errorf("step %d recorded %d attempts", s.Position, s.Attempts)
				}
			}
		})
	}
}

func TestRetryFailedSteps(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, nil)
			ctx := context.Background()
			e.prov.fail["g-p2@example.com"] = 1
			a := e.preview(t, revokeAll())
			if _, err := e.svc.Retry(ctx, bob, a.ID); !errs.Is(err, errs.Conflict) {
				t.Errorf("retried a preview: %v", err)
			}
			if _, err := e.svc.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			partial := e.wait(t, a.ID)
			if partial.State != actions.StatePartial || partial.Counts.Done != 2 || partial.Counts.Failed != 1 {
				t.Fatalf("partial: %s %+v", partial.State, partial.Counts)
			}
			if s := partial.Steps[1]; s.Status != actions.StepFailed || !strings.Contains(s.LastError, "503") {
				t.Errorf("failed step: %+v", s)
			}
			if e.emailsTo(t, "p2@example.com") != 0 || e.emailsTo(t, "p1@example.com") != 1 {
				t.Error("told someone whose grant is still there, or not someone whose grant went")
			}

			if _, err := e.svc.Retry(ctx, ann, a.ID); err != nil {
				t.Fatal(err)
			}
			done := e.wait(t, a.ID)
			if done.State != actions.StateDone || done.Counts.Done != 3 || done.Steps[1].Attempts != 2 {
				t.Fatalf("after retry: %s %+v %+v", done.State, done.Counts, done.Steps[1])
			}
			do, _ := e.prov.calls()
			if do["g-p1@example.com"] != 1 || do["g-p2@example.com"] != 2 || do["g-p3@example.com"] != 1 {
				t.Errorf("calls: %v", do)
			}
			for _, p := range people {
				if n := e.emailsTo(t, p); n != 1 {
					t.Errorf("%s got %d e-mails", p, n)
				}
			}
			if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'action.step.fail'"); n != 1 {
				t.Errorf("%d failures audited", n)
			}
		})
	}
}

func TestUndo(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b, func(_ context.Context, id int64) (discovery.Source, error) {
				return discovery.Source{ID: id, Kind: discovery.FormatEntra, Name: "Entra", Secret: "x"}, nil
			})
			ctx := context.Background()
			a := e.preview(t, actions.Request{Kind: actions.EntraRemoveGrants, SourceID: 3, App: "0b1c-app", People: actions.PeopleList,
				Emails: []string{"p1@example.com", "p3@example.com"}, Reason: "Not approved."})
			if _, err := e.svc.Undo(ctx, bob, a.ID); !errs.Is(err, errs.Conflict) {
				t.Errorf("undid a preview: %v", err)
			}
			if _, err := e.svc.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			if got := e.wait(t, a.ID); got.State != actions.StateDone || !got.Undoable() {
				t.Fatalf("done: %s undoable %v", got.State, got.Undoable())
			}
			if e.prov.holders["p1@example.com"] || !e.prov.holders["p2@example.com"] {
				t.Fatalf("holders: %v", e.prov.holders)
			}
			if _, err := e.svc.Undo(ctx, ann, a.ID); err != nil {
				t.Fatal(err)
			}
			undone := e.wait(t, a.ID)
			if undone.State != actions.StateUndone || undone.Counts.Undone != 2 || undone.Undoable() {
				t.Fatalf("undone: %s %+v", undone.State, undone.Counts)
			}
			if !e.prov.holders["p1@example.com"] || !e.prov.holders["p3@example.com"] {
				t.Errorf("grants not restored: %v", e.prov.holders)
			}
			_, undo := e.prov.calls()
			if undo["g-p1@example.com"] != 1 || undo["g-p3@example.com"] != 1 {
				t.Errorf("undo calls: %v", undo)
			}
			if n := e.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'action.step.undo'"); n != 2 {
				t.Errorf("%d undone steps audited", n)
			}
			if ns, _ := e.svc.Notices(ctx, "p1@example.com"); len(ns) != 0 {
				t.Errorf("an undone action is still on the home page: %+v", ns)
			}
		})
	}
}

// TestGoogleCrashResumesWithoutRevokingTwice runs the job against the Directory API stand-in:
// the first attempt stops after one revocation, a token is revoked meanwhile by its owner, and
// the restarted job revokes each remaining token exactly once.
func TestGoogleCrashResumesWithoutRevokingTwice(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			g := providertest.NewGoogle(t)
			for _, p := range people {
				g.AddToken(p, clientID, "Miro", "https://www.googleapis.com/auth/drive")
			}
			g.AddToken("p1@example.com", "other.apps.googleusercontent.com", "Other", "email")
			g.SetPageSize(2)
			h := &discovery.ProviderHTTP{}
			h.Sleep = func(context.Context, time.Duration) error { return nil }
			e := newEnvWith(t, b, func(_ context.Context, id int64) (discovery.Source, error) {
				src := g.Source()
				src.ID = id
				return src, nil
			}, func(d *actions.Deps) { d.Providers = actions.Providers(h) })
			ctx := context.Background()
			r := revokeAll()
			r.App, r.DiscoveredAppID = "", e.app
			a := e.preview(t, r)
			if len(a.Steps) != 3 || g.Count("DELETE", "/") != 0 {
				t.Fatalf("preview: %d steps, %d deletions", len(a.Steps), g.Count("DELETE", "/"))
			}

			stopped := make(chan struct{})
			var once sync.Once
			actions.SetAfterStep(e.svc, func(_ int64, n int) error {
				if n == 1 {
					once.Do(func() { close(stopped) })
					return errors.New("process killed")
				}
				return nil
			})
			g.RateLimitNext(1, 1) // the first revocation waits out a 429 first
			if _, err := e.svc.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			select {
			case <-stopped:
			case <-time.After(20 * time.Second):
				t.Fatal("the job never ran")
			}
			e.stop(t)
			g.RevokeMeanwhile("p3@example.com", clientID) // its step will meet a 404: done
			g.FailNext(1)                                 // and the next request a 503, retried

			e.start(t)
			done := e.wait(t, a.ID)
			if done.State != actions.StateDone || done.Counts.Done != 3 {
				t.Fatalf("after the restart: %s %+v %+v", done.State, done.Counts, done.Steps)
			}
			for _, p := range people {
				if g.HasToken(p, clientID) {
					t.Errorf("%s still holds a token", p)
				}
			}
			if !g.HasToken("p1@example.com", "other.apps.googleusercontent.com") {
				t.Error("another app's token was revoked")
			}
			// One DELETE per person, plus the 429 and the 503 that were answered before the
			// request went through: nothing was revoked twice.
			if n := g.Count("DELETE", "/"); n != 3+2 {
				t.Errorf("%d DELETE requests, want 3 and the two refused: %v", n, g.Requests())
			}
			for _, p := range people {
				if n := e.emailsTo(t, p); n != 1 {
					t.Errorf("%s got %d e-mails", p, n)
				}
			}
		})
	}
}

// TestSourceGoneFailsAndRetries: a source deleted (or made read-only) after approval fails the
// action at once, with the reason; once it is back, a retry carries out every step.
func TestSourceGoneFailsAndRetries(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var mu sync.Mutex
			gone := false
			e := newEnv(t, b, func(_ context.Context, id int64) (discovery.Source, error) {
				mu.Lock()
				defer mu.Unlock()
				if gone {
					return discovery.Source{}, discovery.ErrUnknownSource
				}
				return discovery.Source{ID: id, Kind: discovery.FormatGoogle, Name: "Workspace", Secret: "x"}, nil
			})
			ctx := context.Background()
			a := e.preview(t, revokeAll())
			mu.Lock()
			gone = true
			mu.Unlock()
			if _, err := e.svc.Approve(ctx, bob, a.ID); err != nil {
				t.Fatal(err)
			}
			failed := e.wait(t, a.ID)
			if failed.State != actions.StateFailed || failed.Counts.Pending != 3 || !strings.Contains(failed.LastError, "no such discovery source") {
				t.Fatalf("with the source gone: %s %+v %q", failed.State, failed.Counts, failed.LastError)
			}
			mu.Lock()
			gone = false
			mu.Unlock()
			if _, err := e.svc.Retry(ctx, ann, a.ID); err != nil {
				t.Fatal(err)
			}
			if done := e.wait(t, a.ID); done.State != actions.StateDone || done.Counts.Done != 3 || done.LastError != "" {
				t.Fatalf("after the retry: %s %+v %q", done.State, done.Counts, done.LastError)
			}
		})
	}
}
