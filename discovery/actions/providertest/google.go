package providertest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pavedhq/paved/discovery"
)

// Google is a Google Workspace domain's Directory API: users.list, users.tokens.list and
// users.tokens.delete under /admin/directory/v1, answering requests that carry
// "Authorization: Bearer <Token>".
type Google struct {
	Faults
	URL   string
	Token string

	mu     sync.Mutex
	ids    seq
	users  []googleUser
	tokens map[string][]GoogleToken // by user id
}

// GoogleToken is a token a user granted an app, as users.tokens.list shows it.
type GoogleToken struct {
	ClientID    string   `json:"clientId"`
	DisplayText string   `json:"displayText"`
	Scopes      []string `json:"scopes"`
	NativeApp   bool     `json:"nativeApp"`
	Anonymous   bool     `json:"anonymous"`
}

type googleUser struct {
	ID    string
	Email string
}

// NewGoogle starts an empty domain, closed when t ends.
func NewGoogle(t testing.TB) *Google {
	g := &Google{Token: "google-test-token", tokens: map[string][]GoogleToken{}}
	g.URL = serve(t, g.wrap(http.HandlerFunc(g.serve))).URL
	return g
}

// Source is a source that reaches g with its token and may act.
func (g *Google) Source() discovery.Source {
	return discovery.Source{ID: 1, Kind: discovery.FormatGoogle, Name: "workspace", BaseURL: g.URL, Secret: g.Token, Actions: true, Enabled: true}
}

// AddUser adds a user (if new) and returns its id.
func (g *Google) AddUser(email string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addUser(email)
}

func (g *Google) addUser(email string) string {
	if u := g.find(email); u != nil {
		return u.ID
	}
	id := strings.TrimLeft(g.ids.next("1"), "0")
	g.users = append(g.users, googleUser{ID: "10" + id, Email: strings.ToLower(email)})
	slices.SortFunc(g.users, func(a, b googleUser) int { return strings.Compare(a.Email, b.Email) })
	return "10" + id
}

// AddToken records that the user email (added if new) granted clientID the scopes.
func (g *Google) AddToken(email, clientID, displayText string, scopes ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.addUser(email)
	g.tokens[id] = slices.DeleteFunc(g.tokens[id], func(t GoogleToken) bool { return t.ClientID == clientID })
	g.tokens[id] = append(g.tokens[id], GoogleToken{ClientID: clientID, DisplayText: displayText, Scopes: scopes})
}

// HasToken reports whether email holds a token for clientID.
func (g *Google) HasToken(email, clientID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.find(email)
	return u != nil && slices.ContainsFunc(g.tokens[u.ID], func(t GoogleToken) bool { return t.ClientID == clientID })
}

// RevokeMeanwhile deletes a token as if the person (or another admin) revoked it.
func (g *Google) RevokeMeanwhile(email, clientID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.find(email); u != nil {
		g.deleteToken(u.ID, clientID)
	}
}

func (g *Google) deleteToken(id, clientID string) bool {
	n := len(g.tokens[id])
	g.tokens[id] = slices.DeleteFunc(g.tokens[id], func(t GoogleToken) bool { return t.ClientID == clientID })
	return len(g.tokens[id]) < n
}

// find looks a user up by id or e-mail.
func (g *Google) find(key string) *googleUser {
	key = strings.ToLower(key)
	for i := range g.users {
		if g.users[i].ID == key || g.users[i].Email == key {
			return &g.users[i]
		}
	}
	return nil
}

func googleError(w http.ResponseWriter, status int, reason, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": status, "message": msg,
		"errors": []map[string]string{{"domain": "global", "reason": reason, "message": msg}},
	}})
}

func (g *Google) serve(w http.ResponseWriter, r *http.Request) {
	switch status, wait := g.fault(r); status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		googleError(w, status, "rateLimitExceeded", "Rate Limit Exceeded")
		return
	case http.StatusServiceUnavailable:
		googleError(w, status, "backendError", "The service is currently unavailable.")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		googleError(w, http.StatusUnauthorized, "authError", "Request had invalid authentication credentials.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/admin/directory/v1/users")
	if !ok {
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
		return
	}
	var parts []string
	for _, p := range strings.Split(strings.Trim(rest, "/"), "/") {
		if p == "" {
			continue
		}
		u, err := url.PathUnescape(p)
		if err != nil {
			googleError(w, http.StatusBadRequest, "invalid", "Invalid path")
			return
		}
		parts = append(parts, u)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case len(parts) == 0 && r.Method == http.MethodGet:
		g.listUsers(w, r)
	case len(parts) == 2 && parts[1] == "tokens" && r.Method == http.MethodGet:
		u := g.find(parts[0])
		if u == nil {
			googleError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
			return
		}
		out := map[string]any{"kind": "admin#directory#tokenList", "etag": `"tokens"`}
		if toks := g.tokens[u.ID]; len(toks) > 0 {
			items := make([]map[string]any, 0, len(toks))
			for _, t := range toks {
				items = append(items, map[string]any{"kind": "admin#directory#token", "etag": `"t"`, "clientId": t.ClientID,
					"displayText": t.DisplayText, "scopes": t.Scopes, "userKey": u.ID, "nativeApp": t.NativeApp, "anonymous": t.Anonymous})
			}
			out["items"] = items
		}
		writeJSON(w, http.StatusOK, out)
	case len(parts) == 3 && parts[1] == "tokens" && r.Method == http.MethodDelete:
		u := g.find(parts[0])
		if u == nil {
			googleError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
			return
		}
		if !g.deleteToken(u.ID, parts[2]) {
			googleError(w, http.StatusNotFound, "notFound", "Resource Not Found: clientId")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		googleError(w, http.StatusNotFound, "notFound", "Not Found")
	}
}

// listUsers answers users.list (customer=my_customer; maxResults default 100, at most 500).
func (g *Google) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("customer") == "" && q.Get("domain") == "" {
		googleError(w, http.StatusBadRequest, "badRequest", "Bad Request")
		return
	}
	size := g.size(min(atoi(q.Get("maxResults")), 500), 100)
	lo, hi, next := page(len(g.users), atoi(q.Get("pageToken")), size)
	users := []map[string]any{}
	for _, u := range g.users[lo:hi] {
		users = append(users, map[string]any{"kind": "admin#directory#user", "id": u.ID, "primaryEmail": u.Email, "suspended": false})
	}
	out := map[string]any{"kind": "admin#directory#users", "etag": `"users"`, "users": users}
	if next >= 0 {
		out["nextPageToken"] = strconv.Itoa(next)
	}
	writeJSON(w, http.StatusOK, out)
}
