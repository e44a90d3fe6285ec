package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
)

// TestReplicasShareOnePostgres runs three `paved serve` on one PostgreSQL database and one
// Meilisearch, as a scaled-out installation does, and checks that they behave as one portal:
// a session made on one is valid on the others; an app created on one is found on the others
// and indexed by exactly one job; each periodic job is enqueued once per period, not once per
// replica, and a log source is pulled once per period, not by each replica; and stopping one
// replica while 16 clients load them all loses no request (a client retries an idempotent
// request on another replica when its connection closes), sets off no extra pull and loses
// no job.
func TestReplicasShareOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three servers; skipped with -short")
	}
	dsn := testutil.EmptyPostgresDatabase(t)
	meiliURL, meiliKey := testutil.Meili(t)
	bin := pavedBinary(t)
	tmp := t.TempDir()
	// Every replica is given the same Okta source (its API an httptest server that counts the
	// requests it gets): the scheduled pull must call it once per period, not once per replica.
	okta, oktaCalls := countingOkta(t)
	sources := filepath.Join(tmp, "sources.json")
	if err := os.WriteFile(sources, []byte(fmt.Sprintf(`[{"kind": "okta", "name": "Replica Okta", "base_url": %q, "secret_env": "REPLICA_OKTA_TOKEN"}]`, okta)), 0o600); err != nil {
		t.Fatal(err)
	}
	var servers []*server
	for i := range 3 {
		servers = append(servers, startServer(t, bin, map[string]string{
			"PAVED_DATABASE_URL": dsn,
			"PAVED_SEARCH_URL":   meiliURL,
			"PAVED_SEARCH_KEY":   meiliKey,
			"PAVED_DATA_DIR":     filepath.Join(tmp, fmt.Sprint(i)),
			// The fixture's events are from 2024, older than the retention window: the pull
			// reads and counts them but stores none, so the catalogue changes below do not
			// set off discovery's re-resolution of real usage while the load runs.
			"PAVED_SOURCES_FILE": sources,
			"REPLICA_OKTA_TOKEN": "okta-token",
		}))
	}
	var bases []string
	for _, s := range servers {
		bases = append(bases, s.waitServing(t, 60*time.Second))
	}
	ctx := context.Background()
	d, err := db.Open(ctx, db.Options{Dialect: db.Postgres, DSN: dsn, MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	started := time.Now()

	// A session made through one replica's database is valid on every replica.
	authSvc := auth.NewService(d, auth.Options{})
	_, secret, err := authSvc.SignIn(ctx, auth.Identity{Issuer: "https://idp.example", Subject: "replica-user", Email: "replica@example.com"},
		auth.ParseRoleSet("employee"), "", auth.ClientInfo{IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i, base := range bases {
		req, _ := http.NewRequest("GET", base+"/apps", nil)
		req.AddCookie(&http.Cookie{Name: "paved_session", Value: secret})
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("replica %d: GET /apps with the session = %d; want 200", i, resp.StatusCode)
		}
		anon, err := noRedirect.Get(base + "/apps")
		if err != nil {
			t.Fatal(err)
		}
		anon.Body.Close()
		if anon.StatusCode == http.StatusOK {
			t.Errorf("replica %d: GET /apps without a session = 200; want a sign-in", i)
		}
	}

	// An app created on one replica is found on the others, indexed by one job.
	_, token, err := authSvc.CreateToken(ctx, audit.System, auth.NewToken{Name: "replicas",
		Scopes: []string{string(auth.ScopeCatalogRead), string(auth.ScopeCatalogWrite)}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, "INSERT INTO categories (slug, name, position) VALUES ('tools', 'Tools', 1)"); err != nil {
		t.Fatal(err)
	}
	api := &replicaClient{token: token, http: &http.Client{Timeout: 10 * time.Second}}
	createApp := func(base, name string) string {
		t.Helper()
		status, body, err := api.do("POST", base+"/api/v1/apps", map[string]any{
			"name": name, "vendor": "Replica Labs", "website": "https://" + strings.ReplaceAll(strings.ToLower(name), " ", "-") + ".example",
			"description": "Made by the replica test.", "category": "tools", "status": "approved",
		})
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create %s on %s: %d %s %v", name, base, status, body, err)
		}
		var a struct {
			Slug string `json:"slug"`
		}
		_ = json.Unmarshal(body, &a)
		return a.Slug
	}
	slug := createApp(bases[0], "Zyxwv Replica")
	for i, base := range bases[1:] {
		if !api.eventuallyFinds(base, "Zyxwv", slug, 15*time.Second) {
			t.Errorf("replica %d does not find the app created on replica 0", i+1)
		}
	}
	// River records a job's completion a moment after the work is done: wait for it.
	if n := waitIndexed(t, d, slug, time.Now().Add(15*time.Second)); n != 1 {
		t.Errorf("the new app was indexed by %d completed jobs; want 1", n)
	}

	// Periodic jobs are enqueued by River's leader only: once per period, not per replica.
	for _, p := range []struct {
		kind   string
		period time.Duration
	}{
		{"catalog.close_votes", time.Minute},
		{"discovery.pull_sources", discovery.PullInterval},
		{"discovery.prune_events", 6 * time.Hour},
	} {
		var n int
		deadline := time.Now().Add(20 * time.Second)
		for n == 0 && time.Now().Before(deadline) {
			if err := d.GetContext(ctx, &n, "SELECT COUNT(*) FROM river_job WHERE kind = $1", p.kind); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Give the other replicas time to enqueue a duplicate, were they to.
		time.Sleep(time.Second)
		if err := d.GetContext(ctx, &n, "SELECT COUNT(*) FROM river_job WHERE kind = $1", p.kind); err != nil {
			t.Fatal(err)
		}
		allowed := 1 + int(time.Since(started)/p.period)
		if n < 1 || n > allowed {
			t.Errorf("%s enqueued %d times in %s by three replicas; want 1 per %s (at most %d)", p.kind, n, time.Since(started).Round(time.Second), p.period, allowed)
		}
	}

	// The pull the leader ran at start called the Okta API twice (the events, then the empty
	// page that ends a poll) and stored the events once; no other replica pulled.
	var pulled int
	deadline := time.Now().Add(20 * time.Second)
	for pulled == 0 && time.Now().Before(deadline) {
		if err := d.GetContext(ctx, &pulled, "SELECT COUNT(*) FROM river_job WHERE kind = 'discovery.pull_sources' AND state = 'completed'"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a duplicate pull to show
	var pages int
	if err := d.GetContext(ctx, &pages, "SELECT COUNT(*) FROM import_runs WHERE file_name LIKE 'okta page % of Replica Okta'"); err != nil {
		t.Fatal(err)
	}
	if pulled != 1 || oktaCalls.Load() != 2 || pages != 1 {
		t.Errorf("three replicas ran %d pull jobs, called the Okta API %d times and imported %d pages; want 1 pull, 2 calls, 1 page",
			pulled, oktaCalls.Load(), pages)
	}
	callsBeforeLoad := oktaCalls.Load()

	// Load: 16 clients send idempotent requests over the three replicas while a writer creates
	// apps on replica 0; replica 2 is stopped in the middle.
	const clients = 16
	var (
		sent, failed, retried atomic.Int64
		firstErr              atomic.Value
		stopLoad              = make(chan struct{})
		wg                    sync.WaitGroup
	)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				paths := []string{"/api/v1/apps?q=replica", "/api/v1/apps/" + slug, "/healthz", "/api/v1/apps?per_page=5"}
				path := paths[i%len(paths)]
				ok := false
				for attempt := range len(bases) {
					base := bases[(c+i+attempt)%len(bases)]
					status, body, err := api.do("GET", base+path, nil)
					if err != nil {
						// The connection was refused or closed: this replica is going away.
						retried.Add(1)
						continue
					}
					if status == http.StatusOK {
						ok = true
					} else {
						firstErr.CompareAndSwap(nil, fmt.Sprintf("GET %s%s = %d %s", base, path, status, body))
					}
					break
				}
				sent.Add(1)
				if !ok {
					failed.Add(1)
				}
			}
		}()
	}
	var created []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stopLoad:
				return
			case <-time.After(150 * time.Millisecond):
			}
			created = append(created, createApp(bases[0], fmt.Sprintf("Load App %d", i)))
		}
	}()
	time.Sleep(2 * time.Second)
	servers[2].stop(t)
	stoppedAt := sent.Load()
	time.Sleep(2 * time.Second)
	close(stopLoad)
	wg.Wait()
	t.Logf("%d requests (%d after the stop), %d retried on another replica, %d failed; %d apps created under load", sent.Load(), sent.Load()-stoppedAt, retried.Load(), failed.Load(), len(created))
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed; the first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if sent.Load()-stoppedAt < 50 {
		t.Errorf("only %d requests after the stop; the load did not go on", sent.Load()-stoppedAt)
	}
	// Stopping a replica does not set off another pull within the period.
	if n := oktaCalls.Load(); n != callsBeforeLoad {
		t.Errorf("the Okta API was called %d more times after a replica stopped; want none until the next period", n-callsBeforeLoad)
	}
	// No job is lost: every app created under load is indexed, once, and nothing is left
	// running on the stopped replica.
	deadline = time.Now().Add(30 * time.Second)
	for _, s := range created {
		if n := waitIndexed(t, d, s, deadline); n != 1 {
			t.Errorf("app %s indexed by %d completed jobs; want 1", s, n)
		}
	}
	var stuck int
	if err := d.GetContext(ctx, &stuck, "SELECT COUNT(*) FROM river_job WHERE kind = $1 AND state NOT IN ('completed')", catalog.IndexSyncKind); err != nil {
		t.Fatal(err)
	}
	if stuck != 0 {
		t.Errorf("%d index jobs not completed after the load", stuck)
	}
	for _, s := range servers[:2] {
		s.stop(t)
	}
}

// countingOkta serves the Okta System Log API from the fixture and counts the requests: the
// first page of a poll holds the events, the page its next link leads to is empty.
func countingOkta(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	events, err := os.ReadFile(filepath.Join("..", "..", "discovery", "testdata", "okta", "logs_array.json"))
	if err != nil {
		t.Fatal(err)
	}
	calls := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the System Log is served and counted: the directory pull's requests for groups
		// are refused, which leaves the log pull's figures alone.
		if r.URL.Path != "/api/v1/logs" || r.Header.Get("Authorization") != "SSWS okta-token" {
			http.Error(w, `{"errorCode":"E0000011"}`, http.StatusUnauthorized)
			return
		}
		calls.Add(1)
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v1/logs?after=end>; rel="next"`, r.Host))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after") == "" {
			_, _ = w.Write(events)
			return
		}
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, calls
}

// waitIndexed waits until slug's index job has completed, or deadline, then a little longer
// so that a duplicate would show, and returns the number of completed index jobs for it.
func waitIndexed(t *testing.T, d *db.DB, slug string, deadline time.Time) int {
	t.Helper()
	for indexJobs(t, d, slug) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return indexJobs(t, d, slug)
}

// indexJobs counts the completed index jobs that synced slug.
func indexJobs(t *testing.T, d *db.DB, slug string) int {
	t.Helper()
	var n int
	if err := d.GetContext(context.Background(), &n, `SELECT COUNT(*) FROM river_job WHERE kind = $1 AND state = 'completed'
		AND args->'slugs' ? $2`, catalog.IndexSyncKind, slug); err != nil {
		t.Fatal(err)
	}
	return n
}

// replicaClient calls the JSON API with a token.
type replicaClient struct {
	token string
	http  *http.Client
}

func (c *replicaClient) do(method, url string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// eventuallyFinds searches on base until the result holds slug.
func (c *replicaClient) eventuallyFinds(base, q, slug string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		status, body, err := c.do("GET", base+"/api/v1/apps?q="+q, nil)
		if err == nil && status == http.StatusOK && bytes.Contains(body, []byte(`"slug":"`+slug+`"`)) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
