package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog/meiliindex"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/portal"
	"github.com/pavedhq/paved/web"
)

func runServe(ctx context.Context, e env, args []string) error {
	cfg, _, err := loadConfig("serve", e, args, false)
	if err != nil {
		return err
	}
	return serve(ctx, e, cfg, nil)
}

// serve runs the portal until ctx ends, then lets in-flight requests finish. mount adds
// routes of the dev identity provider when `paved dev` runs it.
func serve(ctx context.Context, e env, cfg *config.Config, mount func(*gin.Engine)) error {
	log := newLogger(cfg, e.stderr)
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if !cfg.NoMigrate {
		applied, err := d.Migrate(ctx)
		if err != nil {
			return err
		}
		for _, a := range applied {
			log.Info("applied migration", "file", a)
		}
	}
	views, err := web.NewRenderer()
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}
	var checks []portal.Check
	if cfg.SearchURL != "" {
		ix := meiliindex.New(cfg.SearchURL, cfg.SearchKey, 5*time.Second)
		checks = append(checks, portal.Check{Name: "search", Check: ix.Ping})
	}
	authSvc := auth.NewService(d, auth.Options{IdleTimeout: cfg.SessionIdleTimeout, MaxLifetime: cfg.SessionMaxLifetime})
	var rp *auth.RP
	if cfg.OIDCIssuer != "" {
		rp = auth.NewRP(auth.OIDCConfig{
			Issuer:               cfg.OIDCIssuer,
			ClientID:             cfg.OIDCClientID,
			ClientSecret:         cfg.OIDCClientSecret,
			RedirectURL:          cfg.BaseURL + "/auth/callback",
			Scopes:               auth.SplitGroups(cfg.OIDCScopes),
			GroupsClaim:          cfg.OIDCGroupsClaim,
			RequireVerifiedEmail: cfg.OIDCRequireVerifiedEmail,
			Logger:               log,
		})
	} else {
		log.Warn("no identity provider configured: nobody can sign in (set PAVED_OIDC_ISSUER, or try `paved dev`)")
	}
	srv, err := portal.New(portal.Deps{
		Config: cfg, Logger: log, DB: d, Views: views, Checks: checks, Mount: mount,
		Auth: authSvc, RP: rp,
		Roles: auth.RoleMapping{
			Committee: auth.SplitGroups(cfg.RoleCommitteeGroups),
			Security:  auth.SplitGroups(cfg.RoleSecurityGroups),
			Admin:     auth.SplitGroups(cfg.RoleAdminGroups),
		},
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set PAVED_LISTEN to a free address)", cfg.Listen, err)
	}
	hs := srv.HTTPServer(cfg.Listen)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()

	// Discovery runs once the listener is up: in dev the provider is this very server.
	if rp != nil {
		dctx, cancel := context.WithTimeout(ctx, cfg.OIDCDiscoveryTimeout)
		err := rp.Discover(dctx)
		cancel()
		if err != nil {
			shutdown(log, hs, cfg.ShutdownTimeout)
			return err
		}
		log.Info("identity provider ready", "issuer", cfg.OIDCIssuer)
	}
	go pruneSessions(ctx, log, authSvc)
	log.Info("paved is serving", "url", cfg.BaseURL, "listen", ln.Addr().String(), "database", string(d.Dialect), "version", version)

	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	if err := shutdown(log, hs, cfg.ShutdownTimeout); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

func shutdown(log *slog.Logger, hs *http.Server, timeout time.Duration) error {
	log.Info("shutting down: finishing in-flight requests", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// pruneSessions deletes ended sessions every few minutes. Every replica may do it: the delete
// is idempotent.
func pruneSessions(ctx context.Context, log *slog.Logger, a *auth.Service) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if n, err := a.Prune(ctx); err != nil && ctx.Err() == nil {
			log.Warn("pruning sessions failed", "err", err)
		} else if n > 0 {
			log.Info("pruned ended sessions and sign-ins", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// isLoopback reports whether host (of a listen address) can only be reached from this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
