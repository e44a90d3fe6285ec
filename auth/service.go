// Package auth signs people in through the company's OpenID Connect provider, keeps their
// sessions server-side, maps identity-provider groups to roles, and issues API tokens for
// scripts. It owns the users, sessions, login_flows and api_tokens tables. It is the only
// package that imports go-oidc.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
)

// Service is the auth domain: users, sessions, sign-in flows and API tokens.
type Service struct {
	db *db.DB
	// Now is the clock; tests replace it to expire sessions without sleeping.
	Now         func() time.Time
	idleTimeout time.Duration
	maxLifetime time.Duration

	tokenStmtMu sync.Mutex
	tokenStmt   *sqlx.Stmt // see tokenByHash
	tokens      tokenCache
}

// Options tune session lifetimes.
type Options struct {
	IdleTimeout time.Duration // a session unused this long ends
	MaxLifetime time.Duration // a session ends this long after sign-in, whatever its use
}

// NewService returns the auth service on d.
func NewService(d *db.DB, o Options) *Service {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 8 * time.Hour
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = 7 * 24 * time.Hour
	}
	return &Service{db: d, Now: time.Now, idleTimeout: o.IdleTimeout, maxLifetime: o.MaxLifetime}
}

func (s *Service) now() time.Time { return db.Time(s.Now()) }

// newSecret returns 256 random bits, URL-safe encoded.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how secrets are stored and looked up: a leaked table reveals no usable secret.
// The secrets carry 256 bits, so a fast unsalted hash is enough.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// DB returns the database the service writes to, for callers that read the audit log.
func (s *Service) DB() *db.DB { return s.db }
