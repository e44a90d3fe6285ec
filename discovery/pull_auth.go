package discovery

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/oauth2/jwt"
)

// Secrets of the three kinds of source:
//
//   - okta: an API token, sent as "SSWS <token>".
//   - entra: the app registration's client credentials as a JSON object,
//     {"tenant_id": "…", "client_id": "…", "client_secret": "…"}; Paved mints Graph tokens with
//     the OAuth 2.0 client-credentials grant. A secret that is not a JSON object is a bearer token
//     used as is (it expires within the hour, so only for trying things out).
//   - google: the JSON key file of a service account with domain-wide delegation, with the admin
//     to impersonate added as "subject" (WithGoogleSubject adds it); Paved mints tokens with a
//     signed JWT (RFC 7523). A secret that is not a JSON object is a bearer token used as is.
const (
	// EntraTokenURL is the Microsoft identity platform's token endpoint; {tenant} is replaced.
	EntraTokenURL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
	// EntraGraphScope asks for the application permissions granted to the app registration.
	EntraGraphScope = "https://graph.microsoft.com/.default"
	// GoogleReportsScope is the only scope the Reports API pull needs.
	GoogleReportsScope = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
	// GoogleTokenURL is used when a key file has no token_uri.
	GoogleTokenURL = "https://oauth2.googleapis.com/token"
)

// GoogleDirectoryScopes are what the directory pull asks for: groups and their members, and users
// (departments, managers). The service account's domain-wide delegation must include them.
var GoogleDirectoryScopes = []string{
	"https://www.googleapis.com/auth/admin.directory.group.readonly",
	"https://www.googleapis.com/auth/admin.directory.user.readonly",
}

// EntraCredentials is an Entra source's secret in JSON form.
type EntraCredentials struct {
	TenantID     string `json:"tenant_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// googleKey is the part of a service-account key file Paved reads, plus the subject.
type googleKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
	Subject      string `json:"subject"`
}

// SourceFieldError is a problem with one field of a source (name, base_url, secret, subject);
// its message never quotes the secret.
type SourceFieldError struct {
	Field   string
	Message string
}

func (e *SourceFieldError) Error() string { return e.Message }

func secretErr(format string, args ...any) error {
	return &SourceFieldError{Field: "secret", Message: fmt.Sprintf(format, args...)}
}

// isJSONSecret tells a credentials object from a bare token: no token starts with "{".
func isJSONSecret(secret string) bool { return strings.HasPrefix(strings.TrimSpace(secret), "{") }

// validateSecret checks a secret's form for kind, without contacting anyone.
func validateSecret(kind, secret string) error {
	if strings.TrimSpace(secret) == "" {
		return secretErr("a source needs an API token or credentials")
	}
	var err error
	switch kind {
	case FormatOkta:
		if isJSONSecret(secret) {
			err = secretErr("an Okta source takes an API token, not a JSON object")
		}
	case FormatEntra:
		_, err = parseEntraSecret(secret)
	case FormatGoogle:
		_, err = parseGoogleSecret(secret)
	}
	return err
}

// parseEntraSecret reads an Entra secret; nil credentials means a bare bearer token.
func parseEntraSecret(secret string) (*EntraCredentials, error) {
	if !isJSONSecret(secret) {
		return nil, nil
	}
	var c EntraCredentials
	if err := json.Unmarshal([]byte(secret), &c); err != nil {
		// The decoder's message may quote the secret's text, so it is not passed on.
		return nil, secretErr(`the Entra credentials are not valid JSON: give {"tenant_id": …, "client_id": …, "client_secret": …}`)
	}
	c.TenantID, c.ClientID = strings.TrimSpace(c.TenantID), strings.TrimSpace(c.ClientID)
	var missing []string
	for _, f := range []struct{ name, v string }{{"tenant_id", c.TenantID}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, secretErr("the Entra credentials lack %s", strings.Join(missing, ", "))
	}
	// The tenant goes into the token URL's path.
	if strings.ContainsAny(c.TenantID, "/?#% ") {
		return nil, secretErr("tenant_id %q is not a tenant id or domain", c.TenantID)
	}
	return &c, nil
}

// parseGoogleSecret reads a Google secret; nil means a bare bearer token.
func parseGoogleSecret(secret string) (*googleKey, error) {
	if !isJSONSecret(secret) {
		return nil, nil
	}
	var k googleKey
	if err := json.Unmarshal([]byte(secret), &k); err != nil {
		return nil, secretErr("the Google service-account key is not valid JSON: paste the key file as downloaded")
	}
	if k.Type != "service_account" {
		return nil, secretErr(`the Google key is not a service-account key file (its "type" is %q, want "service_account")`, k.Type)
	}
	var missing []string
	if strings.TrimSpace(k.ClientEmail) == "" {
		missing = append(missing, "client_email")
	}
	if strings.TrimSpace(k.PrivateKey) == "" {
		missing = append(missing, "private_key")
	}
	if len(missing) > 0 {
		return nil, secretErr("the Google service-account key lacks %s", strings.Join(missing, ", "))
	}
	if err := checkPrivateKey(k.PrivateKey); err != nil {
		return nil, secretErr("the Google service-account key's private_key: %v", err)
	}
	k.TokenURI = strings.TrimSpace(k.TokenURI)
	if k.TokenURI == "" {
		k.TokenURI = GoogleTokenURL
	}
	if err := checkSecureURL(k.TokenURI); err != nil {
		return nil, secretErr("the Google service-account key's token_uri: %v", err)
	}
	k.Subject = strings.TrimSpace(k.Subject)
	if k.Subject == "" {
		return nil, &SourceFieldError{Field: "subject", Message: "a Google source needs the e-mail of a Workspace admin for the service account to act as (subject)"}
	}
	if a, err := mail.ParseAddress(k.Subject); err != nil || a.Address != k.Subject {
		return nil, &SourceFieldError{Field: "subject", Message: fmt.Sprintf("subject %q is not an e-mail address", k.Subject)}
	}
	return &k, nil
}

// checkPrivateKey parses a PEM RSA key as golang.org/x/oauth2/jwt will, so a bad key is refused
// when the source is saved rather than at the first pull.
func checkPrivateKey(p string) error {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return errors.New("not a PEM private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); ok {
			return nil
		}
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New("not an RSA private key in PKCS #8 or PKCS #1 form")
}

// WithGoogleSubject returns a service-account key file with "subject" set, so an admin can paste
// the key file unchanged and name the admin to impersonate beside it. An empty subject, or a
// secret that is not a JSON object, leaves the secret as it is.
func WithGoogleSubject(secret, subject string) (string, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" || !isJSONSecret(secret) {
		return secret, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(secret), &m); err != nil {
		return secret, secretErr("the Google service-account key is not valid JSON: paste the key file as downloaded")
	}
	s, _ := json.Marshal(subject)
	m["subject"] = s
	out, err := json.Marshal(m)
	if err != nil {
		return secret, fmt.Errorf("add subject to key: %w", err)
	}
	return string(out), nil
}

// credential gives the Authorization header of each API request: a fixed one, or one built from
// a token minted (and cached) by an OAuth token source.
type credential struct {
	static string
	ts     oauth2.TokenSource
	forget func() // drops a cached token the API refused, so the next pull mints a new one
	what   string // names the credentials in errors: never the secret
	url    string // the token endpoint, for errors
}

func staticCredential(header string) *credential { return &credential{static: header} }

func (c *credential) header() (string, error) {
	if c.ts == nil {
		return c.static, nil
	}
	t, err := c.ts.Token()
	if err != nil {
		return "", tokenError(c.what, c.url, err)
	}
	return t.Type() + " " + t.AccessToken, nil
}

func (c *credential) refused() {
	if c.forget != nil {
		c.forget()
	}
}

// TokenError is a failure to mint an access token. Its text names the credentials (tenant and
// client id, or service account and subject) and the identity provider's error code and
// description, never the secret.
type TokenError struct {
	What       string
	TokenURL   string
	StatusCode int
	Summary    string
	Err        error
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("get an access token for %s from %s", e.What, e.TokenURL)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(": HTTP %d", e.StatusCode)
	}
	if e.Summary != "" {
		return msg + ": " + e.Summary
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *TokenError) Unwrap() error { return e.Err }

func tokenError(what, tokenURL string, err error) error {
	te := &TokenError{What: what, TokenURL: redactURL(tokenURL), Err: err}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		// Only the parsed error fields are kept: a body is not shown, in case it echoes the request.
		te.Summary = strings.TrimSpace(re.ErrorCode + " " + re.ErrorDescription)
		if re.ErrorCode == "" {
			te.Summary = errorSummary(re.Body)
		}
		// Microsoft appends trace and correlation ids on further lines.
		te.Summary, _, _ = strings.Cut(strings.ReplaceAll(te.Summary, "\r\n", "\n"), "\n")
		te.Summary = strings.TrimSpace(te.Summary)
		if re.Response != nil {
			te.StatusCode = re.Response.StatusCode
		}
		te.Err = errors.New("token request refused")
	}
	return te
}

// tokenCache keeps minted access tokens between pulls (a token lives about an hour, a pull is
// every 15 minutes), keyed by a hash of the token URL, scope and credentials: changed
// credentials never reuse an old token.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]*oauth2.Token
}

func cacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// credential wraps mint, which fetches a fresh token with this pull's context, so that a cached
// token is used while valid and a new one is cached.
func (c *tokenCache) credential(key string, mint oauth2.TokenSource, what, tokenURL string) *credential {
	c.mu.Lock()
	cached := c.m[key]
	c.mu.Unlock()
	reuse := oauth2.ReuseTokenSource(cached, mint)
	return &credential{
		ts: tokenSourceFunc(func() (*oauth2.Token, error) {
			t, err := reuse.Token()
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			if c.m == nil {
				c.m = map[string]*oauth2.Token{}
			}
			c.m[key] = t
			c.mu.Unlock()
			return t, nil
		}),
		forget: func() {
			c.mu.Lock()
			delete(c.m, key)
			c.mu.Unlock()
		},
		what: what,
		url:  tokenURL,
	}
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// oauthContext makes the oauth2 package use the pullers' HTTP client for token requests.
func (h *PullHTTP) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, h.httpClient())
}

func (h *PullHTTP) httpClient() *http.Client {
	if h.Client != nil {
		return h.Client
	}
	return defaultHTTPClient
}

// entraCredential returns the Graph credential of src: minted from its client credentials, or
// its bearer token.
func (p *EntraPuller) entraCredential(ctx context.Context, src Source) (*credential, *EntraCredentials, error) {
	return entraCredential(ctx, &p.PullHTTP, &p.tokens, src, p.TokenURL, orDefault(p.Scope, EntraGraphScope))
}

// googleCredential returns the credential of src for scopes (default: the Reports API's):
// minted with the service account's key for the subject, or its bearer token.
func (p *GooglePuller) googleCredential(ctx context.Context, src Source, scopes ...string) (*credential, error) {
	if len(scopes) == 0 {
		scopes = []string{orDefault(p.Scope, GoogleReportsScope)}
	}
	return googleCredential(ctx, &p.PullHTTP, &p.tokens, src, scopes)
}

// entraCredential returns the Graph credential of src for scope, minted with h's client through
// cache from the client credentials (token endpoint tokenURL, default EntraTokenURL), or its
// bearer token.
func entraCredential(ctx context.Context, h *PullHTTP, cache *tokenCache, src Source, tokenURL, scope string) (*credential, *EntraCredentials, error) {
	creds, err := parseEntraSecret(src.Secret)
	if err != nil {
		return nil, nil, err
	}
	if creds == nil {
		return staticCredential("Bearer " + strings.TrimSpace(src.Secret)), nil, nil
	}
	tokenURL = strings.ReplaceAll(orDefault(tokenURL, EntraTokenURL), "{tenant}", creds.TenantID)
	conf := &clientcredentials.Config{
		ClientID:     creds.ClientID,
		ClientSecret: creds.ClientSecret,
		TokenURL:     tokenURL,
		Scopes:       []string{scope},
		// Microsoft documents the secret in the form body; the default auto-detection would try
		// Basic first and send a second request on every failure.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	what := fmt.Sprintf("app %s in tenant %s", creds.ClientID, creds.TenantID)
	return cache.credential(cacheKey(tokenURL, scope, creds.ClientID, creds.ClientSecret),
		conf.TokenSource(h.oauthContext(ctx)), what, tokenURL), creds, nil
}

// googleCredential returns the credential of src for scopes, minted with h's client through cache
// with the service account's key for the subject, or its bearer token.
func googleCredential(ctx context.Context, h *PullHTTP, cache *tokenCache, src Source, scopes []string) (*credential, error) {
	key, err := parseGoogleSecret(src.Secret)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return staticCredential("Bearer " + strings.TrimSpace(src.Secret)), nil
	}
	conf := &jwt.Config{
		Email:        key.ClientEmail,
		PrivateKey:   []byte(key.PrivateKey),
		PrivateKeyID: key.PrivateKeyID,
		Subject:      key.Subject,
		Scopes:       scopes,
		TokenURL:     key.TokenURI,
	}
	what := fmt.Sprintf("service account %s acting as %s", key.ClientEmail, key.Subject)
	return cache.credential(cacheKey(key.TokenURI, strings.Join(scopes, " "), key.ClientEmail, key.Subject, key.PrivateKey),
		conf.TokenSource(h.oauthContext(ctx)), what, key.TokenURI), nil
}
