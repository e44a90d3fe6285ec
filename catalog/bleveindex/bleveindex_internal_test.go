package bleveindex

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/indextest"
)

func TestFuzziness(t *testing.T) {
	for term, want := range map[string]int{"box": 0, "chat": 1, "crm": 0, "slak": 1, "jiar": 1, "zooom": 1, "slakc": 1, "figmma": 1, "expensify": 2, "salesfroce": 2, "café": 1, "caf": 0, "cafés": 1} {
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

func TestFirstN(t *testing.T) {
	items := []int{9, 3, 7, 1, 8, 2, 6, 4, 5, 0, 12, 11, 10, 15, 14, 13, 19, 18, 17, 16}
	for _, n := range []int{0, 1, 2, 3, 5, 19, 20, 25} {
		got := firstN(slices.Clone(items), n, func(a, b int) int { return a - b })
		want := slices.Sorted(slices.Values(items))[:min(n, len(items))]
		if !slices.Equal(got, want) {
			t.Errorf("firstN(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestSynonymTokens(t *testing.T) {
	ix, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	// catalog.Synonyms: group 0 is video calls, 1 chat, 9 AI assistants.
	cases := []struct {
		values []string
		want   []string
	}{
		{[]string{"Video conferencing for teams"}, []string{"g0"}},
		{[]string{"webinar", "team chat"}, []string{"g0", "g1"}},
		{[]string{"conferencing video"}, nil},    // the words, not the phrase
		{[]string{"video", "conferencing"}, nil}, // a phrase lies within one value
		{[]string{"An LLM chatbot"}, []string{"g9"}},
		{nil, nil},
	}
	for _, c := range cases {
		if got := ix.synonymTokens(c.values); !slices.Equal(got, c.want) {
			t.Errorf("synonymTokens(%q) = %q, want %q", c.values, got, c.want)
		}
	}
}

func TestSearchAfterClose(t *testing.T) {
	ix, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Upsert(t.Context(), indextest.Fixture()[:3]...); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if _, err := ix.Search(t.Context(), catalog.SearchQuery{Text: "slack"}); err == nil {
		t.Error("Search after Close: no error")
	}
}

// TestTableFollowsWrites: the per-snapshot table is rebuilt after a write, so filters, facets
// and order see the new status at once.
func TestTableFollowsWrites(t *testing.T) {
	ix, err := OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	docs := indextest.Fixture()
	if err := ix.Upsert(t.Context(), docs...); err != nil {
		t.Fatal(err)
	}
	slack := slices.IndexFunc(docs, func(d catalog.IndexDoc) bool { return d.Slug == "slack" })
	q := catalog.SearchQuery{Text: "slack", Statuses: []catalog.Status{catalog.StatusRetired}}
	before, err := ix.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	d := docs[slack]
	d.Status = catalog.StatusRetired
	if err := ix.Upsert(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	after, err := ix.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != before.Total+1 || after.StatusCounts[catalog.StatusRetired] != before.StatusCounts[catalog.StatusRetired]+1 {
		t.Errorf("retiring slack: total %d → %d, retired count %d → %d; want both one more",
			before.Total, after.Total, before.StatusCounts[catalog.StatusRetired], after.StatusCounts[catalog.StatusRetired])
	}
	if len(after.Hits) == 0 || after.Hits[0].Slug != "slack" || after.Hits[0].Status != catalog.StatusRetired {
		t.Errorf("retired slack: hits %+v, want slack first and retired", after.Hits)
	}
}
