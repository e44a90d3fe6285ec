package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsDocumentedAndCharted runs a server, reads its /metrics, and checks that every
// Paved metric it exposes is documented in the README, and that every metric the Grafana
// dashboard in deploy/ queries is one the server exposes.
func TestMetricsDocumentedAndCharted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir()}), io.Discard, pw)
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
	// One request first, so that the labelled HTTP metrics have a series to show.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
	}
	// The job metrics appear once a job has run: the periodic jobs run at start.
	exposed := map[string]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for !exposed["paved_jobs_total"] && time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
				exposed[f[2]] = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for name := range exposed {
		if strings.HasPrefix(name, "paved_") && !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("metric %s is not documented in the README's metrics table", name)
		}
	}

	dash, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "paved.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dash, &d); err != nil {
		t.Fatalf("the dashboard is not valid JSON: %v", err)
	}
	if len(d.Panels) == 0 {
		t.Fatal("the dashboard has no panels")
	}
	metricName := regexp.MustCompile(`\b((?:paved|process|go)_[a-z_]+)`)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !exposed[base] {
					t.Errorf("panel %q queries %s, which the server does not expose", p.Title, m)
				}
			}
		}
	}
}
