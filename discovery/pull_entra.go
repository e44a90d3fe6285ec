package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// EntraPuller reads an Entra ID tenant from Microsoft Graph: the sign-ins,
// GET /v1.0/auditLogs/signIns (permission AuditLog.Read.All, and an Entra ID P1 or P2 licence),
// and the consented delegated permissions, GET /v1.0/oauth2PermissionGrants joined to
// GET /v1.0/servicePrincipals/{id} and, for grants a user consented to, GET /v1.0/users
// (Directory.Read.All). A source whose secret holds client credentials gets its tokens with the
// client-credentials grant, cached until they expire; any other secret is sent as a bearer token.
//
// Graph returns sign-ins newest first, so the newest createdDateTime is only known to be safe
// as the next window start once every page is stored. While a pull is under way the cursor is a
// resume point (window start, newest seen, @odata.nextLink) saved after each page; when it ends
// the cursor becomes the newest createdDateTime. Each window starts Overlap before the cursor,
// because sign-ins reach the log minutes late; the overlap is deduplicated on import (by id).
//
// Grants have no time to page by, so every pull reads them all and hands each Graph page over as a
// permission-grant snapshot (see EntraParser) with the service principals its grants name: each
// grant's event id is "grant:<grant id>", so a grant already stored adds nothing.
type EntraPuller struct {
	PullHTTP
	// Top is the page size of sign-ins (default and maximum 1000).
	Top int
	// Overlap is subtracted from the cursor (default 10 min; negative for none).
	Overlap time.Duration
	// TokenURL is the token endpoint for client credentials, with {tenant} replaced by the
	// tenant id (default EntraTokenURL).
	TokenURL string
	// Scope is asked for in the client-credentials grant (default EntraGraphScope).
	Scope string
	// SkipGrants leaves out the permission-grant pull (sign-ins only).
	SkipGrants bool

	tokens tokenCache
	users  userCache
}

// userCache keeps, across pulls, the users that grants name by object id: Graph's user object
// (nil when the user no longer exists). A grant is read on every pull, its user once.
type userCache struct {
	mu sync.Mutex
	m  map[string]json.RawMessage
}

// Pull implements Puller: the sign-ins, then the permission grants. The grants are read even when
// the sign-ins fail (a tenant without a P1 licence has no sign-in log), unless no token could be
// had at all.
func (p *EntraPuller) Pull(ctx context.Context, src Source, cursor string, page func(string, io.Reader) error) (string, error) {
	cred, creds, err := p.entraCredential(ctx, src)
	if err != nil {
		return cursor, err
	}
	cursor, signErr := p.pullSignIns(ctx, src, cred, cursor, page)
	if signErr != nil {
		signErr = fmt.Errorf("sign-ins: %w", signErr)
	}
	var te *TokenError
	if p.SkipGrants || ctx.Err() != nil || errors.As(signErr, &te) {
		return cursor, signErr
	}
	tenant := ""
	if creds != nil {
		tenant = creds.TenantID
	}
	if err := p.pullGrants(ctx, src, cred, tenant, cursor, page); err != nil {
		return cursor, errors.Join(signErr, fmt.Errorf("permission grants: %w", err))
	}
	return cursor, signErr
}

func (p *EntraPuller) pullSignIns(ctx context.Context, src Source, cred *credential, cursor string, page func(string, io.Reader) error) (string, error) {
	rp, err := parseCursor(cursor, p.now())
	if err != nil {
		return cursor, err
	}
	next := rp.Next
	if next == "" {
		top := p.Top
		if top <= 0 || top > 1000 {
			top = 1000
		}
		overlap := orDefault(p.Overlap, 10*time.Minute)
		from := rp.Since
		if overlap > 0 {
			from = from.Add(-overlap)
		}
		q := url.Values{
			"$filter": {"createdDateTime ge " + from.UTC().Format("2006-01-02T15:04:05Z")},
			"$top":    {strconv.Itoa(top)},
		}
		next = src.BaseURL + "/v1.0/auditLogs/signIns?" + q.Encode()
	} else if err := sameOrigin(src.BaseURL, next); err != nil {
		return cursor, err
	}
	for {
		body, _, err := p.get(ctx, next, cred)
		if err != nil {
			return cursor, err
		}
		var pg struct {
			Value []struct {
				CreatedDateTime string `json:"createdDateTime"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return cursor, fmt.Errorf("graph sign-ins page: %w", err)
		}
		for _, v := range pg.Value {
			if t, err := time.Parse(time.RFC3339Nano, v.CreatedDateTime); err == nil && t.After(rp.Newest) {
				rp.Newest = t.UTC()
			}
		}
		if pg.NextLink != "" {
			if err := sameOrigin(src.BaseURL, pg.NextLink); err != nil {
				return cursor, err
			}
		}
		rp.Next = pg.NextLink
		after := rp.timeCursor()
		if rp.Next != "" {
			after = rp.String()
		}
		if len(pg.Value) > 0 {
			if err := page(FormatEntra, newPage(body, after)); err != nil {
				return cursor, err
			}
		}
		cursor = after
		if rp.Next == "" {
			return cursor, nil
		}
		next = rp.Next
	}
}

// grantSnapshot is one page of grants in the EntraParser's permission-grant snapshot form.
type grantSnapshot struct {
	SnapshotTime      string            `json:"snapshotTime"`
	TenantID          string            `json:"tenantId,omitempty"`
	ServicePrincipals []json.RawMessage `json:"servicePrincipals"`
	Users             []json.RawMessage `json:"users,omitempty"`
	Grants            []json.RawMessage `json:"grants"`
}

// userSelect is what the parser reads of a user: the object id and the e-mail to count usage by.
const userSelect = "id,userPrincipalName,mail"

// usersPerFilter is how many ids Graph takes in one "id in (…)" filter.
const usersPerFilter = 15

// lookUpUsers returns the Graph user objects of ids (lower-case object ids), from the cache or
// fetched 15 to a request; ids Graph does not know are left out.
func (p *EntraPuller) lookUpUsers(ctx context.Context, src Source, cred *credential, ids []string) ([]json.RawMessage, error) {
	p.users.mu.Lock()
	if p.users.m == nil {
		p.users.m = map[string]json.RawMessage{}
	}
	var missing []string
	for _, id := range ids {
		if _, ok := p.users.m[id]; !ok {
			missing = append(missing, id)
		}
	}
	p.users.mu.Unlock()
	for start := 0; start < len(missing); start += usersPerFilter {
		part := missing[start:min(start+usersPerFilter, len(missing))]
		quoted := make([]string, len(part))
		for i, id := range part {
			quoted[i] = "'" + strings.ReplaceAll(id, "'", "''") + "'"
		}
		u := src.BaseURL + "/v1.0/users?" + url.Values{"$filter": {"id in (" + strings.Join(quoted, ",") + ")"}, "$select": {userSelect}}.Encode()
		body, _, err := p.get(ctx, u, cred)
		if err != nil {
			return nil, err
		}
		var res struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return nil, fmt.Errorf("graph users: %w", err)
		}
		found := map[string]json.RawMessage{}
		for _, raw := range res.Value {
			var user struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(raw, &user) == nil {
				found[strings.ToLower(user.ID)] = raw
			}
		}
		p.users.mu.Lock()
		for _, id := range part {
			p.users.m[id] = found[id] // nil: deleted, or not a user
		}
		p.users.mu.Unlock()
	}
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	var out []json.RawMessage
	for _, id := range ids {
		if raw := p.users.m[id]; raw != nil {
			out = append(out, raw)
		}
	}
	return out, nil
}

// spSelect is what the parser reads of a service principal.
const spSelect = "id,appId,appDisplayName,displayName,appOwnerOrganizationId"

// pullGrants reads every permission grant, page by page, joins each page to the service
// principals of its clients (each looked up once per pull) and hands it over as a snapshot.
// cursor is the sign-ins' cursor: the grant pages carry it, so storing them moves nothing.
func (p *EntraPuller) pullGrants(ctx context.Context, src Source, cred *credential, tenant, cursor string, page func(string, io.Reader) error) error {
	at := p.now().UTC().Format(time.RFC3339Nano)
	sps := map[string]json.RawMessage{} // client id (lower case) → service principal; nil: gone
	next := src.BaseURL + "/v1.0/oauth2PermissionGrants"
	for next != "" {
		body, _, err := p.get(ctx, next, cred)
		if err != nil {
			return err
		}
		var pg struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return fmt.Errorf("graph permission-grants page: %w", err)
		}
		if pg.NextLink != "" {
			if err := sameOrigin(src.BaseURL, pg.NextLink); err != nil {
				return err
			}
		}
		snap := grantSnapshot{SnapshotTime: at, TenantID: tenant, ServicePrincipals: []json.RawMessage{}}
		inPage := map[string]bool{}
		// A grant a user consented to names them by object id; their e-mail is what their
		// sign-ins and their home page count by.
		principals := map[string]bool{}
		var principalIDs []string
		for _, raw := range pg.Value {
			var g struct {
				ClientID    string `json:"clientId"`
				PrincipalID string `json:"principalId"`
			}
			_ = json.Unmarshal(raw, &g) // a malformed grant is the parser's to reject
			if pid := strings.ToLower(strings.TrimSpace(g.PrincipalID)); pid != "" && !principals[pid] {
				principals[pid] = true
				principalIDs = append(principalIDs, pid)
			}
			id := strings.ToLower(strings.TrimSpace(g.ClientID))
			if id != "" {
				sp, seen := sps[id]
				if !seen {
					if sp, err = p.servicePrincipal(ctx, src, cred, id); err != nil {
						return err
					}
					sps[id] = sp
				}
				if sp == nil {
					// The app was deleted while a grant to it remains: nothing to report.
					slog.DebugContext(ctx, "permission grant of a deleted service principal skipped", "source", src.Name, "client_id", id)
					continue
				}
				if !inPage[id] {
					inPage[id] = true
					snap.ServicePrincipals = append(snap.ServicePrincipals, sp)
				}
			}
			snap.Grants = append(snap.Grants, raw)
		}
		if len(snap.Grants) > 0 {
			if snap.Users, err = p.lookUpUsers(ctx, src, cred, principalIDs); err != nil {
				return err
			}
			out, err := json.Marshal(snap)
			if err != nil {
				return fmt.Errorf("permission-grant snapshot: %w", err)
			}
			if err := page(FormatEntra, newPage(out, cursor)); err != nil {
				return err
			}
		}
		next = pg.NextLink
	}
	return nil
}

// servicePrincipal fetches one service principal by object id; nil when it no longer exists.
func (p *EntraPuller) servicePrincipal(ctx context.Context, src Source, cred *credential, id string) (json.RawMessage, error) {
	u := src.BaseURL + "/v1.0/servicePrincipals/" + url.PathEscape(id) + "?" + url.Values{"$select": {spSelect}}.Encode()
	body, _, err := p.get(ctx, u, cred)
	var he *HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("graph service principal %s: the response is not JSON", id)
	}
	return json.RawMessage(body), nil
}
