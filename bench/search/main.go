// Command search measures catalogue search on a synthetic catalogue of 30,000 apps, in one run:
// the portal's JSON API on the embedded Bleve index, the portal's API on Meilisearch, and
// Meilisearch queried directly. It prints p50/p95/p99 latency and throughput for each, and how
// long a full reindex takes on either engine.
//
//	make bench-search              # starts Meilisearch from the test harness, then runs this
//	go run ./bench/search -apps 5000 -meili-url http://127.0.0.1:7700 -meili-key KEY
//	make bench-search ARGS='-cpuprofile /tmp/search.prof'   # then go tool pprof -top /tmp/search.prof.bleve
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/catalog/meiliindex"
	"github.com/pavedhq/paved/catalog/seed"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/portal"
	"github.com/pavedhq/paved/web"
)

func main() {
	apps := flag.Int("apps", 30000, "synthetic apps in the catalogue")
	clients := flag.Int("clients", 32, "concurrent clients")
	rounds := flag.Int("rounds", 3, "rounds; in each, every target runs the query list once per client")
	meiliURL := flag.String("meili-url", os.Getenv("PAVED_TEST_MEILI_URL"), "Meilisearch URL (empty: skip the Meilisearch targets)")
	meiliKey := flag.String("meili-key", os.Getenv("PAVED_TEST_MEILI_KEY"), "Meilisearch key")
	skipBleve := flag.Bool("skip-bleve", false, "measure only the Meilisearch targets")
	conns := flag.Int("db-conns", 0, "database connections of the portal (0: the default)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of each target's first timed round to this path plus .bleve, .meili-portal or .meili-direct")
	flag.Parse()
	if err := run(context.Background(), *apps, *clients, *rounds, *meiliURL, *meiliKey, *skipBleve, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "bench/search:", err)
		os.Exit(1)
	}
}

// cpuProfile is the -cpuprofile flag: a path prefix, or empty for no profiles.
var cpuProfile string

func run(ctx context.Context, nApps, clients, rounds int, meiliURL, meiliKey string, skipBleve bool, conns int) error {
	dir, err := os.MkdirTemp("", "paved-bench-search-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	d, err := db.Open(ctx, db.Options{Dialect: db.SQLite, DSN: filepath.Join(dir, "paved.db"), MaxOpenConns: conns})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	bleve, err := bleveindex.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		return err
	}
	defer bleve.Close()
	svc := catalog.NewService(d, bleve, nil)
	if _, err := svc.Seed(ctx, audit.System, true); err != nil {
		return err
	}
	start := time.Now()
	if _, err := svc.CreateApps(ctx, audit.System, synthetic(nApps)); err != nil {
		return err
	}
	fmt.Printf("catalogue: %d synthetic apps + the seed, written in %s\n", nApps, time.Since(start).Round(time.Millisecond))

	type target struct {
		name, short string
		do          func(ctx context.Context, q string) error
	}
	var targets []target
	build := map[string]time.Duration{}

	start = time.Now()
	n, err := svc.Reindex(ctx)
	if err != nil {
		return err
	}
	build["bleve"] = time.Since(start)
	bleveAPI, closeB, err := portalClient(ctx, d, svc)
	if err != nil {
		return err
	}
	defer closeB()
	if !skipBleve {
		targets = append(targets, target{"portal API on Bleve", "bleve", bleveAPI})
	}

	if meiliURL != "" {
		uid := fmt.Sprintf("paved_bench_%d", time.Now().UnixNano())
		mx, err := meiliindex.Open(ctx, meiliURL, meiliKey, uid)
		if err != nil {
			return err
		}
		defer func() { _ = mx.Drop(context.Background()); mx.Close() }()
		msvc := catalog.NewService(d, mx, nil)
		start = time.Now()
		if _, err := msvc.Reindex(ctx); err != nil {
			return err
		}
		build["meilisearch"] = time.Since(start)
		meiliAPI, closeM, err := portalClient(ctx, d, msvc)
		if err != nil {
			return err
		}
		defer closeM()
		targets = append(targets, target{"portal API on Meilisearch", "meili-portal", meiliAPI}, target{"Meilisearch directly", "meili-direct", directMeili(meiliURL, meiliKey, uid)})
	} else {
		fmt.Println("no Meilisearch URL: measuring Bleve only (run `make bench-search` for all three)")
	}
	fmt.Printf("full reindex of %d apps: Bleve %s", n, build["bleve"].Round(time.Millisecond))
	if v, ok := build["meilisearch"]; ok {
		fmt.Printf(", Meilisearch %s", v.Round(time.Millisecond))
	}
	fmt.Println()

	queries := queryList()
	fmt.Printf("\n%d queries × %d clients per target, in %d rounds that take the targets in turn (so that each sees the machine as busy as the others)\n\n", len(queries), clients, rounds)
	type tally struct {
		lat     []time.Duration
		elapsed time.Duration
		cpu     time.Duration
	}
	tallies := make([]tally, len(targets))
	for round := range rounds {
		for i, tg := range targets {
			var prof string
			if cpuProfile != "" && round == 0 {
				prof = cpuProfile + "." + tg.short
			}
			cpu0 := processCPU()
			lat, elapsed, err := hammer(ctx, tg.do, queries, clients, prof)
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			tallies[i].cpu += processCPU() - cpu0
			tallies[i].lat = append(tallies[i].lat, lat...)
			tallies[i].elapsed += elapsed
		}
	}
	fmt.Printf("%-28s %9s %9s %9s %12s %12s\n", "target", "p50", "p95", "p99", "queries/s", "CPU/query")
	var p95 = map[string]time.Duration{}
	for i, tg := range targets {
		lat := tallies[i].lat
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
		p95[tg.name] = q(0.95)
		fmt.Printf("%-28s %9s %9s %9s %12.0f %12s\n", tg.name, ms(q(0.50)), ms(q(0.95)), ms(q(0.99)), float64(len(lat))/tallies[i].elapsed.Seconds(), ms(tallies[i].cpu/time.Duration(len(lat))))
	}
	if a, b := p95["portal API on Meilisearch"], p95["Meilisearch directly"]; a > 0 && b > 0 {
		fmt.Printf("\nportal-over-Meilisearch p95 / direct Meilisearch p95 = %.2f×\n", float64(a)/float64(b))
	}
	fmt.Println("CPU/query: this process's CPU time (the portal and the benchmark's clients; not Meilisearch's) per query.")
	return nil
}

// processCPU returns the CPU time this process has used, user and system. On a shared machine
// it says more about what a query costs than latency, which other work inflates.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// hammer runs the queries from concurrent clients and returns every latency.
// With a non-empty profile path it writes a CPU profile of the timed part (not the warm-up)
// there; the portal runs in this process, so the profile shows what it spends per request.
func hammer(ctx context.Context, do func(context.Context, string) error, queries []string, clients int, profile string) ([]time.Duration, time.Duration, error) {
	var (
		mu   sync.Mutex
		all  []time.Duration
		errc = make(chan error, clients)
		wg   sync.WaitGroup
	)
	// One warm-up pass so that both engines start with their caches filled.
	for _, q := range queries {
		if err := do(ctx, q); err != nil {
			return nil, 0, err
		}
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return nil, 0, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			local := make([]time.Duration, 0, len(queries))
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for _, i := range r.Perm(len(queries)) {
				t := time.Now()
				if err := do(ctx, queries[i]); err != nil {
					errc <- err
					return
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return nil, 0, err
	default:
	}
	return all, elapsed, nil
}

// portalClient starts the real portal on a loopback listener and returns a function that runs
// one search through its JSON API with an API token.
func portalClient(ctx context.Context, d *db.DB, svc *catalog.Service) (func(context.Context, string) error, func(), error) {
	cfg, _, err := config.Load("bench", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	views, err := web.NewRenderer()
	if err != nil {
		return nil, nil, err
	}
	authSvc := auth.NewService(d, auth.Options{})
	_, token, err := authSvc.CreateToken(ctx, audit.System, auth.NewToken{Name: fmt.Sprintf("bench-%d", time.Now().UnixNano()), Scopes: []string{string(auth.ScopeCatalogRead)}, ExpiresIn: time.Hour})
	if err != nil {
		return nil, nil, err
	}
	srv, err := portal.New(portal.Deps{Config: cfg, Logger: slog.New(slog.DiscardHandler), DB: d, Views: views, Auth: authSvc, Catalog: svc})
	if err != nil {
		return nil, nil, err
	}
	ts := httptest.NewServer(srv)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	do := func(ctx context.Context, q string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/api/v1/apps?per_page=20&q="+url.QueryEscape(q), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return send(client, req)
	}
	return do, ts.Close, nil
}

// directMeili sends Meilisearch the very query the portal sends for a first page (same page
// size, facets and sort), through the same HTTP transport, so the comparison measures the
// portal itself and not a different query or client.
func directMeili(base, key, uid string) func(context.Context, string) error {
	tr := meiliindex.NewTransport()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return func(ctx context.Context, q string) error {
		body, _ := json.Marshal(map[string]any{"q": q, "hitsPerPage": 20, "page": 1, "sort": []string{"name:asc"}, "facets": []string{"status", "category"}})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/indexes/"+uid+"/search", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return send(client, req)
	}
}

func send(client *http.Client, req *http.Request) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s", req.Method, req.URL.Path, resp.Status)
	}
	return nil
}

// synthetic makes n plausible, distinct apps: invented names from syllables, spread over the
// seed's categories and the five statuses.
func synthetic(n int) []catalog.AppInput {
	r := rand.New(rand.NewPCG(42, 42))
	syll := []string{"lo", "ra", "ve", "mi", "sa", "to", "ka", "ne", "zu", "pi", "dor", "lin", "tex", "vy", "qua", "bel", "fin", "gro", "hub", "ly"}
	nouns := []string{"Desk", "Flow", "Board", "Sync", "Cloud", "Notes", "Chat", "Meet", "Sign", "Vault", "Track", "Base", "Forms", "Docs", "Pay"}
	words := []string{"team", "project", "invoice", "diagram", "meeting", "survey", "password", "analytics", "customer", "ticket", "design", "contract", "video", "backup", "hiring"}
	cats := seed.Categories()
	statuses := []string{"approved", "approved_with_conditions", "under_review", "not_approved", "retired"}
	out := make([]catalog.AppInput, n)
	for i := range out {
		name := ""
		for range 2 + r.IntN(2) {
			name += syll[r.IntN(len(syll))]
		}
		name = strings.ToUpper(name[:1]) + name[1:] + " " + nouns[r.IntN(len(nouns))] + fmt.Sprintf(" %d", i)
		st := statuses[r.IntN(len(statuses))]
		in := catalog.AppInput{
			Name: name, Vendor: strings.Fields(name)[0] + " Inc", Category: cats[r.IntN(len(cats))].Slug, Status: st,
			Description: fmt.Sprintf("A %s and %s tool for %s teams.", words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))]),
			Tags:        words[r.IntN(len(words))] + ", " + words[r.IntN(len(words))],
		}
		switch st {
		case "approved_with_conditions":
			in.Conditions = "Internal data only."
		case "not_approved":
			in.WhatWouldChange = "A signed DPA."
		}
		out[i] = in
	}
	return out
}

// queryList is the fixed list of 200 queries: seed app names, typos, prefixes, vendors, needs.
func queryList() []string {
	apps, _ := seed.Apps()
	var qs []string
	for i, a := range apps {
		if len(qs) >= 120 {
			break
		}
		name := strings.ToLower(a.Name)
		switch i % 4 {
		case 0:
			qs = append(qs, name)
		case 1: // a typo: swap two letters in the middle
			if len(name) > 4 {
				b := []byte(name)
				b[2], b[3] = b[3], b[2]
				name = string(b)
			}
			qs = append(qs, name)
		case 2: // a prefix
			qs = append(qs, name[:min(len(name), 5)])
		case 3:
			qs = append(qs, strings.ToLower(a.Vendor))
		}
	}
	needs := []string{"video call", "diagrams", "e-signature", "password manager", "chat", "crm", "project management", "file sharing", "notes", "ai assistant",
		"survey", "invoice", "hiring", "backup", "analytics", "whiteboard", "ticketing", "kanban", "wiki", "expenses"}
	for len(qs) < 200 {
		qs = append(qs, needs[len(qs)%len(needs)])
	}
	return qs
}
