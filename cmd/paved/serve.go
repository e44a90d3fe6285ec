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
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/portal"
	"github.com/pavedhq/paved/web"
)

func runServe(ctx context.Context, e env, args []string) error {
	cfg, _, err := loadConfig("serve", e, args, false)
	if err != nil {
		return err
	}
	return serve(ctx, e, cfg, nil, nil)
}

// serve runs the portal until ctx ends, then lets in-flight requests and running jobs finish.
// mount adds the dev identity provider's routes; ready runs once everything is up.
func serve(ctx context.Context, e env, cfg *config.Config, mount func(*gin.Engine), ready func(context.Context, *domain, *auth.Service, *slog.Logger) error) error {
	started := time.Now()
	defer startProfile(e)()
	log := newLogger(cfg, e.stderr)
	dm, err := openDomain(ctx, cfg, log, !cfg.NoMigrate)
	if err != nil {
		return err
	}
	defer dm.Close()
	if dm.follower != nil {
		if err := dm.follower.Start(ctx); err != nil {
			return fmt.Errorf("bring the embedded search index up to date: %w", err)
		}
	} else if err := rebuildEmptyIndex(ctx, log, dm); err != nil {
		return err
	}
	// Runs a crash left "running" are closed as interrupted, so nobody waits for them.
	if n, err := dm.discovery.MarkInterrupted(ctx, started); err != nil {
		return err
	} else if n > 0 {
		log.Warn("import runs left unfinished by an earlier process are marked interrupted", "runs", n)
	}
	if cfg.SourcesFile != "" {
		n, err := dm.discovery.LoadSourcesFile(ctx, cfg.SourcesFile, e.getenv)
		if err != nil {
			return fmt.Errorf("%w (PAVED_SOURCES_FILE)", err)
		}
		log.Info("loaded log sources", "file", cfg.SourcesFile, "added", n)
	}
	views, err := web.NewRenderer()
	if err != nil {
		return fmt.Errorf("load templates: %w", err)
	}
	authSvc := auth.NewService(dm.db, auth.Options{IdleTimeout: cfg.SessionIdleTimeout, MaxLifetime: cfg.SessionMaxLifetime})
	dm.requests.SetElectorate(authSvc)
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
		Config: cfg, Logger: log, DB: dm.db, Views: views, Mount: mount,
		Checks:     []portal.Check{{Name: "search", Check: dm.index.Ping}},
		Collectors: dm.metrics(),
		IndexLag:   dm.indexLag,
		Auth:       authSvc, RP: rp, Catalog: dm.catalog, Requests: dm.requests, Discovery: dm.discovery, Actions: dm.actions,
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
			_ = shutdown(log, hs, cfg.ShutdownTimeout)
			return err
		}
		log.Info("identity provider ready", "issuer", cfg.OIDCIssuer)
	}
	if err := dm.jobs.Start(ctx); err != nil {
		_ = shutdown(log, hs, cfg.ShutdownTimeout)
		return fmt.Errorf("start background jobs: %w", err)
	}
	if ready != nil {
		if err := ready(ctx, dm, authSvc, log); err != nil {
			_ = shutdown(log, hs, cfg.ShutdownTimeout)
			return err
		}
	}
	go pruneSessions(ctx, log, authSvc)
	log.Info("paved is serving", "url", cfg.BaseURL, "listen", ln.Addr().String(), "database", string(dm.db.Dialect), "version", version)

	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	shutErr := shutdown(log, hs, cfg.ShutdownTimeout)
	jctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := dm.jobs.Stop(jctx); err != nil {
		log.Warn("background jobs did not stop cleanly", "err", err)
	}
	if shutErr != nil {
		return shutErr
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

// rebuildEmptyIndex fills a new or wiped search index from the database, so that deleting the
// embedded index (or pointing at a fresh Meilisearch) heals at the next start.
func rebuildEmptyIndex(ctx context.Context, log *slog.Logger, dm *domain) error {
	n, err := dm.index.Count(ctx)
	if err != nil {
		log.Warn("search index not reachable at start; it will catch up through its jobs", "err", err)
		return nil
	}
	var apps int
	if err := dm.db.GetContext(ctx, &apps, "SELECT COUNT(*) FROM apps"); err != nil {
		return err
	}
	if n > 0 || apps == 0 {
		return nil
	}
	start := time.Now()
	indexed, err := dm.catalog.Reindex(ctx)
	if err != nil {
		return fmt.Errorf("rebuild the empty search index: %w", err)
	}
	log.Info("rebuilt the empty search index", "apps", indexed, "took", time.Since(start).Round(time.Millisecond))
	return nil
}
