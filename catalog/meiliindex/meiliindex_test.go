package meiliindex_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pavedhq/paved/catalog/meiliindex"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestPingRealServer(t *testing.T) {
	url, key := testutil.Meili(t)
	ctx := context.Background()

	ix := meiliindex.New(url, key, 5*time.Second)
	if err := ix.Ping(ctx); err != nil {
		t.Fatalf("ping with the master key: %v", err)
	}
	v, err := ix.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "1.") {
		t.Errorf("version = %q, want a 1.x Meilisearch", v)
	}

	err = meiliindex.New(url, "not-the-key", 5*time.Second).Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "PAVED_SEARCH_KEY") {
		t.Errorf("ping with a wrong key: err = %v, want one that names PAVED_SEARCH_KEY", err)
	}
}

func TestPingUnreachable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = meiliindex.New("http://"+addr, "k", time.Second).Ping(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not reachable") {
		t.Errorf("err = %v, want not reachable", err)
	}
}
