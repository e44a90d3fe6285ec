package main

import (
	"context"
	"fmt"
	"net"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth/devidp"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
)

// devIssuerPath is where `paved dev` mounts its identity provider, on the portal's own origin.
const devIssuerPath = "/devidp"

// runDev runs the quick start: SQLite and the embedded index in ./data, a built-in identity
// provider with demo users, text logs, and a warning banner. It refuses to listen anywhere but
// loopback, since anyone reaching it can sign in as an administrator.
func runDev(ctx context.Context, e env, args []string) error {
	cfg, _, err := config.Load("dev", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	cfg.Dev = true
	if e.getenv("PAVED_LOG_FORMAT") == "" {
		cfg.LogFormat = "text"
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err == nil && !isLoopback(host) {
		return &config.Problems{List: []string{fmt.Sprintf("PAVED_LISTEN (--listen) %q: `paved dev` only listens on loopback (127.0.0.1 or ::1), because its demo sign-in lets anyone in as an administrator", cfg.Listen)}}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if u := cfg.BaseURL; !isLoopbackURL(u) {
		return &config.Problems{List: []string{fmt.Sprintf("PAVED_BASE_URL (--base-url) %q: `paved dev` serves only http://127.0.0.1 or http://localhost", u)}}
	}
	if err := cfg.PrepareDataDir(); err != nil {
		return err
	}
	// The dev provider lives on the portal's origin and is known to nobody else.
	cfg.OIDCIssuer = cfg.BaseURL + devIssuerPath
	cfg.OIDCClientID = "paved-dev"
	cfg.OIDCClientSecret = randomSecret()
	cfg.OIDCRequireVerifiedEmail = true
	if cfg.RoleCommitteeGroups == "" && cfg.RoleSecurityGroups == "" && cfg.RoleAdminGroups == "" {
		cfg.RoleCommitteeGroups, cfg.RoleSecurityGroups, cfg.RoleAdminGroups = "paved-committee", "paved-security", "paved-admins"
	}
	idp, err := devidp.New(ctx, devidp.Config{
		Issuer:                 cfg.OIDCIssuer,
		ClientID:               cfg.OIDCClientID,
		ClientSecret:           cfg.OIDCClientSecret,
		RedirectURIs:           []string{cfg.BaseURL + "/auth/callback"},
		PostLogoutRedirectURIs: []string{cfg.BaseURL + "/"},
		Logger:                 newLogger(cfg, e.stderr),
	})
	if err != nil {
		return fmt.Errorf("start the dev identity provider: %w", err)
	}
	fmt.Fprintf(e.stderr, "\n  Paved dev is starting at %s\n  Sign in as employee, committee, security or admin @example.com from the built-in provider.\n  Not for production: anyone who can reach it can sign in as an administrator.\n\n", cfg.BaseURL)
	h := gin.WrapH(idp.Handler())
	return serve(ctx, e, cfg, func(r *gin.Engine) {
		r.Any(devIssuerPath+"/*path", h)
	}, seedDemo)
}

// seedDemo fills an empty catalogue with the curated apps and the demo company's decisions at
// first start, and imports a demo sign-in log, so the quick start shows a living catalogue and
// dashboard. The index follows through the index-sync jobs the seed queues.
func seedDemo(ctx context.Context, dm *domain) error {
	var n int
	if err := dm.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM apps"); err != nil {
		return err
	}
	if n == 0 {
		if _, err := dm.catalog.Seed(ctx, audit.Actor{Name: "paved dev"}, true); err != nil {
			return fmt.Errorf("load the demo catalogue: %w", err)
		}
	}
	// A month of made-up sign-ins, so the shadow-IT dashboard and "apps you use" have data.
	if err := dm.discovery.ImportDemo(ctx); err != nil {
		return fmt.Errorf("load the demo sign-in log: %w", err)
	}
	return nil
}
