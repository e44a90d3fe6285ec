package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/auth/devidp"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
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
	}, seedDemo(cfg))
}

// seedDemo fills an empty catalogue with the curated apps and the demo company's decisions at
// first start, imports a demo sign-in log, answers the risk questions of a dozen apps and
// gives every role requests to work on, so the quick start shows a living portal. The index
// follows through the index-sync jobs the seed queues. It says in one line what it loaded.
func seedDemo(cfg *config.Config) func(context.Context, *domain, *auth.Service, *slog.Logger) error {
	return func(ctx context.Context, dm *domain, authSvc *auth.Service, log *slog.Logger) error {
		actor := audit.Actor{Name: "paved dev"}
		var n int
		if err := dm.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM apps"); err != nil {
			return err
		}
		var apps catalog.SeedResult
		if n == 0 {
			var err error
			if apps, err = dm.catalog.Seed(ctx, actor, true); err != nil {
				return fmt.Errorf("load the demo catalogue: %w", err)
			}
		}
		// A month of made-up sign-ins, so the shadow-IT dashboard and "apps you use" have data.
		if err := dm.discovery.ImportDemo(ctx); err != nil {
			return fmt.Errorf("load the demo sign-in log: %w", err)
		}
		risk, err := dm.catalog.SeedDemoRisk(ctx, actor)
		if err != nil {
			return fmt.Errorf("load the demo risk answers: %w", err)
		}
		people, err := demoPeople(ctx, authSvc, cfg)
		if err != nil {
			return fmt.Errorf("create the demo people: %w", err)
		}
		reqs, err := dm.requests.SeedDemo(ctx, people)
		if err != nil {
			return fmt.Errorf("load the demo requests: %w", err)
		}
		log.Info("loaded demo data (made up, for trying Paved)", "apps", apps.Created, "decisions", apps.Decisions, "risk_profiles", risk,
			"requests", reqs.Requests, "pledges", reqs.Pledges, "votes", reqs.Votes, "comments", reqs.Comments)
		return nil
	}
}

// demoPeople creates the demo users as their first sign-in would (same issuer and subject, so
// signing in later is the same person) and two colleagues who back proposals.
func demoPeople(ctx context.Context, authSvc *auth.Service, cfg *config.Config) (requests.DemoPeople, error) {
	mapping := auth.RoleMapping{Committee: auth.SplitGroups(cfg.RoleCommitteeGroups), Security: auth.SplitGroups(cfg.RoleSecurityGroups), Admin: auth.SplitGroups(cfg.RoleAdminGroups)}
	issuer := cfg.OIDCIssuer
	member := func(sub, email, name string, groups ...string) (requests.Member, error) {
		roles := mapping.RolesFor(groups)
		u, err := authSvc.EnsureUser(ctx, auth.Identity{Issuer: issuer, Subject: sub, Email: email, Name: name}, roles)
		m := requests.Member{UserID: u.ID, Email: u.Email}
		for _, r := range roles {
			m.Roles = append(m.Roles, string(r))
		}
		return m, err
	}
	var p requests.DemoPeople
	var err error
	users := devidp.DemoUsers()
	for i, dst := range []*requests.Member{&p.Employee, &p.Committee, &p.Security, &p.Admin} {
		if *dst, err = member(users[i].Subject, users[i].Email, users[i].Name, users[i].Groups...); err != nil {
			return p, err
		}
	}
	for _, c := range [][2]string{{"priya@example.com", "Priya Product"}, {"omar@example.com", "Omar Operations"}} {
		m, err := member("demo-"+c[0], c[0], c[1])
		if err != nil {
			return p, err
		}
		p.Colleagues = append(p.Colleagues, m)
	}
	return p, nil
}
