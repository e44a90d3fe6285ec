package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pavedhq/paved/discovery"
)

// Okta acts on an app instance of an Okta org through the Apps API, with the source's API token
// (SSWS). The app is named by its app instance id (0oa…).
//
//   - OktaRemoveAssignments deletes the app's direct user assignments
//     (DELETE /api/v1/apps/{appId}/users/{userId}) and, when the action is for everyone, its
//     group assignments (DELETE /api/v1/apps/{appId}/groups/{groupId}). Undo re-assigns each
//     user with its recorded scope, user name and app profile (POST /api/v1/apps/{appId}/users)
//     and each group with its priority and profile (PUT /api/v1/apps/{appId}/groups/{groupId}).
//     A person who has the app only through a group keeps it when the action names people:
//     removing the group would reach everyone in it.
//   - OktaDeactivateApp deactivates the app (POST /api/v1/apps/{appId}/lifecycle/deactivate);
//     undo activates it again (…/lifecycle/activate).
//
// The token's admin needs to manage apps (an API token of an app admin, or the OAuth scopes
// okta.apps.read, okta.apps.manage and okta.users.read).
type Okta struct {
	HTTP *discovery.ProviderHTTP
	// PageSize is the limit of the listings (default 200, at most 500).
	PageSize int
}

type oktaApp struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	Status string `json:"status"`
}

type oktaProfile struct {
	Login string `json:"login"`
	Email string `json:"email"`
}

type oktaAppUser struct {
	ID          string          `json:"id"`
	Scope       string          `json:"scope"`
	Status      string          `json:"status"`
	Credentials json.RawMessage `json:"credentials,omitempty"`
	Profile     json.RawMessage `json:"profile,omitempty"`
	Embedded    struct {
		User struct {
			Profile oktaProfile `json:"profile"`
		} `json:"user"`
	} `json:"_embedded"`
}

// email names an app user: the Okta user's e-mail (with expand=user), else its login, else the
// app user name.
func (u oktaAppUser) email() string {
	p := u.Embedded.User.Profile
	if v := orDefault(p.Email, p.Login); v != "" {
		return strings.ToLower(v)
	}
	var c struct {
		UserName string `json:"userName"`
	}
	_ = json.Unmarshal(u.Credentials, &c)
	return strings.ToLower(c.UserName)
}

// oktaUserUndo is the assignment request that restores a user assignment.
type oktaUserUndo struct {
	ID          string          `json:"id"`
	Scope       string          `json:"scope"`
	Credentials json.RawMessage `json:"credentials,omitempty"`
	Profile     json.RawMessage `json:"profile,omitempty"`
}

type oktaGroupAssignment struct {
	ID       string          `json:"id"`
	Priority *int            `json:"priority,omitempty"`
	Profile  json.RawMessage `json:"profile,omitempty"`
	Embedded struct {
		Group struct {
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
		} `json:"group"`
	} `json:"_embedded"`
}

// oktaGroupUndo is the body that restores a group assignment.
type oktaGroupUndo struct {
	Priority *int            `json:"priority,omitempty"`
	Profile  json.RawMessage `json:"profile,omitempty"`
}

// oktaStepData is what Do needs beyond the object id.
type oktaStepData struct {
	App string `json:"app"`
}

func (o *Okta) client(ctx context.Context, src discovery.Source) (*discovery.ProviderClient, error) {
	return clientOf(ctx, o.HTTP, src)
}

func (o *Okta) check(ctx context.Context, c *discovery.ProviderClient) error {
	_, err := c.Request(ctx, http.MethodGet, "/api/v1/apps?limit=1", nil, nil)
	return err
}

func (o *Okta) limit() string {
	n := o.PageSize
	if n <= 0 || n > 500 {
		n = 200
	}
	return strconv.Itoa(n)
}

// listOkta pages through an Okta collection, following Link rel="next".
func listOkta[T any](ctx context.Context, c *discovery.ProviderClient, path string) ([]T, error) {
	var out []T
	for path != "" {
		var pg []T
		hdr, err := c.Request(ctx, http.MethodGet, path, nil, &pg)
		if err != nil {
			return nil, err
		}
		out = append(out, pg...)
		next := discovery.NextLink(hdr)
		if len(pg) == 0 || next == path {
			break
		}
		path = next
	}
	return out, nil
}

func oktaAppPath(app string) string { return "/api/v1/apps/" + url.PathEscape(app) }

// Preview implements Provider.
func (o *Okta) Preview(ctx context.Context, src discovery.Source, k Kind, t Target) ([]Step, error) {
	c, err := begin(ctx, o.HTTP, src, k, t)
	if err != nil {
		return nil, err
	}
	steps, err := o.preview(ctx, c, k, t)
	if err != nil {
		return nil, sourceError(src, err)
	}
	return steps, nil
}

func (o *Okta) preview(ctx context.Context, c *discovery.ProviderClient, k Kind, t Target) ([]Step, error) {
	appID := strings.TrimSpace(t.App)
	var app oktaApp
	_, err := c.Request(ctx, http.MethodGet, oktaAppPath(appID), nil, &app)
	if discovery.IsNotFound(err) {
		return nil, &notFoundError{msg: fmt.Sprintf("The Okta org has no app instance %s.", appID)}
	}
	if err != nil {
		return nil, err
	}
	name := orDefault(app.Label, app.ID)
	data := mustJSON(oktaStepData{App: app.ID})
	if k == OktaDeactivateApp {
		if app.Status != "ACTIVE" {
			return nil, nil // already inactive: nothing to change, nothing an undo should turn on
		}
		return []Step{{Object: "app", ObjectID: app.ID, Data: data, Undo: mustJSON(map[string]string{"status": "ACTIVE"}),
			Description: fmt.Sprintf("Deactivate %s for everyone in the org (it can be activated again; group-assigned users are reconciled by Okta).", name)}}, nil
	}

	var users []oktaAppUser
	ps := people(t)
	if len(ps) == 0 {
		users, err = listOkta[oktaAppUser](ctx, c, oktaAppPath(appID)+"/users?limit="+o.limit()+"&expand=user")
		if err != nil {
			return nil, err
		}
	} else {
		for _, m := range ps {
			u, err := o.appUser(ctx, c, appID, m)
			if err != nil {
				return nil, err
			}
			if u != nil {
				users = append(users, *u)
			}
		}
	}
	var steps []Step
	for _, u := range users {
		if u.Scope != "USER" {
			continue // assigned through a group: only removing the group removes it
		}
		who := u.email()
		steps = append(steps, Step{Person: who, Object: "user assignment", ObjectID: u.ID, Data: data,
			Description: fmt.Sprintf("Remove %s's assignment to %s.", orDefault(who, "user "+u.ID), name),
			Undo:        mustJSON(oktaUserUndo{ID: u.ID, Scope: u.Scope, Credentials: userNameOnly(u.Credentials), Profile: u.Profile})})
	}
	if len(ps) > 0 {
		return steps, nil
	}
	groups, err := listOkta[oktaGroupAssignment](ctx, c, oktaAppPath(appID)+"/groups?limit="+o.limit()+"&expand=group")
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		steps = append(steps, Step{Object: "group assignment", ObjectID: g.ID, Data: data,
			Description: fmt.Sprintf("Remove the assignment of group %s to %s (its members lose the app unless assigned otherwise).",
				orDefault(g.Embedded.Group.Profile.Name, g.ID), name),
			Undo: mustJSON(oktaGroupUndo{Priority: g.Priority, Profile: g.Profile})})
	}
	return steps, nil
}

// userNameOnly keeps the user name of app-user credentials: a password is never recorded.
func userNameOnly(raw json.RawMessage) json.RawMessage {
	var c struct {
		UserName string `json:"userName,omitempty"`
	}
	if json.Unmarshal(raw, &c) != nil || c.UserName == "" {
		return nil
	}
	return mustJSON(c)
}

// appUser finds the app user of the person with e-mail m: the Okta user by login, else by
// profile.email, then its assignment to the app. Nil when either is missing.
func (o *Okta) appUser(ctx context.Context, c *discovery.ProviderClient, appID, m string) (*oktaAppUser, error) {
	var user struct {
		ID string `json:"id"`
	}
	_, err := c.Request(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(m), nil, &user)
	if discovery.IsNotFound(err) {
		var found []struct {
			ID string `json:"id"`
		}
		q := url.Values{"search": {`profile.email eq "` + strings.ReplaceAll(m, `"`, ``) + `"`}, "limit": {"2"}}
		if _, err := c.Request(ctx, http.MethodGet, "/api/v1/users?"+q.Encode(), nil, &found); err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, nil
		}
		user.ID, err = found[0].ID, nil
	}
	if err != nil {
		return nil, err
	}
	var u oktaAppUser
	_, err = c.Request(ctx, http.MethodGet, oktaAppPath(appID)+"/users/"+url.PathEscape(user.ID), nil, &u)
	if discovery.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.Embedded.User.Profile.Email = m // the person as security named them
	return &u, nil
}

// Do implements Provider. An assignment already gone, or an app already inactive, counts as
// done.
func (o *Okta) Do(ctx context.Context, src discovery.Source, k Kind, s Step) error {
	c, err := beginStep(ctx, o.HTTP, src, k)
	if err != nil {
		return err
	}
	var d oktaStepData
	if err := readData(s.Data, "data", s, &d); err != nil {
		return err
	}
	app := oktaAppPath(d.App)
	switch {
	case k == OktaDeactivateApp:
		return o.lifecycle(ctx, c, d.App, "INACTIVE", "deactivate")
	case s.Object == "group assignment":
		_, err = c.Request(ctx, http.MethodDelete, app+"/groups/"+url.PathEscape(s.ObjectID), nil, nil)
	default:
		_, err = c.Request(ctx, http.MethodDelete, app+"/users/"+url.PathEscape(s.ObjectID)+"?sendEmail=false", nil, nil)
	}
	return goneIsDone(err)
}

// lifecycle moves the app to status with op (activate, deactivate) unless it is there already.
func (o *Okta) lifecycle(ctx context.Context, c *discovery.ProviderClient, appID, status, op string) error {
	var app oktaApp
	if _, err := c.Request(ctx, http.MethodGet, oktaAppPath(appID), nil, &app); err != nil {
		return err
	}
	if app.Status == status {
		return nil
	}
	_, err := c.Request(ctx, http.MethodPost, oktaAppPath(appID)+"/lifecycle/"+op, nil, nil)
	return err
}

// Undo implements Provider: re-assigns a user or group unless the assignment is back already,
// or activates the app.
func (o *Okta) Undo(ctx context.Context, src discovery.Source, k Kind, s Step) error {
	c, err := beginStep(ctx, o.HTTP, src, k)
	if err != nil {
		return err
	}
	var d oktaStepData
	if err := readData(s.Data, "data", s, &d); err != nil {
		return err
	}
	app := oktaAppPath(d.App)
	switch {
	case k == OktaDeactivateApp:
		if len(s.Undo) == 0 {
			return ErrCannotUndo
		}
		return o.lifecycle(ctx, c, d.App, "ACTIVE", "activate")
	case s.Object == "group assignment":
		var g oktaGroupUndo
		if err := readData(s.Undo, "undo record", s, &g); err != nil {
			return err
		}
		// PUT sets the assignment, so doing it twice leaves one.
		_, err = c.Request(ctx, http.MethodPut, app+"/groups/"+url.PathEscape(s.ObjectID), g, nil)
		return err
	default:
		var u oktaUserUndo
		if err := readData(s.Undo, "undo record", s, &u); err != nil {
			return err
		}
		exists := func() (bool, error) {
			var have oktaAppUser
			_, err := c.Request(ctx, http.MethodGet, app+"/users/"+url.PathEscape(u.ID), nil, &have)
			if discovery.IsNotFound(err) {
				return false, nil
			}
			return err == nil && have.Scope == "USER", err
		}
		return createOnce(ctx, exists, func() error {
			_, err := c.Request(ctx, http.MethodPost, app+"/users", u, nil)
			return err
		})
	}
}
