package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures the relying party.
type OIDCConfig struct {
	Issuer               string
	ClientID             string
	ClientSecret         string
	RedirectURL          string // $PAVED_BASE_URL/auth/callback
	Scopes               []string
	GroupsClaim          string // "groups" unless the provider names it otherwise
	RequireVerifiedEmail bool
	// HTTPClient talks to the provider; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Failure says why a sign-in did not complete, so the page can say what to do next.
type Failure int

// The ways a sign-in fails.
const (
	FailProviderDown    Failure = iota + 1 // the provider did not answer or answered with an error
	FailCancelled                          // the person cancelled or the provider refused them
	FailState                              // the callback does not belong to a sign-in begun here
	FailTokenRejected                      // the ID token did not pass verification
	FailEmailUnverified                    // the provider does not vouch for the e-mail address
)

// SignInError is a failed sign-in. Err holds details for the log only.
type SignInError struct {
	Failure Failure
	Err     error
}

func (e *SignInError) Error() string { return fmt.Sprintf("sign-in failed (%d): %v", e.Failure, e.Err) }
func (e *SignInError) Unwrap() error { return e.Err }

func fail(f Failure, format string, args ...any) error {
	return &SignInError{Failure: f, Err: fmt.Errorf(format, args...)}
}

// RP is Paved as an OpenID Connect relying party. Discovery happens in Discover, which may be
// retried; until it succeeds, sign-in answers that the provider is unavailable.
type RP struct {
	cfg OIDCConfig

	mu         sync.RWMutex
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
}

// NewRP returns a relying party that has not yet discovered its provider.
func NewRP(cfg OIDCConfig) *RP {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &RP{cfg: cfg}
}

// Issuer is the provider's issuer URL.
func (rp *RP) Issuer() string { return rp.cfg.Issuer }

// Discover fetches the provider's configuration, retrying with exponential backoff until it
// answers or ctx ends. The error says which issuer never answered.
func (rp *RP) Discover(ctx context.Context) error {
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := rp.discoverOnce(ctx)
		if err == nil {
			return nil
		}
		rp.cfg.Logger.WarnContext(ctx, "identity provider discovery failed; retrying", "issuer", rp.cfg.Issuer, "attempt", attempt, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return fmt.Errorf("the identity provider at %s did not answer discovery after %d attempts (check PAVED_OIDC_ISSUER and that the provider is reachable): %w", rp.cfg.Issuer, attempt, err)
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}

func (rp *RP) discoverOnce(ctx context.Context) error {
	cctx := oidc.ClientContext(ctx, rp.cfg.HTTPClient)
	p, err := oidc.NewProvider(cctx, rp.cfg.Issuer)
	if err != nil {
		return err
	}
	var extra struct {
		EndSession string   `json:"end_session_endpoint"`
		Methods    []string `json:"code_challenge_methods_supported"`
	}
	_ = p.Claims(&extra)
	// Keys are fetched later, outside any request's context, with the same client.
	keyCtx := oidc.ClientContext(context.Background(), rp.cfg.HTTPClient)
	v := p.VerifierContext(keyCtx, &oidc.Config{ClientID: rp.cfg.ClientID})
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.provider, rp.verifier, rp.endSession = p, v, extra.EndSession
	ep := p.Endpoint()
	// A fixed client authentication style: oauth2's auto-detection retries a refused exchange
	// with the other style, and providers burn a code on its first use.
	ep.AuthStyle = oauth2.AuthStyleInHeader
	rp.oauth = oauth2.Config{
		ClientID:     rp.cfg.ClientID,
		ClientSecret: rp.cfg.ClientSecret,
		Endpoint:     ep,
		RedirectURL:  rp.cfg.RedirectURL,
		Scopes:       rp.cfg.Scopes,
	}
	return nil
}

func (rp *RP) ready() (*oidc.Provider, *oidc.IDTokenVerifier, oauth2.Config, error) {
	rp.mu.RLock()
	defer rp.mu.RUnlock()
	if rp.provider == nil {
		return nil, nil, oauth2.Config{}, fail(FailProviderDown, "provider %s not discovered yet", rp.cfg.Issuer)
	}
	return rp.provider, rp.verifier, rp.oauth, nil
}

// AuthCodeURL is where to send the browser to sign in for flow: authorization code with PKCE
// (S256), state and nonce.
func (rp *RP) AuthCodeURL(flow LoginFlow) (string, error) {
	_, _, oc, err := rp.ready()
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(flow.State, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier)), nil
}

// Exchange redeems the authorization code of flow and verifies the ID token: signature from
// the provider's keys, issuer, audience, expiry and nonce, then the e-mail's verification. It
// returns who signed in and the raw ID token (kept as the sign-out hint).
func (rp *RP) Exchange(ctx context.Context, flow LoginFlow, code string) (Identity, string, error) {
	p, verifier, oc, err := rp.ready()
	if err != nil {
		return Identity{}, "", err
	}
	cctx := oidc.ClientContext(ctx, rp.cfg.HTTPClient)
	tok, err := oc.Exchange(cctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Identity{}, "", fail(FailTokenRejected, "token endpoint refused the code: %w", err)
		}
		return Identity{}, "", fail(FailProviderDown, "token endpoint: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, "", fail(FailTokenRejected, "token response has no id_token")
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, "", fail(FailTokenRejected, "ID token: %w", err)
	}
	if idt.Nonce == "" || idt.Nonce != flow.Nonce {
		return Identity{}, "", fail(FailTokenRejected, "ID token nonce does not match this sign-in")
	}
	// go-oidc does not insist on sub; without it two people would share one empty subject.
	if strings.TrimSpace(idt.Subject) == "" {
		return Identity{}, "", fail(FailTokenRejected, "ID token has no sub claim")
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, "", fail(FailTokenRejected, "ID token claims: %w", err)
	}
	// Some providers put groups only in userinfo; ask when the ID token has none.
	if _, ok := claims[rp.cfg.GroupsClaim]; !ok && p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, "", fail(FailProviderDown, "userinfo: %w", err)
		}
		if ui.Subject != idt.Subject {
			return Identity{}, "", fail(FailTokenRejected, "userinfo subject %q differs from the ID token's", ui.Subject)
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok {
					claims[k] = v
				}
			}
		}
	}
	id := Identity{Issuer: idt.Issuer, Subject: idt.Subject, Email: stringClaim(claims, "email"), Name: stringClaim(claims, "name"), Groups: listClaim(claims, rp.cfg.GroupsClaim)}
	if id.Email == "" {
		id.Email = stringClaim(claims, "preferred_username")
	}
	if rp.cfg.RequireVerifiedEmail && !boolClaim(claims, "email_verified") {
		return Identity{}, "", fail(FailEmailUnverified, "email_verified is not true for %q", id.Email)
	}
	return id, raw, nil
}

// LogoutURL is the provider's end-session URL, or "" when it advertises none.
func (rp *RP) LogoutURL(idToken, postLogout string) string {
	rp.mu.RLock()
	end := rp.endSession
	rp.mu.RUnlock()
	if end == "" {
		return ""
	}
	u, err := url.Parse(end)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", rp.cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String()
}

// ProviderOrigin is the scheme and host of the issuer, which the page's form-action must allow.
func (rp *RP) ProviderOrigin() string {
	u, err := url.Parse(rp.cfg.Issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func stringClaim(c map[string]any, k string) string {
	s, _ := c[k].(string)
	return strings.TrimSpace(s)
}

func boolClaim(c map[string]any, k string) bool {
	switch v := c[k].(type) {
	case bool:
		return v
	case string: // some providers send "true"
		return v == "true"
	}
	return false
}

// listClaim reads a claim that is a list of strings, or one space- or comma-separated string.
func listClaim(c map[string]any, k string) []string {
	switch v := c[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
	}
	return nil
}
