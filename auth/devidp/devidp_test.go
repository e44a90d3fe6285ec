package devidp_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/pavedhq/paved/auth/devidp"
)

// testEnv is a portal-shaped origin: the provider mounted under /devidp/ next to the
// (imaginary) portal routes, and a real relying party built from go-oidc and oauth2.
type testEnv struct {
	provider      *devidp.Provider
	issuer        string
	clientID      string
	redirectURI   string
	postLogoutURI string
	clock         *testClock
	rp            *oidc.Provider
	oauth         oauth2.Config
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const testSecret = "dev-secret"

func newEnv(t *testing.T, configure func(*devidp.Config)) *testEnv {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	// The listener exists before Start, so the issuer can name the real port.
	origin := "http://" + srv.Listener.Addr().String()
	clock := &testClock{now: time.Now()}
	cfg := devidp.Config{
		Issuer:                 origin + "/devidp",
		ClientID:               "paved",
		ClientSecret:           testSecret,
		RedirectURIs:           []string{origin + "/auth/callback"},
		PostLogoutRedirectURIs: []string{origin + "/signed-out"},
		Logger:                 slog.New(slog.DiscardHandler),
		Now:                    clock.Now,
	}
	if configure != nil {
		configure(&cfg)
	}
	p, err := devidp.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux.Handle("/devidp/", p.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "portal route", http.StatusTeapot)
	})
	srv.Start()
	t.Cleanup(srv.Close)

	rp, err := oidc.NewProvider(t.Context(), cfg.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &testEnv{
		provider:      p,
		issuer:        cfg.Issuer,
		clientID:      cfg.ClientID,
		redirectURI:   cfg.RedirectURIs[0],
		postLogoutURI: cfg.PostLogoutRedirectURIs[0],
		clock:         clock,
		rp:            rp,
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     rp.Endpoint(),
			RedirectURL:  cfg.RedirectURIs[0],
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
	}
}

// browser follows redirects like a browser but stops at the client's redirect and
// post-logout URIs, where the portal would take over, and keeps cookies.
func (e *testEnv) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			u := req.URL.String()
			if strings.HasPrefix(u, e.redirectURI) || strings.HasPrefix(u, e.postLogoutURI) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// flow is one authorization attempt as the relying party remembers it.
type flow struct {
	state, nonce, verifier string
}

func newFlow() flow {
	return flow{
		state:    "state-" + oauth2.GenerateVerifier()[:12],
		nonce:    "nonce-" + oauth2.GenerateVerifier()[:12],
		verifier: oauth2.GenerateVerifier(),
	}
}

func (f flow) authURL(conf oauth2.Config) string {
	return conf.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
}

var authRequestIDField = regexp.MustCompile(`name="authRequestID" value="([^"]+)"`)

// openLogin starts an authorization request and returns the sign-in page.
func (e *testEnv) openLogin(t *testing.T, browser *http.Client, authURL string) (body string, authRequestID string) {
	t.Helper()
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize ended at %s with %d: %s", resp.Request.URL, resp.StatusCode, b)
	}
	if got, want := resp.Request.URL.Path, "/devidp/login"; got != want {
		t.Fatalf("authorize redirected to %s, want the sign-in page %s", got, want)
	}
	m := authRequestIDField.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("sign-in page has no authRequestID field:\n%s", b)
	}
	return string(b), m[1]
}

// submitLogin posts the sign-in form and returns where the browser was sent at the end.
func (e *testEnv) submitLogin(t *testing.T, browser *http.Client, form url.Values) *url.URL {
	t.Helper()
	resp, err := browser.PostForm(e.issuer+"/login", form)
	if err != nil {
		t.Fatalf("POST login: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in ended at %s with %d, want a redirect to the client: %s", resp.Request.URL, resp.StatusCode, b)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("redirect without Location: %v", err)
	}
	if !strings.HasPrefix(loc.String(), e.redirectURI+"?") {
		t.Fatalf("redirected to %s, want the client's redirect URI %s", loc, e.redirectURI)
	}
	return loc
}

func subjectOf(t *testing.T, email string) string {
	t.Helper()
	for _, u := range devidp.DemoUsers() {
		if u.Email == email {
			return u.Subject
		}
	}
	t.Fatalf("no demo user %s", email)
	return ""
}

// signIn runs the browser part of the flow as the demo user with email and returns
// the authorization code.
func (e *testEnv) signIn(t *testing.T, f flow, email string) string {
	t.Helper()
	browser := e.browser(t)
	_, id := e.openLogin(t, browser, f.authURL(e.oauth))
	loc := e.submitLogin(t, browser, url.Values{"authRequestID": {id}, "user": {subjectOf(t, email)}})
	q := loc.Query()
	if q.Get("state") != f.state {
		t.Fatalf("state = %q, want %q", q.Get("state"), f.state)
	}
	if q.Get("error") != "" {
		t.Fatalf("error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	return code
}

type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name"`
	Groups        []string `json:"groups"`
}

func (e *testEnv) verifyIDToken(t *testing.T, tok *oauth2.Token) (*oidc.IDToken, string) {
	t.Helper()
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("token response has no id_token")
	}
	idToken, err := e.rp.Verifier(&oidc.Config{ClientID: e.clientID}).Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	return idToken, raw
}

func requireRetrieveError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want an OAuth error %s", err, code)
	}
	if re.ErrorCode != code {
		t.Fatalf("error code = %q (%s), want %q", re.ErrorCode, re.ErrorDescription, code)
	}
}

func TestDemoUsers(t *testing.T) {
	want := map[string][]string{
		"employee@example.com":  {"paved-employees"},
		"committee@example.com": {"paved-employees", "paved-committee"},
		"security@example.com":  {"paved-employees", "paved-security"},
		"admin@example.com":     {"paved-employees", "paved-admins"},
	}
	users := devidp.DemoUsers()
	if len(users) != len(want) {
		t.Fatalf("%d demo users, want %d", len(users), len(want))
	}
	subjects := map[string]bool{}
	for _, u := range users {
		if !slices.Equal(u.Groups, want[u.Email]) {
			t.Errorf("%s groups = %v, want %v", u.Email, u.Groups, want[u.Email])
		}
		if u.Subject == "" || u.Name == "" || subjects[u.Subject] {
			t.Errorf("%s: subject %q must be set and unique, name %q set", u.Email, u.Subject, u.Name)
		}
		subjects[u.Subject] = true
	}
	// Subjects are stable: data created by a demo user must survive a restart.
	again := devidp.DemoUsers()
	for i := range users {
		if users[i].Subject != again[i].Subject {
			t.Errorf("subject of %s changed between calls", users[i].Email)
		}
	}
}

func TestDiscoveryAndKeys(t *testing.T) {
	e := newEnv(t, nil)
	var d struct {
		Issuer              string   `json:"issuer"`
		AuthorizationURL    string   `json:"authorization_endpoint"`
		TokenURL            string   `json:"token_endpoint"`
		UserinfoURL         string   `json:"userinfo_endpoint"`
		EndSessionURL       string   `json:"end_session_endpoint"`
		JWKSURL             string   `json:"jwks_uri"`
		CodeMethods         []string `json:"code_challenge_methods_supported"`
		AuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
		Claims              []string `json:"claims_supported"`
		Scopes              []string `json:"scopes_supported"`
		IDTokenSigningAlgs  []string `json:"id_token_signing_alg_values_supported"`
		ResponseTypesSupprt []string `json:"response_types_supported"`
	}
	if err := e.rp.Claims(&d); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != e.issuer {
		t.Errorf("issuer = %q, want %q", d.Issuer, e.issuer)
	}
	for name, got := range map[string]string{
		"authorization_endpoint": d.AuthorizationURL,
		"token_endpoint":         d.TokenURL,
		"userinfo_endpoint":      d.UserinfoURL,
		"end_session_endpoint":   d.EndSessionURL,
		"jwks_uri":               d.JWKSURL,
	} {
		if !strings.HasPrefix(got, e.issuer+"/") {
			t.Errorf("%s = %q, want it under the issuer %s", name, got, e.issuer)
		}
	}
	for _, c := range []struct {
		name string
		list []string
		want string
	}{
		{"code_challenge_methods_supported", d.CodeMethods, "S256"},
		{"token_endpoint_auth_methods_supported", d.AuthMethods, "client_secret_basic"},
		{"token_endpoint_auth_methods_supported", d.AuthMethods, "client_secret_post"},
		{"claims_supported", d.Claims, "groups"},
		{"claims_supported", d.Claims, "email_verified"},
		{"scopes_supported", d.Scopes, "email"},
		{"scopes_supported", d.Scopes, "profile"},
		{"id_token_signing_alg_values_supported", d.IDTokenSigningAlgs, "RS256"},
	} {
		if !slices.Contains(c.list, c.want) {
			t.Errorf("%s = %v, want it to contain %s", c.name, c.list, c.want)
		}
	}

	resp, err := http.Get(d.JWKSURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			Kty, Alg, Use, Kid, N string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(jwks.Keys))
	}
	k := jwks.Keys[0]
	n, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil {
		t.Fatal(err)
	}
	if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.Kid == "" || new(big.Int).SetBytes(n).BitLen() != 2048 {
		t.Errorf("JWKS key = %s/%s/%s kid %q with %d-bit modulus, want RSA/RS256/sig, a kid and 2048 bits",
			k.Kty, k.Alg, k.Use, k.Kid, new(big.Int).SetBytes(n).BitLen())
	}
}

func TestLoginPage(t *testing.T) {
	e := newEnv(t, nil)
	browser := e.browser(t)
	resp, err := browser.Get(newFlow().authURL(e.oauth))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/devidp/login" {
		t.Fatalf("authorize ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	for _, want := range []string{
		"<title>Paved dev sign-in</title>",
		"Development identity provider — not for production",
		`<form method="post" action="/devidp/login">`,
		`name="cancel"`,
		`href="/devidp/static/devidp.css"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-in page lacks %q", want)
		}
	}
	for _, u := range devidp.DemoUsers() {
		button := `name="user" value="` + u.Subject + `"`
		if !strings.Contains(body, button) || !strings.Contains(body, u.Name) ||
			!strings.Contains(body, u.Email) || !strings.Contains(body, strings.Join(u.Groups, ", ")) {
			t.Errorf("sign-in page lacks a button with name, e-mail and groups for %s", u.Email)
		}
	}
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Error("sign-in page contains a script element")
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy = %q, want no script and no framing", csp)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	css, err := http.Get(e.issuer + "/static/devidp.css")
	if err != nil {
		t.Fatal(err)
	}
	css.Body.Close()
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

func TestCodeFlowIssuesVerifiedIDToken(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	code := e.signIn(t, f, "security@example.com")

	tok, err := e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idToken, _ := e.verifyIDToken(t, tok)
	if idToken.Issuer != e.issuer {
		t.Errorf("iss = %q, want %q", idToken.Issuer, e.issuer)
	}
	if !slices.Equal(idToken.Audience, []string{e.clientID}) {
		t.Errorf("aud = %v, want [%s]", idToken.Audience, e.clientID)
	}
	if idToken.Nonce != f.nonce {
		t.Errorf("nonce = %q, want %q", idToken.Nonce, f.nonce)
	}
	if want := subjectOf(t, "security@example.com"); idToken.Subject != want {
		t.Errorf("sub = %q, want %q", idToken.Subject, want)
	}
	var c idClaims
	if err := idToken.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Email != "security@example.com" || !c.EmailVerified || c.Name != "Sam Security" {
		t.Errorf("claims = %+v, want security@example.com, verified, Sam Security", c)
	}
	if want := []string{"paved-employees", "paved-security"}; !slices.Equal(c.Groups, want) {
		t.Errorf("groups = %v, want %v", c.Groups, want)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash does not match the access token: %v", err)
	}
}

func TestUserinfoReturnsGroups(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	tok, err := e.oauth.Exchange(t.Context(), e.signIn(t, f, "committee@example.com"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.rp.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var c idClaims
	if err := info.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if info.Subject != subjectOf(t, "committee@example.com") || info.Email != "committee@example.com" || !info.EmailVerified {
		t.Errorf("userinfo = %+v, want the committee user with a verified e-mail", info)
	}
	if want := []string{"paved-employees", "paved-committee"}; !slices.Equal(c.Groups, want) {
		t.Errorf("userinfo groups = %v, want %v", c.Groups, want)
	}
}

func TestReplayedCodeIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	code := e.signIn(t, f, "employee@example.com")
	tok, err := e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err = e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier))
	requireRetrieveError(t, err, "invalid_grant")

	// RFC 6749 §4.1.2: the tokens bought with a replayed code are revoked.
	if _, err := e.rp.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo still accepts the access token after its code was replayed")
	}
}

func TestWrongPKCEVerifierIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	code := e.signIn(t, f, "employee@example.com")
	_, err := e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	requireRetrieveError(t, err, "invalid_grant")

	// A code presented with a wrong verifier is spent: it must not work afterwards.
	_, err = e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier))
	requireRetrieveError(t, err, "invalid_grant")
}

func TestMissingPKCEIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	for name, authURL := range map[string]string{
		"no challenge":    e.oauth.AuthCodeURL("st", oidc.Nonce("n")),
		"plain challenge": e.oauth.AuthCodeURL("st", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("code_challenge_method", "plain")),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := e.browser(t).Get(authURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("no redirect back to the client (status %d)", resp.StatusCode)
			}
			if q := loc.Query(); q.Get("error") != "invalid_request" || q.Get("state") != "st" {
				t.Errorf("redirected to %s, want error=invalid_request with the state", loc)
			}
		})
	}
}

func TestCancelReturnsAccessDenied(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	browser := e.browser(t)
	_, id := e.openLogin(t, browser, f.authURL(e.oauth))
	loc := e.submitLogin(t, browser, url.Values{"authRequestID": {id}, "cancel": {"cancel"}})
	q := loc.Query()
	if q.Get("error") != "access_denied" || q.Get("state") != f.state || q.Get("code") != "" {
		t.Errorf("redirected to %s, want error=access_denied, state %q and no code", loc, f.state)
	}

	// The cancelled request is gone: picking a user for it afterwards fails.
	resp, err := browser.PostForm(e.issuer+"/login", url.Values{"authRequestID": {id}, "user": {subjectOf(t, "admin@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("sign-in after cancel: status %d, want 400", resp.StatusCode)
	}
}

func TestEndSession(t *testing.T) {
	e := newEnv(t, nil)
	var d struct {
		EndSessionURL string `json:"end_session_endpoint"`
	}
	if err := e.rp.Claims(&d); err != nil || d.EndSessionURL == "" {
		t.Fatalf("end_session_endpoint not advertised (%v)", err)
	}
	f := newFlow()
	tok, err := e.oauth.Exchange(t.Context(), e.signIn(t, f, "admin@example.com"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, rawIDToken := e.verifyIDToken(t, tok)

	t.Run("unregistered post-logout URI is refused", func(t *testing.T) {
		u := d.EndSessionURL + "?" + url.Values{
			"id_token_hint":            {rawIDToken},
			"post_logout_redirect_uri": {"https://evil.example/"},
		}.Encode()
		resp, err := e.browser(t).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Request.URL.Path != "/devidp/end_session" {
			t.Errorf("end_session with a foreign URI: status %d at %s, want 400 without redirect", resp.StatusCode, resp.Request.URL)
		}
	})

	t.Run("registered post-logout URI", func(t *testing.T) {
		u := d.EndSessionURL + "?" + url.Values{
			"id_token_hint":            {rawIDToken},
			"post_logout_redirect_uri": {e.postLogoutURI},
			"state":                    {"bye"},
		}.Encode()
		resp, err := e.browser(t).Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("end_session did not redirect (status %d)", resp.StatusCode)
		}
		if got, want := loc.String(), e.postLogoutURI+"?state=bye"; got != want {
			t.Errorf("end_session redirected to %s, want %s", got, want)
		}
		// Logging out revokes the user's access tokens.
		if _, err := e.rp.UserInfo(t.Context(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Error("userinfo still accepts the access token after end_session")
		}
	})

	t.Run("without a client it lands on the provider's page", func(t *testing.T) {
		resp, err := e.browser(t).Get(d.EndSessionURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/devidp/logged-out" || !strings.Contains(string(b), "signed out") {
			t.Errorf("end_session without client: %d at %s", resp.StatusCode, resp.Request.URL)
		}
	})
}

func TestClientAuthentication(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct {
		name    string
		style   oauth2.AuthStyle
		secret  string
		wantErr string
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader, testSecret, ""},
		{"client_secret_post", oauth2.AuthStyleInParams, testSecret, ""},
		{"wrong secret in header", oauth2.AuthStyleInHeader, "nope", "invalid_client"},
		{"wrong secret in body", oauth2.AuthStyleInParams, "nope", "invalid_client"},
		{"no secret", oauth2.AuthStyleInParams, "", "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := e.oauth
			conf.ClientSecret = c.secret
			conf.Endpoint.AuthStyle = c.style
			f := newFlow()
			tok, err := conf.Exchange(t.Context(), e.signIn(t, f, "employee@example.com"), oauth2.VerifierOption(f.verifier))
			if c.wantErr != "" {
				requireRetrieveError(t, err, c.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			e.verifyIDToken(t, tok)
		})
	}
}

func TestPublicClientNeedsOnlyPKCE(t *testing.T) {
	e := newEnv(t, func(c *devidp.Config) { c.ClientSecret = "" })
	e.oauth.ClientSecret = ""
	f := newFlow()
	tok, err := e.oauth.Exchange(t.Context(), e.signIn(t, f, "employee@example.com"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idToken, _ := e.verifyIDToken(t, tok)
	if idToken.Subject != subjectOf(t, "employee@example.com") {
		t.Errorf("sub = %q", idToken.Subject)
	}

	f = newFlow()
	_, err = e.oauth.Exchange(t.Context(), e.signIn(t, f, "employee@example.com"))
	requireRetrieveError(t, err, "invalid_request") // code_verifier required
}

func TestCodeExpires(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	code := e.signIn(t, f, "employee@example.com")
	e.clock.Advance(2 * time.Minute)
	_, err := e.oauth.Exchange(t.Context(), code, oauth2.VerifierOption(f.verifier))
	requireRetrieveError(t, err, "invalid_grant")
}

func TestSignInPageExpires(t *testing.T) {
	e := newEnv(t, nil)
	browser := e.browser(t)
	_, id := e.openLogin(t, browser, newFlow().authURL(e.oauth))
	e.clock.Advance(11 * time.Minute)
	resp, err := browser.PostForm(e.issuer+"/login", url.Values{"authRequestID": {id}, "user": {subjectOf(t, "employee@example.com")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "expired") {
		t.Errorf("stale sign-in: %d, want 400 with an explanation", resp.StatusCode)
	}
}

func TestSignInRefusesUnknownUserAndSecondPick(t *testing.T) {
	e := newEnv(t, nil)
	browser := e.browser(t)
	_, id := e.openLogin(t, browser, newFlow().authURL(e.oauth))

	post := func(user string) int {
		resp, err := browser.PostForm(e.issuer+"/login", url.Values{"authRequestID": {id}, "user": {user}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("no-such-user"); got != http.StatusBadRequest {
		t.Errorf("unknown user: status %d, want 400", got)
	}
	if got := post(subjectOf(t, "employee@example.com")); got != http.StatusFound {
		t.Errorf("first pick: status %d, want a redirect to the client", got)
	}
	if got := post(subjectOf(t, "admin@example.com")); got != http.StatusBadRequest {
		t.Errorf("second pick for the same request: status %d, want 400", got)
	}
}

func TestCrossOriginSignInIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	browser := e.browser(t)
	_, id := e.openLogin(t, browser, newFlow().authURL(e.oauth))
	form := url.Values{"authRequestID": {id}, "user": {subjectOf(t, "admin@example.com")}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.issuer+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-in POST: status %d, want 403", resp.StatusCode)
	}
}

func TestPromptNoneNeedsLogin(t *testing.T) {
	e := newEnv(t, nil)
	f := newFlow()
	resp, err := e.browser(t).Get(e.oauth.AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier), oauth2.SetAuthURLParam("prompt", "none")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("no redirect (status %d)", resp.StatusCode)
	}
	if q := loc.Query(); q.Get("error") != "login_required" || q.Get("state") != f.state {
		t.Errorf("prompt=none redirected to %s, want error=login_required with the state", loc)
	}
}

func TestHandlerServesOnlyBelowTheIssuerPath(t *testing.T) {
	p, err := devidp.New(t.Context(), devidp.Config{
		Issuer:       "http://127.0.0.1:8080/devidp",
		ClientID:     "paved",
		RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{
		"/devidp/.well-known/openid-configuration": http.StatusOK,
		"/devidp/keys":                      http.StatusOK,
		"/.well-known/openid-configuration": http.StatusNotFound, // mounted with the prefix stripped
		"/devidp":                           http.StatusNotFound,
		"/devidpx/keys":                     http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		p.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil))
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
	}
	if p.Issuer() != "http://127.0.0.1:8080/devidp" {
		t.Errorf("Issuer() = %q", p.Issuer())
	}
}

func TestNewValidatesConfig(t *testing.T) {
	valid := func() devidp.Config {
		return devidp.Config{
			Issuer:       "http://127.0.0.1:8080/devidp",
			ClientID:     "paved",
			RedirectURIs: []string{"http://127.0.0.1:8080/auth/callback"},
			Logger:       slog.New(slog.DiscardHandler),
		}
	}
	for _, c := range []struct {
		name   string
		change func(*devidp.Config)
		ok     bool
	}{
		{"valid loopback http", func(*devidp.Config) {}, true},
		{"localhost http", func(c *devidp.Config) { c.Issuer = "http://localhost:8080/devidp" }, true},
		{"IPv6 loopback http", func(c *devidp.Config) { c.Issuer = "http://[::1]:8080/devidp" }, true},
		{"https anywhere", func(c *devidp.Config) { c.Issuer = "https://paved.example.com/devidp" }, true},
		{"http on a public host", func(c *devidp.Config) { c.Issuer = "http://paved.example.com/devidp" }, false},
		{"trailing slash", func(c *devidp.Config) { c.Issuer = "http://127.0.0.1:8080/devidp/" }, false},
		{"relative issuer", func(c *devidp.Config) { c.Issuer = "/devidp" }, false},
		{"issuer with query", func(c *devidp.Config) { c.Issuer = "http://127.0.0.1:8080/devidp?x=1" }, false},
		{"no client id", func(c *devidp.Config) { c.ClientID = "" }, false},
		{"no redirect URI", func(c *devidp.Config) { c.RedirectURIs = nil }, false},
		{"relative redirect URI", func(c *devidp.Config) { c.RedirectURIs = []string{"/auth/callback"} }, false},
		{"duplicate subjects", func(c *devidp.Config) {
			c.Users = []devidp.User{{Subject: "a", Email: "a@example.com"}, {Subject: "a", Email: "b@example.com"}}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := valid()
			c.change(&cfg)
			_, err := devidp.New(t.Context(), cfg)
			if (err == nil) != c.ok {
				t.Errorf("New: err = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
