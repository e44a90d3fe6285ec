package actions_test

import (
	"context"
	"testing"

	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/discovery/actions/providertest"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/testutil"
)

// A source stored in the database, read back with its secret, acts; made read-only, it stops at
// the next step.
func TestStoredSourceActsUntilMadeReadOnly(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			st := discovery.NewStore(b.Open(t))
			g := googleDomain(t)
			src := providertest.StoreSource(t, st, g.Source())
			providers := actions.Providers(newHTTP(&waits{}))
			target := actions.Target{App: slackClient}
			if err := actions.Check(ctx, providers, src, actions.GoogleRevokeTokens, target); err != nil {
				t.Fatal(err)
			}
			steps, err := providers[src.Kind].Preview(ctx, src, actions.GoogleRevokeTokens, target)
			if err != nil || len(steps) != 3 {
				t.Fatalf("preview: %d steps, %v", len(steps), err)
			}
			if err := providers[src.Kind].Do(ctx, src, actions.GoogleRevokeTokens, steps[0]); err != nil {
				t.Fatal(err)
			}
			if err := st.SetSourceActions(ctx, audit.System, src.ID, false); err != nil {
				t.Fatal(err)
			}
			src, err = st.SourceWithSecret(ctx, src.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := providers[src.Kind].Do(ctx, src, actions.GoogleRevokeTokens, steps[1]); err == nil {
				t.Fatal("a read-only source carried out a step")
			}
			if !g.HasToken(steps[1].Person, slackClient) || g.HasToken(steps[0].Person, slackClient) {
				t.Fatal("tokens changed unlike the steps")
			}
		})
	}
}
