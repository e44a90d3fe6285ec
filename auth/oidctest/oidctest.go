// Package oidctest is a small OpenID Connect provider for tests that can misbehave on purpose.
//
// It exists to prove that the relying party rejects broken ID tokens: each Misbehaviour makes
// the token endpoint issue one specific defect (wrong audience, wrong issuer, expired, signed
// by an unpublished key, alg "none", wrong or missing nonce, unverified email) or fail outright.
// The well-behaved provider for ordinary tests lives elsewhere; this one is hand-written so
// that every defect is deliberate and visible in this file.
//
// The provider supports the authorization code flow with PKCE (S256 only, and required),
// client_secret_basic and client_secret_post, a userinfo endpoint and an end-session endpoint.
// The authorize endpoint has no login page: it signs in the configured user at once.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Misbehaviour selects the defect the provider puts into the tokens it issues. It is read
// when the token endpoint answers, not when the authorization request is made.
type Misbehaviour int

const (
	// Honest issues correct tokens.
	Honest Misbehaviour = iota
	// WrongAudience sets aud to OtherClientID instead of the requesting client.
	WrongAudience
	// WrongIssuer sets iss to OtherIssuer, which differs from the discovery issuer.
	WrongIssuer
	// Expired sets exp one hour in the past and iat two hours in the past.
	Expired
	// UnknownKey signs with an RSA key that the JWKS does not publish, under a kid
	// (UnknownKeyID) that the JWKS does not publish either.
	UnknownKey
	// AlgNone issues an unsigned token: header alg "none" and an empty signature.
	AlgNone
	// WrongNonce puts a nonce that differs from the one in the authorization request.
	WrongNonce
	// MissingNonce leaves the nonce claim out.
	MissingNonce
	// EmailUnverified sets email_verified to false (in the ID token and in userinfo).
	EmailUnverified
	// TokenError makes the token endpoint answer 400 invalid_grant (after client
	// authentication succeeds); the code is not consumed.
	TokenError
	// UnknownKeySameKid signs with an RSA key that the JWKS does not publish, but under the
	// kid of the published key, so only the signature itself gives the forgery away.
	UnknownKeySameKid
	// MissingSubject leaves the sub claim out of the ID token (userinfo keeps it).
	MissingSubject
	// EmptySubject sets sub to the empty string in the ID token (userinfo keeps it).
	EmptySubject
)

var misbehaviourNames = [...]string{
	Honest:            "Honest",
	WrongAudience:     "WrongAudience",
	WrongIssuer:       "WrongIssuer",
	Expired:           "Expired",
	UnknownKey:        "UnknownKey",
	AlgNone:           "AlgNone",
	WrongNonce:        "WrongNonce",
	MissingNonce:      "MissingNonce",
	EmailUnverified:   "EmailUnverified",
	TokenError:        "TokenError",
	UnknownKeySameKid: "UnknownKeySameKid",
	MissingSubject:    "MissingSubject",
	EmptySubject:      "EmptySubject",
}

func (m Misbehaviour) String() string {
	if m >= 0 && int(m) < len(misbehaviourNames) {
		return misbehaviourNames[m]
	}
	return fmt.Sprintf("Misbehaviour(%d)", int(m))
}

// Values the misbehaviours put into tokens, exported so tests can match on them.
const (
	OtherClientID = "some-other-client"
	OtherIssuer   = "https://other-issuer.invalid"
	WrongNonceSep = "-tampered" // WrongNonce sends the requested nonce followed by this
	UnknownKeyID  = "unpublished-key"
)

// TokenLifetime is the lifetime of the ID and access tokens the provider issues.
const TokenLifetime = time.Hour

// Claims describes the user the provider signs in.
type Claims struct {
	Subject       string
	Email         string
	Name          string
	Groups        []string
	EmailVerified bool
}

// DefaultClaims returns the user a new Provider signs in.
func DefaultClaims() Claims {
	return Claims{
		Subject:       "user-0001",
		Email:         "alice@example.com",
		Name:          "Alice Example",
		Groups:        []string{"engineering", "everyone"},
		EmailVerified: true,
	}
}

func (c Claims) clone() Claims {
	c.Groups = slices.Clone(c.Groups)
	return c
}

// Provider is a running test OpenID Connect provider. URL, ClientID and ClientSecret may be
// read freely; change ClientID or ClientSecret only before the first request.
type Provider struct {
	URL          string // issuer, and the base of every endpoint
	ClientID     string
	ClientSecret string

	srv        *httptest.Server
	key        *rsa.PrivateKey // published in the JWKS under kid
	kid        string
	foreignKey *rsa.PrivateKey // never published

	mu           sync.Mutex
	misbehaviour Misbehaviour
	claims       Claims
	redirects    map[string]bool
	codes        map[string]*grant
	tokens       map[string]accessToken
	requests     []string
}

// grant is what an authorization code stands for.
type grant struct {
	clientID    string
	redirectURI string
	nonce       string
	challenge   string
	scope       string
	claims      Claims
	authTime    time.Time
	used        bool
}

type accessToken struct {
	claims  Claims
	expires time.Time
}

// New starts a provider on a local httptest server and stops it when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate signing key: %v", err)
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("oidctest: generate foreign key: %v", err)
	}
	p := &Provider{
		ClientID:     "paved-test-client",
		ClientSecret: rand.Text(),
		key:          key,
		kid:          "key-" + rand.Text()[:8],
		foreignKey:   foreign,
		claims:       DefaultClaims(),
		redirects:    map[string]bool{},
		codes:        map[string]*grant{},
		tokens:       map[string]accessToken{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("/jwks", p.jwks)
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/userinfo", p.userinfo)
	mux.HandleFunc("/end_session", p.endSession)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests = append(p.requests, r.Method+" "+r.URL.Path)
		p.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	p.URL = p.srv.URL
	t.Cleanup(p.Close)
	return p
}

// SetMisbehaviour selects the defect of the tokens issued from now on.
func (p *Provider) SetMisbehaviour(m Misbehaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.misbehaviour = m
}

// SetClaims sets the user signed in by later authorization requests.
func (p *Provider) SetClaims(c Claims) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = c.clone()
}

// AllowRedirect registers a redirect URI (compared exactly) that the authorize endpoint
// accepts. Registered URIs are also accepted as post_logout_redirect_uri.
func (p *Provider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects[uri] = true
}

// Requests returns "METHOD /path" for every request served so far, in order.
func (p *Provider) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Client returns an HTTP client that reaches the provider (the plain test server's client).
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// KeyID returns the kid of the published signing key.
func (p *Provider) KeyID() string { return p.kid }

// ForeignPublicKey returns the public half of the unpublished key that signs UnknownKey and
// UnknownKeySameKid tokens, so a test can show those tokens are otherwise well formed.
func (p *Provider) ForeignPublicKey() *rsa.PublicKey { return &p.foreignKey.PublicKey }

// Close stops the server. It is safe to call more than once.
func (p *Provider) Close() { p.srv.Close() }

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"userinfo_endpoint":                     p.URL + "/userinfo",
		"end_session_endpoint":                  p.URL + "/end_session",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "profile", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{
			"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
			"email", "email_verified", "name", "groups",
		},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key:       &p.key.PublicKey,
		KeyID:     p.kid,
		Algorithm: string(jose.RS256),
		Use:       "sig",
	}}})
}

// authorize checks the request, signs the configured user in without asking, and redirects
// back with a code. Errors about the client or the redirect URI are shown here (never
// redirected, as RFC 6749 §4.1.2.1 requires); the others go back to the redirect URI.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	allowed := p.redirects[redirectURI]
	p.mu.Unlock()
	if !allowed {
		http.Error(w, "redirect_uri is not registered", http.StatusBadRequest)
		return
	}
	target, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	fail := func(code, description string) {
		v := target.Query()
		v.Set("error", code)
		v.Set("error_description", description)
		if state != "" {
			v.Set("state", state)
		}
		target.RawQuery = v.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "scope must include openid")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "code_challenge is required (PKCE)")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case !validChallenge(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge is not a base64url SHA-256 hash")
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.codes[code] = &grant{
		clientID:    p.ClientID,
		redirectURI: redirectURI,
		nonce:       q.Get("nonce"),
		challenge:   q.Get("code_challenge"),
		scope:       q.Get("scope"),
		claims:      p.claims.clone(),
		authTime:    time.Now(),
	}
	p.mu.Unlock()
	v := target.Query()
	v.Set("code", code)
	if state != "" {
		v.Set("state", state)
	}
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "cannot parse form")
		return
	}
	if !p.authenticateClient(w, r) {
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}

	p.mu.Lock()
	m := p.misbehaviour
	if m == TokenError {
		p.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the provider was told to refuse (TokenError)")
		return
	}
	g := p.codes[r.PostForm.Get("code")]
	var problem string
	switch {
	case g == nil:
		problem = "unknown code"
	case g.used:
		problem = "code already used"
	case g.redirectURI != r.PostForm.Get("redirect_uri"):
		problem = "redirect_uri differs from the authorization request"
	case !pkceMatches(r.PostForm.Get("code_verifier"), g.challenge):
		problem = "code_verifier does not match code_challenge"
	}
	if g != nil {
		g.used = true // a failed attempt burns the code too
	}
	if problem != "" {
		p.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}
	claims := g.claims.clone()
	if m == EmailUnverified {
		claims.EmailVerified = false
	}
	now := time.Now()
	access := rand.Text()
	p.tokens[access] = accessToken{claims: claims, expires: now.Add(TokenLifetime)}
	p.mu.Unlock()

	idToken, err := p.idToken(m, g, claims, access, now)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(TokenLifetime / time.Second),
		"id_token":     idToken,
		"scope":        g.scope,
	})
}

// authenticateClient accepts client_secret_basic or client_secret_post (not both at once)
// and answers 401 invalid_client itself when neither checks out.
func (p *Provider) authenticateClient(w http.ResponseWriter, r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			id, secret = "", ""
		}
		if r.PostForm.Has("client_secret") {
			oauthError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method")
			return false
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret == "" ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return false
	}
	return true
}

// validChallenge reports whether s looks like an S256 challenge: 32 bytes in unpadded base64url.
func validChallenge(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == sha256.Size
}

// pkceMatches checks an RFC 7636 S256 code_verifier against the stored challenge.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// idToken builds and signs the ID token with misbehaviour m applied.
func (p *Provider) idToken(m Misbehaviour, g *grant, c Claims, access string, now time.Time) (string, error) {
	atHash := sha256.Sum256([]byte(access))
	claims := map[string]any{
		"iss":            p.URL,
		"sub":            c.Subject,
		"aud":            g.clientID,
		"iat":            now.Unix(),
		"exp":            now.Add(TokenLifetime).Unix(),
		"auth_time":      g.authTime.Unix(),
		"at_hash":        base64.RawURLEncoding.EncodeToString(atHash[:len(atHash)/2]),
		"email":          c.Email,
		"email_verified": c.EmailVerified,
		"name":           c.Name,
		"groups":         nonNil(c.Groups),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	key, kid := p.key, p.kid
	switch m {
	case WrongAudience:
		claims["aud"] = OtherClientID
	case WrongIssuer:
		claims["iss"] = OtherIssuer
	case Expired:
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	case UnknownKey:
		key, kid = p.foreignKey, UnknownKeyID
	case UnknownKeySameKid:
		key = p.foreignKey
	case WrongNonce:
		claims["nonce"] = g.nonce + WrongNonceSep
	case MissingNonce:
		delete(claims, "nonce")
	case MissingSubject:
		delete(claims, "sub")
	case EmptySubject:
		claims["sub"] = ""
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	if m == AlgNone {
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
		return header + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", nil
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	p.mu.Lock()
	at, ok := p.tokens[token]
	p.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || !ok || time.Now().After(at.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "missing, unknown or expired access token")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"sub":            at.claims.Subject,
		"email":          at.claims.Email,
		"email_verified": at.claims.EmailVerified,
		"name":           at.claims.Name,
		"groups":         nonNil(at.claims.Groups),
	})
}

// endSession redirects to post_logout_redirect_uri (which must be registered with
// AllowRedirect), passing state on; without one it answers a plain page.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "cannot parse request", http.StatusBadRequest)
		return
	}
	uri := r.Form.Get("post_logout_redirect_uri")
	if uri == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "signed out")
		return
	}
	p.mu.Lock()
	allowed := p.redirects[uri]
	p.mu.Unlock()
	target, err := url.Parse(uri)
	if !allowed || err != nil {
		http.Error(w, "post_logout_redirect_uri is not registered", http.StatusBadRequest)
		return
	}
	if state := r.Form.Get("state"); state != "" {
		v := target.Query()
		v.Set("state", state)
		target.RawQuery = v.Encode()
	}
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
