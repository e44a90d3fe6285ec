package oidctest_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/pavedhq/paved/auth/oidctest"
)

const redirectURI = "http://rp.test/auth/callback"

// rp is a relying party built the way the real one is: go-oidc discovery and verifier,
// oauth2 for the code exchange.
type rp struct {
	op       *oidctest.Provider
	provider *oidc.Provider
	conf     oauth2.Config
	ctx      context.Context
}

func newRP(t *testing.T) *rp {
	t.Helper()
	op := oidctest.New(t)
	op.AllowRedirect(redirectURI)
	ctx := oidc.ClientContext(t.Context(), op.Client())
	provider, err := oidc.NewProvider(ctx, op.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		op:       op,
		provider: provider,
		ctx:      ctx,
		conf: oauth2.Config{
			ClientID:     op.ClientID,
			ClientSecret: op.ClientSecret,
			Endpoint:     provider.Endpoint(),
			RedirectURL:  redirectURI,
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile", "groups"},
		},
	}
}

func (r *rp) verifier(cfg oidc.Config) *oidc.IDTokenVerifier {
	if cfg.ClientID == "" && !cfg.SkipClientIDCheck {
		cfg.ClientID = r.conf.ClientID
	}
	return r.provider.VerifierContext(r.ctx, &cfg)
}

// authorize follows the authorization URL one hop and returns the query of the redirect back
// to the relying party.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorize: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize answered %d, want 302: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("bad Location: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %q, want %q", got, redirectURI)
	}
	return loc.Query()
}

// startLogin runs the authorization request and returns the code and the PKCE verifier.
func (r *rp) startLogin(t *testing.T, nonce string) (code, verifier string) {
	t.Helper()
	verifier = oauth2.GenerateVerifier()
	q := authorize(t, r.conf.AuthCodeURL("st4te", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if q.Get("state") != "st4te" {
		t.Fatalf("state = %q, want st4te", q.Get("state"))
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in redirect: %v", q)
	}
	return q.Get("code"), verifier
}

// login runs the whole code flow and returns the token response and its raw ID token.
func (r *rp) login(t *testing.T, nonce string) (*oauth2.Token, string) {
	t.Helper()
	code, verifier := r.startLogin(t, nonce)
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		t.Fatal("token response has no id_token")
	}
	return tok, raw
}

type idClaims struct {
	Email         string   `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          string   `json:"name"`
	Groups        []string `json:"groups"`
	Nonce         *string  `json:"nonce"`
}

func claimsOf(t *testing.T, tok *oidc.IDToken) idClaims {
	t.Helper()
	var c idClaims
	if err := tok.Claims(&c); err != nil {
		t.Fatalf("claims: %v", err)
	}
	return c
}

// jwtHeader decodes the JOSE header of a compact JWT without checking anything.
func jwtHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	part, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	h := map[string]any{}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	return h
}

func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want *oauth2.RetrieveError", err)
	}
	return re
}

func TestDiscovery(t *testing.T) {
	r := newRP(t)
	var doc struct {
		Issuer        string   `json:"issuer"`
		Authorization string   `json:"authorization_endpoint"`
		Token         string   `json:"token_endpoint"`
		JWKS          string   `json:"jwks_uri"`
		UserInfo      string   `json:"userinfo_endpoint"`
		EndSession    string   `json:"end_session_endpoint"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		PKCE          []string `json:"code_challenge_methods_supported"`
	}
	if err := r.provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	u := r.op.URL
	if doc.Issuer != u || doc.Authorization != u+"/authorize" || doc.Token != u+"/token" ||
		doc.JWKS != u+"/jwks" || doc.UserInfo != u+"/userinfo" || doc.EndSession != u+"/end_session" {
		t.Errorf("discovery endpoints wrong: %+v", doc)
	}
	if !slices.Equal(doc.Algs, []string{"RS256"}) || !slices.Equal(doc.PKCE, []string{"S256"}) {
		t.Errorf("algs %v, PKCE methods %v", doc.Algs, doc.PKCE)
	}
}

func TestHonestTokenVerifies(t *testing.T) {
	r := newRP(t)
	tok, raw := r.login(t, "n0nce")
	if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.Expiry.IsZero() {
		t.Errorf("token response: type %q, access %q, expiry %v", tok.TokenType, tok.AccessToken, tok.Expiry)
	}
	if h := jwtHeader(t, raw); h["alg"] != "RS256" || h["kid"] != r.op.KeyID() {
		t.Errorf("header = %v, want RS256 with kid %q", h, r.op.KeyID())
	}
	id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
	if err != nil {
		t.Fatalf("honest token rejected: %v", err)
	}
	want := oidctest.DefaultClaims()
	c := claimsOf(t, id)
	if id.Issuer != r.op.URL || !slices.Equal(id.Audience, []string{r.op.ClientID}) || id.Subject != want.Subject ||
		id.Nonce != "n0nce" || c.Email != want.Email || c.EmailVerified == nil || !*c.EmailVerified ||
		c.Name != want.Name || !slices.Equal(c.Groups, want.Groups) {
		t.Errorf("claims: iss %q aud %v sub %q nonce %q %+v", id.Issuer, id.Audience, id.Subject, id.Nonce, c)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}

	ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var uc idClaims
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	if ui.Subject != want.Subject || ui.Email != want.Email || !ui.EmailVerified || !slices.Equal(uc.Groups, want.Groups) {
		t.Errorf("userinfo: %+v groups %v", ui, uc.Groups)
	}
}

func TestSetClaims(t *testing.T) {
	r := newRP(t)
	r.op.SetClaims(oidctest.Claims{Subject: "bob-7", Email: "bob@corp.test", Name: "Bob", Groups: []string{"admins"}})
	_, raw := r.login(t, "n")
	id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, id)
	if id.Subject != "bob-7" || c.Email != "bob@corp.test" || c.EmailVerified == nil || *c.EmailVerified ||
		!slices.Equal(c.Groups, []string{"admins"}) {
		t.Errorf("got sub %q %+v", id.Subject, c)
	}
}

// Each broken token must be rejected by the verifier the relying party uses, and must verify
// once exactly the check for its own defect is relaxed: so the rejection is for that defect.
func TestBrokenTokensRejected(t *testing.T) {
	cases := []struct {
		m       Misbehaviour
		wantErr string // substring of go-oidc's error
		relaxed func(r *rp) *oidc.IDTokenVerifier
		check   func(t *testing.T, r *rp, raw string, id *oidc.IDToken)
	}{
		{
			m: oidctest.WrongAudience, wantErr: "expected audience",
			relaxed: func(r *rp) *oidc.IDTokenVerifier { return r.verifier(oidc.Config{SkipClientIDCheck: true}) },
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if !slices.Equal(id.Audience, []string{oidctest.OtherClientID}) {
					t.Errorf("aud = %v", id.Audience)
				}
			},
		},
		{
			m: oidctest.WrongIssuer, wantErr: "issued by a different provider",
			relaxed: func(r *rp) *oidc.IDTokenVerifier { return r.verifier(oidc.Config{SkipIssuerCheck: true}) },
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if id.Issuer != oidctest.OtherIssuer {
					t.Errorf("iss = %q", id.Issuer)
				}
			},
		},
		{
			m: oidctest.Expired, wantErr: "token is expired",
			relaxed: func(r *rp) *oidc.IDTokenVerifier {
				return r.verifier(oidc.Config{Now: func() time.Time { return time.Now().Add(-90 * time.Minute) }})
			},
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if !id.IssuedAt.Before(id.Expiry) || time.Until(id.Expiry) > -59*time.Minute {
					t.Errorf("iat %v exp %v", id.IssuedAt, id.Expiry)
				}
			},
		},
		{
			m: oidctest.UnknownKey, wantErr: "failed to verify signature",
			relaxed: func(r *rp) *oidc.IDTokenVerifier {
				keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{r.op.ForeignPublicKey()}}
				return oidc.NewVerifier(r.op.URL, keys, &oidc.Config{ClientID: r.op.ClientID})
			},
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if h := jwtHeader(t, raw); h["alg"] != "RS256" || h["kid"] != oidctest.UnknownKeyID {
					t.Errorf("header = %v", h)
				}
			},
		},
		{
			m: oidctest.UnknownKeySameKid, wantErr: "failed to verify signature",
			relaxed: func(r *rp) *oidc.IDTokenVerifier {
				keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{r.op.ForeignPublicKey()}}
				return oidc.NewVerifier(r.op.URL, keys, &oidc.Config{ClientID: r.op.ClientID})
			},
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if h := jwtHeader(t, raw); h["alg"] != "RS256" || h["kid"] != r.op.KeyID() {
					t.Errorf("header = %v, want the published kid %q", h, r.op.KeyID())
				}
			},
		},
		{
			m: oidctest.AlgNone, wantErr: "malformed jwt",
			relaxed: func(r *rp) *oidc.IDTokenVerifier {
				return r.verifier(oidc.Config{InsecureSkipSignatureCheck: true})
			},
			check: func(t *testing.T, r *rp, raw string, id *oidc.IDToken) {
				if h := jwtHeader(t, raw); h["alg"] != "none" || !strings.HasSuffix(raw, ".") {
					t.Errorf("header = %v, token ends %q", h, raw[len(raw)-3:])
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.m.String(), func(t *testing.T) {
			r := newRP(t)
			r.op.SetMisbehaviour(tc.m)
			_, raw := r.login(t, "n0nce")
			_, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
			if err == nil {
				t.Fatalf("%v token accepted", tc.m)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %q, want it to mention %q", err, tc.wantErr)
			}
			if tc.m == oidctest.Expired {
				var te *oidc.TokenExpiredError
				if !errors.As(err, &te) {
					t.Errorf("error = %T, want *oidc.TokenExpiredError", err)
				}
			}
			id, err := tc.relaxed(r).Verify(r.ctx, raw)
			if err != nil {
				t.Fatalf("with only its own check relaxed, the %v token still fails: %v", tc.m, err)
			}
			if id.Subject != oidctest.DefaultClaims().Subject || id.Nonce != "n0nce" {
				t.Errorf("sub %q nonce %q", id.Subject, id.Nonce)
			}
			tc.check(t, r, raw, id)
		})
	}
}

// For these the token verifies: checking the nonce and email_verified is the relying party's job.
func TestClaimMisbehaviours(t *testing.T) {
	t.Run("WrongNonce", func(t *testing.T) {
		r := newRP(t)
		r.op.SetMisbehaviour(oidctest.WrongNonce)
		_, raw := r.login(t, "n0nce")
		id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if id.Nonce == "n0nce" || id.Nonce != "n0nce"+oidctest.WrongNonceSep {
			t.Errorf("nonce = %q", id.Nonce)
		}
	})
	t.Run("MissingNonce", func(t *testing.T) {
		r := newRP(t)
		r.op.SetMisbehaviour(oidctest.MissingNonce)
		_, raw := r.login(t, "n0nce")
		id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if c := claimsOf(t, id); c.Nonce != nil || id.Nonce != "" {
			t.Errorf("nonce claim present: %q", id.Nonce)
		}
	})
	for _, m := range []Misbehaviour{oidctest.MissingSubject, oidctest.EmptySubject} {
		t.Run(m.String(), func(t *testing.T) {
			r := newRP(t)
			r.op.SetMisbehaviour(m)
			_, raw := r.login(t, "n0nce")
			id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if id.Subject != "" {
				t.Errorf("sub = %q, want it empty", id.Subject)
			}
		})
	}
	t.Run("EmailUnverified", func(t *testing.T) {
		r := newRP(t)
		r.op.SetMisbehaviour(oidctest.EmailUnverified)
		tok, raw := r.login(t, "n0nce")
		id, err := r.verifier(oidc.Config{}).Verify(r.ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		if c := claimsOf(t, id); c.EmailVerified == nil || *c.EmailVerified || c.Email != oidctest.DefaultClaims().Email {
			t.Errorf("claims = %+v", c)
		}
		ui, err := r.provider.UserInfo(r.ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatal(err)
		}
		if ui.EmailVerified {
			t.Error("userinfo says email_verified true")
		}
	})
}

func TestTokenError(t *testing.T) {
	r := newRP(t)
	r.op.SetMisbehaviour(oidctest.TokenError)
	code, verifier := r.startLogin(t, "n")
	_, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if re := retrieveError(t, err); re.Response.StatusCode != http.StatusBadRequest || re.ErrorCode != "invalid_grant" {
		t.Errorf("status %d code %q", re.Response.StatusCode, re.ErrorCode)
	}
	// The refusal does not consume the code.
	r.op.SetMisbehaviour(oidctest.Honest)
	if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchange after TokenError: %v", err)
	}
}

// The misbehaviour in force when the code is exchanged decides, not the one at authorization.
func TestMisbehaviourReadAtTokenTime(t *testing.T) {
	r := newRP(t)
	code, verifier := r.startLogin(t, "n")
	r.op.SetMisbehaviour(oidctest.WrongAudience)
	tok, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.verifier(oidc.Config{}).Verify(r.ctx, tok.Extra("id_token").(string)); err == nil {
		t.Error("token issued under WrongAudience verified")
	}
}

func TestPKCE(t *testing.T) {
	r := newRP(t)
	t.Run("challenge required", func(t *testing.T) {
		q := authorize(t, r.conf.AuthCodeURL("s", oidc.Nonce("n")))
		if q.Get("error") != "invalid_request" || q.Has("code") || q.Get("state") != "s" {
			t.Errorf("redirect query = %v", q)
		}
	})
	t.Run("plain refused", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := authorize(t, r.conf.AuthCodeURL("s",
			oauth2.SetAuthURLParam("code_challenge", v), oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		if q.Get("error") != "invalid_request" || q.Has("code") {
			t.Errorf("redirect query = %v", q)
		}
	})
	t.Run("method defaults to plain, refused", func(t *testing.T) {
		q := authorize(t, r.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))))
		if q.Get("error") != "invalid_request" || q.Has("code") {
			t.Errorf("redirect query = %v", q)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		code, _ := r.startLogin(t, "n")
		_, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
			t.Errorf("error code %q", re.ErrorCode)
		}
	})
	t.Run("missing verifier", func(t *testing.T) {
		code, _ := r.startLogin(t, "n")
		_, err := r.conf.Exchange(r.ctx, code)
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
			t.Errorf("error code %q", re.ErrorCode)
		}
	})
}

func TestCodeIsSingleUse(t *testing.T) {
	r := newRP(t)
	code, verifier := r.startLogin(t, "n")
	if _, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatal(err)
	}
	_, err := r.conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
	if re := retrieveError(t, err); re.Response.StatusCode != http.StatusBadRequest || re.ErrorCode != "invalid_grant" {
		t.Errorf("replay: status %d code %q", re.Response.StatusCode, re.ErrorCode)
	}
}

func TestTokenEndpointChecks(t *testing.T) {
	r := newRP(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		conf := r.conf
		conf.Endpoint.AuthStyle = style
		code, verifier := r.startLogin(t, "n")
		if _, err := conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("auth style %v: %v", style, err)
		}
	}
	t.Run("wrong secret", func(t *testing.T) {
		conf := r.conf
		conf.ClientSecret = "nope"
		conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		code, verifier := r.startLogin(t, "n")
		_, err := conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		if re := retrieveError(t, err); re.Response.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" {
			t.Errorf("status %d code %q", re.Response.StatusCode, re.ErrorCode)
		}
	})
	t.Run("redirect_uri must match", func(t *testing.T) {
		r.op.AllowRedirect("http://rp.test/other")
		conf := r.conf
		conf.RedirectURL = "http://rp.test/other"
		code, verifier := r.startLogin(t, "n")
		_, err := conf.Exchange(r.ctx, code, oauth2.VerifierOption(verifier))
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
			t.Errorf("error code %q", re.ErrorCode)
		}
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	r := newRP(t)
	get := func(t *testing.T, conf oauth2.Config, opts ...oauth2.AuthCodeOption) *http.Response {
		t.Helper()
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		opts = append(opts, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		resp, err := client.Get(conf.AuthCodeURL("s", opts...))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Errors about the client or redirect URI must not redirect.
	t.Run("unknown client", func(t *testing.T) {
		conf := r.conf
		conf.ClientID = "intruder"
		if resp := get(t, conf); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("unregistered redirect", func(t *testing.T) {
		conf := r.conf
		conf.RedirectURL = "http://evil.test/cb"
		if resp := get(t, conf); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("response_type", func(t *testing.T) {
		q := authorize(t, r.conf.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "token"),
			oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if q.Get("error") != "unsupported_response_type" || q.Has("code") {
			t.Errorf("query = %v", q)
		}
	})
	t.Run("openid scope", func(t *testing.T) {
		conf := r.conf
		conf.Scopes = []string{"email"}
		q := authorize(t, conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if q.Get("error") != "invalid_scope" || q.Has("code") {
			t.Errorf("query = %v", q)
		}
	})
}

func TestUserinfoNeedsToken(t *testing.T) {
	r := newRP(t)
	for _, auth := range []string{"", "Bearer not-a-token"} {
		req, _ := http.NewRequest(http.MethodGet, r.provider.UserInfoEndpoint(), nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d", auth, resp.StatusCode)
		}
	}
}

func TestEndSession(t *testing.T) {
	r := newRP(t)
	var doc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := r.provider.Claims(&doc); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(q url.Values) *http.Response {
		resp, err := client.Get(doc.EndSession + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	r.op.AllowRedirect("http://rp.test/signed-out")
	resp := get(url.Values{"post_logout_redirect_uri": {"http://rp.test/signed-out"}, "state": {"x"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://rp.test/signed-out?state=x" {
		t.Errorf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get(url.Values{"post_logout_redirect_uri": {"http://evil.test/"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post-logout redirect: status %d", resp.StatusCode)
	}
	if resp := get(url.Values{}); resp.StatusCode != http.StatusOK {
		t.Errorf("no redirect: status %d", resp.StatusCode)
	}
}

func TestRequestsAndConcurrency(t *testing.T) {
	r := newRP(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			nonce := fmt.Sprint("n", i)
			verifier := oauth2.GenerateVerifier()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(r.conf.AuthCodeURL("s", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			tok, err := r.conf.Exchange(r.ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				errs <- err
				return
			}
			id, err := r.verifier(oidc.Config{}).Verify(r.ctx, tok.Extra("id_token").(string))
			if err != nil {
				errs <- err
				return
			}
			if id.Nonce != nonce {
				errs <- fmt.Errorf("nonce %q, want %q", id.Nonce, nonce)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	reqs := r.op.Requests()
	for _, want := range []string{"GET /.well-known/openid-configuration", "GET /authorize", "POST /token", "GET /jwks"} {
		if !slices.Contains(reqs, want) {
			t.Errorf("Requests() lacks %q: %v", want, reqs)
		}
	}
}

// Misbehaviour is a local alias so the case table reads naturally.
type Misbehaviour = oidctest.Misbehaviour

func TestMisbehaviourString(t *testing.T) {
	if s := oidctest.AlgNone.String(); s != "AlgNone" {
		t.Errorf("AlgNone.String() = %q", s)
	}
	if s := oidctest.Misbehaviour(99).String(); s != "Misbehaviour(99)" {
		t.Errorf("String() = %q", s)
	}
}
