package actions_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/errs"
)

const (
	notionApp = "4f1d6a2e-7d3b-4c55-9a47-2b9e1c0d5e61"
	roleUser  = "18d14569-c3bd-439b-9a66-3a2aee01d14f"
)

type tenant struct {
	*providertest.Graph
	sp, ada, bob, cyd, sales string
}

func entraTenant(t *testing.T) tenant {
	g := providertest.NewGraph(t)
	tn := tenant{Graph: g}
	tn.ada = g.AddUser("ada@corp.example", "ada@corp.example")
	tn.bob = g.AddUser("bob.smith@corp.onmicrosoft.com", "bob@corp.example") // found by mail
	tn.cyd = g.AddUser("cyd@corp.example", "")
	tn.sales = g.AddGroup("Sales")
	tn.sp = g.AddApp(notionApp, "Notion")
	g.AddApp("ffffffff-0000-0000-0000-000000000000", "Other")
	g.AddGrant(tn.sp, tn.ada, "User.Read Files.Read")
	g.AddGrant(tn.sp, tn.bob, "User.Read")
	g.AddGrant(tn.sp, tn.cyd, "User.Read Mail.Read")
	g.AddGrant(tn.sp, "", "User.Read") // admin consent for everyone
	g.AddAssignment(tn.sp, tn.ada, roleUser)
	g.AddAssignment(tn.sp, tn.bob, roleUser)
	g.AddAssignment(tn.sp, tn.sales, roleUser)
	return tn
}

func TestEntraRemoveGrantsEveryoneThenUndo(t *testing.T) {
	tn := entraTenant(t)
	tn.SetPageSize(2)
	p := &actions.Entra{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	src := tn.Source()
	steps, err := p.Preview(ctx, src, actions.EntraRemoveGrants, actions.Target{App: notionApp})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(persons(steps), ","); got != "ada@corp.example,bob@corp.example,cyd@corp.example," {
		t.Fatalf("people = %q", got)
	}
	if !strings.Contains(steps[3].Description, "everyone") {
		t.Fatalf("admin consent step: %q", steps[3].Description)
	}
	if n := tn.Count("GET", "/v1.0/oauth2PermissionGrants"); n != 2 {
		t.Fatalf("grant pages = %d, want 2", n)
	}
	if len(tn.Grants(tn.sp)) != 4 {
		t.Fatal("preview changed something")
	}
	before := tn.Grants(tn.sp)
	for _, s := range steps {
		if err := p.Do(ctx, src, actions.EntraRemoveGrants, s); err != nil {
			t.Fatalf("Do %s: %v", s.Person, err)
		}
	}
	if n := len(tn.Grants(tn.sp)); n != 0 {
		t.Fatalf("%d grants left", n)
	}
	for _, s := range steps {
		if err := p.Undo(ctx, src, actions.EntraRemoveGrants, s); err != nil {
			t.Fatalf("Undo %s: %v", s.Person, err)
		}
		// An undo repeated (a crash after it) adds nothing.
		if err := p.Undo(ctx, src, actions.EntraRemoveGrants, s); err != nil {
			t.Fatalf("second Undo %s: %v", s.Person, err)
		}
	}
	after := tn.Grants(tn.sp)
	if len(after) != len(before) {
		t.Fatalf("after undo %d grants, want %d", len(after), len(before))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.ConsentType != b.ConsentType || ptrStr(a.PrincipalID) != ptrStr(b.PrincipalID) || a.Scope != b.Scope || a.ResourceID != b.ResourceID {
			t.Fatalf("grant %d came back as %+v, was %+v", i, a, b)
		}
	}
}

func ptrStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestEntraLimitedToPeopleKeepsAdminConsentAndGroups(t *testing.T) {
	tn := entraTenant(t)
	p := &actions.Entra{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	target := actions.Target{App: notionApp, People: []string{"bob@corp.example", "nobody@corp.example"}}
	steps, err := p.Preview(ctx, tn.Source(), actions.EntraRemoveGrants, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].Person != "bob@corp.example" {
		t.Fatalf("grant steps = %+v", steps)
	}
	steps, err = p.Preview(ctx, tn.Source(), actions.EntraRemoveAssignments, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].Person != "bob@corp.example" || steps[0].Object != "appRoleAssignment" {
		t.Fatalf("assignment steps = %+v", steps)
	}
	if err := p.Do(ctx, tn.Source(), actions.EntraRemoveAssignments, steps[0]); err != nil {
		t.Fatal(err)
	}
	left := tn.Assignments(tn.sp)
	if len(left) != 2 {
		t.Fatalf("assignments left = %+v", left)
	}
	for _, a := range left {
		if a.PrincipalID == tn.bob {
			t.Fatal("bob's assignment is still there")
		}
	}
	if _, err := p.Preview(ctx, tn.Source(), actions.EntraDisableSignIn, target); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("disabling sign-in for some people = %v", err)
	}
}

func TestEntraAssignmentsEveryoneUndoAndDeletedMeanwhile(t *testing.T) {
	tn := entraTenant(t)
	p := &actions.Entra{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, tn.Source(), actions.EntraRemoveAssignments, actions.Target{App: notionApp})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[2].Person != "" || !strings.Contains(steps[2].Description, "Sales") {
		t.Fatalf("steps = %+v", steps)
	}
	tn.DeleteMeanwhile(steps[0].ObjectID)
	for _, s := range steps {
		if err := p.Do(ctx, tn.Source(), actions.EntraRemoveAssignments, s); err != nil {
			t.Fatalf("Do %s: %v", s.Description, err)
		}
	}
	if n := len(tn.Assignments(tn.sp)); n != 0 {
		t.Fatalf("%d assignments left", n)
	}
	for _, s := range steps {
		if err := p.Undo(ctx, tn.Source(), actions.EntraRemoveAssignments, s); err != nil {
			t.Fatalf("Undo: %v", err)
		}
	}
	got := map[string]bool{}
	for _, a := range tn.Assignments(tn.sp) {
		got[a.PrincipalID+"/"+a.AppRoleID] = true
	}
	if len(got) != 3 || !got[tn.ada+"/"+roleUser] || !got[tn.sales+"/"+roleUser] {
		t.Fatalf("after undo: %v", got)
	}
}

func TestEntraDisableSignInRetriesAndUndo(t *testing.T) {
	tn := entraTenant(t)
	w := &waits{}
	p := &actions.Entra{HTTP: newHTTP(w)}
	ctx := context.Background()
	steps, err := p.Preview(ctx, tn.Source(), actions.EntraDisableSignIn, actions.Target{App: notionApp})
	if err != nil || len(steps) != 1 || steps[0].Undo == nil {
		t.Fatalf("preview: %+v, %v", steps, err)
	}
	tn.RateLimitNext(2, 3)
	if err := p.Do(ctx, tn.Source(), actions.EntraDisableSignIn, steps[0]); err != nil {
		t.Fatal(err)
	}
	if tn.SignInEnabled(tn.sp) {
		t.Fatal("still enabled")
	}
	if got := w.all(); len(got) != 2 || got[0] != 3*time.Second {
		t.Fatalf("waits = %v", got)
	}
	// Already off: a new preview has nothing to do, so no undo can turn on what was off before.
	again, err := p.Preview(ctx, tn.Source(), actions.EntraDisableSignIn, actions.Target{App: notionApp})
	if err != nil || len(again) != 0 {
		t.Fatalf("second preview: %+v, %v", again, err)
	}
	tn.FailNext(1)
	if err := p.Undo(ctx, tn.Source(), actions.EntraDisableSignIn, steps[0]); err != nil {
		t.Fatal(err)
	}
	if !tn.SignInEnabled(tn.sp) {
		t.Fatal("undo did not re-enable sign-in")
	}
	if n := tn.Count("PATCH", "/v1.0/servicePrincipals/"); n != 5 {
		t.Fatalf("PATCH requests = %d, want 5 (429, 429, ok; 503, ok)", n)
	}
}

func TestEntraCredentialsAndUnknownApp(t *testing.T) {
	tn := entraTenant(t)
	h := newHTTP(&waits{})
	h.EntraTokenURL = tn.TokenURL()
	providers := actions.Providers(h)
	ctx := context.Background()
	target := actions.Target{App: notionApp}

	if err := actions.Check(ctx, providers, tn.CredentialsSource(tn.ClientSecret), actions.EntraRemoveGrants, target); err != nil {
		t.Fatalf("Check with good client credentials: %v", err)
	}
	steps, err := providers["entra"].Preview(ctx, tn.CredentialsSource(tn.ClientSecret), actions.EntraRemoveGrants, target)
	if err != nil || len(steps) != 4 {
		t.Fatalf("preview with client credentials: %d steps, %v", len(steps), err)
	}
	err = actions.Check(ctx, providers, tn.CredentialsSource("wrong"), actions.EntraRemoveGrants, target)
	if !errors.Is(err, actions.ErrCredentials) || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("Check with a wrong secret = %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error quotes the secret: %v", err)
	}
	if _, err := providers["entra"].Preview(ctx, tn.CredentialsSource("wrong"), actions.EntraRemoveGrants, target); !errors.Is(err, actions.ErrCredentials) {
		t.Fatalf("Preview with a wrong secret = %v", err)
	}
	bad := tn.Source()
	bad.Secret = "expired-token"
	if _, err := providers["entra"].Preview(ctx, bad, actions.EntraRemoveGrants, target); !errors.Is(err, actions.ErrCredentials) {
		t.Fatalf("Preview with a refused bearer token = %v", err)
	}
	if _, err := providers["entra"].Preview(ctx, tn.Source(), actions.EntraRemoveGrants, actions.Target{App: "00000000-1111-2222-3333-444444444444"}); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("Preview of an unknown app = %v", err)
	}
	if tn.Count("DELETE", "/") != 0 {
		t.Fatal("something was deleted")
	}
}

// A change whose reply is lost is retried: a re-created grant is then a conflict, which the undo
// recognises as done; a delete retried finds nothing, which is done too.
func TestEntraLostRepliesAreDone(t *testing.T) {
	tn := entraTenant(t)
	p := &actions.Entra{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, tn.Source(), actions.EntraRemoveGrants, actions.Target{App: notionApp, People: []string{"ada@corp.example"}})
	if err != nil || len(steps) != 1 {
		t.Fatalf("preview: %+v, %v", steps, err)
	}
	tn.LoseNextReply(1)
	if err := p.Do(ctx, tn.Source(), actions.EntraRemoveGrants, steps[0]); err != nil {
		t.Fatalf("Do with a lost reply: %v", err)
	}
	if n := tn.Count("DELETE", "/v1.0/oauth2PermissionGrants/"); n != 2 {
		t.Fatalf("DELETE requests = %d, want 2", n)
	}
	tn.LoseNextReply(1)
	if err := p.Undo(ctx, tn.Source(), actions.EntraRemoveGrants, steps[0]); err != nil {
		t.Fatalf("Undo with a lost reply: %v", err)
	}
	n := 0
	for _, g := range tn.Grants(tn.sp) {
		if ptrStr(g.PrincipalID) == tn.ada {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("ada has %d grants after undo, want 1", n)
	}
}
