package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
)

// TestImportPullAndSearchMetricsMove runs a server with an Okta source (an httptest server
// replaying the System Log API), lets its scheduled pull run, uploads a log with bad lines and
// searches the catalogue, then reads /metrics: the pull, both import runs with their events and
// rejected lines, and the searches (one finding nothing) are counted.
func TestImportPullAndSearchMetricsMove(t *testing.T) {
	events, err := os.ReadFile(filepath.Join("..", "..", "discovery", "testdata", "okta", "logs_array.json"))
	if err != nil {
		t.Fatal(err)
	}
	var oktaCalls atomic.Int64
	okta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oktaCalls.Add(1)
		if r.URL.Path != "/api/v1/logs" || r.Header.Get("Authorization") != "SSWS okta-token" {
			http.Error(w, `{"errorCode":"E0000011"}`, http.StatusUnauthorized)
			return
		}
		// Polling always links a next page; the page after the events is empty.
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/api/v1/logs?after=end>; rel="next"`, r.Host))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("after") == "" {
			_, _ = w.Write(events)
			return
		}
		_, _ = w.Write([]byte("[]"))
	}))
	defer okta.Close()

	dir := t.TempDir()
	sources := filepath.Join(dir, "sources.json")
	spec := fmt.Sprintf(`[{"kind": "okta", "name": "Test Okta", "base_url": %q, "secret_env": "TEST_OKTA_TOKEN"}]`, okta.URL)
	if err := os.WriteFile(sources, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	env := envOf(map[string]string{
		"PAVED_DATA_DIR": dataDir, "PAVED_SOURCES_FILE": sources, "TEST_OKTA_TOKEN": "okta-token",
		"PAVED_USAGE_RETENTION": "87600h", // the fixtures are from 2024
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if code := run(ctx, []string{"seed"}, env, io.Discard, io.Discard); code != 0 {
		t.Fatalf("paved seed exited %d", code)
	}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, env, io.Discard, pw)
		pw.Close()
	}()
	addr := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "paved is serving" {
			addr, _ = line["listen"].(string)
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatal("serve did not report its address")
	}
	defer func() { cancel(); <-done }()
	base := "http://" + addr

	// The scheduled pull runs when the server starts.
	deadline := time.Now().Add(30 * time.Second)
	for scrape(t, base).sum("paved_pulls_total", `kind="okta"`, `outcome="ok"`) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no okta pull counted within 30 s (%d calls to the API)", oktaCalls.Load())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if oktaCalls.Load() < 2 {
		t.Errorf("the okta API was called %d times; want the events page and the empty page", oktaCalls.Load())
	}

	d, err := db.Open(context.Background(), db.Options{Dialect: db.SQLite, DSN: filepath.Join(dataDir, "paved.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, token, err := auth.NewService(d, auth.Options{}).CreateToken(context.Background(), audit.System, auth.NewToken{Name: "metrics",
		Scopes: []string{string(auth.ScopeCatalogRead), string(auth.ScopeDiscoveryWrite)}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	proxyLog, err := os.ReadFile(filepath.Join("..", "..", "discovery", "testdata", "csv", "proxy_log.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if status := call("POST", "/api/v1/discovery/imports?format=csv&name=proxy_log.csv", proxyLog); status != http.StatusCreated {
		t.Fatalf("import = %d; want 201", status)
	}
	for _, q := range []string{"slack", "zzqxjvwk"} {
		if status := call("GET", "/api/v1/apps?q="+q, nil); status != http.StatusOK {
			t.Fatalf("search %q = %d", q, status)
		}
	}

	m := scrape(t, base)
	checks := []struct {
		what string
		got  float64
		min  float64
	}{
		{"okta import runs (the pulled page)", m.sum("paved_import_runs_total", `format="okta"`, `status="finished"`), 1},
		{"new okta events", m.sum("paved_import_events_total", `format="okta"`, `result="new"`), 1},
		{"csv import runs", m.sum("paved_import_runs_total", `format="csv"`, `status="finished"`), 1},
		{"new csv events", m.sum("paved_import_events_total", `format="csv"`, `result="new"`), 1},
		{"rejected csv lines", m.sum("paved_import_rejected_lines_total", `format="csv"`), 6},
		{"timed imports", m.sum("paved_import_duration_seconds_count"), 2},
		{"timed pulls", m.sum("paved_pull_duration_seconds_count", `kind="okta"`), 1},
		{"searches", m.sum("paved_search_requests_total", `engine="bleve"`, `outcome="ok"`), 2},
		{"timed searches", m.sum("paved_search_duration_seconds_count", `engine="bleve"`), 2},
		{"searches finding nothing", m.sum("paved_search_zero_results_total", `engine="bleve"`), 1},
	}
	for _, c := range checks {
		if c.got < c.min {
			t.Errorf("%s = %v; want at least %v", c.what, c.got, c.min)
		}
	}
	if got := m.sum("paved_pulls_total", `outcome="failed"`); got != 0 {
		t.Errorf("failed pulls = %v; want 0", got)
	}
	if got := m.sum("paved_search_zero_results_total"); got > 1 {
		t.Errorf("searches finding nothing = %v; want only the one that should", got)
	}
}

// exposition is one scrape of /metrics, as lines.
type exposition []string

func scrape(t *testing.T, base string) exposition {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Split(string(b), "\n")
}

// sum adds the values of the series of metric name whose labels contain every one of labels.
func (e exposition) sum(name string, labels ...string) float64 {
	total := 0.0
	for _, line := range e {
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
			}
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil && match {
			total += v
		}
	}
	return total
}
