package actions_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/errs"
)

// waits records the waits the HTTP client asked for instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return nil
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func newHTTP(w *waits) *discovery.ProviderHTTP {
	h := &discovery.ProviderHTTP{}
	h.Sleep = w.sleep
	return h
}

const slackClient = "123456-slack.apps.googleusercontent.com"

func googleDomain(t *testing.T) *providertest.Google {
	g := providertest.NewGoogle(t)
	g.AddToken("ada@corp.example", slackClient, "Slack", "https://www.googleapis.com/auth/drive.readonly", "email")
	g.AddToken("bob@corp.example", slackClient, "Slack", "email")
	g.AddToken("bob@corp.example", "other.apps.googleusercontent.com", "Other", "email")
	g.AddToken("cyd@corp.example", slackClient, "Slack", "openid")
	g.AddUser("dan@corp.example") // no tokens
	return g
}

func persons(steps []actions.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Person)
	}
	return out
}

func TestGooglePreviewEveryonePagesUsersAndChangesNothing(t *testing.T) {
	g := googleDomain(t)
	g.SetPageSize(2)
	p := &actions.Google{HTTP: newHTTP(&waits{})}
	steps, err := p.Preview(context.Background(), g.Source(), actions.GoogleRevokeTokens, actions.Target{App: slackClient})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(persons(steps), ","); got != "ada@corp.example,bob@corp.example,cyd@corp.example" {
		t.Fatalf("people = %s", got)
	}
	s := steps[0]
	if s.Object != "token" || s.ObjectID != slackClient || s.Undo != nil {
		t.Fatalf("step = %+v", s)
	}
	if !strings.Contains(s.Description, "drive.readonly") || !strings.Contains(s.Description, "cannot be restored") {
		t.Fatalf("description %q lacks the scopes or the warning", s.Description)
	}
	if n := g.Count("GET", "/admin/directory/v1/users?"); n != 2 {
		t.Fatalf("users.list pages = %d, want 2 (4 users, 2 a page)", n)
	}
	if g.Count("DELETE", "/") != 0 || !g.HasToken("ada@corp.example", slackClient) {
		t.Fatal("preview changed something")
	}
}

func TestGoogleDoRevokesOnlyTheChosenPeople(t *testing.T) {
	g := googleDomain(t)
	p := &actions.Google{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, g.Source(), actions.GoogleRevokeTokens,
		actions.Target{App: slackClient, People: []string{"Bob@corp.example", "dan@corp.example", "stranger@elsewhere.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(persons(steps), ","); got != "bob@corp.example" {
		t.Fatalf("people = %s", got)
	}
	if err := p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0]); err != nil {
		t.Fatal(err)
	}
	if g.HasToken("bob@corp.example", slackClient) {
		t.Fatal("token still there")
	}
	if !g.HasToken("bob@corp.example", "other.apps.googleusercontent.com") || !g.HasToken("ada@corp.example", slackClient) {
		t.Fatal("revoked more than the step")
	}
	// Done twice (a retry after a crash): the token is gone, which counts as done.
	if err := p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0]); err != nil {
		t.Fatalf("second Do: %v", err)
	}
	if err := p.Undo(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0]); !errors.Is(err, actions.ErrCannotUndo) {
		t.Fatalf("Undo = %v, want ErrCannotUndo", err)
	}
}

func TestGoogleRevokedMeanwhileIsDone(t *testing.T) {
	g := googleDomain(t)
	p := &actions.Google{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, g.Source(), actions.GoogleRevokeTokens, actions.Target{App: slackClient})
	if err != nil {
		t.Fatal(err)
	}
	g.RevokeMeanwhile("cyd@corp.example", slackClient)
	for _, s := range steps {
		if err := p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, s); err != nil {
			t.Fatalf("Do %s: %v", s.Person, err)
		}
	}
	for _, who := range []string{"ada", "bob", "cyd"} {
		if g.HasToken(who+"@corp.example", slackClient) {
			t.Fatalf("%s still holds a token", who)
		}
	}
}

func TestGoogleRateLimitAndServerErrorsAreRetried(t *testing.T) {
	g := googleDomain(t)
	w := &waits{}
	p := &actions.Google{HTTP: newHTTP(w)}
	ctx := context.Background()
	steps, err := p.Preview(ctx, g.Source(), actions.GoogleRevokeTokens, actions.Target{App: slackClient, People: []string{"ada@corp.example"}})
	if err != nil || len(steps) != 1 {
		t.Fatalf("preview: %v, %d steps", err, len(steps))
	}
	g.RateLimitNext(1, 7)
	if err := p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0]); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); len(got) != 1 || got[0] != 7*time.Second {
		t.Fatalf("waits = %v, want [7s] from Retry-After", got)
	}
	if g.HasToken("ada@corp.example", slackClient) {
		t.Fatal("token not revoked after the rate limit")
	}

	g.AddToken("ada@corp.example", slackClient, "Slack", "email")
	g.FailNext(2)
	if err := p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0]); err != nil {
		t.Fatal(err)
	}
	if g.HasToken("ada@corp.example", slackClient) {
		t.Fatal("token not revoked after the 5xx")
	}
	if n := g.Count("DELETE", "/admin/directory/v1/users/"); n != 5 {
		t.Fatalf("DELETE requests = %d, want 5 (429 then ok; 503, 503 then ok)", n)
	}

	// Failing for longer than the retries is an error, not a silent success.
	g.AddToken("ada@corp.example", slackClient, "Slack", "email")
	g.FailNext(10)
	err = p.Do(ctx, g.Source(), actions.GoogleRevokeTokens, steps[0])
	var he *discovery.HTTPError
	if !errors.As(err, &he) || he.StatusCode != 503 || he.Method != "DELETE" {
		t.Fatalf("Do after many 5xx = %v", err)
	}
	g.FailNext(0)
}

func TestGoogleBadCredentialsAtPreview(t *testing.T) {
	g := googleDomain(t)
	p := &actions.Google{HTTP: newHTTP(&waits{})}
	providers := map[string]actions.Provider{discovery.FormatGoogle: p}
	ctx := context.Background()
	src := g.Source()
	src.Secret = "not-the-token"
	target := actions.Target{App: slackClient}

	err := actions.Check(ctx, providers, src, actions.GoogleRevokeTokens, target)
	if !errors.Is(err, actions.ErrCredentials) || errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("Check with a wrong token = %v", err)
	}
	if _, err := p.Preview(ctx, src, actions.GoogleRevokeTokens, target); !errors.Is(err, actions.ErrCredentials) {
		t.Fatalf("Preview with a wrong token = %v", err)
	}
	if err := actions.Check(ctx, providers, g.Source(), actions.GoogleRevokeTokens, target); err != nil {
		t.Fatalf("Check with the right token: %v", err)
	}

	src = g.Source()
	src.Actions = false
	if _, err := p.Preview(ctx, src, actions.GoogleRevokeTokens, target); !errors.Is(err, discovery.ErrActionsOff) {
		t.Fatalf("Preview through a read-only source = %v", err)
	}
	if err := p.Do(ctx, src, actions.GoogleRevokeTokens, actions.Step{Object: "token", ObjectID: slackClient, Data: []byte(`{"user_key":"ada@corp.example"}`)}); !errors.Is(err, discovery.ErrActionsOff) {
		t.Fatalf("Do through a read-only source = %v", err)
	}
	if _, err := p.Preview(ctx, g.Source(), actions.EntraRemoveGrants, target); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("an Entra action through a Google source = %v", err)
	}
	src = g.Source()
	src.Secret = ""
	if err := actions.Check(ctx, providers, src, actions.GoogleRevokeTokens, target); !errors.Is(err, actions.ErrCredentials) {
		t.Fatalf("Check without credentials = %v", err)
	}
	if g.Count("DELETE", "/") != 0 {
		t.Fatal("something was deleted")
	}
}
