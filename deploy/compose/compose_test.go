// Package compose holds the Caddyfile that compose.yaml mounts, and the test that validates
// compose.yaml against the Compose specification.
package compose

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

var root = filepath.Join("..", "..")

// testEnv is what .env would hold.
var testEnv = map[string]string{
	"PAVED_BASE_URL":           "https://paved.example.com",
	"POSTGRES_PASSWORD":        "pgsecret0123",
	"MEILI_MASTER_KEY":         "meilisecret0123456789",
	"PAVED_OIDC_ISSUER":        "https://login.example.com",
	"PAVED_OIDC_CLIENT_ID":     "paved",
	"PAVED_OIDC_CLIENT_SECRET": "oidcsecret",
}

func load(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root),
		// Only the variables given here: nothing of the machine's environment or a local .env.
		cli.WithEnv(kv),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(context.Background())
}

// TestComposeFile loads compose.yaml as Docker Compose would (schema, interpolation,
// consistency of references) and checks what running it relies on.
func TestComposeFile(t *testing.T) {
	p, err := load(t, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"meilisearch", "paved-1", "paved-2", "postgres", "proxy"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services %v; want %v", got, want)
	}
	for name, s := range p.Services {
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			t.Errorf("%s has no health check", name)
		}
		if s.Restart != "unless-stopped" {
			t.Errorf("%s restart %q; want unless-stopped", name, s.Restart)
		}
	}
	for _, name := range []string{"paved-1", "paved-2"} {
		s := p.Services[name]
		if !slices.Equal(s.HealthCheck.Test, []string{"CMD", "/paved", "health"}) {
			t.Errorf("%s health check %v; want the binary's own check (the image has no shell)", name, s.HealthCheck.Test)
		}
		if s.User != "65532:65532" || !s.ReadOnly || !slices.Contains([]string(s.Tmpfs), "/tmp") {
			t.Errorf("%s user %q read-only %v tmpfs %v; want the image's non-root user, a read-only root and /tmp", name, s.User, s.ReadOnly, s.Tmpfs)
		}
		for _, dep := range []string{"postgres", "meilisearch"} {
			if d, ok := s.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s to be healthy", name, dep)
			}
		}
		env := s.Environment
		if v := env["PAVED_DATABASE_URL"]; v == nil || *v != "postgres://paved:pgsecret0123@postgres:5432/paved?sslmode=disable" {
			t.Errorf("%s PAVED_DATABASE_URL = %v", name, deref(v))
		}
		if v := env["PAVED_SEARCH_KEY"]; v == nil || *v != testEnv["MEILI_MASTER_KEY"] {
			t.Errorf("%s PAVED_SEARCH_KEY = %v; want the Meilisearch master key", name, deref(v))
		}
		if v := env["PAVED_OIDC_CLIENT_SECRET"]; v == nil || *v != "oidcsecret" {
			t.Errorf("%s PAVED_OIDC_CLIENT_SECRET = %v", name, deref(v))
		}
		if len(s.Volumes) != 1 || s.Volumes[0].Target != "/data" || s.Volumes[0].Type != types.VolumeTypeVolume {
			t.Errorf("%s volumes %+v; want a named volume on /data", name, s.Volumes)
		}
	}
	if v := p.Services["postgres"].Environment["POSTGRES_PASSWORD"]; v == nil || *v != "pgsecret0123" {
		t.Errorf("postgres gets password %v from .env", deref(v))
	}
	proxy := p.Services["proxy"]
	if len(proxy.Ports) != 1 || proxy.Ports[0].Target != 80 || proxy.Ports[0].Published != "8080" {
		t.Errorf("proxy ports %+v; want 8080:80", proxy.Ports)
	}
	for _, dep := range []string{"paved-1", "paved-2"} {
		if d, ok := proxy.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("proxy does not wait for %s to be healthy", dep)
		}
	}
	// The Caddyfile the proxy mounts exists and sends to both replicas on their port.
	var caddyfile string
	for _, v := range proxy.Volumes {
		if v.Target == "/etc/caddy/Caddyfile" {
			caddyfile = v.Source
		}
	}
	b, err := os.ReadFile(caddyfile)
	if err != nil {
		t.Fatalf("the proxy's Caddyfile: %v", err)
	}
	if !strings.Contains(string(b), "reverse_proxy paved-1:8080 paved-2:8080") || !strings.Contains(string(b), "health_uri /readyz") {
		t.Errorf("the Caddyfile does not balance over both replicas with /readyz checks:\n%s", b)
	}
	for _, vol := range []string{"postgres-data", "meili-data", "paved-1-data", "paved-2-data", "caddy-data"} {
		if _, ok := p.Volumes[vol]; !ok {
			t.Errorf("volume %s is not declared", vol)
		}
	}
}

// TestComposeRefusesMissingSecrets checks that Compose stops, naming the variable, when .env
// lacks a secret, rather than starting PostgreSQL with an empty password.
func TestComposeRefusesMissingSecrets(t *testing.T) {
	for _, missing := range []string{"POSTGRES_PASSWORD", "MEILI_MASTER_KEY", "PAVED_OIDC_CLIENT_SECRET"} {
		env := map[string]string{}
		for k, v := range testEnv {
			if k != missing {
				env[k] = v
			}
		}
		if _, err := load(t, env); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v; want an error naming it", missing, err)
		}
	}
}

// TestEnvExampleCoversRequiredVariables checks that the example .env names every variable
// compose.yaml requires, so that copying it gives a complete list to fill in.
func TestEnvExampleCoversRequiredVariables(t *testing.T) {
	b, err := os.ReadFile("env.example")
	if err != nil {
		t.Fatal(err)
	}
	for k := range testEnv {
		if !strings.Contains(string(b), "\n"+k+"=") {
			t.Errorf("env.example lacks %s", k)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}
