package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/catalog/meiliindex"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/jobs"
	"github.com/pavedhq/paved/internal/notify"
)

// meiliIndexUID is the Meilisearch index that holds the catalogue.
const meiliIndexUID = "paved_apps"

// openIndex opens the configured search index: Meilisearch when PAVED_SEARCH_URL is set, the
// embedded Bleve index in the data dir otherwise.
func openIndex(ctx context.Context, cfg *config.Config) (catalog.Index, error) {
	if cfg.SearchURL != "" {
		ix, err := meiliindex.Open(ctx, cfg.SearchURL, cfg.SearchKey, meiliIndexUID)
		if err != nil {
			return nil, fmt.Errorf("%w (check PAVED_SEARCH_URL and PAVED_SEARCH_KEY)", err)
		}
		return ix, nil
	}
	ix, err := bleveindex.Open(filepath.Join(cfg.DataDir, "index.bleve"))
	if err != nil {
		return nil, fmt.Errorf("open the embedded search index in PAVED_DATA_DIR: %w", err)
	}
	return ix, nil
}

// domain is the database, the job runner, the search index, the catalogue and its requests, wired together
// for commands that change the catalogue.
type domain struct {
	db        *db.DB
	jobs      *jobs.Jobs
	index     catalog.Index
	catalog   *catalog.Service
	requests  *requests.Service
	discovery *discovery.Store
	actions   *actions.Service
	// follower keeps the embedded index of this process in line with the catalogue's change
	// log (nil with Meilisearch, which River's index-sync jobs keep up to date).
	follower *catalog.Follower
}

// metrics returns the domain's collectors for /metrics: jobs, searches, imports and pulls.
func (dm *domain) metrics() []prometheus.Collector {
	out := append([]prometheus.Collector{}, dm.jobs.Metrics()...)
	out = append(out, dm.catalog.Metrics.Collectors()...)
	return append(out, dm.discovery.Metrics.Collectors()...)
}

// openDomain opens and migrates everything a catalogue command needs.
func openDomain(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*domain, error) {
	d, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	dm := &domain{db: d}
	if migrate {
		applied, err := d.Migrate(ctx)
		if err != nil {
			dm.Close()
			return nil, err
		}
		for _, a := range applied {
			log.Debug("applied migration", "file", a)
		}
	}
	rules, err := votingRules(cfg)
	if err != nil {
		dm.Close()
		return nil, err
	}
	periodic := []*river.PeriodicJob{requests.CloseVotesPeriodic(), discovery.PrunePeriodic(), discovery.PullPeriodic(),
		discovery.DirectoryPeriodic(), discovery.ResolvePeriodic(), discovery.TrendPeriodic(), discovery.ConditionsPeriodic(),
		actions.ResumePeriodic()}
	if dm.jobs, err = jobs.New(ctx, d, log, jobs.Options{Periodic: periodic}); err != nil {
		dm.Close()
		return nil, err
	}
	if migrate {
		applied, err := dm.jobs.Migrate(ctx)
		if err != nil {
			dm.Close()
			return nil, err
		}
		for _, a := range applied {
			log.Debug("applied migration", "file", a)
		}
	}
	if dm.index, err = openIndex(ctx, cfg); err != nil {
		dm.Close()
		return nil, err
	}
	jobsOutbox := catalog.JobsOutbox{Jobs: dm.jobs, ResolveIdentifiers: true}
	var outbox catalog.Outbox = jobsOutbox
	if cfg.SearchURL == "" {
		// Every replica has its own embedded index and follows the change log into it.
		outbox = catalog.ChangeLog{Resolver: jobsOutbox}
	}
	dm.catalog = catalog.NewService(d, dm.index, outbox)
	engine := "bleve"
	if cfg.SearchURL != "" {
		engine = "meilisearch"
	}
	dm.catalog.Metrics = catalog.NewSearchMetrics(engine)
	if cfg.SearchURL == "" {
		dm.follower = &catalog.Follower{Catalog: dm.catalog, CursorFile: filepath.Join(cfg.DataDir, "index.cursor"), Log: log}
	}
	dm.catalog.RegisterJobs(dm.jobs)
	dm.requests = requests.NewService(d, dm.catalog)
	dm.requests.RegisterJobs(dm.jobs, requests.VoteSettings{Rules: rules, Threshold: requests.DemandThreshold(cfg.DemandThreshold)})
	n := notify.New(notify.FromConfig(cfg))
	n.Register(dm.jobs)
	dm.requests.SetNotifier(requestNotifier{n: n, j: dm.jobs})
	dm.discovery = discovery.NewStore(d)
	dm.discovery.Metrics = discovery.NewMetrics()
	dm.discovery.Retention = cfg.UsageRetention
	dm.requests.SetUsageCounter(dm.discovery)
	dm.catalog.SetGroupDirectory(dm.discovery)
	dm.discovery.SetFindingsNotifier(findingsNotifier{n: n, j: dm.jobs})
	dm.discovery.RegisterJobs(dm.jobs, cfg.UsageRetention)
	dm.discovery.RegisterPullJobs(dm.jobs, nil)
	dm.actions = actions.New(actions.Deps{DB: d, Jobs: dm.jobs, Discovery: dm.discovery, Catalog: dm.catalog,
		Providers: actions.Providers(&discovery.ProviderHTTP{}), Sources: dm.discovery.SourceWithSecret, Notifier: n, Logger: log})
	dm.actions.RegisterJobs(dm.jobs)
	return dm, nil
}

// reindex rebuilds the search index from the database; the embedded index's cursor moves
// with it.
func (dm *domain) reindex(ctx context.Context) (int, error) {
	if dm.follower != nil {
		return dm.follower.Rebuild(ctx)
	}
	return dm.catalog.Reindex(ctx)
}

// indexLag counts catalogue changes this process's index has not applied yet.
func (dm *domain) indexLag(ctx context.Context) (int, error) {
	if dm.follower != nil {
		return dm.follower.Lag(ctx)
	}
	return catalog.IndexLag(ctx, dm.jobs)
}

// Close releases what openDomain opened.
func (dm *domain) Close() {
	if dm.follower != nil {
		dm.follower.Stop()
	}
	if dm.index != nil {
		dm.index.Close()
	}
	if dm.jobs != nil {
		dm.jobs.Close()
	}
	dm.db.Close()
}

// runSeed loads the curated catalogue (and with --demo, the demo company's decisions), then
// brings the search index up to date.
func runSeed(ctx context.Context, e env, args []string) error {
	var demo bool
	cfg, _, err := config.LoadWith("seed", args, e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&demo, "demo", false, "(command) also apply the demo company's decisions: statuses, conditions, alternatives")
	})
	if err != nil {
		return err
	}
	if err := prepare(cfg); err != nil {
		return err
	}
	log := newLogger(cfg, e.stderr)
	dm, err := openDomain(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer dm.Close()
	res, err := dm.catalog.Seed(ctx, audit.Actor{Name: "cli"}, demo)
	if err != nil {
		return err
	}
	n, err := dm.reindex(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "seeded %d categories, %d new apps (%d already present), %d demo decisions; indexed %d apps\n", res.Categories, res.Created, res.Existing, res.Decisions, n)
	return nil
}

// runReindex rebuilds the search index from the database.
func runReindex(ctx context.Context, e env, args []string) error {
	cfg, _, err := config.Load("reindex", args, e.getenv, e.stderr)
	if err != nil {
		return err
	}
	if err := prepare(cfg); err != nil {
		return err
	}
	dm, err := openDomain(ctx, cfg, newLogger(cfg, e.stderr), true)
	if err != nil {
		return err
	}
	defer dm.Close()
	start := time.Now()
	n, err := dm.reindex(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "indexed %d apps in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

// prepare validates settings and readies the data dir.
func prepare(cfg *config.Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return cfg.PrepareDataDir()
}
