package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/pavedhq/paved/internal/audit"
)

// SourceSpec is one source in a sources file. The secret comes from the environment variable
// SecretEnv, so the file itself can be kept in version control; it takes the same forms as in the
// admin page: an Okta API token, an Entra JSON object
// {"tenant_id", "client_id", "client_secret"}, a Google service-account key file, or a bearer
// token. Subject, for Google, is the admin the service account acts as; it is added to the key
// (a "subject" already in the key works too).
//
//	[{"kind": "entra", "name": "corp", "base_url": "https://graph.microsoft.com", "secret_env": "ENTRA_CREDENTIALS"},
//	 {"kind": "google", "name": "workspace", "base_url": "https://admin.googleapis.com",
//	  "secret_env": "GOOGLE_SA_KEY", "subject": "admin@corp.example", "actions": true}]
//
// "actions": true lets security act at the provider through the source (see package
// discovery/actions); without it the source only reads.
type SourceSpec struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	BaseURL   string `json:"base_url"`
	SecretEnv string `json:"secret_env"`
	Subject   string `json:"subject,omitempty"`
	// Actions lets security act at the provider through the source; read-only when false or
	// left out.
	Actions bool `json:"actions,omitempty"`
}

// LoadSourcesFile reads a JSON array of SourceSpec and adds the sources that do not exist yet
// (by name); existing ones are left as an administrator set them. getenv reads the tokens.
func (s *Store) LoadSourcesFile(ctx context.Context, path string, getenv func(string) string) (added int, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read sources file: %w", err)
	}
	var specs []SourceSpec
	if err := json.Unmarshal(raw, &specs); err != nil {
		return 0, fmt.Errorf("sources file %s is not a JSON array of sources: %w", path, err)
	}
	existing, err := s.Sources(ctx)
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, src := range existing {
		have[src.Name] = true
	}
	for i, sp := range specs {
		if have[sp.Name] {
			continue
		}
		secret := getenv(sp.SecretEnv)
		if sp.SecretEnv == "" || secret == "" {
			return added, fmt.Errorf("sources file %s, source %d (%q): set secret_env to an environment variable that holds the API token or credentials", path, i+1, sp.Name)
		}
		if sp.Kind == FormatGoogle {
			if secret, err = WithGoogleSubject(secret, sp.Subject); err != nil {
				return added, fmt.Errorf("sources file %s, source %d (%q), %s: %w", path, i+1, sp.Name, sp.SecretEnv, err)
			}
		}
		_, err := s.CreateSource(ctx, audit.Actor{Name: "sources file"}, Source{Kind: sp.Kind, Name: sp.Name, BaseURL: sp.BaseURL, Secret: secret, Actions: sp.Actions})
		if err != nil && !errors.Is(err, ErrSourceExists) {
			return added, fmt.Errorf("sources file %s, source %d (%q): %w", path, i+1, sp.Name, err)
		}
		added++
	}
	return added, nil
}
