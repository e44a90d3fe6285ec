package portal

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/config"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/testutil"
	"github.com/pavedhq/paved/web"
)

// replica is one `paved serve` with the embedded index: its own Bleve directory and cursor, the
// shared database.
type replica struct {
	base     string
	catalog  *catalog.Service
	follower *catalog.Follower
	dir      string
}

func startReplica(t *testing.T, d *db.DB, dir string) *replica {
	t.Helper()
	ctx := context.Background()
	ix, err := bleveindex.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(d, ix, catalog.ChangeLog{})
	f := &catalog.Follower{Catalog: svc, CursorFile: filepath.Join(dir, "index.cursor"), Interval: 100 * time.Millisecond}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load("test", nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	views, err := web.NewRenderer()
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + ts.Listener.Addr().String()
	srv, err := New(Deps{Config: cfg, Logger: slog.New(slog.DiscardHandler), DB: d, Views: views, Catalog: svc,
		Auth:     auth.NewService(d, auth.Options{IdleTimeout: time.Hour, MaxLifetime: time.Hour}),
		IndexLag: f.Lag, Checks: []Check{{Name: "search", Check: ix.Ping}}})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config = &http.Server{Handler: srv}
	ts.Start()
	r := &replica{base: cfg.BaseURL, catalog: svc, follower: f, dir: dir}
	t.Cleanup(func() { ts.Close(); f.Stop(); ix.Close() })
	return r
}

func (r *replica) finds(t *testing.T, token, q string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", r.base+"/api/v1/apps?q="+q, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && strings.Contains(string(b), `"slug":"`+q+`"`)
}

func (r *replica) lag(t *testing.T) int {
	t.Helper()
	resp, err := http.Get(r.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		IndexLag *int `json:"index_lag"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.IndexLag == nil {
		t.Fatalf("readyz: %v, no index_lag", err)
	}
	return *body.IndexLag
}

// Two replicas with the embedded index on one PostgreSQL search the same catalogue: an app
// made on A is found on B within seconds; each /readyz reports its own lag; and a replica that
// was stopped catches up when it comes back.
func TestReplicasSearchTheSameCatalogue(t *testing.T) {
	d := testutil.Postgres(t)
	ctx := context.Background()
	if err := catalog.NewService(d, nil, nil).EnsureCategories(ctx, []catalog.Category{{Slug: "design", Name: "Design"}}); err != nil {
		t.Fatal(err)
	}
	_, token, err := auth.NewService(d, auth.Options{}).CreateToken(ctx, audit.System, auth.NewToken{Name: "reader", Scopes: []string{"catalog:read"}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, b := startReplica(t, d, t.TempDir()), startReplica(t, d, t.TempDir())
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("after 5 s: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if _, err := a.catalog.CreateApp(ctx, audit.System, catalog.AppInput{Name: "Zeplin", Category: "design", Status: "approved"}); err != nil {
		t.Fatal(err)
	}
	eventually("A finds the app made on A", func() bool { return a.finds(t, token, "zeplin") })
	eventually("B finds the app made on A", func() bool { return b.finds(t, token, "zeplin") })
	eventually("both report no lag", func() bool { return a.lag(t) == 0 && b.lag(t) == 0 })

	// B stops; changes go on on A. B's readiness reports B's own lag, not A's.
	b.follower.Stop()
	if _, err := a.catalog.CreateApp(ctx, audit.System, catalog.AppInput{Name: "Figma", Category: "design", Status: "approved"}); err != nil {
		t.Fatal(err)
	}
	eventually("A finds the new app", func() bool { return a.finds(t, token, "figma") && a.lag(t) == 0 })
	if n := b.lag(t); n != 1 {
		t.Errorf("B reports index_lag %d, want its own 1", n)
	}
	if b.finds(t, token, "figma") {
		t.Error("B found an app it has not applied")
	}
	// B comes back with its index and cursor, and catches up.
	if err := b.follower.Start(ctx); err != nil {
		t.Fatal(err)
	}
	eventually("B catches up", func() bool { return b.finds(t, token, "figma") && b.lag(t) == 0 })
}
