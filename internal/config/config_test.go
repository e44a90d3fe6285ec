package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	c, _, err := Load("serve", args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.BaseURL != "http://127.0.0.1:8080" || c.DataDir != "./data" || c.Secure() {
		t.Errorf("defaults = %+v", c)
	}
	db, err := ParseDatabaseURL(c.DatabaseURL, c.DataDir)
	if err != nil || db.Driver != "sqlite" || db.DSN != filepath.Join("data", "paved.db") {
		t.Errorf("default database = %+v (%v)", db, err)
	}
}

func TestPrecedenceFlagOverEnvOverDefault(t *testing.T) {
	env := map[string]string{"PAVED_LISTEN": "127.0.0.1:9000", "PAVED_LOG_LEVEL": "debug", "PAVED_SESSION_IDLE_TIMEOUT": "30m"}
	c, err := load(t, []string{"--log-level", "warn"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.LogLevel != "warn" || c.SessionIdleTimeout != 30*time.Minute || c.BaseURL != "http://127.0.0.1:9000" {
		t.Errorf("got listen %q level %q idle %v base %q", c.Listen, c.LogLevel, c.SessionIdleTimeout, c.BaseURL)
	}
}

func TestProblemsNameTheSetting(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"unknown database scheme", map[string]string{"PAVED_DATABASE_URL": "mysql://x/y"}, []string{"PAVED_DATABASE_URL", `unknown scheme "mysql"`}},
		{"malformed base URL", map[string]string{"PAVED_BASE_URL": "paved.example.com"}, []string{"PAVED_BASE_URL"}},
		{"base URL with a path", map[string]string{"PAVED_BASE_URL": "https://example.com/paved"}, []string{"PAVED_BASE_URL"}},
		{"bad log level", map[string]string{"PAVED_LOG_LEVEL": "loud"}, []string{"PAVED_LOG_LEVEL"}},
		{"issuer without client", map[string]string{"PAVED_OIDC_ISSUER": "https://idp.example.com"}, []string{"PAVED_OIDC_CLIENT_ID"}},
		{"idle longer than lifetime", map[string]string{"PAVED_SESSION_IDLE_TIMEOUT": "48h", "PAVED_SESSION_MAX_LIFETIME": "24h"}, []string{"PAVED_SESSION_IDLE_TIMEOUT"}},
		{"two problems at once", map[string]string{"PAVED_DATABASE_URL": "oracle://x", "PAVED_LOG_FORMAT": "xml"}, []string{"PAVED_DATABASE_URL", "PAVED_LOG_FORMAT"}},
		{"unparsable duration", map[string]string{"PAVED_SHUTDOWN_TIMEOUT": "soon"}, []string{"PAVED_SHUTDOWN_TIMEOUT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, nil, tt.env)
			if err == nil || !IsProblems(err) {
				t.Fatalf("err = %v, want configuration problems", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestPrepareDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	c := &Config{DataDir: dir}
	if err := c.PrepareDataDir(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("write check left %v behind", entries)
	}
	// A data dir under a regular file can never be created, even by root.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c = &Config{DataDir: filepath.Join(file, "data")}
	if err := c.PrepareDataDir(); err == nil || !strings.Contains(err.Error(), "PAVED_DATA_DIR") {
		t.Errorf("err = %v, want one naming PAVED_DATA_DIR", err)
	}
}

func TestEffectiveHidesSecrets(t *testing.T) {
	c, err := load(t, nil, map[string]string{"PAVED_OIDC_ISSUER": "https://idp.example.com", "PAVED_OIDC_CLIENT_ID": "paved", "PAVED_OIDC_CLIENT_SECRET": "s3cret", "PAVED_LISTEN": "127.0.0.1:9999"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range c.Effective() {
		got[s.Env] = s.Default
	}
	if got["PAVED_OIDC_CLIENT_SECRET"] != "(set)" || got["PAVED_LISTEN"] != "127.0.0.1:9999" || got["PAVED_OIDC_CLIENT_ID"] != "paved" {
		t.Errorf("effective = %v", got)
	}
}
