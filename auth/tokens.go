package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Scope is one permission an API token can carry.
type Scope string

// The scopes. A token acts only within its scopes, whoever created it.
const (
	ScopeCatalogRead    Scope = "catalog:read"
	ScopeCatalogWrite   Scope = "catalog:write"
	ScopeRequestsWrite  Scope = "requests:write"
	ScopeDiscoveryRead  Scope = "discovery:read"
	ScopeDiscoveryWrite Scope = "discovery:write"
	ScopeAuditRead      Scope = "audit:read"
	// ScopeActionsWrite previews, approves, retries and undoes actions at identity providers,
	// as the token's owner (who must be in security; approving needs another owner than the
	// preview's).
	ScopeActionsWrite Scope = "actions:write"
)

// Scopes lists every scope, for forms and validation.
var Scopes = []Scope{ScopeCatalogRead, ScopeCatalogWrite, ScopeRequestsWrite, ScopeDiscoveryRead, ScopeDiscoveryWrite, ScopeAuditRead, ScopeActionsWrite}

// tokenPrefix marks Paved tokens so secret scanners and people recognise them.
const tokenPrefix = "pvd_"

// MaxTokenLifetime bounds how long a token may live; long-lived secrets leak.
const MaxTokenLifetime = 366 * 24 * time.Hour

// Token is an API token as stored; the secret itself is never stored.
type Token struct {
	ID         int64      `db:"id"`
	Name       string     `db:"name"`
	Prefix     string     `db:"prefix"`
	ScopesText string     `db:"scopes"`
	CreatedBy  *int64     `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	LastUsedAt *time.Time `db:"last_used_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
}

// Scopes returns the token's scopes.
func (t Token) Scopes() []Scope {
	var out []Scope
	for s := range strings.SplitSeq(t.ScopesText, " ") {
		if s != "" {
			out = append(out, Scope(s))
		}
	}
	return out
}

// Allows reports whether the token carries scope.
func (t Token) Allows(scope Scope) bool { return slices.Contains(t.Scopes(), scope) }

// Active reports whether the token can still be used at now.
func (t Token) Active(now time.Time) bool { return t.RevokedAt == nil && now.Before(t.ExpiresAt) }

// NewToken is what an administrator asks for.
type NewToken struct {
	Name      string
	Scopes    []string
	ExpiresIn time.Duration
}

// ParseScopes splits "catalog:read,discovery:write" (commas or spaces).
func ParseScopes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

func (n NewToken) validate() ([]Scope, error) {
	f := errs.Fields{}
	name := strings.TrimSpace(n.Name)
	if name == "" {
		f.Add("name", "Give the token a name that says what uses it, such as “okta-sync”.")
	} else if len(name) > 80 {
		f.Add("name", "Use at most 80 characters.")
	}
	var scopes []Scope
	for _, s := range n.Scopes {
		sc := Scope(strings.TrimSpace(s))
		if !slices.Contains(Scopes, sc) {
			f.Add("scopes", fmt.Sprintf("Unknown scope %q.", s))
			continue
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(n.Scopes) == 0 {
		f.Add("scopes", "Choose at least one scope.")
	}
	if n.ExpiresIn <= 0 {
		f.Add("expires", "Choose when the token expires.")
	} else if n.ExpiresIn > MaxTokenLifetime {
		f.Add("expires", "Tokens may live at most 366 days.")
	}
	return scopes, f.Err()
}

// CreateToken stores a new token and returns it with its secret, which is shown once and never
// again. Names are unique among tokens that are not revoked.
func (s *Service) CreateToken(ctx context.Context, actor audit.Actor, n NewToken) (Token, string, error) {
	scopes, err := n.validate()
	if err != nil {
		return Token{}, "", err
	}
	secret := tokenPrefix + newSecret()
	now := s.now()
	parts := make([]string, len(scopes))
	for i, sc := range scopes {
		parts[i] = string(sc)
	}
	var t Token
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &t, tx.Rebind(`INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+tokenColumns),
			strings.TrimSpace(n.Name), hashSecret(secret), secret[:len(tokenPrefix)+6], strings.Join(parts, " "), actor.UserID, now, now.Add(n.ExpiresIn))
		if db.IsUniqueViolation(err) {
			return &errs.Error{Code: errs.Conflict, Message: "A token with that name already exists.", Fields: map[string]string{"name": "A token with that name already exists; revoke it first or choose another name."}}
		}
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return audit.Append(ctx, tx, now, actor, "token.create", "api_token", fmt.Sprint(t.ID), map[string]any{"name": t.Name, "scopes": t.ScopesText, "expires_at": t.ExpiresAt})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

const tokenColumns = "id, name, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at"

// Tokens lists every token, newest first.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) {
	var out []Token
	if err := s.db.SelectContext(ctx, &out, "SELECT "+tokenColumns+" FROM api_tokens ORDER BY id DESC"); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken ends the token with this id, or with this name when id is 0. It takes effect at
// once in this process and within TokenCacheTTL in others (the CLI revokes for a running server).
func (s *Service) RevokeToken(ctx context.Context, actor audit.Actor, id int64, name string) (Token, error) {
	now := s.now()
	var t Token
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		q, arg := "id = ?", any(id)
		if id == 0 {
			q, arg = "name = ?", name
		}
		err := tx.GetContext(ctx, &t, tx.Rebind("UPDATE api_tokens SET revoked_at = ? WHERE "+q+" AND revoked_at IS NULL RETURNING "+tokenColumns), now, arg)
		if db.IsNotFound(err) {
			return errs.E(errs.NotFound, "No active token %s.", describeToken(id, name))
		}
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return audit.Append(ctx, tx, now, actor, "token.revoke", "api_token", fmt.Sprint(t.ID), map[string]any{"name": t.Name})
	})
	if err == nil {
		s.tokens.forget(t.ID)
	}
	return t, err
}

// TokenCacheTTL is how long a token found valid is trusted without reading its row again. An
// API client sends many requests a second, and the lookup was a tenth of a search request's
// cost; a token revoked by another process (the CLI, another replica) stops working this long
// after at most.
const TokenCacheTTL = 5 * time.Second

// maxCachedTokens bounds the cache; past it, it starts again empty.
const maxCachedTokens = 10_000

// tokenCache holds recently verified tokens by the hash of their secret.
type tokenCache struct {
	mu sync.RWMutex
	m  map[string]cachedToken
}

type cachedToken struct {
	t     Token
	until time.Time // when to read the row again
}

func (c *tokenCache) get(hash string, now time.Time) (Token, bool) {
	c.mu.RLock()
	e, ok := c.m[hash]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return Token{}, false
	}
	return e.t, true
}

func (c *tokenCache) put(hash string, t Token, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = map[string]cachedToken{}
	}
	c.m[hash] = cachedToken{t: t, until: now.Add(TokenCacheTTL)}
}

// forget drops the token with this id.
func (c *tokenCache) forget(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, e := range c.m {
		if e.t.ID == id {
			delete(c.m, h)
		}
	}
}

// tokenByHash returns the statement that finds a token by the hash of its secret, prepared
// once: every API request runs it, and preparing it each time cost as much as running it.
func (s *Service) tokenByHash(ctx context.Context) (*sqlx.Stmt, error) {
	s.tokenStmtMu.Lock()
	defer s.tokenStmtMu.Unlock()
	if s.tokenStmt == nil {
		stmt, err := s.db.PreparexContext(ctx, s.db.Rebind("SELECT "+tokenColumns+" FROM api_tokens WHERE token_hash = ?"))
		if err != nil {
			return nil, fmt.Errorf("prepare the token lookup: %w", err)
		}
		s.tokenStmt = stmt
	}
	return s.tokenStmt, nil
}

func describeToken(id int64, name string) string {
	if id != 0 {
		return fmt.Sprintf("with id %d", id)
	}
	return fmt.Sprintf("named %q", name)
}

// AuthenticateToken returns the active token for a bearer secret and records its use.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (Token, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return Token{}, errs.E(errs.Unauthorized, "The API token is not valid.")
	}
	hash := hashSecret(secret)
	now := s.now()
	if t, ok := s.tokens.get(hash, now); ok {
		if !now.Before(t.ExpiresAt) {
			return Token{}, errs.E(errs.Unauthorized, "The API token has expired.")
		}
		return t, nil
	}
	stmt, err := s.tokenByHash(ctx)
	if err != nil {
		return Token{}, err
	}
	var t Token
	err = stmt.GetContext(ctx, &t, hash)
	if db.IsNotFound(err) {
		return Token{}, errs.E(errs.Unauthorized, "The API token is not valid.")
	}
	if err != nil {
		return Token{}, fmt.Errorf("look up token: %w", err)
	}
	if t.RevokedAt != nil {
		return Token{}, errs.E(errs.Unauthorized, "The API token has been revoked.")
	}
	if !now.Before(t.ExpiresAt) {
		return Token{}, errs.E(errs.Unauthorized, "The API token has expired.")
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"), now, t.ID); err != nil {
			return Token{}, fmt.Errorf("record token use: %w", err)
		}
		t.LastUsedAt = &now
	}
	s.tokens.put(hash, t, now)
	return t, nil
}
