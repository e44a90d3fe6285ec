package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

// A source is read-only until actions are turned on for it, in the store or the sources file,
// and the flag travels with the source (JSON included) but the secret never does.
func TestSourceActionsFlag(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := discovery.NewStore(b.Open(t))
			src, err := st.CreateSource(ctx, audit.System, discovery.Source{Kind: "okta", Name: "corp", BaseURL: "https://corp.okta.com", Secret: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			if src.Actions {
				t.Fatal("a new source may act by default")
			}
			if err := st.SetSourceActions(ctx, audit.System, src.ID, true); err != nil {
				t.Fatal(err)
			}
			got, err := st.Source(ctx, src.ID)
			if err != nil || !got.Actions || got.Secret != "" {
				t.Fatalf("Source = %+v, %v", got, err)
			}
			full, err := st.SourceWithSecret(ctx, src.ID)
			if err != nil || !full.Actions || full.Secret != "tok" {
				t.Fatalf("SourceWithSecret = %+v, %v", full, err)
			}
			raw, _ := json.Marshal(full)
			if !strings.Contains(string(raw), `"actions":true`) || strings.Contains(string(raw), "tok\"") {
				t.Fatalf("source JSON = %s", raw)
			}
			if err := st.SetSourceActions(ctx, audit.System, 9999, true); !errors.Is(err, discovery.ErrUnknownSource) {
				t.Fatalf("unknown source: %v", err)
			}

			path := filepath.Join(t.TempDir(), "sources.json")
			spec := `[{"kind":"okta","name":"acting","base_url":"https://acting.okta.com","secret_env":"T","actions":true},
				{"kind":"okta","name":"reading","base_url":"https://reading.okta.com","secret_env":"T"}]`
			if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := st.LoadSourcesFile(ctx, path, func(string) string { return "tok" }); err != nil {
				t.Fatal(err)
			}
			list, err := st.Sources(ctx)
			if err != nil {
				t.Fatal(err)
			}
			acts := map[string]bool{}
			for _, s := range list {
				acts[s.Name] = s.Actions
			}
			if !acts["acting"] || acts["reading"] || !acts["corp"] {
				t.Fatalf("actions by source = %v", acts)
			}
		})
	}
}
