package devidp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the provider's whole state, in memory: auth requests, codes and access
// tokens. It implements op.Storage for the authorization code flow only; the grants op
// could offer on top (refresh, client credentials, JWT profile, token exchange, device)
// are refused, because the portal uses none of them.
//
// Expired entries are pruned on every write rather than by a background goroutine, so
// the provider needs no lifecycle of its own.
type storage struct {
	client *client
	users  map[string]User // by subject
	key    *signingKey
	now    func() time.Time

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]*issuedCode
	tokens   map[string]*accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// authRequest is one authorization request from /authorize to the code exchange. It
// implements op.AuthRequest; the storage hands out copies so op never reads a value
// the sign-in page is changing.
type authRequest struct {
	id            string
	clientID      string
	redirectURI   string
	state         string
	nonce         string
	scopes        []string
	responseType  oidc.ResponseType
	responseMode  oidc.ResponseMode
	codeChallenge *oidc.CodeChallenge
	createdAt     time.Time

	// Set when a user is picked on the sign-in page.
	subject  string
	authTime time.Time
	done     bool
	// code is the one authorization code issued for this request, if any.
	code string
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return "" }
func (a *authRequest) GetAMR() []string                      { return nil }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.codeChallenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.subject }
func (a *authRequest) Done() bool                            { return a.done }

func (a *authRequest) clone() *authRequest {
	c := *a
	c.scopes = slices.Clone(a.scopes)
	if a.codeChallenge != nil {
		cc := *a.codeChallenge
		c.codeChallenge = &cc
	}
	return &c
}

// issuedCode tracks an authorization code. A redeemed code is kept until the tokens it
// bought expire, so a replay can be recognised and those tokens revoked (RFC 6749
// §4.1.2) rather than merely answered with "unknown code".
type issuedCode struct {
	requestID string
	expires   time.Time
	redeemed  bool
	keepUntil time.Time
}

type accessToken struct {
	subject   string
	clientID  string
	scopes    []string
	expires   time.Time
	requestID string
}

var (
	errUnknownClient       = errors.New("devidp: unknown client")
	errUnknownAuthRequest  = errors.New("devidp: unknown or expired auth request")
	errUnknownCode         = errors.New("devidp: unknown authorization code")
	errExpiredCode         = errors.New("devidp: authorization code expired")
	errReplayedCode        = errors.New("devidp: authorization code already used")
	errUnknownToken        = errors.New("devidp: unknown or expired access token")
	errUnsupportedGrant    = errors.New("devidp: only the authorization code grant is supported")
	errAuthRequestFinished = errors.New("devidp: auth request already completed")
)

func newStorage(c *client, users []User, key *signingKey, now func() time.Time) *storage {
	byID := make(map[string]User, len(users))
	for _, u := range users {
		byID[u.Subject] = u
	}
	return &storage{
		client:   c,
		users:    byID,
		key:      key,
		now:      now,
		requests: make(map[string]*authRequest),
		codes:    make(map[string]*issuedCode),
		tokens:   make(map[string]*accessToken),
	}
}

// pruneLocked drops everything that can no longer be used. s.mu must be held.
func (s *storage) pruneLocked(now time.Time) {
	for id, r := range s.requests {
		if now.After(r.createdAt.Add(authRequestLifetime)) {
			delete(s.requests, id)
		}
	}
	for code, c := range s.codes {
		if now.After(c.keepUntil) {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// CreateAuthRequest stores a validated authorization request. op has already checked
// the client, redirect URI, response type and scopes; the rules added here are this
// provider's own. An *oidc.Error returned here is redirected to the client with the
// request's state.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if !slices.Contains(req.Scopes, oidc.ScopeOpenID) {
		return nil, oidc.ErrInvalidScope().WithDescription("the openid scope is required")
	}
	// PKCE with S256 on every request, confidential client or not: it costs a client
	// nothing and keeps a leaked code useless (OAuth 2.0 Security BCP, RFC 9700 §2.1.1).
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	// form_post answers with an auto-submitting page that needs inline script, which the
	// portal's content security policy forbids; the query response is all it needs.
	if req.ResponseMode != "" && req.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	// There is no provider session to reuse: every sign-in shows the user picker, so a
	// silent request can never succeed.
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("the development provider always asks which user to sign in as")
	}

	now := s.now()
	ar := &authRequest{
		id:           rand.Text(),
		clientID:     req.ClientID,
		redirectURI:  req.RedirectURI,
		state:        req.State,
		nonce:        req.Nonce,
		scopes:       slices.Clone([]string(req.Scopes)),
		responseType: req.ResponseType,
		responseMode: req.ResponseMode,
		codeChallenge: &oidc.CodeChallenge{
			Challenge: req.CodeChallenge,
			Method:    req.CodeChallengeMethod,
		},
		createdAt: now,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.requests[ar.id] = ar
	return ar.clone(), nil
}

// AuthRequestByID returns a live auth request; op's callback endpoint uses it to turn a
// completed sign-in into a code.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	ar, err := s.authRequest(id)
	if err != nil {
		return nil, err
	}
	return ar, nil
}

// authRequest returns a copy of a live auth request; an expired one is as good as unknown.
func (s *storage) authRequest(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok || s.now().After(ar.createdAt.Add(authRequestLifetime)) {
		return nil, errUnknownAuthRequest
	}
	return ar.clone(), nil
}

// completeAuthRequest records that subject signed in for the auth request id. It is the
// sign-in page's only write, and it refuses a second pick for the same request.
func (s *storage) completeAuthRequest(id, subject string) (*authRequest, error) {
	if _, ok := s.users[subject]; !ok {
		return nil, fmt.Errorf("devidp: unknown user %q", subject)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ar, ok := s.requests[id]
	if !ok || now.After(ar.createdAt.Add(authRequestLifetime)) {
		return nil, errUnknownAuthRequest
	}
	if ar.done {
		return nil, errAuthRequestFinished
	}
	ar.subject = subject
	ar.authTime = now
	ar.done = true
	return ar.clone(), nil
}

// SaveAuthCode binds the code op generated to its auth request. Only one code is ever
// issued per request: op's callback URL carries nothing but the request id, so without
// this check reloading it would mint a fresh code for the same sign-in each time.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	ar, ok := s.requests[id]
	if !ok {
		return errUnknownAuthRequest
	}
	if ar.code != "" {
		return oidc.ErrInvalidRequest().WithDescription("an authorization code was already issued for this request")
	}
	ar.code = code
	s.codes[code] = &issuedCode{
		requestID: id,
		expires:   now.Add(codeLifetime),
		keepUntil: now.Add(codeLifetime),
	}
	return nil
}

// AuthRequestByCode redeems a code. It is the one place a code is consumed, under the
// lock, so a code works once even if two exchanges race, and a code presented with a
// wrong PKCE verifier or secret is spent as well. op answers any error with
// invalid_grant. Presenting a spent code revokes the access tokens it was exchanged for.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[code]
	if !ok {
		return nil, errUnknownCode
	}
	if c.redeemed {
		for id, t := range s.tokens {
			if t.requestID == c.requestID {
				delete(s.tokens, id)
			}
		}
		return nil, errReplayedCode
	}
	if now.After(c.expires) {
		delete(s.codes, code)
		return nil, errExpiredCode
	}
	c.redeemed = true
	c.keepUntil = now.Add(accessTokenLifetime)
	ar, ok := s.requests[c.requestID]
	if !ok || !ar.done {
		return nil, errUnknownAuthRequest
	}
	return ar.clone(), nil
}

// DeleteAuthRequest is called by op once tokens are issued.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	return nil
}

// CreateAccessToken stores an opaque access token for a redeemed auth request; op
// encrypts the returned id (with the subject) into the bearer token it hands out.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	ar, ok := req.(*authRequest)
	if !ok {
		return "", time.Time{}, errUnsupportedGrant
	}
	now := s.now()
	t := &accessToken{
		subject:   ar.subject,
		clientID:  ar.clientID,
		scopes:    slices.Clone(ar.scopes),
		expires:   now.Add(accessTokenLifetime),
		requestID: ar.id,
	}
	id := rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneLocked(now)
	s.tokens[id] = t
	return id, t.expires, nil
}

// CreateAccessAndRefreshTokens is never reached: the client is not registered for the
// refresh_token grant, so op does not ask for refresh tokens.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupportedGrant
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// GetRefreshTokenInfo says no token is a refresh token, so revocation treats every
// token as an access token.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession runs at end_session. The provider keeps no browser session (every
// sign-in shows the picker), so logging out means revoking the user's access tokens
// for the client: userinfo stops answering for them.
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	if userID == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.subject == userID && (clientID == "" || t.clientID == clientID) {
			delete(s.tokens, id)
		}
	}
	return nil
}

// RevokeToken serves the revocation endpoint (RFC 7009): an unknown token is not an
// error, a token of another client is.
func (s *storage) RevokeToken(_ context.Context, tokenID, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

// token returns a copy of a live access token issued to subject.
func (s *storage) token(tokenID, subject string) (*accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || t.subject != subject || s.now().After(t.expires) {
		return nil, errUnknownToken
	}
	c := *t
	c.scopes = slices.Clone(t.scopes)
	return &c, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

// GetClientByClientID returns a plain error for an unknown client: op reserves
// server_error for faults of the server.
func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID != s.client.id {
		return nil, errUnknownClient
	}
	return s.client, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant time. A
// public client has no secret and cannot authenticate with one.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	if clientID != s.client.id || s.client.secret == "" ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret)) != 1 {
		return errors.New("devidp: invalid client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op in favour of SetUserinfoFromRequest and must
// do nothing.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's user claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	u, ok := s.users[req.GetSubject()]
	if !ok {
		return fmt.Errorf("devidp: unknown user %q", req.GetSubject())
	}
	fillUserinfo(info, u, scopes)
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint from the scopes the token was
// granted for.
func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.token(tokenID, subject)
	if err != nil {
		return err
	}
	u, ok := s.users[t.subject]
	if !ok {
		return fmt.Errorf("devidp: unknown user %q", t.subject)
	}
	fillUserinfo(info, u, t.scopes)
	return nil
}

// SetIntrospectionFromToken answers the introspection endpoint; op marks the response
// active only when this returns nil.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.token(tokenID, subject)
	if err != nil {
		return err
	}
	if t.clientID != clientID {
		return errUnknownToken
	}
	u, ok := s.users[t.subject]
	if !ok {
		return fmt.Errorf("devidp: unknown user %q", t.subject)
	}
	info := new(oidc.UserInfo)
	fillUserinfo(info, u, t.scopes)
	resp.SetUserInfo(info)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.expires)
	resp.Audience = []string{t.clientID}
	return nil
}

// GetPrivateClaimsFromScopes only matters for JWT access tokens, which are not issued.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID and ValidateJWTProfileScopes serve the JWT profile grant, which
// op always routes; refusing here is what turns it off.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupportedGrant
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupportedGrant
}

func (s *storage) Health(context.Context) error { return nil }

// fillUserinfo sets the claims the scopes allow. The groups claim goes out with every
// openid request: the portal derives roles from it on each sign-in.
func fillUserinfo(info *oidc.UserInfo, u User, scopes []string) {
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Email
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(true)
	}
	groups := slices.Clone(u.Groups)
	if groups == nil {
		groups = []string{} // an empty list, not null, so clients can range over it
	}
	info.AppendClaims(claimGroups, groups)
}

// signingKey is the provider's RSA key, generated at start; it implements op.SigningKey.
type signingKey struct {
	id      string
	private *rsa.PrivateKey
}

func newSigningKey() (*signingKey, error) {
	private, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("devidp: generate signing key: %w", err)
	}
	// The RFC 7638 thumbprint names the key after its content, so a restarted provider
	// (with a new key) never reuses a key id a client may have cached.
	thumb, err := (&jose.JSONWebKey{Key: &private.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), private: private}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the JWKS view of the signing key; it implements op.Key.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.private.PublicKey }
