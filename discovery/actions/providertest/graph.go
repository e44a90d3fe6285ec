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

	"github.com/pavedhq/paved/discovery"
)

// Graph is a Microsoft Entra tenant's Microsoft Graph v1.0: service principals (found by appId,
// patched for accountEnabled), oauth2PermissionGrants (listed by clientId, deleted, created),
// appRoleAssignedTo (listed, deleted, created) and users (by id, userPrincipalName or mail). It
// answers requests with "Authorization: Bearer <Token>", and issues that token at
// /{tenant}/oauth2/v2.0/token for the client credentials ClientID and ClientSecret (see
// TokenURL). Collections page with $top and @odata.nextLink.
type Graph struct {
	Faults
	URL          string
	Token        string
	ClientID     string
	ClientSecret string

	mu     sync.Mutex
	ids    seq
	users  []GraphUser
	groups map[string]string // id -> display name
	sps    []graphSP
	grants []GraphGrant
	assign []GraphAssignment
}

// GraphUser is a user of the tenant.
type GraphUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	DisplayName       string `json:"displayName"`
}

// GraphGrant is an oAuth2PermissionGrant.
type GraphGrant struct {
	ID          string  `json:"id"`
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	Scope       string  `json:"scope"`
}

// GraphAssignment is an appRoleAssignment.
type GraphAssignment struct {
	ID                   string `json:"id"`
	AppRoleID            string `json:"appRoleId"`
	CreatedDateTime      string `json:"createdDateTime"`
	PrincipalDisplayName string `json:"principalDisplayName"`
	PrincipalID          string `json:"principalId"`
	PrincipalType        string `json:"principalType"`
	ResourceDisplayName  string `json:"resourceDisplayName"`
	ResourceID           string `json:"resourceId"`
}

type graphSP struct {
	ID             string `json:"id"`
	AppID          string `json:"appId"`
	DisplayName    string `json:"displayName"`
	AccountEnabled bool   `json:"accountEnabled"`
}

// GraphResourceID is the object id of the Microsoft Graph service principal that grants name as
// their resource.
const GraphResourceID = "00000003-0000-0000-c000-00000000f00d"

// NewGraph starts an empty tenant, closed when t ends.
func NewGraph(t testing.TB) *Graph {
	g := &Graph{Token: "graph-test-token", ClientID: "paved-client", ClientSecret: "paved-secret", groups: map[string]string{}}
	g.sps = append(g.sps, graphSP{ID: GraphResourceID, AppID: "00000003-0000-0000-c000-000000000000", DisplayName: "Microsoft Graph", AccountEnabled: true})
	g.URL = serve(t, g.wrap(http.HandlerFunc(g.serve))).URL
	return g
}

// Source is a source that reaches g with its bearer token and may act.
func (g *Graph) Source() discovery.Source {
	return discovery.Source{ID: 2, Kind: discovery.FormatEntra, Name: "tenant", BaseURL: g.URL, Secret: g.Token, Actions: true, Enabled: true}
}

// CredentialsSource is a source that reaches g with client credentials (set the
// ProviderHTTP's EntraTokenURL to TokenURL).
func (g *Graph) CredentialsSource(secret string) discovery.Source {
	src := g.Source()
	b, _ := json.Marshal(discovery.EntraCredentials{TenantID: "tenant-1", ClientID: g.ClientID, ClientSecret: secret})
	src.Secret = string(b)
	return src
}

// TokenURL is g's token endpoint, with {tenant} for ProviderHTTP.EntraTokenURL.
func (g *Graph) TokenURL() string { return g.URL + "/{tenant}/oauth2/v2.0/token" }

func (g *Graph) newID() string {
	n := g.ids.next("")
	return "00000000-0000-4000-8000-00000000" + n
}

// AddUser adds a user and returns its id.
func (g *Graph) AddUser(upn, mail string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.newID()
	g.users = append(g.users, GraphUser{ID: id, UserPrincipalName: upn, Mail: mail, DisplayName: strings.Split(upn, "@")[0]})
	return id
}

// AddGroup adds a group and returns its id.
func (g *Graph) AddGroup(name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.newID()
	g.groups[id] = name
	return id
}

// AddApp adds the service principal of application appID and returns its object id.
func (g *Graph) AddApp(appID, name string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := g.newID()
	g.sps = append(g.sps, graphSP{ID: id, AppID: appID, DisplayName: name, AccountEnabled: true})
	return id
}

// AddGrant adds a delegated permission grant of the app's service principal on Microsoft Graph:
// for userID (consentType Principal) or, with an empty userID, for everyone (AllPrincipals).
func (g *Graph) AddGrant(spID, userID, scope string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := GraphGrant{ID: "grant-" + g.ids.next(""), ClientID: spID, ConsentType: "AllPrincipals", ResourceID: GraphResourceID, Scope: scope}
	if userID != "" {
		gr.ConsentType, gr.PrincipalID = "Principal", &userID
	}
	g.grants = append(g.grants, gr)
	return gr.ID
}

// AddAssignment assigns the app role to a user or group (by id) on the app's service principal.
func (g *Graph) AddAssignment(spID, principalID, appRoleID string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addAssignment(spID, principalID, appRoleID)
}

func (g *Graph) addAssignment(spID, principalID, appRoleID string) string {
	a := GraphAssignment{ID: "assign-" + g.ids.next(""), AppRoleID: appRoleID, CreatedDateTime: "2026-01-02T03:04:05.1234567Z",
		PrincipalID: principalID, ResourceID: spID}
	if name, ok := g.groups[principalID]; ok {
		a.PrincipalType, a.PrincipalDisplayName = "Group", name
	} else {
		a.PrincipalType = "User"
		for _, u := range g.users {
			if u.ID == principalID {
				a.PrincipalDisplayName = u.DisplayName
			}
		}
	}
	for _, sp := range g.sps {
		if sp.ID == spID {
			a.ResourceDisplayName = sp.DisplayName
		}
	}
	g.assign = append(g.assign, a)
	return a.ID
}

// Grants returns the grants of a service principal.
func (g *Graph) Grants(spID string) []GraphGrant {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GraphGrant
	for _, gr := range g.grants {
		if gr.ClientID == spID {
			out = append(out, gr)
		}
	}
	return out
}

// Assignments returns the app-role assignments to a service principal.
func (g *Graph) Assignments(spID string) []GraphAssignment {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []GraphAssignment
	for _, a := range g.assign {
		if a.ResourceID == spID {
			out = append(out, a)
		}
	}
	return out
}

// SignInEnabled returns the service principal's accountEnabled.
func (g *Graph) SignInEnabled(spID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, sp := range g.sps {
		if sp.ID == spID {
			return sp.AccountEnabled
		}
	}
	return false
}

// DeleteMeanwhile deletes a grant or an assignment by id, as another admin might.
func (g *Graph) DeleteMeanwhile(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grants = slices.DeleteFunc(g.grants, func(gr GraphGrant) bool { return gr.ID == id })
	g.assign = slices.DeleteFunc(g.assign, func(a GraphAssignment) bool { return a.ID == id })
}

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]string{"request-id": "00000000-0000-0000-0000-000000000000"}}})
}

func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	switch status, wait := g.fault(r); status {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(wait))
		graphError(w, status, "TooManyRequests", "Too many requests.")
		return
	case http.StatusServiceUnavailable:
		graphError(w, status, "serviceNotAvailable", "The service is temporarily unavailable.")
		return
	}
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") && r.Method == http.MethodPost {
		g.token(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.Token {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
		return
	}
	var parts []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid path.")
			return
		}
		parts = append(parts, u)
	}
	if len(parts) < 2 || parts[0] != "v1.0" {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid version.")
		return
	}
	parts = parts[1:]
	g.mu.Lock()
	defer g.mu.Unlock()
	m := r.Method
	switch {
	case parts[0] == "servicePrincipals" && len(parts) == 1 && m == http.MethodGet:
		appID, ok := eqFilter(r, "appId")
		var out []any
		for _, sp := range g.sps {
			if !ok || sp.AppID == appID {
				out = append(out, sp)
			}
		}
		g.pageOf(w, r, out)
	case parts[0] == "servicePrincipals" && len(parts) == 2:
		i := slices.IndexFunc(g.sps, func(sp graphSP) bool { return sp.ID == parts[1] })
		if i < 0 {
			notFound(w, parts[1])
			return
		}
		switch m {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, g.sps[i])
		case http.MethodPatch:
			var body struct {
				AccountEnabled *bool `json:"accountEnabled"`
			}
			if json.NewDecoder(r.Body).Decode(&body) != nil || body.AccountEnabled == nil {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body.")
				return
			}
			g.sps[i].AccountEnabled = *body.AccountEnabled
			w.WriteHeader(http.StatusNoContent)
		default:
			graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Method not allowed.")
		}
	case parts[0] == "servicePrincipals" && len(parts) >= 3 && parts[2] == "appRoleAssignedTo":
		g.appRoleAssignedTo(w, r, parts[1], parts[3:])
	case parts[0] == "oauth2PermissionGrants":
		g.oauth2PermissionGrants(w, r, parts[1:])
	case parts[0] == "users" && len(parts) == 1 && m == http.MethodGet:
		mail, ok := eqFilter(r, "mail")
		var out []any
		for _, u := range g.users {
			if !ok || strings.EqualFold(u.Mail, mail) {
				out = append(out, u)
			}
		}
		g.pageOf(w, r, out)
	case parts[0] == "users" && len(parts) == 2 && m == http.MethodGet:
		for _, u := range g.users {
			if u.ID == parts[1] || strings.EqualFold(u.UserPrincipalName, parts[1]) {
				writeJSON(w, http.StatusOK, u)
				return
			}
		}
		notFound(w, parts[1])
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+parts[0]+"'.")
	}
}

func notFound(w http.ResponseWriter, id string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

// eqFilter reads a "$filter=<field> eq '<value>'" query.
func eqFilter(r *http.Request, field string) (string, bool) {
	f := r.URL.Query().Get("$filter")
	v, ok := strings.CutPrefix(f, field+" eq '")
	if !ok || !strings.HasSuffix(v, "'") {
		return "", false
	}
	return strings.ReplaceAll(strings.TrimSuffix(v, "'"), "''", "'"), true
}

// pageOf answers a collection, $top at a time (default 100), linking the next page.
func (g *Graph) pageOf(w http.ResponseWriter, r *http.Request, items []any) {
	q := r.URL.Query()
	size := g.size(atoi(q.Get("$top")), 100)
	lo, hi, next := page(len(items), atoi(q.Get("$skiptoken")), size)
	out := map[string]any{"@odata.context": g.URL + "/v1.0/$metadata", "value": append([]any{}, items[lo:hi]...)}
	if next >= 0 {
		q.Set("$skiptoken", strconv.Itoa(next))
		out["@odata.nextLink"] = g.URL + r.URL.Path + "?" + q.Encode()
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *Graph) oauth2PermissionGrants(w http.ResponseWriter, r *http.Request, rest []string) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		client, ok := eqFilter(r, "clientId")
		var out []any
		for _, gr := range g.grants {
			if !ok || gr.ClientID == client {
				out = append(out, gr)
			}
		}
		g.pageOf(w, r, out)
	case len(rest) == 0 && r.Method == http.MethodPost:
		var gr GraphGrant
		if json.NewDecoder(r.Body).Decode(&gr) != nil || gr.ClientID == "" || gr.ResourceID == "" ||
			(gr.ConsentType != "AllPrincipals" && gr.ConsentType != "Principal") || (gr.ConsentType == "Principal") != (gr.PrincipalID != nil && *gr.PrincipalID != "") {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property of resource 'OAuth2PermissionGrant'.")
			return
		}
		for _, h := range g.grants {
			if h.ClientID == gr.ClientID && h.ResourceID == gr.ResourceID && h.ConsentType == gr.ConsentType && ptr(h.PrincipalID) == ptr(gr.PrincipalID) {
				graphError(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
				return
			}
		}
		gr.ID = "grant-" + g.ids.next("")
		g.grants = append(g.grants, gr)
		writeJSON(w, http.StatusCreated, gr)
	case len(rest) == 1 && r.Method == http.MethodDelete:
		n := len(g.grants)
		g.grants = slices.DeleteFunc(g.grants, func(gr GraphGrant) bool { return gr.ID == rest[0] })
		if len(g.grants) == n {
			notFound(w, rest[0])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Method not allowed.")
	}
}

func ptr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (g *Graph) appRoleAssignedTo(w http.ResponseWriter, r *http.Request, spID string, rest []string) {
	if !slices.ContainsFunc(g.sps, func(sp graphSP) bool { return sp.ID == spID }) {
		notFound(w, spID)
		return
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		var out []any
		for _, a := range g.assign {
			if a.ResourceID == spID {
				out = append(out, a)
			}
		}
		g.pageOf(w, r, out)
	case len(rest) == 0 && r.Method == http.MethodPost:
		var body struct {
			PrincipalID string `json:"principalId"`
			ResourceID  string `json:"resourceId"`
			AppRoleID   string `json:"appRoleId"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.PrincipalID == "" || body.ResourceID != spID || body.AppRoleID == "" {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property of resource 'AppRoleAssignment'.")
			return
		}
		for _, a := range g.assign {
			if a.ResourceID == spID && a.PrincipalID == body.PrincipalID && a.AppRoleID == body.AppRoleID {
				graphError(w, http.StatusBadRequest, "Request_BadRequest", "Permission being assigned already exists on the object")
				return
			}
		}
		id := g.addAssignment(spID, body.PrincipalID, body.AppRoleID)
		writeJSON(w, http.StatusCreated, g.assign[slices.IndexFunc(g.assign, func(a GraphAssignment) bool { return a.ID == id })])
	case len(rest) == 1 && r.Method == http.MethodDelete:
		n := len(g.assign)
		g.assign = slices.DeleteFunc(g.assign, func(a GraphAssignment) bool { return a.ID == rest[0] && a.ResourceID == spID })
		if len(g.assign) == n {
			notFound(w, rest[0])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		graphError(w, http.StatusMethodNotAllowed, "Request_BadRequest", "Method not allowed.")
	}
}

// token answers the client-credentials grant.
func (g *Graph) token(w http.ResponseWriter, r *http.Request) {
	if r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type", "error_description": "AADSTS70003: The app requested an unsupported grant type."})
		return
	}
	if r.PostForm.Get("client_id") != g.ClientID || r.PostForm.Get("client_secret") != g.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": g.Token})
}
