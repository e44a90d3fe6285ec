package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Scopes the actions at Google need beyond the Reports API's: deleting people's OAuth tokens and
// listing the users of the domain (to act on everyone).
const (
	GoogleUserSecurityScope = "https://www.googleapis.com/auth/admin.directory.user.security"
	GoogleUserReadScope     = "https://www.googleapis.com/auth/admin.directory.user.readonly"
)

// ErrActionsOff is returned when a source that may not act is asked to.
var ErrActionsOff = errors.New("this source is read-only: turn on actions for it first")

// ProviderHTTP calls identity providers' APIs to change things (the actions), with the pulls'
// retry rules (5xx and network errors retried with backoff, 429 waited out as Retry-After or
// X-Rate-Limit-Reset says) and the sources' credentials. Minted tokens are cached per
// ProviderHTTP, so keep one for the life of the process.
type ProviderHTTP struct {
	PullHTTP
	// EntraTokenURL is the token endpoint for Entra client credentials, {tenant} replaced by the
	// tenant id (default EntraTokenURL).
	EntraTokenURL string
	// GoogleScopes are asked for with a Google service-account key (default
	// GoogleUserSecurityScope and GoogleUserReadScope).
	GoogleScopes []string

	tokens tokenCache
}

// ProviderClient is one source's API with its credentials.
type ProviderClient struct {
	h    *ProviderHTTP
	base string
	cred *credential
}

// Client returns the API client of src, which must carry its secret (Store.SourceWithSecret)
// and may act (Source.Actions). A secret of the wrong form is a *SourceFieldError; credentials
// the provider refuses show up on the first request (or Authorize).
func (p *ProviderHTTP) Client(ctx context.Context, src Source) (*ProviderClient, error) {
	if !src.Actions {
		return nil, fmt.Errorf("%s source %q: %w", src.Kind, src.Name, ErrActionsOff)
	}
	if err := validateSecret(src.Kind, src.Secret); err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.Kind, src.Name, err)
	}
	if err := checkBaseURL(src.BaseURL); err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.Kind, src.Name, err)
	}
	var (
		cred *credential
		err  error
	)
	switch src.Kind {
	case FormatOkta:
		cred = staticCredential("SSWS " + strings.TrimSpace(src.Secret))
	case FormatEntra:
		cred, _, err = entraCredential(ctx, &p.PullHTTP, &p.tokens, src, p.EntraTokenURL, EntraGraphScope)
	case FormatGoogle:
		scopes := p.GoogleScopes
		if len(scopes) == 0 {
			scopes = []string{GoogleUserSecurityScope, GoogleUserReadScope}
		}
		cred, err = googleCredential(ctx, &p.PullHTTP, &p.tokens, src, scopes)
	default:
		err = fmt.Errorf("source kind %q cannot act", src.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("%s source %q: %w", src.Kind, src.Name, err)
	}
	return &ProviderClient{h: p, base: strings.TrimRight(src.BaseURL, "/"), cred: cred}, nil
}

// Authorize gets an access token now when the credentials are minted ones (Entra client
// credentials, a Google service-account key), so refused credentials are a *TokenError before
// anything is read or changed. A fixed token is only checked by the first request.
func (c *ProviderClient) Authorize() error {
	_, err := c.cred.header()
	return err
}

// Request sends method to path, which is relative to the source's base URL ("/v1.0/users") or a
// next-page link the API returned (absolute, on the base URL's origin). in, unless nil, is sent as
// JSON; a 2xx response's JSON body is decoded into out unless out is nil or the body is empty.
// A response the request gave up on is an *HTTPError (StatusCode 404 when the object is gone).
func (c *ProviderClient) Request(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	u := c.base + path
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		if err := sameOrigin(c.base, path); err != nil {
			return nil, err
		}
		u = path
	} else if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("request path %q must start with /", path)
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", method, redactURL(u), err)
		}
	}
	resp, hdr, err := c.h.send(ctx, method, u, body, c.cred)
	if err != nil {
		return nil, err
	}
	if out != nil && len(strings.TrimSpace(string(resp))) > 0 {
		if err := json.Unmarshal(resp, out); err != nil {
			return hdr, fmt.Errorf("%s %s: read response: %w", method, redactURL(u), err)
		}
	}
	return hdr, nil
}

// NextLink returns the rel="next" link of a Link header (Okta's pagination), or "".
func NextLink(h http.Header) string { return nextLink(h) }

// IsNotFound reports whether err is the provider saying the object does not exist (HTTP 404).
func IsNotFound(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.StatusCode == http.StatusNotFound
}

// IsCredentialError reports whether err is the provider refusing the source's credentials: no
// token could be minted, or the API answered 401 or 403.
func IsCredentialError(err error) bool {
	var te *TokenError
	if errors.As(err, &te) {
		return true
	}
	var fe *SourceFieldError
	if errors.As(err, &fe) {
		return true
	}
	var he *HTTPError
	return errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden)
}
