package devidp

import (
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// scopeGroups may be requested explicitly; the groups claim is sent either way, because
// the portal needs it on every sign-in and should not depend on asking for it.
const (
	scopeGroups = "groups"
	claimGroups = "groups"
)

// client is the single relying party the provider knows: the portal. It implements
// op.Client. Only the authorization code flow is allowed, which is all the portal uses.
type client struct {
	id                     string
	secret                 string
	redirectURIs           []string
	postLogoutRedirectURIs []string
	loginURL               string
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.postLogoutRedirectURIs }

// ApplicationType is web even for a public client: op allows http redirect URIs for web
// clients using the code flow, which is what a loopback dev portal needs.
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }

// AuthMethod is client_secret_basic for a confidential client; op then also accepts the
// secret in the form body (client_secret_post), since AuthMethodPost is enabled. A public
// client gets "none", for which op insists on PKCE.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }

// LoginURL is where op sends the browser after storing an auth request: our sign-in page.
func (c *client) LoginURL(authRequestID string) string {
	return c.loginURL + "?" + url.Values{"authRequestID": {authRequestID}}.Encode()
}

// AccessTokenType is an opaque bearer token: only the provider reads it (userinfo).
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return idTokenLifetime }

// DevMode stays off even here: it would accept any http redirect URI, and the
// registered ones already work without it.
func (c *client) DevMode() bool { return false }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed admits "groups" besides the standard scopes op always keeps.
func (c *client) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion puts the profile and e-mail claims into the ID token
// too. The portal reads identity from the verified ID token and should not need a
// second round trip to userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c *client) ClockSkew() time.Duration { return 0 }
