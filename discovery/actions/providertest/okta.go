package providertest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
)

// Okta is an Okta org's Apps and Users APIs: an app instance (GET, lifecycle/activate and
// deactivate), its user assignments (list with expand=user, get, DELETE, POST) and group
// assignments (list with expand=group, DELETE, PUT), and users by id, login or profile.email
// search. It answers requests with "Authorization: SSWS <Token>"; listings page with limit and a
// Link rel="next" header; a rate limit answers 429 with X-Rate-Limit-Reset.
type Okta struct {
	Faults
	URL   string
	Token string

	mu     sync.Mutex
	ids    seq
	users  []oktaUser
	groups map[string]oktaGroup
	apps   map[string]*oktaAppState
}

type oktaUser struct {
	ID, Login, Email string
}

type oktaGroup struct {
	Name    string
	Members []string // user ids
}

type oktaAppState struct {
	Label, Status string
	Users         []OktaAppUser                  // direct (scope USER) assignments, in order
	Groups        []string                       // assigned group ids, in order
	GroupData     map[string]OktaGroupAssignment // by group id
}

// OktaAppUser is a direct assignment of a user to an app.
type OktaAppUser struct {
	UserID   string         `json:"id"`
	UserName string         `json:"-"`
	Profile  map[string]any `json:"-"`
}

// OktaGroupAssignment is a group's assignment to an app.
type OktaGroupAssignment struct {
	Priority int            `json:"priority"`
	Profile  map[string]any `json:"profile"`
}

// NewOkta starts an empty org, closed when t ends.
func NewOkta(t testing.TB) *Okta {
	o := &Okta{Token: "okta-test-token", groups: map[string]oktaGroup{}, apps: map[string]*oktaAppState{}}
	o.URL = serve(t, o.wrap(http.HandlerFunc(o.serve))).URL
	return o
}

// Source is a source that reaches o with its API token and may act.
func (o *Okta) Source() discovery.Source {
	return discovery.Source{ID: 3, Kind: discovery.FormatOkta, Name: "org", BaseURL: o.URL, Secret: o.Token, Actions: true, Enabled: true}
}

// AddUser adds a user whose login is the e-mail address and returns its id.
func (o *Okta) AddUser(email string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.ids.next("00u")
	o.users = append(o.users, oktaUser{ID: id, Login: email, Email: email})
	return id
}

// AddGroup adds a group of users (by id) and returns its id.
func (o *Okta) AddGroup(name string, members ...string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.ids.next("00g")
	o.groups[id] = oktaGroup{Name: name, Members: members}
	return id
}

// AddApp adds an active app instance and returns its id.
func (o *Okta) AddApp(label string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.ids.next("0oa")
	o.apps[id] = &oktaAppState{Label: label, Status: "ACTIVE", GroupData: map[string]OktaGroupAssignment{}}
	return id
}

// AssignUser assigns the user (by id) to the app directly.
func (o *Okta) AssignUser(appID, userID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.apps[appID]
	u := o.user(userID)
	a.Users = append(a.Users, OktaAppUser{UserID: userID, UserName: u.Login, Profile: map[string]any{"email": u.Email, "role": "member"}})
}

// AssignGroup assigns the group to the app.
func (o *Okta) AssignGroup(appID, groupID string, priority int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.apps[appID]
	a.Groups = append(a.Groups, groupID)
	a.GroupData[groupID] = OktaGroupAssignment{Priority: priority, Profile: map[string]any{"role": "viewer"}}
}

// DirectUsers returns the ids of the users assigned to the app directly.
func (o *Okta) DirectUsers(appID string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, u := range o.apps[appID].Users {
		out = append(out, u.UserID)
	}
	return out
}

// AppUser returns a user's direct assignment to the app (with the user name and profile it
// was made with).
func (o *Okta) AppUser(appID, userID string) (OktaAppUser, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := slices.IndexFunc(o.apps[appID].Users, func(u OktaAppUser) bool { return u.UserID == userID })
	if i < 0 {
		return OktaAppUser{}, false
	}
	return o.apps[appID].Users[i], true
}

// GroupAssignments returns the app's group assignments by group id.
func (o *Okta) GroupAssignments(appID string) map[string]OktaGroupAssignment {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]OktaGroupAssignment{}
	for _, g := range o.apps[appID].Groups {
		out[g] = o.apps[appID].GroupData[g]
	}
	return out
}

// Status returns the app's status (ACTIVE or INACTIVE).
func (o *Okta) Status(appID string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.apps[appID].Status
}

// UnassignMeanwhile removes a user's direct assignment, as another admin might.
func (o *Okta) UnassignMeanwhile(appID, userID string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.apps[appID]
	a.Users = slices.DeleteFunc(a.Users, func(u OktaAppUser) bool { return u.UserID == userID })
}

func (o *Okta) user(key string) *oktaUser {
	for i := range o.users {
		u := &o.users[i]
		if u.ID == key || strings.EqualFold(u.Login, key) {
			return u
		}
	}
	return nil
}

func oktaError(w http.ResponseWriter, status int, code, summary string) {
	writeJSON(w, status, map[string]any{"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": "oae0000000000000000", "errorCauses": []any{}})
}

func oktaNotFound(w http.ResponseWriter, what string) {
	oktaError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+what)
}

func (o *Okta) serve(w http.ResponseWriter, r *http.Request) {
	switch status, wait := o.fault(r); status {
	case http.StatusTooManyRequests:
		w.Header().Set("X-Rate-Limit-Limit", "600")
		w.Header().Set("X-Rate-Limit-Remaining", "0")
		w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(time.Duration(wait)*time.Second).Unix(), 10))
		oktaError(w, status, "E0000047", "API call exceeded rate limit due to too many requests.")
		return
	case http.StatusServiceUnavailable:
		oktaError(w, status, "E0000009", "Internal Server Error")
		return
	}
	if r.Header.Get("Authorization") != "SSWS "+o.Token {
		oktaError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	var parts []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed")
			return
		}
		parts = append(parts, u)
	}
	if len(parts) < 3 || parts[0] != "api" || parts[1] != "v1" {
		oktaNotFound(w, r.URL.Path)
		return
	}
	parts = parts[2:]
	o.mu.Lock()
	defer o.mu.Unlock()
	switch parts[0] {
	case "users":
		o.serveUsers(w, r, parts[1:])
	case "apps":
		if len(parts) == 1 && r.Method == http.MethodGet {
			var out []any
			for id := range o.apps {
				out = append(out, o.appJSON(id))
			}
			o.pageOf(w, r, out)
			return
		}
		a, ok := o.apps[parts[1]]
		if !ok {
			oktaNotFound(w, parts[1]+" (AppInstance)")
			return
		}
		o.serveApp(w, r, parts[1], a, parts[2:])
	default:
		oktaNotFound(w, r.URL.Path)
	}
}

func (o *Okta) serveUsers(w http.ResponseWriter, r *http.Request, rest []string) {
	if r.Method != http.MethodGet {
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	if len(rest) == 1 {
		u := o.user(rest[0])
		if u == nil {
			oktaNotFound(w, rest[0]+" (User)")
			return
		}
		writeJSON(w, http.StatusOK, o.userJSON(u))
		return
	}
	var out []any
	search := r.URL.Query().Get("search")
	for i := range o.users {
		u := &o.users[i]
		if v, ok := strings.CutPrefix(search, "profile.email eq "); !ok || strings.EqualFold(strings.Trim(v, `"`), u.Email) {
			out = append(out, o.userJSON(u))
		}
	}
	o.pageOf(w, r, out)
}

func (o *Okta) userJSON(u *oktaUser) map[string]any {
	return map[string]any{"id": u.ID, "status": "ACTIVE", "profile": map[string]any{"login": u.Login, "email": u.Email}}
}

func (o *Okta) appJSON(id string) map[string]any {
	a := o.apps[id]
	return map[string]any{"id": id, "name": "oidc_client", "label": a.Label, "status": a.Status, "signOnMode": "OPENID_CONNECT"}
}

// appUsers lists the app's users as Okta does: direct assignments (scope USER), then members
// of assigned groups not assigned directly (scope GROUP).
func (o *Okta) appUsers(a *oktaAppState, expand bool) []any {
	var out []any
	seen := map[string]bool{}
	add := func(userID, scope string, direct *OktaAppUser) {
		if seen[userID] {
			return
		}
		seen[userID] = true
		u := o.user(userID)
		if u == nil {
			return
		}
		au := map[string]any{"id": userID, "scope": scope, "status": "PROVISIONED", "syncState": "DISABLED",
			"created": "2026-01-02T03:04:05.000Z", "lastUpdated": "2026-01-02T03:04:05.000Z",
			"credentials": map[string]any{"userName": u.Login}, "profile": map[string]any{"email": u.Email},
			"_links": map[string]any{"user": map[string]string{"href": o.URL + "/api/v1/users/" + userID}}}
		if direct != nil {
			au["credentials"] = map[string]any{"userName": direct.UserName}
			au["profile"] = direct.Profile
		}
		if expand {
			au["_embedded"] = map[string]any{"user": o.userJSON(u)}
		}
		out = append(out, au)
	}
	for i := range a.Users {
		add(a.Users[i].UserID, "USER", &a.Users[i])
	}
	for _, g := range a.Groups {
		for _, m := range o.groups[g].Members {
			add(m, "GROUP", nil)
		}
	}
	return out
}

func (o *Okta) serveApp(w http.ResponseWriter, r *http.Request, appID string, a *oktaAppState, rest []string) {
	m := r.Method
	switch {
	case len(rest) == 0 && m == http.MethodGet:
		writeJSON(w, http.StatusOK, o.appJSON(appID))
	case len(rest) == 2 && rest[0] == "lifecycle" && m == http.MethodPost && (rest[1] == "activate" || rest[1] == "deactivate"):
		a.Status = map[string]string{"activate": "ACTIVE", "deactivate": "INACTIVE"}[rest[1]]
		writeJSON(w, http.StatusOK, map[string]any{})
	case len(rest) == 1 && rest[0] == "users" && m == http.MethodGet:
		o.pageOf(w, r, o.appUsers(a, r.URL.Query().Get("expand") == "user"))
	case len(rest) == 1 && rest[0] == "users" && m == http.MethodPost:
		var body struct {
			ID          string `json:"id"`
			Scope       string `json:"scope"`
			Credentials struct {
				UserName string `json:"userName"`
			} `json:"credentials"`
			Profile map[string]any `json:"profile"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || o.user(body.ID) == nil || (body.Scope != "" && body.Scope != "USER") {
			oktaError(w, http.StatusBadRequest, "E0000001", "Api validation failed: id")
			return
		}
		if !slices.ContainsFunc(a.Users, func(u OktaAppUser) bool { return u.UserID == body.ID }) {
			a.Users = append(a.Users, OktaAppUser{UserID: body.ID, UserName: orDefault(body.Credentials.UserName, o.user(body.ID).Login), Profile: body.Profile})
		}
		writeJSON(w, http.StatusOK, o.appUserJSON(a, body.ID))
	case len(rest) == 2 && rest[0] == "users" && m == http.MethodGet:
		if au := o.appUserJSON(a, rest[1]); au != nil {
			writeJSON(w, http.StatusOK, au)
			return
		}
		oktaNotFound(w, rest[1]+" (AppUser)")
	case len(rest) == 2 && rest[0] == "users" && m == http.MethodDelete:
		n := len(a.Users)
		a.Users = slices.DeleteFunc(a.Users, func(u OktaAppUser) bool { return u.UserID == rest[1] })
		if len(a.Users) == n {
			oktaNotFound(w, rest[1]+" (AppUser)")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 1 && rest[0] == "groups" && m == http.MethodGet:
		var out []any
		for _, g := range a.Groups {
			ga := map[string]any{"id": g, "priority": a.GroupData[g].Priority, "profile": a.GroupData[g].Profile, "lastUpdated": "2026-01-02T03:04:05.000Z"}
			if r.URL.Query().Get("expand") == "group" {
				ga["_embedded"] = map[string]any{"group": map[string]any{"id": g, "profile": map[string]any{"name": o.groups[g].Name}}}
			}
			out = append(out, ga)
		}
		o.pageOf(w, r, out)
	case len(rest) == 2 && rest[0] == "groups" && m == http.MethodPut:
		if _, ok := o.groups[rest[1]]; !ok {
			oktaNotFound(w, rest[1]+" (UserGroup)")
			return
		}
		var body OktaGroupAssignment
		if r.ContentLength != 0 && json.NewDecoder(r.Body).Decode(&body) != nil {
			oktaError(w, http.StatusBadRequest, "E0000003", "The request body was not well-formed.")
			return
		}
		if !slices.Contains(a.Groups, rest[1]) {
			a.Groups = append(a.Groups, rest[1])
		}
		a.GroupData[rest[1]] = body
		writeJSON(w, http.StatusOK, map[string]any{"id": rest[1], "priority": body.Priority, "profile": body.Profile})
	case len(rest) == 2 && rest[0] == "groups" && m == http.MethodDelete:
		if !slices.Contains(a.Groups, rest[1]) {
			oktaNotFound(w, rest[1]+" (ApplicationGroupAssignment)")
			return
		}
		a.Groups = slices.DeleteFunc(a.Groups, func(g string) bool { return g == rest[1] })
		delete(a.GroupData, rest[1])
		w.WriteHeader(http.StatusNoContent)
	default:
		oktaError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
	}
}

func (o *Okta) appUserJSON(a *oktaAppState, userID string) map[string]any {
	for _, au := range o.appUsers(a, false) {
		if m := au.(map[string]any); m["id"] == userID {
			return m
		}
	}
	return nil
}

// pageOf answers a listing, limit at a time (default 200), with Link rel="self" and, when more
// follow, rel="next" carrying an after cursor.
func (o *Okta) pageOf(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	size := o.size(atoi(q.Get("limit")), 200)
	lo, hi, next := page(len(items), atoi(q.Get("after")), size)
	w.Header().Add("Link", "<"+o.URL+r.URL.RequestURI()+`>; rel="self"`)
	if next >= 0 {
		q.Set("after", strconv.Itoa(next))
		w.Header().Add("Link", "<"+o.URL+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, append([]any{}, items[lo:hi]...))
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
