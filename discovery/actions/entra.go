package actions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pavedhq/paved/discovery"
)

// Entra acts on an app's service principal in a Microsoft Entra tenant through Microsoft Graph
// v1.0. The app is named by its application (client) id; its service principal is found with
// GET /servicePrincipals?$filter=appId eq '…'.
//
//   - EntraRemoveGrants deletes the delegated permission grants of the service principal
//     (GET /oauth2PermissionGrants?$filter=clientId eq '…', DELETE /oauth2PermissionGrants/{id});
//     undo re-creates each from its recorded clientId, consentType, principalId, resourceId and
//     scope (POST /oauth2PermissionGrants). A tenant-wide admin consent (consentType
//     AllPrincipals) is only removed when the action is for everyone.
//   - EntraRemoveAssignments deletes the user and group app-role assignments
//     (GET and DELETE /servicePrincipals/{id}/appRoleAssignedTo/…); undo re-assigns each from
//     its principalId, resourceId and appRoleId. Group assignments are only removed when the
//     action is for everyone.
//   - EntraDisableSignIn sets the service principal's accountEnabled to false
//     (PATCH /servicePrincipals/{id}); undo sets it back to true.
//
// The app registration needs the application permissions DelegatedPermissionGrant.ReadWrite.All,
// AppRoleAssignment.ReadWrite.All, Application.ReadWrite.All and User.Read.All.
type Entra struct {
	HTTP *discovery.ProviderHTTP
	// PageSize is the $top of the listings (default 100, at most 999).
	PageSize int
}

const graph = "/v1.0"

type entraSP struct {
	ID             string `json:"id"`
	AppID          string `json:"appId"`
	DisplayName    string `json:"displayName"`
	AccountEnabled *bool  `json:"accountEnabled"`
}

type entraGrant struct {
	ID          string `json:"id,omitempty"`
	ClientID    string `json:"clientId"`
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId,omitempty"`
	ResourceID  string `json:"resourceId"`
	Scope       string `json:"scope"`
}

type entraAssignment struct {
	ID                   string `json:"id,omitempty"`
	PrincipalID          string `json:"principalId"`
	PrincipalType        string `json:"principalType,omitempty"`
	PrincipalDisplayName string `json:"principalDisplayName,omitempty"`
	ResourceID           string `json:"resourceId"`
	AppRoleID            string `json:"appRoleId"`
}

type entraUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
}

func (u entraUser) email() string {
	return strings.ToLower(orDefault(u.Mail, u.UserPrincipalName))
}

// entraStepData is what Do needs beyond the object id.
type entraStepData struct {
	ServicePrincipal string `json:"service_principal"`
}

func (e *Entra) client(ctx context.Context, src discovery.Source) (*discovery.ProviderClient, error) {
	return clientOf(ctx, e.HTTP, src)
}

func (e *Entra) check(ctx context.Context, c *discovery.ProviderClient) error {
	_, err := c.Request(ctx, http.MethodGet, graph+"/servicePrincipals?$top=1&$select=id", nil, nil)
	return err
}

func (e *Entra) top() string {
	n := e.PageSize
	if n <= 0 || n > 999 {
		n = 100
	}
	return strconv.Itoa(n)
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// list pages through a Graph collection, following @odata.nextLink.
func list[T any](ctx context.Context, c *discovery.ProviderClient, path string) ([]T, error) {
	var out []T
	for path != "" {
		var pg struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if _, err := c.Request(ctx, http.MethodGet, path, nil, &pg); err != nil {
			return nil, err
		}
		out = append(out, pg.Value...)
		path = pg.NextLink
	}
	return out, nil
}

// servicePrincipal finds the service principal of application id appID.
func (e *Entra) servicePrincipal(ctx context.Context, c *discovery.ProviderClient, appID string) (entraSP, error) {
	q := url.Values{"$filter": {"appId eq " + odataString(appID)}, "$select": {"id,appId,displayName,accountEnabled"}}
	sps, err := list[entraSP](ctx, c, graph+"/servicePrincipals?"+q.Encode())
	if err != nil {
		return entraSP{}, err
	}
	if len(sps) == 0 {
		return entraSP{}, &notFoundError{msg: fmt.Sprintf("The tenant has no service principal for app id %s.", appID)}
	}
	return sps[0], nil
}

// entraPeople resolves the user ids that actions reach and names them.
type entraPeople struct {
	c     *discovery.ProviderClient
	limit map[string]string // user id -> e-mail asked for; nil for everyone
	known map[string]string // user id -> e-mail, looked up
}

// newEntraPeople looks up each e-mail address of a limited target, by userPrincipalName then by
// mail. Addresses that are not in the tenant reach nothing.
func newEntraPeople(ctx context.Context, c *discovery.ProviderClient, emails []string) (*entraPeople, error) {
	p := &entraPeople{c: c, known: map[string]string{}}
	if len(emails) == 0 {
		return p, nil
	}
	p.limit = map[string]string{}
	sel := "$select=id,userPrincipalName,mail"
	for _, m := range emails {
		var u entraUser
		_, err := c.Request(ctx, http.MethodGet, graph+"/users/"+url.PathEscape(m)+"?"+sel, nil, &u)
		if discovery.IsNotFound(err) {
			us, lerr := list[entraUser](ctx, c, graph+"/users?"+url.Values{"$filter": {"mail eq " + odataString(m)}}.Encode()+"&"+sel)
			if lerr != nil {
				return nil, lerr
			}
			if len(us) == 0 {
				continue
			}
			u, err = us[0], nil
		}
		if err != nil {
			return nil, err
		}
		p.limit[u.ID], p.known[u.ID] = m, m
	}
	return p, nil
}

// reaches reports whether the action reaches the user id, and its e-mail address.
func (p *entraPeople) reaches(ctx context.Context, id string) (bool, string, error) {
	if p.limit != nil {
		m, ok := p.limit[id]
		return ok, m, nil
	}
	if m, ok := p.known[id]; ok {
		return true, m, nil
	}
	var u entraUser
	_, err := p.c.Request(ctx, http.MethodGet, graph+"/users/"+url.PathEscape(id)+"?$select=id,userPrincipalName,mail", nil, &u)
	if discovery.IsNotFound(err) {
		p.known[id] = ""
		return true, "", nil // a user since deleted: the grant still goes
	}
	if err != nil {
		return false, "", err
	}
	p.known[id] = u.email()
	return true, p.known[id], nil
}

// Preview implements Provider.
func (e *Entra) Preview(ctx context.Context, src discovery.Source, k Kind, t Target) ([]Step, error) {
	c, err := begin(ctx, e.HTTP, src, k, t)
	if err != nil {
		return nil, err
	}
	steps, err := e.preview(ctx, c, k, t)
	if err != nil {
		return nil, sourceError(src, err)
	}
	return steps, nil
}

func (e *Entra) preview(ctx context.Context, c *discovery.ProviderClient, k Kind, t Target) ([]Step, error) {
	sp, err := e.servicePrincipal(ctx, c, strings.TrimSpace(t.App))
	if err != nil {
		return nil, err
	}
	data := mustJSON(entraStepData{ServicePrincipal: sp.ID})
	app := orDefault(sp.DisplayName, sp.AppID)
	if k == EntraDisableSignIn {
		if sp.AccountEnabled != nil && !*sp.AccountEnabled {
			return nil, nil // already off: nothing to change, and nothing an undo should turn on
		}
		return []Step{{Object: "servicePrincipal", ObjectID: sp.ID, Data: data,
			Description: fmt.Sprintf("Disable sign-in to %s for everyone in the tenant (accountEnabled = false).", app),
			Undo:        mustJSON(map[string]bool{"accountEnabled": true})}}, nil
	}
	who, err := newEntraPeople(ctx, c, people(t))
	if err != nil {
		return nil, err
	}
	everyone := len(t.People) == 0
	var steps []Step
	switch k {
	case EntraRemoveGrants:
		q := url.Values{"$filter": {"clientId eq " + odataString(sp.ID)}, "$top": {e.top()}}
		grants, err := list[entraGrant](ctx, c, graph+"/oauth2PermissionGrants?"+q.Encode())
		if err != nil {
			return nil, err
		}
		for _, g := range grants {
			if g.ClientID != sp.ID {
				continue
			}
			undo := g
			undo.ID = ""
			step := Step{Object: "oauth2PermissionGrant", ObjectID: g.ID, Data: data, Undo: mustJSON(undo)}
			if g.ConsentType == "AllPrincipals" {
				if !everyone {
					continue
				}
				step.Description = fmt.Sprintf("Remove the admin consent that lets %s act for everyone in the tenant (scopes: %s).", app, g.Scope)
			} else {
				ok, m, err := who.reaches(ctx, g.PrincipalID)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				step.Person = m
				step.Description = fmt.Sprintf("Remove the consent %s gave %s (scopes: %s).", orDefault(m, "user "+g.PrincipalID), app, g.Scope)
			}
			steps = append(steps, step)
		}
	case EntraRemoveAssignments:
		assigned, err := list[entraAssignment](ctx, c, graph+"/servicePrincipals/"+url.PathEscape(sp.ID)+"/appRoleAssignedTo?$top="+e.top())
		if err != nil {
			return nil, err
		}
		for _, a := range assigned {
			undo := entraAssignment{PrincipalID: a.PrincipalID, ResourceID: a.ResourceID, AppRoleID: a.AppRoleID}
			step := Step{Object: "appRoleAssignment", ObjectID: a.ID, Data: data, Undo: mustJSON(undo)}
			switch a.PrincipalType {
			case "User":
				ok, m, err := who.reaches(ctx, a.PrincipalID)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				step.Person = m
				step.Description = fmt.Sprintf("Remove %s's assignment to %s.", orDefault(m, orDefault(a.PrincipalDisplayName, "user "+a.PrincipalID)), app)
			case "Group":
				if !everyone {
					continue
				}
				step.Description = fmt.Sprintf("Remove the assignment of group %s to %s (its members lose the app unless assigned otherwise).",
					orDefault(a.PrincipalDisplayName, a.PrincipalID), app)
			default:
				continue // other apps' permissions on this one are not people's use
			}
			steps = append(steps, step)
		}
	}
	return steps, nil
}

// Do implements Provider. An object already gone counts as done.
func (e *Entra) Do(ctx context.Context, src discovery.Source, k Kind, s Step) error {
	c, err := beginStep(ctx, e.HTTP, src, k)
	if err != nil {
		return err
	}
	switch k {
	case EntraRemoveGrants:
		_, err = c.Request(ctx, http.MethodDelete, graph+"/oauth2PermissionGrants/"+url.PathEscape(s.ObjectID), nil, nil)
	case EntraRemoveAssignments:
		var d entraStepData
		if err := readData(s.Data, "data", s, &d); err != nil {
			return err
		}
		_, err = c.Request(ctx, http.MethodDelete, graph+"/servicePrincipals/"+url.PathEscape(d.ServicePrincipal)+"/appRoleAssignedTo/"+url.PathEscape(s.ObjectID), nil, nil)
	case EntraDisableSignIn:
		_, err = c.Request(ctx, http.MethodPatch, graph+"/servicePrincipals/"+url.PathEscape(s.ObjectID), map[string]bool{"accountEnabled": false}, nil)
	}
	return goneIsDone(err)
}

// Undo implements Provider: re-creates a grant or an assignment unless an equal one exists
// (so an undo repeated after a crash adds nothing), or turns sign-in back on.
func (e *Entra) Undo(ctx context.Context, src discovery.Source, k Kind, s Step) error {
	c, err := beginStep(ctx, e.HTTP, src, k)
	if err != nil {
		return err
	}
	switch k {
	case EntraRemoveGrants:
		var g entraGrant
		if err := readData(s.Undo, "undo record", s, &g); err != nil {
			return err
		}
		q := url.Values{"$filter": {"clientId eq " + odataString(g.ClientID)}, "$top": {e.top()}}
		exists := func() (bool, error) {
			have, err := list[entraGrant](ctx, c, graph+"/oauth2PermissionGrants?"+q.Encode())
			return slices.ContainsFunc(have, func(h entraGrant) bool {
				return h.ClientID == g.ClientID && h.ConsentType == g.ConsentType && h.PrincipalID == g.PrincipalID && h.ResourceID == g.ResourceID
			}), err
		}
		return createOnce(ctx, exists, func() error {
			_, err := c.Request(ctx, http.MethodPost, graph+"/oauth2PermissionGrants", g, nil)
			return err
		})
	case EntraRemoveAssignments:
		var a entraAssignment
		if err := readData(s.Undo, "undo record", s, &a); err != nil {
			return err
		}
		var d entraStepData
		if err := readData(s.Data, "data", s, &d); err != nil {
			return err
		}
		path := graph + "/servicePrincipals/" + url.PathEscape(d.ServicePrincipal) + "/appRoleAssignedTo"
		exists := func() (bool, error) {
			have, err := list[entraAssignment](ctx, c, path+"?$top="+e.top())
			return slices.ContainsFunc(have, func(h entraAssignment) bool { return h.PrincipalID == a.PrincipalID && h.AppRoleID == a.AppRoleID }), err
		}
		return createOnce(ctx, exists, func() error {
			_, err := c.Request(ctx, http.MethodPost, path, a, nil)
			return err
		})
	case EntraDisableSignIn:
		if len(s.Undo) == 0 {
			return ErrCannotUndo
		}
		_, err = c.Request(ctx, http.MethodPatch, graph+"/servicePrincipals/"+url.PathEscape(s.ObjectID), map[string]bool{"accountEnabled": true}, nil)
		return err
	}
	return ErrCannotUndo
}
