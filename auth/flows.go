package auth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// flowLifetime bounds how long a person may take at the identity provider's sign-in page.
const flowLifetime = 10 * time.Minute

// LoginFlow is a sign-in in progress. Browser is the secret for the browser's cookie; State,
// Nonce and Verifier go to the provider (the verifier only as its S256 challenge).
type LoginFlow struct {
	Browser  string
	State    string
	Nonce    string
	Verifier string
	ReturnTo string
}

// StartLogin records a new sign-in for the browser about to be sent to the provider.
func (s *Service) StartLogin(ctx context.Context, returnTo string) (LoginFlow, error) {
	f := LoginFlow{Browser: newSecret(), State: newSecret(), Nonce: newSecret(), Verifier: newSecret() + newSecret()[:11], ReturnTo: SafeReturnPath(returnTo)}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO login_flows (browser_hash, state, nonce, verifier, return_to, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`), hashSecret(f.Browser), f.State, f.Nonce, f.Verifier, f.ReturnTo, s.now().Add(flowLifetime))
	if err != nil {
		return LoginFlow{}, fmt.Errorf("start sign-in: %w", err)
	}
	return f, nil
}

// ErrFlow is why a callback is refused when it does not belong to a sign-in this browser began.
var ErrFlow = errs.E(errs.Unauthorized, "This sign-in was not started here, has expired or was already used.")

// FinishLogin takes the flow of this browser, once: it is deleted whatever the outcome, so a
// replayed callback finds nothing. The state must match the one sent to the provider.
func (s *Service) FinishLogin(ctx context.Context, browser, state string) (LoginFlow, error) {
	if browser == "" || state == "" {
		return LoginFlow{}, ErrFlow
	}
	var row struct {
		State     string    `db:"state"`
		Nonce     string    `db:"nonce"`
		Verifier  string    `db:"verifier"`
		ReturnTo  string    `db:"return_to"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		return tx.GetContext(ctx, &row, tx.Rebind("DELETE FROM login_flows WHERE browser_hash = ? RETURNING state, nonce, verifier, return_to, expires_at"), hashSecret(browser))
	})
	if db.IsNotFound(err) {
		return LoginFlow{}, ErrFlow
	}
	if err != nil {
		return LoginFlow{}, fmt.Errorf("finish sign-in: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(row.State), []byte(state)) != 1 || !s.now().Before(row.ExpiresAt) {
		return LoginFlow{}, ErrFlow
	}
	return LoginFlow{Browser: browser, State: row.State, Nonce: row.Nonce, Verifier: row.Verifier, ReturnTo: row.ReturnTo}, nil
}
