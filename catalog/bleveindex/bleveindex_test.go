package bleveindex_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/catalog/indextest"
)

func openTemp(t testing.TB) *bleveindex.Index {
	t.Helper()
	ix, err := bleveindex.Open(filepath.Join(t.TempDir(), "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func TestContract(t *testing.T) {
	indextest.Run(t, func(t *testing.T) catalog.Index { return openTemp(t) })
}

func TestContractInMemory(t *testing.T) {
	indextest.Run(t, func(t *testing.T) catalog.Index {
		ix, err := bleveindex.OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		return ix
	})
}

// TestReopen checks that documents, settings and search behaviour survive Close and Open.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.bleve")
	ix, err := bleveindex.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Created() {
		t.Error("first Open: Created() = false, want true")
	}
	fx := indextest.Fixture()
	if err := ix.Upsert(ctx, fx...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Delete(ctx, "zoom"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Ping(ctx); err == nil {
		t.Error("Ping after Close: no error")
	}

	ix, err = bleveindex.Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ix.Close()
	if ix.Created() {
		t.Error("reopen: Created() = true, want false: the index was there")
	}
	n, err := ix.Count(ctx)
	if err != nil || n != len(fx)-1 {
		t.Fatalf("after reopen: Count = %d, %v; want %d", n, err, len(fx)-1)
	}
	res, err := ix.Search(ctx, catalog.SearchQuery{Text: "slakc"})
	if err != nil || len(res.Hits) == 0 || res.Hits[0].Slug != "slack" {
		t.Errorf("after reopen: slakc → %+v, %v; want slack first", res.Hits, err)
	}
	res, err = ix.Search(ctx, catalog.SearchQuery{Text: "webinar"})
	if err != nil || res.Total < 3 {
		t.Errorf("after reopen: webinar (synonyms) → total %d, %v", res.Total, err)
	}
	res, err = ix.Search(ctx, catalog.SearchQuery{Text: "zoom"})
	for _, h := range res.Hits {
		if h.Slug == "zoom" {
			t.Errorf("after reopen: the deleted zoom is back")
		}
	}
	if err != nil {
		t.Error(err)
	}
}

// TestOpenEmptyDir accepts a directory created ahead of time (a mounted volume).
func TestOpenEmptyDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.bleve")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	ix, err := bleveindex.Open(path)
	if err != nil {
		t.Fatalf("Open on an empty directory: %v", err)
	}
	ix.Close()
}

// TestOpenRefusesForeignDir keeps Open from taking over a directory that holds something else.
func TestOpenRefusesForeignDir(t *testing.T) {
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ix, err := bleveindex.Open(path); err == nil {
		ix.Close()
		t.Fatal("Open on a directory with other files: no error")
	}
	if _, err := os.Stat(filepath.Join(path, "notes.txt")); err != nil {
		t.Errorf("the directory's file is gone: %v", err)
	}
}

func BenchmarkSearch(b *testing.B) {
	ix := openTemp(b)
	ctx := context.Background()
	if err := ix.Upsert(ctx, indextest.Generate(2000)...); err != nil {
		b.Fatal(err)
	}
	for _, q := range indextest.BenchQueries {
		b.Run(indextest.BenchName(q), func(b *testing.B) {
			for b.Loop() {
				if _, err := ix.Search(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
