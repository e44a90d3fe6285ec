package discovery_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
)

// The token endpoints below answer as the Microsoft identity platform and Google's OAuth 2.0
// server document it; tenant, client and key values are made up.

const (
	testTenant       = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	testClientID     = "535fb089-9ff3-47b6-9bfb-4f1264799865"
	testClientSecret = "qWgdYAmab0YSkuL1qKv5bPX~sEcr3t.VaLue"
	otherTenant      = "0c4b2f5e-1111-4a0b-9e0e-3c5d1f7a9b21"
)

func entraSecret(secret string) string {
	b, _ := json.Marshal(map[string]string{"tenant_id": testTenant, "client_id": testClientID, "client_secret": secret})
	return string(b)
}

// entraTokenServer is /{tenant}/oauth2/v2.0/token: it checks the client-credentials request and
// mints "minted-<n>" tokens valid for an hour, or refuses a wrong secret as Entra does.
func entraTokenServer(t *testing.T, minted *atomic.Int32) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store, no-cache")
		if r.Method != http.MethodPost || r.URL.Path != "/"+testTenant+"/oauth2/v2.0/token" ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"AADSTS900144: bad request"}`))
			return
		}
		if err := r.ParseForm(); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f := r.PostForm
		if f.Get("grant_type") != "client_credentials" || f.Get("scope") != "https://graph.microsoft.com/.default" || f.Get("client_id") != testClientID {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"error":"invalid_request","error_description":"unexpected form %v"}`, f)
			return
		}
		if f.Get("client_secret") != testClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '` + testClientID + `'.\r\nTrace ID: 0d9c1d52-4f6b-4b53-a0ce-1bd8f6fd2b00\r\nCorrelation ID: 3f5e1ab2-7a9c-4d1e-8f0a-5b6c7d8e9f00\r\nTimestamp: 2024-03-04 12:00:00Z","error_codes":[7000215],"timestamp":"2024-03-04 12:00:00Z","trace_id":"0d9c1d52-4f6b-4b53-a0ce-1bd8f6fd2b00","correlation_id":"3f5e1ab2-7a9c-4d1e-8f0a-5b6c7d8e9f00","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`))
			return
		}
		n := minted.Add(1)
		_, _ = fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"minted-%d"}`, n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type graphData struct {
	signIns [][]string                  // pages, newest first
	grants  [][]string                  // pages
	sps     map[string]string           // service principal id → object
	users   map[string]string           // user id → object
	fail    func(r *http.Request) []int // optional: statuses to answer first, per request path
}

// graphServer serves sign-ins, oauth2PermissionGrants and servicePrincipals/{id} to requests
// that carry wantAuth, paging with @odata.nextLink.
func graphServer(t *testing.T, rec *recorder, wantAuth *atomic.Value, d graphData) *httptest.Server {
	var srv *httptest.Server
	failures := map[string]int{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != wantAuth.Load().(string) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`))
			return
		}
		if d.fail != nil {
			if codes := d.fail(r); failures[r.URL.Path] < len(codes) {
				code := codes[failures[r.URL.Path]]
				failures[r.URL.Path]++
				if code == http.StatusTooManyRequests {
					w.Header().Set("Retry-After", "7")
				}
				w.WriteHeader(code)
				_, _ = w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"Too many requests."}}`))
				return
			}
		}
		paged := func(pages [][]string, ctx string) {
			i := 0
			_, _ = fmt.Sscan(r.URL.Query().Get("$skiptoken"), &i)
			out := map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#" + ctx, "value": json.RawMessage(arr(pages[i]...))}
			if i+1 < len(pages) {
				out["@odata.nextLink"] = fmt.Sprintf("%s%s?$skiptoken=%d", srv.URL, r.URL.Path, i+1)
			}
			_ = json.NewEncoder(w).Encode(out)
		}
		switch {
		case r.URL.Path == "/v1.0/auditLogs/signIns":
			paged(d.signIns, "auditLogs/signIns")
		case r.URL.Path == "/v1.0/oauth2PermissionGrants":
			paged(d.grants, "oauth2PermissionGrants")
		case strings.HasPrefix(r.URL.Path, "/v1.0/servicePrincipals/"):
			id := strings.TrimPrefix(r.URL.Path, "/v1.0/servicePrincipals/")
			sp, ok := d.sps[id]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				_, _ = fmt.Fprintf(w, `{"error":{"code":"Request_ResourceNotFound","message":"Resource '%s' does not exist or one of its queried reference-property objects are not present."}}`, id)
				return
			}
			if r.URL.Query().Get("$select") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appId,appDisplayName,displayName,appOwnerOrganizationId)/$entity",` + sp[1:]))
		case r.URL.Path == "/v1.0/users":
			// $filter=id in ('…','…'), at most 15 values, as Graph allows.
			list, ok := strings.CutPrefix(r.URL.Query().Get("$filter"), "id in (")
			ids := strings.Split(strings.TrimSuffix(list, ")"), ",")
			if !ok || len(ids) > 15 || r.URL.Query().Get("$select") == "" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			var found []string
			for _, id := range ids {
				if u, ok := d.users[strings.Trim(id, "'")]; ok {
					found = append(found, u)
				}
			}
			_, _ = fmt.Fprintf(w, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,mail)","value":%s}`, arr(found...))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func authValue(s string) *atomic.Value {
	var v atomic.Value
	v.Store(s)
	return &v
}

func newEntraSource(t *testing.T, env pullEnv, baseURL, secret string) discovery.Source {
	t.Helper()
	src, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "entra", Name: "tenant", BaseURL: baseURL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestEntraPullMintsClientCredentialsTokenOnce(t *testing.T) {
	env := newPullEnv(t)
	var minted atomic.Int32
	tok := entraTokenServer(t, &minted)
	rec := &recorder{}
	graph := graphServer(t, rec, authValue("Bearer minted-1"), graphData{
		signIns: [][]string{
			{entraSignIns[0], entraSignIns[1]},
			{entraSignIns[2], entraSignIns[3]},
			{entraSignIns[4], entraSignIns[5]},
		},
		grants: [][]string{{}},
	})
	src := newEntraSource(t, env, graph.URL, entraSecret(testClientSecret))
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts(), TokenURL: tok.URL + "/{tenant}/oauth2/v2.0/token"}
	p.Now = func() time.Time { return time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC) }

	res, err := env.pull(t, src.ID, p)
	if err != nil || res.Pages != 3 || res.New != 6 {
		t.Fatalf("pull: %+v, %v", res, err)
	}
	// A second pull within the hour reuses the token.
	if _, err := env.pull(t, src.ID, p); err != nil {
		t.Fatal(err)
	}
	if n := minted.Load(); n != 1 {
		t.Errorf("%d tokens minted for two pulls of several pages, want 1", n)
	}
	reqs := rec.all()
	if len(reqs) < 8 {
		t.Fatalf("%d Graph requests, want 3 pages + grants per pull", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Authorization"); got != "Bearer minted-1" {
			t.Errorf("%s sent Authorization %q, want the minted token", r.URL.Path, got)
		}
	}
}

func TestEntraPullBadClientSecretIsClearLastError(t *testing.T) {
	env := newPullEnv(t)
	var minted atomic.Int32
	tok := entraTokenServer(t, &minted)
	rec := &recorder{}
	graph := graphServer(t, rec, authValue("Bearer minted-1"), graphData{signIns: [][]string{{}}, grants: [][]string{{}}})
	const wrong = "wr0ng~Secret.Value"
	src := newEntraSource(t, env, graph.URL, entraSecret(wrong))
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts(), TokenURL: tok.URL + "/{tenant}/oauth2/v2.0/token"}

	_, err := env.pull(t, src.ID, p)
	var te *discovery.TokenError
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("want a *TokenError with HTTP 401, got %v", err)
	}
	last := env.reload(t, src.ID).LastError
	for _, want := range []string{"invalid_client", "AADSTS7000215", testClientID, testTenant} {
		if !strings.Contains(last, want) {
			t.Errorf("last_error %q lacks %q", last, want)
		}
	}
	if strings.Contains(last, wrong) || strings.Contains(err.Error(), wrong) || strings.Contains(last, "Trace ID") {
		t.Errorf("last_error shows the secret or Entra's trace lines: %q", last)
	}
	if len(rec.all()) != 0 {
		t.Errorf("Graph was called %d times without a token", len(rec.all()))
	}
}

func TestEntraPullMintsAgainAfterGraphRefusesToken(t *testing.T) {
	env := newPullEnv(t)
	var minted atomic.Int32
	tok := entraTokenServer(t, &minted)
	rec := &recorder{}
	auth := authValue("Bearer minted-2") // the first token is revoked
	graph := graphServer(t, rec, auth, graphData{signIns: [][]string{{entraSignIns[0]}}, grants: [][]string{{}}})
	src := newEntraSource(t, env, graph.URL, entraSecret(testClientSecret))
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts(), TokenURL: tok.URL + "/{tenant}/oauth2/v2.0/token", SkipGrants: true}
	if _, err := env.pull(t, src.ID, p); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("want a 401, got %v", err)
	}
	if res, err := env.pull(t, src.ID, p); err != nil || res.New != 1 || minted.Load() != 2 {
		t.Fatalf("after a 401 the next pull should mint a new token: %+v, %v, %d minted", res, err, minted.Load())
	}
}

func servicePrincipal(id, appID, name, owner string) string {
	return fmt.Sprintf(`{"id":%q,"appId":%q,"appDisplayName":%q,"displayName":%q,"appOwnerOrganizationId":%q}`, id, appID, name, name, owner)
}

func grant(id, clientID, consentType, principalID, scope string) string {
	p := "null"
	if principalID != "" {
		p = fmt.Sprintf("%q", principalID)
	}
	return fmt.Sprintf(`{"clientId":%q,"consentType":%q,"id":%q,"principalId":%s,"resourceId":"a0f6b7c2-0000-4e5f-9d1e-7e2f3a4b5c6d","scope":%q}`,
		clientID, consentType, id, p, scope)
}

func TestEntraPullGrantsJoinsServicePrincipalsOnce(t *testing.T) {
	env := newPullEnv(t)
	var minted atomic.Int32
	tok := entraTokenServer(t, &minted)
	rec := &recorder{}
	const (
		zoomSP, zoomApp   = "11111111-aaaa-4bbb-8ccc-000000000001", "4e8c2f9a-1c2d-4e5f-a6b7-c8d9e0f1a2b3"
		miroSP, miroApp   = "11111111-aaaa-4bbb-8ccc-000000000002", "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
		graphSP, teamsSP  = "11111111-aaaa-4bbb-8ccc-000000000003", "11111111-aaaa-4bbb-8ccc-000000000004"
		ownSP, deletedSP  = "11111111-aaaa-4bbb-8ccc-000000000005", "11111111-aaaa-4bbb-8ccc-000000000006"
		anaID, microsoftT = "b25ad4d8-0000-4000-8000-000000000001", "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	)
	graph := graphServer(t, rec, authValue("Bearer minted-1"), graphData{
		signIns: [][]string{{}},
		grants: [][]string{
			{
				grant("g-zoom-all", zoomSP, "AllPrincipals", "", " User.Read openid profile"),
				grant("g-miro-ana", miroSP, "Principal", anaID, "User.Read offline_access"),
				grant("g-teams", teamsSP, "AllPrincipals", "", "User.Read"),
			},
			{
				grant("g-zoom-ana", zoomSP, "Principal", anaID, "Calendars.Read"),
				grant("g-own", ownSP, "AllPrincipals", "", "User.Read"),
				grant("g-deleted", deletedSP, "Principal", anaID, "User.Read"),
			},
		},
		sps: map[string]string{
			zoomSP:  servicePrincipal(zoomSP, zoomApp, "Zoom", otherTenant),
			miroSP:  servicePrincipal(miroSP, miroApp, "Miro", "2b2c3d4e-0000-4a0b-9e0e-3c5d1f7a9b21"),
			teamsSP: servicePrincipal(teamsSP, "1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", microsoftT),
			ownSP:   servicePrincipal(ownSP, "77777777-0000-4000-8000-000000000007", "Payroll (in-house)", testTenant),
			graphSP: servicePrincipal(graphSP, "00000003-0000-0000-c000-000000000000", "Microsoft Graph", microsoftT),
		},
		users: map[string]string{
			anaID: fmt.Sprintf(`{"id":%q,"userPrincipalName":"Ana.Lima@contoso.example","mail":"ana.lima@contoso.example"}`, anaID),
		},
		// Graph throttles the grant list once and fails a service principal once.
		fail: func(r *http.Request) []int {
			switch {
			case r.URL.Path == "/v1.0/oauth2PermissionGrants":
				return []int{http.StatusTooManyRequests}
			case strings.HasSuffix(r.URL.Path, miroSP):
				return []int{http.StatusServiceUnavailable}
			}
			return nil
		},
	})
	src := newEntraSource(t, env, graph.URL, entraSecret(testClientSecret))
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts(), TokenURL: tok.URL + "/{tenant}/oauth2/v2.0/token"}
	now := time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }

	res, err := env.pull(t, src.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if res.Pages != 2 || res.New != 3 || res.Rejected != 0 {
		t.Errorf("first pull %+v: want 2 grant pages and 3 third-party grants (Zoom for all, Zoom and Miro for Ana)", res)
	}
	if len(sl.d) < 1 || sl.d[0] != 7*time.Second {
		t.Errorf("waits %v, want Retry-After's 7 s for the throttled grant list", sl.d)
	}
	spCalls := map[string]int{}
	for _, r := range rec.all() {
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1.0/servicePrincipals/"); ok {
			spCalls[id]++
		}
	}
	if spCalls[zoomSP] != 1 || spCalls[miroSP] != 2 || spCalls[deletedSP] != 1 || spCalls[graphSP] != 0 {
		t.Errorf("service principal requests %v: want each client once per pull (Miro retried after its 503)", spCalls)
	}

	type row struct {
		SourceEventID string    `db:"source_event_id"`
		AppKey        string    `db:"app_key"`
		AppName       string    `db:"app_name"`
		UserKey       string    `db:"user_key"`
		Kind          string    `db:"kind"`
		OccurredAt    time.Time `db:"occurred_at"`
	}
	var rows []row
	if err := env.d.Select(&rows, `SELECT source_event_id, app_key, app_name, user_key, kind, occurred_at FROM usage_events ORDER BY source_event_id`); err != nil {
		t.Fatal(err)
	}
	want := []row{
		// Ana's grants count under her e-mail, like her sign-ins.
		{"grant:g-miro-ana", "entra:" + miroApp, "Miro", "ana.lima@contoso.example", "oauth_grant", now},
		{"grant:g-zoom-all", "entra:" + zoomApp, "Zoom", "", "oauth_grant", now},
		{"grant:g-zoom-ana", "entra:" + zoomApp, "Zoom", "ana.lima@contoso.example", "oauth_grant", now},
	}
	if len(rows) != len(want) {
		t.Fatalf("stored %+v, want %+v", rows, want)
	}
	for i := range want {
		rows[i].OccurredAt = rows[i].OccurredAt.UTC()
		if rows[i] != want[i] {
			t.Errorf("event %d: %+v, want %+v", i, rows[i], want[i])
		}
	}

	// The grants are read again on every pull and add nothing; their user is not asked for again.
	res, err = env.pull(t, src.ID, p)
	if err != nil || res.New != 0 || res.Duplicate != 3 || env.events(t) != 3 {
		t.Fatalf("second pull: %+v, %v, %d events", res, err, env.events(t))
	}
	userCalls := 0
	for _, r := range rec.all() {
		if r.URL.Path == "/v1.0/users" {
			userCalls++
		}
	}
	if userCalls != 1 {
		t.Errorf("%d user lookups over two pulls, want 1 (Ana, then from the cache)", userCalls)
	}
	if got := env.reload(t, src.ID); got.LastError != "" {
		t.Errorf("last_error %q", got.LastError)
	}
}

// testServiceAccount returns a service-account key file (as the Cloud console downloads it)
// for a fresh RSA key, and the key.
func testServiceAccount(t *testing.T, tokenURI string) (string, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	file := map[string]string{
		"type":                        "service_account",
		"project_id":                  "paved-test",
		"private_key_id":              "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a",
		"private_key":                 string(pemKey),
		"client_email":                "paved-reports@paved-test.iam.gserviceaccount.com",
		"client_id":                   "104870538791102541234",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURI,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/paved-reports%40paved-test.iam.gserviceaccount.com",
		"universe_domain":             "googleapis.com",
	}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b), key
}

// googleTokenServer checks a JWT-bearer assertion as Google's token endpoint does: RS256 signed
// by the service account's key, for the right issuer, subject, scope and audience. Only
// wantSubject has domain-wide delegation.
func googleTokenServer(t *testing.T, pub func() *rsa.PublicKey, wantSubject string, minted *atomic.Int32) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		refuse := func(status int, code, desc string) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
		}
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			refuse(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
			return
		}
		parts := strings.Split(r.PostForm.Get("assertion"), ".")
		if len(parts) != 3 {
			refuse(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
			return
		}
		sig, err1 := base64.RawURLEncoding.DecodeString(parts[2])
		hdrJSON, err2 := base64.RawURLEncoding.DecodeString(parts[0])
		claimsJSON, err3 := base64.RawURLEncoding.DecodeString(parts[1])
		sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := errors.Join(err1, err2, err3); err != nil || rsa.VerifyPKCS1v15(pub(), crypto.SHA256, sum[:], sig) != nil {
			refuse(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
			return
		}
		var hdr struct{ Alg, Kid string }
		var c struct {
			Iss, Sub, Scope, Aud string
			Iat, Exp             int64
		}
		if json.Unmarshal(hdrJSON, &hdr) != nil || json.Unmarshal(claimsJSON, &c) != nil || hdr.Alg != "RS256" || hdr.Kid != "3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a" {
			refuse(http.StatusBadRequest, "invalid_grant", "Invalid JWT header.")
			return
		}
		if c.Iss != "paved-reports@paved-test.iam.gserviceaccount.com" || c.Aud != srv.URL+"/token" || c.Exp <= c.Iat || c.Exp-c.Iat > 3600 {
			refuse(http.StatusBadRequest, "invalid_grant", fmt.Sprintf("Invalid JWT claims: iss %q aud %q", c.Iss, c.Aud))
			return
		}
		if c.Sub != wantSubject || c.Scope != "https://www.googleapis.com/auth/admin.reports.audit.readonly" {
			refuse(http.StatusUnauthorized, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
		n := minted.Add(1)
		_, _ = fmt.Fprintf(w, `{"access_token":"ya29.minted-%d","expires_in":3599,"token_type":"Bearer"}`, n)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGooglePullMintsServiceAccountTokenOnce(t *testing.T) {
	env := newPullEnv(t)
	var (
		minted atomic.Int32
		pub    *rsa.PublicKey
	)
	tok := googleTokenServer(t, func() *rsa.PublicKey { return pub }, "admin@northwind.example", &minted)
	keyFile, key := testServiceAccount(t, tok.URL+"/token")
	pub = &key.PublicKey

	rec := &recorder{}
	reports := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.Header.Get("Authorization") != "Bearer ya29.minted-1" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}`))
			return
		}
		out := map[string]any{"kind": "admin#reports#activities"}
		switch r.URL.Path {
		case "/admin/reports/v1/activity/users/all/applications/token":
			if r.URL.Query().Get("pageToken") == "" {
				out["items"] = json.RawMessage(arr(googleActivity("2024-03-07T08:00:00.000Z", "1", "Miro")))
				out["nextPageToken"] = "A:1709798400000:-1:token:p2"
			} else {
				out["items"] = json.RawMessage(arr(googleActivity("2024-03-07T07:00:00.000Z", "2", "Canva")))
			}
		case "/admin/reports/v1/activity/users/all/applications/saml":
			out["items"] = json.RawMessage(arr(googleActivity("2024-03-07T06:00:00.000Z", "3", "Notion")))
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(reports.Close)

	secret, err := discovery.WithGoogleSubject(keyFile, "admin@northwind.example")
	if err != nil {
		t.Fatal(err)
	}
	src, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "google", Name: "workspace", BaseURL: reports.URL, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	p := &discovery.GooglePuller{PullHTTP: sl.httpOpts()}
	p.Now = func() time.Time { return time.Date(2024, 3, 7, 12, 0, 0, 0, time.UTC) }
	res, err := env.pull(t, src.ID, p)
	if err != nil || res.Pages != 3 || res.New != 3 {
		t.Fatalf("pull: %+v, %v", res, err)
	}
	if _, err := env.pull(t, src.ID, p); err != nil {
		t.Fatal(err)
	}
	if n := minted.Load(); n != 1 {
		t.Errorf("%d tokens minted for two pulls of three pages, want 1", n)
	}
	if n := len(rec.all()); n != 6 {
		t.Errorf("%d Reports API requests, want 6", n)
	}

	// A subject without delegation: a clear error naming the account, never the key.
	src2, err := env.st.CreateSource(context.Background(), audit.System, discovery.Source{Kind: "google", Name: "other", BaseURL: reports.URL,
		Secret: strings.Replace(secret, "admin@northwind.example", "ceo@northwind.example", 1)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.pull(t, src2.ID, p)
	last := env.reload(t, src2.ID).LastError
	if err == nil || !strings.Contains(last, "unauthorized_client") || !strings.Contains(last, "paved-reports@paved-test.iam.gserviceaccount.com") ||
		!strings.Contains(last, "ceo@northwind.example") || strings.Contains(last, "PRIVATE KEY") {
		t.Errorf("pull as an undelegated subject: last_error %q", last)
	}
}

func TestSourceSecretFormsAreValidated(t *testing.T) {
	env := newPullEnv(t)
	ctx := context.Background()
	keyFile, _ := testServiceAccount(t, "https://oauth2.googleapis.com/token")
	withSubject, err := discovery.WithGoogleSubject(keyFile, "admin@corp.example")
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]any
	_ = json.Unmarshal([]byte(withSubject), &key)
	edit := func(change func(map[string]any)) string {
		m := map[string]any{}
		for k, v := range key {
			m[k] = v
		}
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, tc := range []struct {
		kind, secret, field, want string
	}{
		{"okta", `{"token":"x"}`, "secret", "API token"},
		{"entra", `{"tenant_id":"` + testTenant + `","client_id":"` + testClientID + `"}`, "secret", "client_secret"},
		{"entra", `{"client_secret":"` + testClientSecret + `"}`, "secret", "tenant_id, client_id"},
		{"entra", `{"tenant_id": "x", "client_secret": "` + testClientSecret + `"`, "secret", "not valid JSON"},
		{"entra", `{"tenant_id":"a/b","client_id":"c","client_secret":"` + testClientSecret + `"}`, "secret", "tenant_id"},
		{"google", keyFile, "subject", "subject"},
		{"google", edit(func(m map[string]any) { m["subject"] = "not an address" }), "subject", "e-mail"},
		{"google", edit(func(m map[string]any) { m["type"] = "authorized_user" }), "secret", "service_account"},
		{"google", edit(func(m map[string]any) { delete(m, "client_email") }), "secret", "client_email"},
		{"google", edit(func(m map[string]any) {
			m["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
		}), "secret", "private_key"},
		{"google", edit(func(m map[string]any) { m["token_uri"] = "http://evil.example/token" }), "secret", "token_uri"},
		{"google", "  ", "secret", "API token"},
	} {
		_, err := env.st.CreateSource(ctx, audit.System, discovery.Source{Kind: tc.kind, Name: "s", BaseURL: "https://graph.microsoft.com", Secret: tc.secret})
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || !strings.Contains(e.Fields[tc.field], tc.want) {
			t.Errorf("%s secret %.40q: got %v, want a %s field error about %q", tc.kind, tc.secret, err, tc.field, tc.want)
			continue
		}
		if strings.Contains(err.Error(), testClientSecret) || strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	for i, ok := range []struct{ kind, secret string }{
		{"entra", entraSecret(testClientSecret)},
		{"entra", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.bearer"},
		{"google", withSubject},
		{"google", "ya29.a0AfH6SMBbearer"},
	} {
		if _, err := env.st.CreateSource(ctx, audit.System, discovery.Source{Kind: ok.kind, Name: fmt.Sprint("ok ", i), BaseURL: "https://graph.microsoft.com", Secret: ok.secret}); err != nil {
			t.Errorf("%s secret %d refused: %v", ok.kind, i, err)
		}
	}
	// Replacing a secret is checked against the source's kind too.
	src, err := env.st.CreateSource(ctx, audit.System, discovery.Source{Kind: "entra", Name: "replace", BaseURL: "https://graph.microsoft.com", Secret: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.st.SetSourceSecret(ctx, audit.System, src.ID, `{"tenant_id":"t"}`); err == nil || !strings.Contains(err.Error(), "client_id, client_secret") {
		t.Errorf("SetSourceSecret with incomplete credentials: %v", err)
	}
	if err := env.st.SetSourceSecret(ctx, audit.System, src.ID, entraSecret(testClientSecret)); err != nil {
		t.Errorf("SetSourceSecret: %v", err)
	}
}

func TestLoadSourcesFileAddsGoogleSubject(t *testing.T) {
	env := newPullEnv(t)
	keyFile, _ := testServiceAccount(t, "https://oauth2.googleapis.com/token")
	path := filepath.Join(t.TempDir(), "sources.json")
	write := func(spec string) {
		if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getenv := func(k string) string {
		return map[string]string{"GOOGLE_SA_KEY": keyFile, "ENTRA_CREDENTIALS": entraSecret(testClientSecret)}[k]
	}
	write(`[{"kind":"google","name":"workspace","base_url":"https://admin.googleapis.com","secret_env":"GOOGLE_SA_KEY"}]`)
	if _, err := env.st.LoadSourcesFile(context.Background(), path, getenv); err == nil || !strings.Contains(err.Error(), "subject") {
		t.Errorf("a key without subject: %v", err)
	}
	write(`[{"kind":"google","name":"workspace","base_url":"https://admin.googleapis.com","secret_env":"GOOGLE_SA_KEY","subject":"admin@corp.example"},
		{"kind":"entra","name":"corp","base_url":"https://graph.microsoft.com","secret_env":"ENTRA_CREDENTIALS"}]`)
	if n, err := env.st.LoadSourcesFile(context.Background(), path, getenv); err != nil || n != 2 {
		t.Fatalf("load: %d, %v", n, err)
	}
	var secret string
	if err := env.d.Get(&secret, "SELECT secret FROM discovery_sources WHERE name = 'workspace'"); err != nil {
		t.Fatal(err)
	}
	var k struct{ Subject, ClientEmail string }
	if err := json.Unmarshal([]byte(secret), &k); err != nil || k.Subject != "admin@corp.example" {
		t.Errorf("stored key has subject %q (%v)", k.Subject, err)
	}
}

// TestEntraPullGrantsLooksUpUsersFifteenAtATime names 20 users by object id in the grants: the
// pull asks Graph for them 15 to a request (its limit for "id in") and stores every grant under
// its user's e-mail.
func TestEntraPullGrantsLooksUpUsersFifteenAtATime(t *testing.T) {
	env := newPullEnv(t)
	var minted atomic.Int32
	tok := entraTokenServer(t, &minted)
	rec := &recorder{}
	const sp, app = "11111111-aaaa-4bbb-8ccc-000000000001", "4e8c2f9a-1c2d-4e5f-a6b7-c8d9e0f1a2b3"
	var grants []string
	users := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("b25ad4d8-0000-4000-8000-%012d", i)
		grants = append(grants, grant(fmt.Sprintf("g-%d", i), sp, "Principal", id, "User.Read"))
		users[id] = fmt.Sprintf(`{"id":%q,"userPrincipalName":"user%d@contoso.example","mail":null}`, id, i)
	}
	graph := graphServer(t, rec, authValue("Bearer minted-1"), graphData{
		signIns: [][]string{{}},
		grants:  [][]string{grants},
		sps:     map[string]string{sp: servicePrincipal(sp, app, "Zoom", otherTenant)},
		users:   users,
	})
	src := newEntraSource(t, env, graph.URL, entraSecret(testClientSecret))
	var sl sleeps
	p := &discovery.EntraPuller{PullHTTP: sl.httpOpts(), TokenURL: tok.URL + "/{tenant}/oauth2/v2.0/token"}
	if res, err := env.pull(t, src.ID, p); err != nil || res.New != 20 {
		t.Fatalf("pull: %+v, %v", res, err)
	}
	var byEmail int
	if err := env.d.Get(&byEmail, "SELECT COUNT(*) FROM usage_events WHERE user_key LIKE 'user%@contoso.example'"); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, r := range rec.all() {
		if r.URL.Path == "/v1.0/users" {
			calls++
		}
	}
	if byEmail != 20 || calls != 2 {
		t.Errorf("%d grants stored under an e-mail with %d user lookups; want 20 with 2", byEmail, calls)
	}
}
