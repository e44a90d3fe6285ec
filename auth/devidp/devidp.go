// Package devidp is a real, in-process OpenID Connect provider for development and tests.
//
// `paved dev` and the test suites need somebody to sign in as without an external
// identity provider. Instead of faking the relying party, this package runs a genuine
// OpenID Provider (github.com/zitadel/oidc/v3/pkg/op) with an in-memory store, so the
// portal's production OIDC code path (discovery, authorization code + PKCE, ID token
// verification, userinfo, logout) is exercised end to end. Signing in means picking one
// of a few demo users on a plain HTML page: there are no passwords.
//
// It is NOT an identity provider for production: anyone who can reach the sign-in page
// can become any configured user.
package devidp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a demo identity that can be picked on the sign-in page.
type User struct {
	// Subject is the stable `sub` claim; the portal keys its users on it.
	Subject string
	Email   string
	Name    string
	// Groups is sent as the `groups` claim, from which the portal maps roles.
	Groups []string
}

// DemoUsers returns one user per portal role, so every part of the portal can be tried
// from the quick start. The subjects never change, so data created by a demo user in a
// long-lived dev database still belongs to the same person after a restart.
func DemoUsers() []User {
	return []User{
		{
			Subject: "devidp-employee",
			Email:   "employee@example.com",
			Name:    "Emma Employee",
			Groups:  []string{"paved-employees"},
		},
		{
			Subject: "devidp-committee",
			Email:   "committee@example.com",
			Name:    "Carlos Committee",
			Groups:  []string{"paved-employees", "paved-committee"},
		},
		{
			Subject: "devidp-security",
			Email:   "security@example.com",
			Name:    "Sam Security",
			Groups:  []string{"paved-employees", "paved-security"},
		},
		{
			Subject: "devidp-admin",
			Email:   "admin@example.com",
			Name:    "Ada Admin",
			Groups:  []string{"paved-employees", "paved-admins"},
		},
	}
}

// Config configures a Provider. It registers exactly one client: the portal.
type Config struct {
	// Issuer is the full issuer URL including the path prefix the provider is mounted
	// under, e.g. http://127.0.0.1:8080/devidp. Plain http is accepted only for loopback
	// hosts. It must not end with a slash, because the `iss` claim is compared verbatim.
	Issuer string
	// ClientID is the portal's client id.
	ClientID string
	// ClientSecret makes the client confidential (client_secret_basic or
	// client_secret_post). Empty means a public client, authenticated by PKCE alone.
	ClientSecret string
	// RedirectURIs are the exact redirect URIs the client may use, e.g.
	// http://127.0.0.1:8080/auth/callback.
	RedirectURIs []string
	// PostLogoutRedirectURIs are the exact URIs end_session may redirect to.
	PostLogoutRedirectURIs []string
	// Users can be picked on the sign-in page; empty means DemoUsers().
	Users []User
	// Logger receives the provider's own log lines; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for code, request and token expiry, so tests can expire them
	// without sleeping; nil means time.Now. Signed token timestamps (iat, exp) always
	// use the real clock, because relying parties verify them against theirs.
	Now func() time.Time
}

// Lifetimes are short because everything happens on one machine within seconds.
const (
	// codeLifetime bounds the time between the redirect to the client and the code
	// exchange (RFC 6749 §4.1.2 recommends at most ten minutes).
	codeLifetime = time.Minute
	// authRequestLifetime bounds how long the sign-in page may stay open.
	authRequestLifetime = 10 * time.Minute
	// accessTokenLifetime and idTokenLifetime only matter for userinfo and for the
	// id_token_hint at logout; the portal keeps its own session.
	accessTokenLifetime = time.Hour
	idTokenLifetime     = time.Hour
)

// Paths below the issuer served by this package rather than by op.
const (
	loginPath     = "/login"
	loggedOutPath = "/logged-out"
	stylePath     = "/static/devidp.css"
)

// Provider is a running dev OpenID Provider. It is safe for concurrent use.
type Provider struct {
	issuer  string
	prefix  string
	users   []User
	store   *storage
	op      *op.Provider
	pages   *template.Template
	log     *slog.Logger
	handler http.Handler
}

// New validates cfg, generates a fresh RSA signing key and a fresh key for op's own
// encrypted values (authorization codes and access tokens), and builds the provider.
// Nothing survives a restart: codes and tokens from a previous run stop being valid,
// and relying parties re-fetch the JWKS when they meet an unknown key id.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	issuerURL, insecure, err := validateConfig(cfg)
	if err != nil {
		return nil, err
	}
	users := cfg.Users
	if len(users) == 0 {
		users = DemoUsers()
	}
	users = cloneUsers(users)
	if err := validateUsers(users); err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "devidp")
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("devidp: generate crypto key: %w", err)
	}

	pages, err := parsePages()
	if err != nil {
		return nil, err
	}

	issuer := cfg.Issuer
	cl := &client{
		id:                     cfg.ClientID,
		secret:                 cfg.ClientSecret,
		redirectURIs:           slices.Clone(cfg.RedirectURIs),
		postLogoutRedirectURIs: slices.Clone(cfg.PostLogoutRedirectURIs),
		loginURL:               issuer + loginPath,
	}
	store := newStorage(cl, users, key, now)

	opConfig := &op.Config{
		CryptoKey: cryptoKey,
		// Without a client (no id_token_hint, no client_id) end_session lands here
		// rather than on an error.
		DefaultLogoutRedirectURI: issuer + loggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedScopes:          []string{"openid", "profile", "email", scopeGroups},
		SupportedClaims:          append(slices.Clone(op.DefaultSupportedClaims), claimGroups),
	}
	var opts []op.Option
	if insecure {
		// op refuses http issuers because OIDC requires TLS. This provider is for
		// development on the developer's own machine, and validateConfig has already
		// limited plain http to loopback hosts, where nothing crosses the network.
		opts = append(opts, op.WithAllowInsecure())
	}
	provider, err := op.NewProvider(opConfig, store, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devidp: create provider: %w", err)
	}

	p := &Provider{
		issuer: issuer,
		prefix: issuerURL.Path,
		users:  users,
		store:  store,
		op:     provider,
		pages:  pages,
		log:    logger,
	}
	p.handler = p.routes()
	logger.InfoContext(ctx, "development identity provider ready - not for production",
		"issuer", issuer, "client_id", cfg.ClientID, "users", len(users))
	return p, nil
}

// Issuer returns the issuer URL, exactly as it appears in the `iss` claim.
func (p *Provider) Issuer() string { return p.issuer }

// Users returns a copy of the users that can be picked on the sign-in page.
func (p *Provider) Users() []User { return cloneUsers(p.users) }

// Handler serves everything under the issuer's path: discovery, the op endpoints, the
// sign-in page and its stylesheet. Mount it at that path WITHOUT stripping it:
//
//	mux.Handle("/devidp/", p.Handler()) // issuer http://127.0.0.1:8080/devidp
//
// The handler strips the prefix itself, because op's router matches endpoint paths
// relative to the issuer ("/authorize", "/.well-known/openid-configuration") while it
// builds absolute URLs from the full issuer. Keeping the prefix knowledge here means the
// caller needs nothing but the issuer's path, and a request outside that path gets 404.
func (p *Provider) Handler() http.Handler { return p.handler }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	// The sign-in POST must come from the page itself. The portal already wraps every
	// route in net/http.CrossOriginProtection; repeating it here keeps the provider safe
	// when it is mounted on its own, as in tests, and costs nothing when it is not.
	mux.Handle("POST "+loginPath, http.NewCrossOriginProtection().Handler(http.HandlerFunc(p.handleLoginSubmit)))
	mux.HandleFunc("GET "+loginPath, p.handleLoginPage)
	mux.HandleFunc("GET "+loggedOutPath, p.handleLoggedOut)
	mux.HandleFunc("GET "+stylePath, handleStyle)
	mux.Handle("/", p.op)
	if p.prefix == "" {
		return mux
	}
	strip := http.StripPrefix(p.prefix, mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only paths strictly below the prefix belong to the provider; the bare prefix
		// would otherwise reach the mux as "" and be redirected to the portal's root.
		if !strings.HasPrefix(r.URL.Path, p.prefix+"/") {
			http.NotFound(w, r)
			return
		}
		strip.ServeHTTP(w, r)
	})
}

// validateConfig checks cfg and reports whether the issuer uses plain http.
func validateConfig(cfg Config) (issuer *url.URL, insecure bool, err error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, false, fmt.Errorf("devidp: issuer %q: %w", cfg.Issuer, err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, false, fmt.Errorf("devidp: issuer %q must be an absolute http(s) URL", cfg.Issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, false, fmt.Errorf("devidp: issuer %q must not carry user info, a query or a fragment", cfg.Issuer)
	}
	if strings.HasSuffix(u.Path, "/") {
		return nil, false, fmt.Errorf("devidp: issuer %q must not end with a slash", cfg.Issuer)
	}
	if u.RawPath != "" {
		return nil, false, fmt.Errorf("devidp: issuer %q must not contain escaped characters in its path", cfg.Issuer)
	}
	if u.Scheme == "http" {
		if !isLoopbackHost(u.Hostname()) {
			return nil, false, fmt.Errorf("devidp: plain http issuer %q is only allowed on a loopback host", cfg.Issuer)
		}
		insecure = true
	}
	if cfg.ClientID == "" {
		return nil, false, errors.New("devidp: client id is required")
	}
	if len(cfg.RedirectURIs) == 0 {
		return nil, false, errors.New("devidp: at least one redirect URI is required")
	}
	for _, raw := range slices.Concat(cfg.RedirectURIs, cfg.PostLogoutRedirectURIs) {
		r, err := url.Parse(raw)
		if err != nil || r.Host == "" || (r.Scheme != "http" && r.Scheme != "https") || r.Fragment != "" {
			return nil, false, fmt.Errorf("devidp: redirect URI %q must be an absolute http(s) URL without a fragment", raw)
		}
	}
	return u, insecure, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateUsers(users []User) error {
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if u.Subject == "" || u.Email == "" {
			return fmt.Errorf("devidp: user %+v needs a subject and an e-mail", u)
		}
		if seen[u.Subject] {
			return fmt.Errorf("devidp: duplicate user subject %q", u.Subject)
		}
		seen[u.Subject] = true
	}
	return nil
}

// cloneUsers copies users deeply, so callers cannot change a running provider's users.
func cloneUsers(users []User) []User {
	out := make([]User, len(users))
	for i, u := range users {
		u.Groups = slices.Clone(u.Groups)
		out[i] = u
	}
	return out
}
