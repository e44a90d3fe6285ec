package actions

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pavedhq/paved/discovery"
)

// Google revokes the OAuth tokens people of a Google Workspace domain granted to an app's client
// id, with the Admin SDK Directory API: users.tokens.list
// (GET /admin/directory/v1/users/{userKey}/tokens) at preview and users.tokens.delete
// (DELETE /admin/directory/v1/users/{userKey}/tokens/{clientId}) per person. Acting on everyone
// lists the domain's users first (users.list). A revoked token cannot be restored: the person
// has to grant the app access again.
//
// The source's service account needs domain-wide delegation of
// discovery.GoogleUserSecurityScope and discovery.GoogleUserReadScope.
type Google struct {
	HTTP *discovery.ProviderHTTP
	// PageSize is users.list's maxResults (default and maximum 500).
	PageSize int
}

const googleDirectory = "/admin/directory/v1"

// googleTokenData is what Do needs: the user the token belongs to.
type googleTokenData struct {
	UserKey string `json:"user_key"`
}

func (g *Google) client(ctx context.Context, src discovery.Source) (*discovery.ProviderClient, error) {
	return clientOf(ctx, g.HTTP, src)
}

// check lists one user: it needs the same delegation as a preview.
func (g *Google) check(ctx context.Context, c *discovery.ProviderClient) error {
	_, err := c.Request(ctx, http.MethodGet, googleDirectory+"/users?"+url.Values{"customer": {"my_customer"}, "maxResults": {"1"}}.Encode(), nil, nil)
	return err
}

// Preview implements Provider: one step per person who holds a token for t.App.
func (g *Google) Preview(ctx context.Context, src discovery.Source, k Kind, t Target) ([]Step, error) {
	c, err := begin(ctx, g.HTTP, src, k, t)
	if err != nil {
		return nil, err
	}
	clientID := strings.TrimSpace(t.App)
	type user struct{ key, email string }
	var users []user
	if ps := people(t); len(ps) > 0 {
		for _, p := range ps {
			users = append(users, user{key: p, email: p})
		}
	} else {
		all, err := g.listUsers(ctx, c)
		if err != nil {
			return nil, sourceError(src, err)
		}
		for _, u := range all {
			users = append(users, user{key: u.ID, email: strings.ToLower(u.PrimaryEmail)})
		}
	}
	var steps []Step
	for _, u := range users {
		var list struct {
			Items []struct {
				ClientID    string   `json:"clientId"`
				DisplayText string   `json:"displayText"`
				Scopes      []string `json:"scopes"`
			} `json:"items"`
		}
		_, err := c.Request(ctx, http.MethodGet, googleDirectory+"/users/"+url.PathEscape(u.key)+"/tokens", nil, &list)
		if discovery.IsNotFound(err) {
			continue // not a user of the domain: nothing to revoke
		}
		if err != nil {
			return nil, sourceError(src, err)
		}
		for _, tok := range list.Items {
			if tok.ClientID != clientID {
				continue
			}
			name := orDefault(tok.DisplayText, tok.ClientID)
			steps = append(steps, Step{
				Person:   u.email,
				Object:   "token",
				ObjectID: tok.ClientID,
				Description: fmt.Sprintf("Revoke the OAuth token %s granted to %s (scopes: %s). A revoked token cannot be restored.",
					u.email, name, orDefault(strings.Join(tok.Scopes, " "), "none listed")),
				Data: mustJSON(googleTokenData{UserKey: u.key}),
			})
		}
	}
	return steps, nil
}

type googleUser struct {
	ID           string `json:"id"`
	PrimaryEmail string `json:"primaryEmail"`
}

// listUsers pages through users.list for the whole account.
func (g *Google) listUsers(ctx context.Context, c *discovery.ProviderClient) ([]googleUser, error) {
	size := g.PageSize
	if size <= 0 || size > 500 {
		size = 500
	}
	var out []googleUser
	token := ""
	for {
		q := url.Values{"customer": {"my_customer"}, "maxResults": {strconv.Itoa(size)}, "orderBy": {"email"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		var pg struct {
			Users         []googleUser `json:"users"`
			NextPageToken string       `json:"nextPageToken"`
		}
		if _, err := c.Request(ctx, http.MethodGet, googleDirectory+"/users?"+q.Encode(), nil, &pg); err != nil {
			return nil, err
		}
		out = append(out, pg.Users...)
		if pg.NextPageToken == "" || pg.NextPageToken == token {
			return out, nil
		}
		token = pg.NextPageToken
	}
}

// Do implements Provider: users.tokens.delete. A token already gone counts as revoked.
func (g *Google) Do(ctx context.Context, src discovery.Source, k Kind, s Step) error {
	c, err := beginStep(ctx, g.HTTP, src, k)
	if err != nil {
		return err
	}
	var d googleTokenData
	if err := readData(s.Data, "data", s, &d); err != nil {
		return err
	}
	_, err = c.Request(ctx, http.MethodDelete, googleDirectory+"/users/"+url.PathEscape(d.UserKey)+"/tokens/"+url.PathEscape(s.ObjectID), nil, nil)
	return goneIsDone(err)
}

// Undo implements Provider: Google cannot restore a revoked token.
func (g *Google) Undo(context.Context, discovery.Source, Kind, Step) error { return ErrCannotUndo }

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
