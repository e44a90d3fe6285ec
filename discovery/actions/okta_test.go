package actions_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/errs"
)

type org struct {
	*providertest.Okta
	app, ada, bob, cyd, dan, sales string
}

func oktaOrg(t *testing.T) org {
	o := providertest.NewOkta(t)
	g := org{Okta: o}
	g.ada = o.AddUser("ada@corp.example")
	g.bob = o.AddUser("bob@corp.example")
	g.cyd = o.AddUser("cyd@corp.example")
	g.dan = o.AddUser("dan@corp.example")
	g.sales = o.AddGroup("Sales", g.cyd, g.dan)
	g.app = o.AddApp("Dropbox")
	o.AssignUser(g.app, g.ada)
	o.AssignUser(g.app, g.bob)
	o.AssignUser(g.app, g.dan) // also in Sales
	o.AssignGroup(g.app, g.sales, 2)
	return g
}

func TestOktaRemoveAssignmentsEveryoneThenUndo(t *testing.T) {
	o := oktaOrg(t)
	o.SetPageSize(2)
	p := &actions.Okta{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, o.Source(), actions.OktaRemoveAssignments, actions.Target{App: o.app})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(persons(steps), ","); got != "ada@corp.example,bob@corp.example,dan@corp.example," {
		t.Fatalf("people = %q (cyd has the app only through Sales)", got)
	}
	if last := steps[3]; last.Object != "group assignment" || last.ObjectID != o.sales || !strings.Contains(last.Description, "Sales") {
		t.Fatalf("group step = %+v", last)
	}
	if n := o.Count("GET", "/api/v1/apps/"+o.app+"/users?"); n != 2 {
		t.Fatalf("user pages = %d, want 2 (4 app users, 2 a page)", n)
	}
	if len(o.DirectUsers(o.app)) != 3 {
		t.Fatal("preview changed something")
	}
	for _, s := range steps {
		if err := p.Do(ctx, o.Source(), actions.OktaRemoveAssignments, s); err != nil {
			t.Fatalf("Do %s: %v", s.Description, err)
		}
	}
	if len(o.DirectUsers(o.app)) != 0 || len(o.GroupAssignments(o.app)) != 0 {
		t.Fatalf("left: users %v, groups %v", o.DirectUsers(o.app), o.GroupAssignments(o.app))
	}
	for _, s := range steps {
		for range 2 { // a repeated undo changes nothing
			if err := p.Undo(ctx, o.Source(), actions.OktaRemoveAssignments, s); err != nil {
				t.Fatalf("Undo %s: %v", s.Description, err)
			}
		}
	}
	if got := o.DirectUsers(o.app); !slices.Equal(got, []string{o.ada, o.bob, o.dan}) {
		t.Fatalf("users after undo = %v", got)
	}
	au, _ := o.AppUser(o.app, o.ada)
	if au.UserName != "ada@corp.example" || au.Profile["role"] != "member" {
		t.Fatalf("ada came back as %+v", au)
	}
	if ga := o.GroupAssignments(o.app)[o.sales]; ga.Priority != 2 || ga.Profile["role"] != "viewer" {
		t.Fatalf("Sales came back as %+v", ga)
	}
	for _, s := range steps {
		if strings.Contains(string(s.Undo), "password") {
			t.Fatalf("undo record keeps a password: %s", s.Undo)
		}
	}
}

func TestOktaLimitedToPeople(t *testing.T) {
	o := oktaOrg(t)
	p := &actions.Okta{HTTP: newHTTP(&waits{})}
	ctx := context.Background()
	steps, err := p.Preview(ctx, o.Source(), actions.OktaRemoveAssignments,
		actions.Target{App: o.app, People: []string{"bob@corp.example", "cyd@corp.example", "nobody@corp.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].Person != "bob@corp.example" || steps[0].ObjectID != o.bob {
		t.Fatalf("steps = %+v (cyd only through a group, nobody unknown)", steps)
	}
	o.UnassignMeanwhile(o.app, o.bob)
	if err := p.Do(ctx, o.Source(), actions.OktaRemoveAssignments, steps[0]); err != nil {
		t.Fatalf("Do of an assignment removed meanwhile: %v", err)
	}
	if len(o.GroupAssignments(o.app)) != 1 || len(o.DirectUsers(o.app)) != 2 {
		t.Fatal("removed more than bob")
	}
	if _, err := p.Preview(ctx, o.Source(), actions.OktaDeactivateApp, actions.Target{App: o.app, People: []string{"bob@corp.example"}}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("deactivating for some people = %v", err)
	}
}

func TestOktaDeactivateRateLimitedAndUndo(t *testing.T) {
	o := oktaOrg(t)
	w := &waits{}
	p := &actions.Okta{HTTP: newHTTP(w)}
	ctx := context.Background()
	steps, err := p.Preview(ctx, o.Source(), actions.OktaDeactivateApp, actions.Target{App: o.app})
	if err != nil || len(steps) != 1 {
		t.Fatalf("preview: %+v, %v", steps, err)
	}
	o.RateLimitNext(1, 2)
	if err := p.Do(ctx, o.Source(), actions.OktaDeactivateApp, steps[0]); err != nil {
		t.Fatal(err)
	}
	if o.Status(o.app) != "INACTIVE" {
		t.Fatal("app still active")
	}
	if got := w.all(); len(got) != 1 || got[0] < time.Second || got[0] > 4*time.Second {
		t.Fatalf("waits = %v, want about 3s from X-Rate-Limit-Reset", got)
	}
	// Done again (a crash before the result was recorded): the app is inactive, nothing is sent.
	posts := o.Count("POST", "/api/v1/apps/")
	if err := p.Do(ctx, o.Source(), actions.OktaDeactivateApp, steps[0]); err != nil || o.Count("POST", "/api/v1/apps/") != posts {
		t.Fatalf("second Do: %v, posts %d -> %d", err, posts, o.Count("POST", "/api/v1/apps/"))
	}
	again, err := p.Preview(ctx, o.Source(), actions.OktaDeactivateApp, actions.Target{App: o.app})
	if err != nil || len(again) != 0 {
		t.Fatalf("preview of an inactive app: %+v, %v", again, err)
	}
	o.FailNext(2)
	if err := p.Undo(ctx, o.Source(), actions.OktaDeactivateApp, steps[0]); err != nil {
		t.Fatal(err)
	}
	if o.Status(o.app) != "ACTIVE" {
		t.Fatal("undo did not activate the app")
	}
}

func TestOktaBadTokenAndUnknownApp(t *testing.T) {
	o := oktaOrg(t)
	p := &actions.Okta{HTTP: newHTTP(&waits{})}
	providers := map[string]actions.Provider{"okta": p}
	ctx := context.Background()
	src := o.Source()
	src.Secret = "revoked-token"
	target := actions.Target{App: o.app}
	if err := actions.Check(ctx, providers, src, actions.OktaRemoveAssignments, target); !errors.Is(err, actions.ErrCredentials) {
		t.Fatalf("Check with a bad token = %v", err)
	}
	if _, err := p.Preview(ctx, src, actions.OktaRemoveAssignments, target); !errors.Is(err, actions.ErrCredentials) || !strings.Contains(err.Error(), "E0000011") {
		t.Fatalf("Preview with a bad token = %v", err)
	}
	if err := actions.Check(ctx, providers, o.Source(), actions.OktaRemoveAssignments, target); err != nil {
		t.Fatalf("Check with the right token: %v", err)
	}
	if _, err := p.Preview(ctx, o.Source(), actions.OktaRemoveAssignments, actions.Target{App: "0oanothere"}); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("unknown app = %v", err)
	}
	if o.Count("DELETE", "/") != 0 {
		t.Fatal("something was deleted")
	}
}
