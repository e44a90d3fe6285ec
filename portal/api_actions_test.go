package portal

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/audit"
)

// tokenOf creates a token with scopes owned by the person signed in with session.
func (e *testEnv) tokenOf(t *testing.T, session string, scopes ...auth.Scope) string {
	t.Helper()
	_, u, err := e.auth.Authenticate(context.Background(), session)
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := e.auth.CreateToken(context.Background(), audit.Actor{UserID: &u.ID, Name: u.Email}, auth.NewToken{Name: "t-" + u.Email + "-" + strings.Join(scopeNames(scopes), "-"), Scopes: scopeNames(scopes), ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestAPIActions: a token acting for a security member previews; the same person cannot
// approve; a token acting for another member can; the action is read back with each step's
// status. Read-only sources, bad input and missing scopes are refused with nothing stored.
func TestAPIActions(t *testing.T) {
	env := newEnv(t, envOptions{catalog: true})
	ctx := context.Background()
	g := providertest.NewGoogle(t)
	for _, p := range []string{"p1@example.com", "p2@example.com", "p3@example.com"} {
		g.AddToken(p, miroClient, "Miro", "email")
	}
	src, err := env.srv.discovery.CreateSource(ctx, audit.System, discovery.Source{Kind: discovery.FormatGoogle, Name: "Workspace", BaseURL: g.URL, Secret: g.Token, Actions: true})
	if err != nil {
		t.Fatal(err)
	}
	readOnly, err := env.srv.discovery.CreateSource(ctx, audit.System, discovery.Source{Kind: discovery.FormatGoogle, Name: "Read only", BaseURL: g.URL, Secret: g.Token})
	if err != nil {
		t.Fatal(err)
	}
	secSession, adminSession := env.sessionFor(auth.RoleSecurity), env.sessionFor(auth.RoleAdmin)
	starter := caller{env: env, token: env.tokenOf(t, secSession, auth.ScopeActionsWrite, auth.ScopeDiscoveryRead)}
	approver := caller{env: env, token: env.tokenOf(t, adminSession, auth.ScopeActionsWrite)}
	reader := caller{env: env, token: env.tokenOf(t, adminSession, auth.ScopeDiscoveryRead)}
	empSession := env.sessionFor(auth.RoleEmployee)

	body := map[string]any{"kind": "google.revoke_tokens", "source": src.ID, "app": miroClient, "people": "list",
		"emails": []string{"p1@example.com", "p2@example.com"}, "reason": "Not approved for company data."}

	// Refusals first: nothing is stored by any of them.
	if e := (caller{env: env, token: env.tokenOf(t, empSession, auth.ScopeActionsWrite)}).send(t, "POST", "/api/v1/actions", body).apiError(http.StatusForbidden); !strings.Contains(e.Message, "security") {
		t.Errorf("an employee's token: %+v", e)
	}
	reader.send(t, "POST", "/api/v1/actions", body).apiError(http.StatusForbidden)
	bad := map[string]any{"kind": "google.revoke_tokens", "source": readOnly.ID, "app": miroClient, "reason": "x"}
	if e := starter.send(t, "POST", "/api/v1/actions", bad).apiError(http.StatusBadRequest); e.Fields["source"] == "" || !strings.Contains(e.Message, "read-only") {
		t.Errorf("a read-only source: %+v", e)
	}
	if e := starter.send(t, "POST", "/api/v1/actions", map[string]any{"kind": "google.revoke_tokens", "source": src.ID}).apiError(http.StatusBadRequest); e.Fields["reason"] == "" || e.Fields["app"] == "" {
		t.Errorf("missing fields: %+v", e)
	}
	var n int
	if err := env.db.Get(&n, "SELECT COUNT(*) FROM actions"); err != nil || n != 0 {
		t.Fatalf("refused previews stored %d actions (%v)", n, err)
	}

	r := starter.send(t, "POST", "/api/v1/actions", body)
	if r.status != http.StatusCreated {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	var a actions.Action
	r.decode(&a)
	if a.State != actions.StatePreviewed || len(a.Steps) != 2 || a.StartedBy != "security@example.com" || r.header.Get("Location") == "" {
		t.Fatalf("preview: %+v", a)
	}
	path := r.header.Get("Location")

	if e := starter.send(t, "POST", path+"/approve", nil).apiError(http.StatusForbidden); !strings.Contains(e.Message, "someone else") {
		t.Errorf("self-approval: %+v", e)
	}
	r = approver.send(t, "POST", path+"/approve", nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		reader.get(t, path).decode(&a)
		if a.State == actions.StateDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s: %+v", a.State, a.Steps)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a.ApprovedBy != "admin@example.com" || a.Counts.Done != 2 || a.Steps[0].Status != actions.StepDone || a.Steps[0].DoneAt == nil {
		t.Errorf("done: %+v", a)
	}
	if g.HasToken("p1@example.com", miroClient) || !g.HasToken("p3@example.com", miroClient) {
		t.Error("the tokens revoked are not those chosen")
	}
	if e := approver.send(t, "POST", path+"/undo", nil).apiError(http.StatusConflict); !strings.Contains(e.Message, "cannot be restored") {
		t.Errorf("undo of Google tokens: %+v", e)
	}
	reader.get(t, "/api/v1/actions/999").apiError(http.StatusNotFound)
	var list struct {
		Actions []actions.Action `json:"actions"`
	}
	reader.get(t, "/api/v1/actions").decode(&list)
	if len(list.Actions) != 1 || list.Actions[0].Counts.Done != 2 {
		t.Errorf("list: %+v", list)
	}
}
