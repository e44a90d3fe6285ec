package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Session is a signed-in browser.
type Session struct {
	IDHash     string    `db:"id_hash"`
	UserID     int64     `db:"user_id"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
	ExpiresAt  time.Time `db:"expires_at"`
	UserAgent  string    `db:"user_agent"`
	IP         string    `db:"ip"`
	IDToken    string    `db:"id_token"`
}

// ClientInfo describes the browser a session belongs to, shown on the account page.
type ClientInfo struct {
	UserAgent, IP, RequestID string
}

// touchEvery limits writes: a session's last-seen time is refreshed at most this often.
const touchEvery = time.Minute

// SignIn records a completed sign-in: it creates or refreshes the user with roles and opens a
// new session, whose secret it returns for the cookie. The old session, if any, is not reused:
// a fresh id at every sign-in defeats session fixation.
func (s *Service) SignIn(ctx context.Context, id Identity, roles RoleSet, idToken string, client ClientInfo) (User, string, error) {
	now := s.now()
	secret := newSecret()
	var u User
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if u, err = upsertUser(ctx, tx, id, roles, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, id_token)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			hashSecret(secret), u.ID, now, now, now.Add(s.maxLifetime), truncate(client.UserAgent, 300), client.IP, idToken)
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return audit.Append(ctx, tx, now, audit.Actor{UserID: &u.ID, Name: u.Email, RequestID: client.RequestID},
			"user.sign_in", "user", fmt.Sprint(u.ID), map[string]any{"roles": roles.String(), "ip": client.IP})
	})
	if err != nil {
		return User{}, "", err
	}
	return u, secret, nil
}

// Authenticate returns the session and user for a cookie's secret. A missing, expired or idle
// session is Unauthorized; a live one has its last-seen time refreshed.
func (s *Service) Authenticate(ctx context.Context, secret string) (Session, User, error) {
	if secret == "" {
		return Session{}, User{}, errs.E(errs.Unauthorized, "Please sign in.")
	}
	// The session and its user in one round trip: every signed-in page starts here.
	var row struct {
		Session
		User `db:"u"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT s.id_hash, s.user_id, s.created_at, s.last_seen_at, s.expires_at, s.user_agent, s.ip, s.id_token,
		u.id AS "u.id", u.issuer AS "u.issuer", u.subject AS "u.subject", u.email AS "u.email", u.name AS "u.name",
		u.roles AS "u.roles", u.idp_groups AS "u.idp_groups", u.created_at AS "u.created_at", u.updated_at AS "u.updated_at", u.last_login_at AS "u.last_login_at"
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?`), hashSecret(secret))
	sess, u := row.Session, row.User
	if db.IsNotFound(err) {
		return Session{}, User{}, errs.E(errs.Unauthorized, "Your session has ended. Please sign in again.")
	}
	if err != nil {
		return Session{}, User{}, fmt.Errorf("look up session: %w", err)
	}
	now := s.now()
	if !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.idleTimeout)) {
		_, _ = s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM sessions WHERE id_hash = ?"), sess.IDHash)
		return Session{}, User{}, errs.E(errs.Unauthorized, "Your session has expired. Please sign in again.")
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, s.db.Rebind("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?"), now, sess.IDHash); err != nil {
			return Session{}, User{}, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// SignOut ends the session with this secret and returns its ID token, which the provider's
// end-session endpoint takes as a hint. Ending an unknown session is not an error.
func (s *Service) SignOut(ctx context.Context, secret string, client ClientInfo) (string, error) {
	if secret == "" {
		return "", nil
	}
	var sess Session
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &sess, tx.Rebind("DELETE FROM sessions WHERE id_hash = ? RETURNING id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, id_token"), hashSecret(secret))
		if db.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), audit.Actor{UserID: &sess.UserID, Name: fmt.Sprint("user:", sess.UserID), RequestID: client.RequestID},
			"user.sign_out", "user", fmt.Sprint(sess.UserID), nil)
	})
	return sess.IDToken, err
}

// SessionsOf lists a user's live sessions, newest first.
func (s *Service) SessionsOf(ctx context.Context, userID int64) ([]Session, error) {
	var out []Session
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, '' AS id_token
		FROM sessions WHERE user_id = ? AND expires_at > ? AND last_seen_at > ? ORDER BY created_at DESC`),
		userID, s.now(), s.now().Add(-s.idleTimeout))
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// SignOutOthers ends every session of the user except the one with keepSecret.
func (s *Service) SignOutOthers(ctx context.Context, userID int64, keepSecret string) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"), userID, hashSecret(keepSecret))
	if err != nil {
		return 0, fmt.Errorf("end other sessions: %w", err)
	}
	return res.RowsAffected()
}

// Prune deletes expired sessions and abandoned sign-in flows. Running it on several replicas at
// once is harmless, so it needs no coordination.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.now()
	r1, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?"), now, now.Add(-s.idleTimeout))
	if err != nil {
		return 0, fmt.Errorf("prune sessions: %w", err)
	}
	r2, err := s.db.ExecContext(ctx, s.db.Rebind("DELETE FROM login_flows WHERE expires_at <= ?"), now)
	if err != nil {
		return 0, fmt.Errorf("prune sign-in flows: %w", err)
	}
	n1, _ := r1.RowsAffected()
	n2, _ := r2.RowsAffected()
	return n1 + n2, nil
}

// truncate bounds a client-supplied string before it is stored.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
