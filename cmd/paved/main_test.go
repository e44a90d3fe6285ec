package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBadConfigStopsWithNamedSettingAndCreatesNothing(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		setting string
	}{
		{"unknown database scheme", map[string]string{"PAVED_DATABASE_URL": "mysql://db/paved"}, "PAVED_DATABASE_URL"},
		{"malformed base URL", map[string]string{"PAVED_BASE_URL": "htp:/paved"}, "PAVED_BASE_URL"},
		{"unwritable data dir", map[string]string{"PAVED_DATA_DIR": filepath.Join(file, "data")}, "PAVED_DATA_DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if _, ok := tt.env["PAVED_DATA_DIR"]; !ok {
				tt.env["PAVED_DATA_DIR"] = dir
			}
			var stderr bytes.Buffer
			code := run(context.Background(), []string{"serve"}, envOf(tt.env), io.Discard, &stderr)
			if code == 0 {
				t.Fatal("serve started with a bad configuration")
			}
			if !strings.Contains(stderr.String(), tt.setting) {
				t.Errorf("message %q does not name %s", stderr.String(), tt.setting)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("data dir was created (%v)", err)
			}
		})
	}
}

func TestUnknownCommandAndHelp(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"frobnicate"}, envOf(nil), io.Discard, &out); code != 2 || !strings.Contains(out.String(), "unknown command") {
		t.Errorf("code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"serve", "--help"}, envOf(nil), io.Discard, &out); code != 0 || !strings.Contains(out.String(), "PAVED_DATABASE_URL") {
		t.Errorf("serve --help: code %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"version"}, envOf(nil), &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "paved ") {
		t.Errorf("version: code %d, output %q", code, out.String())
	}
}

func TestMigrateCommands(t *testing.T) {
	env := envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir()})
	var out bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "status"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "pending") {
		t.Fatalf("status before: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "up"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "applied 00001_users_audit.sql") {
		t.Fatalf("up: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "down"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "rolled back") {
		t.Fatalf("down: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"migrate", "sideways"}, env, &out, &out); code != 2 {
		t.Fatalf("unknown action: %d %q", code, out.String())
	}
}

// TestServeAnswersAndStops runs `paved serve` with nothing configured but a temp data dir and a
// free port, checks the health endpoints, then stops it as SIGTERM would.
func TestServeAnswersAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, envOf(map[string]string{"PAVED_DATA_DIR": dir}), io.Discard, pw)
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
	base := "http://" + addr
	// In order: /metrics must count the requests before it.
	for _, c := range [][2]string{{"/healthz", `"ok"`}, {"/readyz", `"database":"ok"`}, {"/metrics", `paved_http_requests_total{method="GET",route="/healthz",status="200"} 1`}} {
		path, want := c[0], c[1]
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s = %d %q, want 200 containing %s", path, resp.StatusCode, body, want)
		}
	}
	// The container health check asks the same server.
	var health bytes.Buffer
	if code := run(ctx, []string{"health"}, envOf(map[string]string{"PAVED_LISTEN": addr}), &health, io.Discard); code != 0 || !strings.Contains(health.String(), "ready") {
		t.Errorf("paved health = %d %q; want 0 and ready", code, health.String())
	}
	if code := run(ctx, []string{"health"}, envOf(map[string]string{"PAVED_LISTEN": "127.0.0.1:1"}), io.Discard, io.Discard); code != 1 {
		t.Errorf("paved health with nothing listening = %d; want 1", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "paved.db")); err != nil {
		t.Errorf("SQLite database not in the data dir: %v", err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exited %d after shutdown", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestTokenCommands(t *testing.T) {
	env := envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir()})
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"token", "create", "--name", "okta-sync", "--scopes", "discovery:write,discovery:read", "--expires", "30d"}, env, &out, &errOut)
	secret := strings.TrimSpace(out.String())
	if code != 0 || !strings.HasPrefix(secret, "pvd_") || strings.Contains(secret, "\n") {
		t.Fatalf("create: code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"token", "create", "--name", "bad", "--scopes", "root", "--expires", "30d"}, env, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), "Unknown scope") {
		t.Errorf("unknown scope: code %d, %q", code, errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"token", "list"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "okta-sync\tactive") {
		t.Errorf("list: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"token", "revoke", "--name", "okta-sync"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "revoked") {
		t.Errorf("revoke: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"token", "list"}, env, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "okta-sync\trevoked") {
		t.Errorf("list after revoke: %d %q", code, out.String())
	}
}

func TestDevRefusesNonLoopback(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:8080", "192.0.2.10:8080", ":8080"} {
		dir := filepath.Join(t.TempDir(), "data")
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"dev", "--listen", listen}, envOf(map[string]string{"PAVED_DATA_DIR": dir}), io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), "loopback") {
			t.Errorf("dev --listen %s: code %d, %q", listen, code, stderr.String())
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("dev --listen %s created the data dir", listen)
		}
	}
}

func TestImportCommand(t *testing.T) {
	// The fixture's events are from 2024: a long retention keeps them.
	env := envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir(), "PAVED_USAGE_RETENTION": "87600h"})
	fixture := filepath.Join("..", "..", "discovery", "testdata", "okta", "logs_array.json")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"import", fixture}, env, &out, &errOut); code != 0 {
		t.Fatalf("import: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "logs_array.json  okta") || !strings.Contains(out.String(), "finished") || !strings.Contains(errOut.String(), "line ") {
		t.Errorf("summary:\n%s\nrejections:\n%s", out.String(), errOut.String())
	}
	if fields := strings.Fields(strings.Split(strings.TrimSpace(out.String()), "\n")[1]); len(fields) < 5 || fields[4] == "0" {
		t.Errorf("first import stored nothing: %q", out.String())
	}
	// With the default retention of 180 days, the same events are too old to keep.
	out.Reset()
	short := envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir()})
	if code := run(context.Background(), []string{"import", fixture}, short, &out, io.Discard); code != 0 {
		t.Fatal("import with the default retention failed")
	}
	if fields := strings.Fields(strings.Split(strings.TrimSpace(out.String()), "\n")[1]); len(fields) < 7 || fields[4] != "0" || fields[6] == "0" {
		t.Errorf("events older than the retention were not skipped: %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"import", "--format", "okta", fixture}, env, &out, io.Discard); code != 0 {
		t.Fatal("second import failed")
	}
	// Re-importing adds nothing: the NEW column is 0.
	if fields := strings.Fields(strings.Split(strings.TrimSpace(out.String()), "\n")[1]); len(fields) < 5 || fields[4] != "0" {
		t.Errorf("re-import summary: %q", out.String())
	}
	bad := filepath.Join(t.TempDir(), "empty.json")
	_ = os.WriteFile(bad, nil, 0o600)
	if code := run(context.Background(), []string{"import", "--format", "okta", bad}, env, io.Discard, io.Discard); code == 0 {
		t.Error("an empty file imported without error")
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine("okta.json", 5<<20, 20<<20, 2*time.Second)
	if got != "okta.json   25%  5.0/20.0 MB  2.5 MB/s  ETA 6s" {
		t.Errorf("progress = %q", got)
	}
	if got := progressLine("pipe", 3<<20, 0, time.Second); got != "pipe  3.0 MB  3.0 MB/s" {
		t.Errorf("unknown size: %q", got)
	}
}

func TestImportPeopleCommand(t *testing.T) {
	env := envOf(map[string]string{"PAVED_DATA_DIR": t.TempDir()})
	file := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(file, []byte("email,department,groups\nann@example.com,Sales,emea;sales\nnope,Sales,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"import", "--format", "people", file}, env, &out, &errOut); code != 0 {
		t.Fatalf("import people: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "2 rows read, 1 people saved, 1 rejected") || !strings.Contains(errOut.String(), "line 3: column email") {
		t.Errorf("summary:\n%s\nrejections:\n%s", out.String(), errOut.String())
	}
	if err := os.WriteFile(file, []byte("name,department\nAnn,Sales\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"import", "--format", "people", file}, env, io.Discard, &errOut); code == 0 || !strings.Contains(errOut.String(), "no email column") {
		t.Errorf("a directory without emails: %d %s", code, errOut.String())
	}
}
