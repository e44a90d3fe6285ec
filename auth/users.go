package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// User is a person who has signed in at least once.
type User struct {
	ID        int64  `db:"id"`
	Issuer    string `db:"issuer"`
	Subject   string `db:"subject"`
	Email     string `db:"email"`
	Name      string `db:"name"`
	RolesText string `db:"roles"`
	// GroupsJSON is the identity provider's groups at the last sign-in, as a JSON list.
	GroupsJSON  string     `db:"idp_groups"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
	LastLoginAt *time.Time `db:"last_login_at"`
}

// Roles returns the user's roles as refreshed at their last sign-in.
func (u User) Roles() RoleSet { return ParseRoleSet(u.RolesText) }

// Groups returns the user's identity-provider groups as of their last sign-in.
func (u User) Groups() []string {
	var g []string
	if err := json.Unmarshal([]byte(u.GroupsJSON), &g); err != nil {
		return nil
	}
	return g
}

// InAnyGroup reports whether the user was in one of groups at their last sign-in. Group names
// compare exactly, as identity providers treat them.
func (u User) InAnyGroup(groups []string) bool {
	for _, g := range u.Groups() {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

// DisplayName is the name to show, falling back to the e-mail.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// Identity is what the identity provider asserted about a person at sign-in.
type Identity struct {
	Issuer, Subject, Email, Name string
	Groups                       []string
}

const userColumns = "id, issuer, subject, email, name, roles, idp_groups, created_at, updated_at, last_login_at"

// upsertUser creates or refreshes the user known by (issuer, subject). E-mail and name follow
// the provider; roles and groups are replaced, so a removed group takes effect at the next
// sign-in.
func upsertUser(ctx context.Context, tx *sqlx.Tx, id Identity, roles RoleSet, now time.Time) (User, error) {
	var u User
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	groupsJSON, err := json.Marshal(groups)
	if err != nil {
		return User{}, fmt.Errorf("upsert user: %w", err)
	}
	err = tx.GetContext(ctx, &u, tx.Rebind(`INSERT INTO users (issuer, subject, email, name, roles, idp_groups, created_at, updated_at, last_login_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (issuer, subject) DO UPDATE SET email = excluded.email, name = excluded.name,
			roles = excluded.roles, idp_groups = excluded.idp_groups, updated_at = excluded.updated_at, last_login_at = excluded.last_login_at
		RETURNING `+userColumns),
		id.Issuer, id.Subject, id.Email, id.Name, roles.String(), string(groupsJSON), now, now, now)
	if err != nil {
		return User{}, fmt.Errorf("upsert user: %w", err)
	}
	return u, nil
}

// UserByID returns one user.
func (s *Service) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, s.db.Rebind("SELECT "+userColumns+" FROM users WHERE id = ?"), id)
	if db.IsNotFound(err) {
		return User{}, errs.E(errs.NotFound, "No such user.")
	}
	if err != nil {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, nil
}

// CommitteeSize counts the people who may vote on proposals: everyone whose roles, as of their
// last sign-in, include the committee's (security and administrators do).
func (s *Service) CommitteeSize(ctx context.Context) (int, error) {
	var stored []string
	// The LIKE narrows the rows to those naming a role at or above the committee's;
	// ParseRoleSet decides, as it does at sign-in.
	if err := s.db.SelectContext(ctx, &stored, "SELECT roles FROM users WHERE roles LIKE '%committee%' OR roles LIKE '%security%' OR roles LIKE '%admin%'"); err != nil {
		return 0, fmt.Errorf("count committee members: %w", err)
	}
	n := 0
	for _, r := range stored {
		if ParseRoleSet(r).Has(RoleCommittee) {
			n++
		}
	}
	return n, nil
}

// EnsureUser creates or refreshes the user id names with roles, as a sign-in would but without
// a session: the quick start uses it to give its demo data real people before anyone signs in.
func (s *Service) EnsureUser(ctx context.Context, id Identity, roles RoleSet) (User, error) {
	var u User
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		u, err = upsertUser(ctx, tx, id, roles.Expand(), s.now())
		return err
	})
	return u, err
}

// EmailsWithRole lists the e-mail addresses of everyone whose roles, as of their last sign-in,
// include role (security includes administrators), read through q: a caller queueing
// notifications in a transaction passes it.
func EmailsWithRole(ctx context.Context, q sqlx.QueryerContext, role Role) ([]string, error) {
	var rows []struct {
		Email string `db:"email"`
		Roles string `db:"roles"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, "SELECT email, roles FROM users WHERE email <> '' ORDER BY email"); err != nil {
		return nil, fmt.Errorf("people with role %s: %w", role, err)
	}
	var out []string
	for _, r := range rows {
		if ParseRoleSet(r.Roles).Has(role) {
			out = append(out, r.Email)
		}
	}
	return out, nil
}
