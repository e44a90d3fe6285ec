package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/testutil"
)

// clock is a settable time source, so expiry is tested without sleeping.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newService(t *testing.T, b testutil.Backend) (*auth.Service, *clock) {
	d := b.Open(t)
	svc := auth.NewService(d, auth.Options{IdleTimeout: time.Hour, MaxLifetime: 8 * time.Hour})
	c := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	svc.Now = c.now
	return svc, c
}

var ada = auth.Identity{Issuer: "https://idp.example.com", Subject: "ada", Email: "ada@example.com", Name: "Ada"}

func TestSignInUpsertsUserAndRefreshesRoles(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, _ := newService(t, b)
			ctx := context.Background()
			u1, s1, err := svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee, auth.RoleCommittee, auth.RoleSecurity, auth.RoleAdmin}, "idt", auth.ClientInfo{UserAgent: "test", IP: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			renamed := ada
			renamed.Name, renamed.Email = "Ada L.", "ada.l@example.com"
			u2, s2, err := svc.SignIn(ctx, renamed, auth.RoleSet{auth.RoleEmployee}, "", auth.ClientInfo{})
			if err != nil {
				t.Fatal(err)
			}
			if u1.ID != u2.ID {
				t.Errorf("second sign-in made user %d, want the same user %d", u2.ID, u1.ID)
			}
			if u2.Name != "Ada L." || u2.Email != "ada.l@example.com" || u2.Roles().Has(auth.RoleAdmin) {
				t.Errorf("user after second sign-in = %+v, roles %v", u2, u2.Roles())
			}
			if s1 == s2 || len(s1) < 43 {
				t.Errorf("session secrets %q and %q: want distinct 256-bit secrets", s1, s2)
			}
			other := ada
			other.Issuer = "https://other-idp.example.com"
			u3, _, err := svc.SignIn(ctx, other, auth.RoleSet{auth.RoleEmployee}, "", auth.ClientInfo{})
			if err != nil || u3.ID == u1.ID {
				t.Errorf("same subject at another issuer: user %d (err %v), want a new user", u3.ID, err)
			}
			_, u, err := svc.Authenticate(ctx, s1)
			if err != nil || u.ID != u1.ID || u.Roles().Has(auth.RoleAdmin) {
				t.Errorf("old session sees user %+v (err %v): roles must follow the latest sign-in", u, err)
			}
		})
	}
}

func TestSessionLifetimes(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, clk := newService(t, b)
			ctx := context.Background()
			u, secret, err := svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee}, "the-id-token", auth.ClientInfo{})
			if err != nil {
				t.Fatal(err)
			}
			// Active use keeps the session alive past the idle timeout...
			for range 7 {
				clk.advance(50 * time.Minute)
				if _, _, err := svc.Authenticate(ctx, secret); err != nil {
					t.Fatalf("active session refused at %v: %v", clk.t, err)
				}
			}
			// ...but not past the absolute lifetime (8 h).
			clk.advance(70 * time.Minute)
			if _, _, err := svc.Authenticate(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("session past its lifetime: err = %v, want unauthorized", err)
			}

			// Idle: an hour without requests ends it.
			_, secret, _ = svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee}, "", auth.ClientInfo{})
			clk.advance(61 * time.Minute)
			if _, _, err := svc.Authenticate(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("idle session: err = %v, want unauthorized", err)
			}

			// Sign-out returns the ID token hint and ends the session at once.
			_, secret, _ = svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee}, "the-id-token", auth.ClientInfo{})
			hint, err := svc.SignOut(ctx, secret, auth.ClientInfo{})
			if err != nil || hint != "the-id-token" {
				t.Fatalf("sign-out: hint %q, err %v", hint, err)
			}
			if _, _, err := svc.Authenticate(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("signed-out session: err = %v, want unauthorized", err)
			}
			if _, _, err := svc.Authenticate(ctx, "made-up"); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("unknown session: err = %v", err)
			}

			// Pruning removes ended sessions and leaves live ones.
			_, live, _ := svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee}, "", auth.ClientInfo{})
			_, _, _ = svc.SignIn(ctx, ada, auth.RoleSet{auth.RoleEmployee}, "", auth.ClientInfo{})
			clk.advance(30 * time.Minute)
			if _, _, err := svc.Authenticate(ctx, live); err != nil {
				t.Fatal(err)
			}
			clk.advance(45 * time.Minute) // the untouched one is now idle
			n, err := svc.Prune(ctx)
			if err != nil || n < 1 {
				t.Fatalf("prune removed %d (err %v)", n, err)
			}
			list, err := svc.SessionsOf(ctx, u.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("sessions after prune = %d (err %v), want the live one", len(list), err)
			}
			entries, _ := audit.List(ctx, svc.DB(), audit.Filter{Action: "user.sign_in"})
			if len(entries) != 5 {
				t.Errorf("audit has %d sign-ins, want 5", len(entries))
			}
		})
	}
}

func TestLoginFlowsAreSingleUseAndBoundToState(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, clk := newService(t, b)
			ctx := context.Background()
			f, err := svc.StartLogin(ctx, "//evil.example")
			if err != nil {
				t.Fatal(err)
			}
			if f.ReturnTo != "/" {
				t.Errorf("return path %q kept an open redirect", f.ReturnTo)
			}
			if _, err := svc.FinishLogin(ctx, f.Browser, "wrong-state"); err == nil {
				t.Fatal("wrong state accepted")
			}
			// The failed attempt used the flow up: the right state no longer works either.
			if _, err := svc.FinishLogin(ctx, f.Browser, f.State); err == nil {
				t.Fatal("flow reusable after a failed attempt")
			}
			f, _ = svc.StartLogin(ctx, "/account")
			got, err := svc.FinishLogin(ctx, f.Browser, f.State)
			if err != nil || got.Nonce != f.Nonce || got.Verifier != f.Verifier || got.ReturnTo != "/account" {
				t.Fatalf("finish = %+v, %v", got, err)
			}
			if _, err := svc.FinishLogin(ctx, f.Browser, f.State); err == nil {
				t.Fatal("flow finished twice")
			}
			f, _ = svc.StartLogin(ctx, "/")
			clk.advance(11 * time.Minute)
			if _, err := svc.FinishLogin(ctx, f.Browser, f.State); err == nil {
				t.Fatal("expired flow accepted")
			}
		})
	}
}

func TestAPITokens(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			svc, clk := newService(t, b)
			ctx := context.Background()
			actor := audit.Actor{Name: "admin@example.com"}
			_, _, err := svc.CreateToken(ctx, actor, auth.NewToken{Name: " ", Scopes: []string{"catalog:read", "root"}, ExpiresIn: 2 * auth.MaxTokenLifetime})
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid || e.Fields["name"] == "" || e.Fields["scopes"] == "" || e.Fields["expires"] == "" {
				t.Fatalf("invalid token: err = %v, want field errors for name, scopes and expires", err)
			}
			tok, secret, err := svc.CreateToken(ctx, actor, auth.NewToken{Name: "okta-sync", Scopes: []string{"discovery:write", "discovery:read"}, ExpiresIn: 24 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := svc.CreateToken(ctx, actor, auth.NewToken{Name: "okta-sync", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour}); !errs.Is(err, errs.Conflict) {
				t.Fatalf("duplicate name: err = %v, want conflict", err)
			}
			got, err := svc.AuthenticateToken(ctx, secret)
			if err != nil || got.ID != tok.ID || !got.Allows(auth.ScopeDiscoveryWrite) || got.Allows(auth.ScopeCatalogWrite) || got.LastUsedAt == nil {
				t.Fatalf("authenticate = %+v, %v", got, err)
			}
			if _, err := svc.AuthenticateToken(ctx, secret+"x"); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("wrong secret: %v", err)
			}
			if _, err := svc.RevokeToken(ctx, actor, 0, "okta-sync"); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.AuthenticateToken(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("revoked token: err = %v", err)
			}
			if _, err := svc.RevokeToken(ctx, actor, tok.ID, ""); !errs.Is(err, errs.NotFound) {
				t.Fatalf("revoking twice: err = %v, want not found", err)
			}
			// The name is free again once revoked; an expired token is refused.
			_, secret, err = svc.CreateToken(ctx, actor, auth.NewToken{Name: "okta-sync", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			clk.advance(time.Hour)
			if _, err := svc.AuthenticateToken(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("expired token: err = %v", err)
			}
			list, _ := svc.Tokens(ctx)
			if len(list) != 2 {
				t.Errorf("%d tokens listed, want 2", len(list))
			}
			if n, _ := audit.List(ctx, svc.DB(), audit.Filter{ObjectType: "api_token"}); len(n) != 3 {
				t.Errorf("%d token audit entries, want 3 (create, revoke, create)", len(n))
			}

			// A token revoked by another process (here, straight in the database) stops
			// working once this process's check of it is older than auth.TokenCacheTTL.
			_, secret, err = svc.CreateToken(ctx, actor, auth.NewToken{Name: "ci", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.AuthenticateToken(ctx, secret); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.DB().ExecContext(ctx, svc.DB().Rebind("UPDATE api_tokens SET revoked_at = ? WHERE name = ?"), clk.now(), "ci"); err != nil {
				t.Fatal(err)
			}
			clk.advance(auth.TokenCacheTTL - time.Second)
			if _, err := svc.AuthenticateToken(ctx, secret); err != nil {
				t.Fatalf("token revoked elsewhere, checked %s ago: err = %v, want still trusted", auth.TokenCacheTTL-time.Second, err)
			}
			clk.advance(time.Second)
			if _, err := svc.AuthenticateToken(ctx, secret); !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("token revoked elsewhere, checked %s ago: err = %v, want unauthorized", auth.TokenCacheTTL, err)
			}
		})
	}
}

// BenchmarkAuthenticateToken measures what every API request pays to check its token on
// SQLite: one indexed lookup, and no write while the last-use time is fresh.
func BenchmarkAuthenticateToken(b *testing.B) {
	d := testutil.SQLite(b)
	svc := auth.NewService(d, auth.Options{})
	ctx := context.Background()
	_, secret, err := svc.CreateToken(ctx, audit.System, auth.NewToken{Name: "bench", Scopes: []string{string(auth.ScopeCatalogRead)}, ExpiresIn: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.AuthenticateToken(ctx, secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
