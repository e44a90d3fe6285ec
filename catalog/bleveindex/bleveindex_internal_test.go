package bleveindex

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/indextest"
)

// TestContractWithoutSlack runs the contract with ranked searches fetching no more hits than
// the page needs, so every page whose last relevance tier goes on must widen its window; the
// suite's paging checks then prove the pages still agree with each other.
func TestContractWithoutSlack(t *testing.T) {
	indextest.Run(t, func(t *testing.T) catalog.Index {
		ix, err := OpenMemory()
		if err != nil {
			t.Fatal(err)
		}
		ix.slack = 0
		t.Cleanup(func() { ix.Close() })
		return ix
	})
}

func TestFuzziness(t *testing.T) {
	for term, want := range map[string]int{"box": 0, "chat": 0, "zooom": 1, "slakc": 1, "figmma": 1, "expensify": 2, "salesfroce": 2, "café": 0, "cafés": 1} {
		if got := fuzziness(term); got != want {
			t.Errorf("fuzziness(%q) = %d, want %d", term, got, want)
		}
	}
}

func TestTranspositions(t *testing.T) {
	got := transpositions("slakc")
	want := []string{"lsakc", "salkc", "slkac", "slack"}
	if !slices.Equal(got, want) {
		t.Errorf("transpositions(slakc) = %q, want %q", got, want)
	}
	if got := transpositions("zoom"); !slices.Equal(got, []string{"ozom", "zomo"}) {
		t.Errorf("transpositions(zoom) = %q: a swap of equal letters is no new spelling", got)
	}
	if got := transpositions("é"); got != nil {
		t.Errorf("transpositions(é) = %q, want none", got)
	}
}

func TestMentionsAny(t *testing.T) {
	group := [][]string{{"video", "call"}, {"webinar"}}
	cases := []struct {
		terms []string
		want  bool
	}{
		{[]string{"video", "call"}, true},
		{[]string{"a", "video", "call", "tool"}, true},
		{[]string{"call", "video"}, false},
		{[]string{"video"}, false},
		{[]string{"webinar", "tools"}, true},
		{nil, false},
	}
	for _, c := range cases {
		if got := mentionsAny(c.terms, group); got != c.want {
			t.Errorf("mentionsAny(%q) = %v, want %v", c.terms, got, c.want)
		}
	}
}

// TestOpenRebuildsOldMapping: an index written with another mapping version is replaced by an
// empty one, and Created says so, so the caller reindexes.
func TestOpenRebuildsOldMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.bleve")
	ix, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Upsert(t.Context(), indextest.Fixture()[:3]...); err != nil {
		t.Fatal(err)
	}
	if err := ix.bi.SetInternal(versionKey, []byte("0")); err != nil {
		t.Fatal(err)
	}
	ix.Close()

	ix, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ix.Close()
	if !ix.Created() {
		t.Error("Created() = false after a mapping change, want true")
	}
	if n, err := ix.Count(t.Context()); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want an empty index", n, err)
	}
	if v, err := ix.bi.GetInternal(versionKey); err != nil || string(v) != mappingVersion {
		t.Errorf("version = %q, %v; want %q", v, err, mappingVersion)
	}
}
