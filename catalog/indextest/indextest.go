// Package indextest is the contract every catalog.Index implementation passes: one suite,
// run by each engine's tests against a real index (Bleve in a temp dir, a real Meilisearch
// server), over a fixed catalogue of real-world apps.
package indextest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/pavedhq/paved/catalog"
)

// Run runs the contract suite. open must return a new, empty index for the test and arrange
// for its removal when the test ends. Read-only checks share one loaded index; checks that
// change the index open their own.
func Run(t *testing.T, open func(t *testing.T) catalog.Index) {
	t.Run("EmptyIndex", func(t *testing.T) { testEmptyIndex(t, open(t)) })

	t.Run("Fixture", func(t *testing.T) {
		ix := open(t)
		load(t, ix, Fixture())
		t.Run("Ping", func(t *testing.T) {
			if err := ix.Ping(t.Context()); err != nil {
				t.Errorf("Ping: %v", err)
			}
		})
		t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, ix) })
		t.Run("Typo", func(t *testing.T) { testTypo(t, ix) })
		t.Run("ShortTypo", func(t *testing.T) { testShortTypo(t, ix) })
		t.Run("JoinedAndSplit", func(t *testing.T) { testJoinedAndSplit(t, ix) })
		t.Run("Prefix", func(t *testing.T) { testPrefix(t, ix) })
		t.Run("Vendor", func(t *testing.T) { testVendor(t, ix) })
		t.Run("Alias", func(t *testing.T) { testAlias(t, ix) })
		t.Run("Synonyms", func(t *testing.T) { testSynonyms(t, ix) })
		t.Run("Filters", func(t *testing.T) { testFilters(t, ix) })
		t.Run("Facets", func(t *testing.T) { testFacets(t, ix) })
		t.Run("EmptyTextOrder", func(t *testing.T) { testEmptyTextOrder(t, ix) })
		t.Run("Ranking", func(t *testing.T) { testRanking(t, ix) })
		t.Run("Paging", func(t *testing.T) { testPaging(t, ix) })
	})

	t.Run("UpsertReplaces", func(t *testing.T) { testUpsertReplaces(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("Reset", func(t *testing.T) { testReset(t, open(t)) })
	t.Run("LimitCap", func(t *testing.T) { testLimitCap(t, open(t)) })
}

// --- helpers --------------------------------------------------------------------------------

func load(t *testing.T, ix catalog.Index, docs []catalog.IndexDoc) {
	t.Helper()
	if err := ix.Upsert(t.Context(), docs...); err != nil {
		t.Fatalf("Upsert %d docs: %v", len(docs), err)
	}
	wantCount(t, ix, len(docs))
}

func wantCount(t *testing.T, ix catalog.Index, want int) {
	t.Helper()
	n, err := ix.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if n != want {
		t.Fatalf("Count = %d, want %d", n, want)
	}
}

func search(t *testing.T, ix catalog.Index, q catalog.SearchQuery) catalog.SearchResult {
	t.Helper()
	res, err := ix.Search(t.Context(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func slugs(res catalog.SearchResult) []string {
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.Slug
	}
	return out
}

// wantFirst checks that text's best hit is want.
func wantFirst(t *testing.T, ix catalog.Index, text, want string) {
	t.Helper()
	res := search(t, ix, catalog.SearchQuery{Text: text})
	if len(res.Hits) == 0 || res.Hits[0].Slug != want {
		t.Errorf("%q: first hit should be %s; got %v", text, want, slugs(res))
	}
}

// wantTop checks that the first len(want) hits of text are exactly want, in any order.
func wantTop(t *testing.T, ix catalog.Index, text string, want ...string) {
	t.Helper()
	res := search(t, ix, catalog.SearchQuery{Text: text})
	got := slugs(res)
	top := got[:min(len(want), len(got))]
	if !sameSet(top, want) {
		t.Errorf("%q: top %d hits should be %v in any order; got %v", text, len(want), want, got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// count returns how many fixture docs pass keep.
func count(docs []catalog.IndexDoc, keep func(catalog.IndexDoc) bool) int {
	n := 0
	for _, d := range docs {
		if keep(d) {
			n++
		}
	}
	return n
}

func statusCounts(docs []catalog.IndexDoc) map[catalog.Status]int {
	m := map[catalog.Status]int{}
	for _, d := range docs {
		m[d.Status]++
	}
	return m
}

func categoryCounts(docs []catalog.IndexDoc) map[string]int {
	m := map[string]int{}
	for _, d := range docs {
		m[d.Category]++
	}
	return m
}

// nonZero drops zero counts, which an engine may or may not report.
func nonZero[K comparable](m map[K]int) map[K]int {
	out := map[K]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func fixtureDoc(t *testing.T, slug string) catalog.IndexDoc {
	t.Helper()
	for _, d := range Fixture() {
		if d.Slug == slug {
			return d
		}
	}
	t.Fatalf("fixture has no %s", slug)
	return catalog.IndexDoc{}
}

// text is everything searchable in a doc, lowercased, for checks on the fixture itself.
func text(d catalog.IndexDoc) string {
	parts := append([]string{d.Name, d.Vendor, d.Description, d.CategoryLabel}, d.Tags...)
	return strings.ToLower(strings.Join(append(parts, d.Aliases...), " "))
}

// --- checks ---------------------------------------------------------------------------------

func testEmptyIndex(t *testing.T, ix catalog.Index) {
	wantCount(t, ix, 0)
	for _, q := range []catalog.SearchQuery{
		{},
		{Text: "slack"},
		{Text: "sla"},
		{Statuses: []catalog.Status{catalog.StatusApproved}, Categories: []string{"design"}},
	} {
		res, err := ix.Search(t.Context(), q)
		if err != nil {
			t.Errorf("Search(%+v) on an empty index: %v, want no error", q, err)
			continue
		}
		if len(res.Hits) != 0 || res.Total != 0 {
			t.Errorf("Search(%+v) on an empty index: %d hits, total %d; want none", q, len(res.Hits), res.Total)
		}
		if len(nonZero(res.StatusCounts)) != 0 || len(nonZero(res.CategoryCounts)) != 0 {
			t.Errorf("Search(%+v) on an empty index: facets %v %v, want none", q, res.StatusCounts, res.CategoryCounts)
		}
	}
	if err := ix.Upsert(t.Context()); err != nil {
		t.Errorf("Upsert of nothing: %v", err)
	}
	if err := ix.Delete(t.Context()); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
	if err := ix.Delete(t.Context(), "no-such-app"); err != nil {
		t.Errorf("Delete of an unknown slug: %v", err)
	}
	if err := ix.Reset(t.Context()); err != nil {
		t.Errorf("Reset of an empty index: %v", err)
	}
	wantCount(t, ix, 0)
}

// testRoundTrip checks that a hit carries every field as it was stored.
func testRoundTrip(t *testing.T, ix catalog.Index) {
	for _, slug := range []string{"salesforce", "dashlane"} { // dashlane has no aliases
		want := fixtureDoc(t, slug)
		res := search(t, ix, catalog.SearchQuery{Text: want.Name})
		if len(res.Hits) == 0 || res.Hits[0].Slug != slug {
			t.Errorf("%q: first hit should be %s; got %v", want.Name, slug, slugs(res))
			continue
		}
		got := res.Hits[0]
		if !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Errorf("%s: UpdatedAt = %v, want %v", slug, got.UpdatedAt, want.UpdatedAt)
		}
		got.UpdatedAt = want.UpdatedAt
		if !slices.Equal(got.Tags, want.Tags) || !slices.Equal(got.Aliases, want.Aliases) {
			t.Errorf("%s: tags %q aliases %q, want %q %q", slug, got.Tags, got.Aliases, want.Tags, want.Aliases)
		}
		got.Tags, got.Aliases = want.Tags, want.Aliases
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s: hit\n%+v\nwant\n%+v", slug, got, want)
		}
	}
}

func testTypo(t *testing.T, ix catalog.Index) {
	for text, want := range map[string]string{
		"slakc":      "slack",      // transposed letters
		"figmma":     "figma",      // doubled letter
		"zooom":      "zoom",       // doubled letter in a short name
		"salesfroce": "salesforce", // two edits in a long word
	} {
		wantFirst(t, ix, text, want)
	}
}

// testShortTypo checks one typo in four-letter words, the length of many app names.
func testShortTypo(t *testing.T, ix catalog.Index) {
	for text, want := range map[string]string{
		"slak": "slack", // a letter left out
		"jiar": "jira",  // swapped letters
		"asna": "asana", // a letter left out
		"zoon": "zoom",  // a wrong letter
		"mirp": "miro",  // a wrong letter at the end, where a prefix cannot help
		"bxo":  "box",   // three letters: still no typos, so nothing…
	} {
		if len(text) < 4 {
			if got := slugs(search(t, ix, catalog.SearchQuery{Text: text})); slices.Contains(got, want) {
				t.Errorf("%q: %s found with a typo in a three-letter word; got %v", text, want, got)
			}
			continue
		}
		wantFirst(t, ix, text, want)
	}
	// …and an exact four-letter word still beats a one-typo match of it.
	wantFirst(t, ix, "loom", "loom")
	wantFirst(t, ix, "jira", "jira")
}

// testJoinedAndSplit checks names typed with a space too many or too few.
func testJoinedAndSplit(t *testing.T, ix catalog.Index) {
	wantFirst(t, ix, "one drive", "onedrive")
	wantFirst(t, ix, "onedrive", "onedrive")
	wantFirst(t, ix, "googledrive", "gdrive")
	wantFirst(t, ix, "google drive", "gdrive")
	wantFirst(t, ix, "lucid chart", "lucidchart")
	// Both Dropbox names hold the joined word; Meilisearch's exactness rule does not count a
	// joined match as exact, so which comes first is left to the engine.
	wantTop(t, ix, "drop box", "dropbox", "dropbox-sign")
}

func testPrefix(t *testing.T, ix catalog.Index) {
	for text, want := range map[string]string{
		"conflu": "confluence",
		"hubsp":  "hubspot",
		"lucidc": "lucidchart",
		"calen":  "calendly",
	} {
		wantFirst(t, ix, text, want)
	}
}

func testVendor(t *testing.T, ix catalog.Index) {
	wantTop(t, ix, "atlassian", "confluence", "jira", "trello", "bitbucket")
	wantFirst(t, ix, "anthropic", "claude")
	wantFirst(t, ix, "agilebits", "1password")
}

func testAlias(t *testing.T, ix catalog.Index) {
	wantFirst(t, ix, "salesforce.com", "salesforce")
	wantFirst(t, ix, "hellosign", "dropbox-sign")
	wantFirst(t, ix, "realtimeboard", "miro")
}

func testSynonyms(t *testing.T, ix catalog.Index) {
	video := []string{"zoom", "ms-teams", "google-meet", "webex"}
	// Guard the fixture: the point is that these words are absent.
	for _, s := range video {
		if d := text(fixtureDoc(t, s)); strings.Contains(d, "call") || (s != "zoom" && strings.Contains(d, "webinar")) {
			t.Fatalf("fixture %s mentions call or webinar, so this check proves nothing", s)
		}
	}
	for _, s := range []string{"drawio", "lucidchart", "miro"} {
		if strings.Contains(text(fixtureDoc(t, s)), "flowchart") {
			t.Fatalf("fixture %s mentions flowchart, so this check proves nothing", s)
		}
	}
	// Loom mentions video too; only the synonyms lift the conferencing apps above it.
	wantTop(t, ix, "video call", video...)
	wantTop(t, ix, "webinar", video...)
	wantTop(t, ix, "flowchart", "drawio", "lucidchart", "miro")
	wantTop(t, ix, "electronic signature", "docusign", "dropbox-sign")
}

func testFilters(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	cases := []struct {
		name       string
		q          catalog.SearchQuery
		keep       func(catalog.IndexDoc) bool
		mustHave   []string
		mustntHave []string
	}{
		{
			name: "status",
			q:    catalog.SearchQuery{Statuses: []catalog.Status{approved}},
			keep: func(d catalog.IndexDoc) bool { return d.Status == approved },
		},
		{
			name: "two statuses",
			q:    catalog.SearchQuery{Statuses: []catalog.Status{notApproved, retired}},
			keep: func(d catalog.IndexDoc) bool { return d.Status == notApproved || d.Status == retired },
		},
		{
			name: "category",
			q:    catalog.SearchQuery{Categories: []string{"design"}},
			keep: func(d catalog.IndexDoc) bool { return d.Category == "design" },
		},
		{
			name: "statuses and categories",
			q: catalog.SearchQuery{
				Statuses:   []catalog.Status{approved, conditions},
				Categories: []string{"design", "file-sharing"},
			},
			keep: func(d catalog.IndexDoc) bool {
				return (d.Status == approved || d.Status == conditions) && (d.Category == "design" || d.Category == "file-sharing")
			},
		},
		{
			name:       "text and status",
			q:          catalog.SearchQuery{Text: "password manager", Statuses: []catalog.Status{approved}},
			keep:       func(d catalog.IndexDoc) bool { return d.Status == approved },
			mustHave:   []string{"keeper"},
			mustntHave: []string{"dashlane", "lastpass"},
		},
		{
			name: "a category nobody uses",
			q:    catalog.SearchQuery{Categories: []string{"no-such-category"}},
			keep: func(catalog.IndexDoc) bool { return false },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.Limit = 100
			res := search(t, ix, c.q)
			for _, h := range res.Hits {
				if !c.keep(h) {
					t.Errorf("hit %s (%s, %s) does not pass the filters", h.Slug, h.Status, h.Category)
				}
			}
			got := slugs(res)
			for _, s := range c.mustHave {
				if !slices.Contains(got, s) {
					t.Errorf("hits %v lack %s", got, s)
				}
			}
			for _, s := range c.mustntHave {
				if slices.Contains(got, s) {
					t.Errorf("hits %v include %s", got, s)
				}
			}
			if c.q.Text != "" {
				return // how many docs a text matches is the engine's business
			}
			if want := count(fx, c.keep); res.Total != want || len(res.Hits) != want {
				t.Errorf("total %d, %d hits; want %d", res.Total, len(res.Hits), want)
			}
		})
	}
}

func testFacets(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	res := search(t, ix, catalog.SearchQuery{Limit: 1})
	if got, want := nonZero(res.StatusCounts), statusCounts(fx); !maps.Equal(got, want) {
		t.Errorf("status counts %v, want %v", got, want)
	}
	if got, want := nonZero(res.CategoryCounts), categoryCounts(fx); !maps.Equal(got, want) {
		t.Errorf("category counts %v, want %v", got, want)
	}

	// After a filter, facets count what passes it.
	var notOK []catalog.IndexDoc
	for _, d := range fx {
		if d.Status == notApproved {
			notOK = append(notOK, d)
		}
	}
	res = search(t, ix, catalog.SearchQuery{Statuses: []catalog.Status{notApproved}, Limit: 1})
	if got, want := nonZero(res.StatusCounts), statusCounts(notOK); !maps.Equal(got, want) {
		t.Errorf("not approved: status counts %v, want %v", got, want)
	}
	if got, want := nonZero(res.CategoryCounts), categoryCounts(notOK); !maps.Equal(got, want) {
		t.Errorf("not approved: category counts %v, want %v", got, want)
	}

	// With text, facets count every match, not only the page.
	res = search(t, ix, catalog.SearchQuery{Text: "atlassian", Limit: 1})
	if res.Total != 4 {
		t.Errorf("atlassian: total %d, want 4 (%v)", res.Total, slugs(res))
	}
	wantCats := map[string]int{"collaboration": 1, "project-management": 2, "developer-tools": 1}
	if got := nonZero(res.CategoryCounts); !maps.Equal(got, wantCats) {
		t.Errorf("atlassian: category counts %v, want %v", got, wantCats)
	}
	wantStatus := map[catalog.Status]int{approved: 2, conditions: 1, retired: 1}
	if got := nonZero(res.StatusCounts); !maps.Equal(got, wantStatus) {
		t.Errorf("atlassian: status counts %v, want %v", got, wantStatus)
	}
}

// testEmptyTextOrder checks that an empty query lists everything, approved first, then by
// name within each status.
func testEmptyTextOrder(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	res := search(t, ix, catalog.SearchQuery{Limit: 100})
	if res.Total != len(fx) || len(res.Hits) != len(fx) {
		t.Fatalf("total %d, %d hits; want %d", res.Total, len(res.Hits), len(fx))
	}
	if res.Hits[0].Status != approved {
		t.Errorf("first hit %s is %s, want an approved app", res.Hits[0].Slug, res.Hits[0].Status)
	}
	for i := 1; i < len(res.Hits); i++ {
		a, b := res.Hits[i-1], res.Hits[i]
		switch {
		case a.Status.Rank() > b.Status.Rank():
			t.Errorf("%s (%s) listed before %s (%s)", a.Slug, a.Status, b.Slug, b.Status)
		case a.Status == b.Status && strings.ToLower(a.Name) > strings.ToLower(b.Name):
			t.Errorf("%s: %q listed before %q", a.Status, a.Name, b.Name)
		}
	}
}

func testRanking(t *testing.T, ix catalog.Index) {
	// Equal relevance: the approved twin wins, although the other comes first by name and
	// was indexed first.
	res := search(t, ix, catalog.SearchQuery{Text: "password manager"})
	got := slugs(res)
	k, d := slices.Index(got, "keeper"), slices.Index(got, "dashlane")
	if k < 0 || d < 0 || k > d {
		t.Errorf("password manager: keeper (approved) should rank above dashlane (not approved); got %v", got)
	}
	// Status only breaks ties: the better match wins whatever its status. Dropbox (not
	// approved) is named "dropbox"; Box (approved) only mentions it in its description.
	got = slugs(search(t, ix, catalog.SearchQuery{Text: "dropbox"}))
	if d, b := slices.Index(got, "dropbox"), slices.Index(got, "box"); d < 0 || b < 0 || d > b {
		t.Errorf("dropbox: dropbox (name match) should rank above box (description match); got %v", got)
	}
	wantFirst(t, ix, "lastpass", "lastpass") // retired
	wantFirst(t, ix, "webex", "webex")       // not approved
}

func testPaging(t *testing.T, ix catalog.Index) {
	n := len(Fixture())
	full := slugs(search(t, ix, catalog.SearchQuery{Limit: 100}))
	var paged []string
	for off := 0; off < n; off += 10 {
		res := search(t, ix, catalog.SearchQuery{Limit: 10, Offset: off})
		if res.Total != n {
			t.Errorf("offset %d: total %d, want %d", off, res.Total, n)
		}
		if want := min(10, n-off); len(res.Hits) != want {
			t.Errorf("offset %d: %d hits, want %d", off, len(res.Hits), want)
		}
		paged = append(paged, slugs(res)...)
	}
	if !slices.Equal(paged, full) {
		t.Errorf("pages of 10:\n%v\nwant the full list\n%v", paged, full)
	}
	if got := slugs(search(t, ix, catalog.SearchQuery{Limit: 10, Offset: 5})); !slices.Equal(got, full[5:15]) {
		t.Errorf("offset 5 limit 10: %v, want %v", got, full[5:15])
	}
	if res := search(t, ix, catalog.SearchQuery{}); len(res.Hits) != 20 || res.Total != n {
		t.Errorf("limit 0: %d hits, total %d; want the default 20 of %d", len(res.Hits), res.Total, n)
	}
	if res := search(t, ix, catalog.SearchQuery{Offset: n + 5}); len(res.Hits) != 0 || res.Total != n {
		t.Errorf("offset past the end: %d hits, total %d; want 0 of %d", len(res.Hits), res.Total, n)
	}

	// Pages of a text query agree with its full list (relevance order is the same on every page).
	for _, text := range []string{"password manager", "video call", "a"} {
		full := search(t, ix, catalog.SearchQuery{Text: text, Limit: 100})
		var paged []string
		for off := 0; off < full.Total; off += 3 {
			res := search(t, ix, catalog.SearchQuery{Text: text, Limit: 3, Offset: off})
			if res.Total != full.Total {
				t.Errorf("%q offset %d: total %d, want %d", text, off, res.Total, full.Total)
			}
			paged = append(paged, slugs(res)...)
		}
		if !slices.Equal(paged, slugs(full)) {
			t.Errorf("%q in pages of 3:\n%v\nwant\n%v", text, paged, slugs(full))
		}
	}
}

func testUpsertReplaces(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	load(t, ix, fx)
	approvedBefore := count(fx, func(d catalog.IndexDoc) bool { return d.Status == approved })

	webex := fixtureDoc(t, "webex")
	webex.Status, webex.StatusRank = approved, approved.Rank()
	if err := ix.Upsert(t.Context(), webex); err != nil {
		t.Fatal(err)
	}
	wantCount(t, ix, len(fx))
	res := search(t, ix, catalog.SearchQuery{Text: "webex"})
	if len(res.Hits) == 0 || res.Hits[0].Slug != "webex" || res.Hits[0].Status != approved {
		t.Errorf("webex after approval: hits %+v, want webex first and approved", res.Hits)
	}
	res = search(t, ix, catalog.SearchQuery{Statuses: []catalog.Status{approved}, Limit: 100})
	if res.Total != approvedBefore+1 || !slices.Contains(slugs(res), "webex") {
		t.Errorf("approved after approving webex: total %d, hits %v; want %d with webex", res.Total, slugs(res), approvedBefore+1)
	}
	if got := search(t, ix, catalog.SearchQuery{Limit: 1}).StatusCounts[approved]; got != approvedBefore+1 {
		t.Errorf("approved facet after approving webex: %d, want %d", got, approvedBefore+1)
	}

	// A rename replaces the whole document: found by the new name, not the old.
	wt := fixtureDoc(t, "wetransfer")
	// Nothing in the new text is within two typos of "wetransfer" ("transfer" would be).
	wt.Name, wt.Vendor, wt.Aliases = "Transferly", "Transferly", []string{"transferly.io"}
	wt.Tags, wt.Description = []string{"large files"}, "Send big files by link without an account."
	if err := ix.Upsert(t.Context(), wt); err != nil {
		t.Fatal(err)
	}
	wantCount(t, ix, len(fx))
	res = search(t, ix, catalog.SearchQuery{Text: "transferly"})
	if len(res.Hits) == 0 || res.Hits[0].Slug != "wetransfer" || res.Hits[0].Name != "Transferly" {
		t.Errorf("transferly: hits %v, want the renamed wetransfer first", slugs(res))
	}
	if got := slugs(search(t, ix, catalog.SearchQuery{Text: "wetransfer"})); slices.Contains(got, "wetransfer") {
		t.Errorf("wetransfer: the old name still finds the renamed app: %v", got)
	}
}

func testDelete(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	load(t, ix, fx)
	if err := ix.Delete(t.Context(), "zoom", "no-such-app"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantCount(t, ix, len(fx)-1)
	if got := slugs(search(t, ix, catalog.SearchQuery{Text: "zoom"})); slices.Contains(got, "zoom") {
		t.Errorf("zoom after delete: %v", got)
	}
	if res := search(t, ix, catalog.SearchQuery{Limit: 100}); res.Total != len(fx)-1 || slices.Contains(slugs(res), "zoom") {
		t.Errorf("after delete: total %d, hits %v; want %d without zoom", res.Total, slugs(res), len(fx)-1)
	}
	if err := ix.Delete(t.Context(), "zoom"); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	wantCount(t, ix, len(fx)-1)
}

func testReset(t *testing.T, ix catalog.Index) {
	fx := Fixture()
	load(t, ix, fx)
	if err := ix.Reset(t.Context()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	wantCount(t, ix, 0)
	if res := search(t, ix, catalog.SearchQuery{}); res.Total != 0 || len(res.Hits) != 0 {
		t.Errorf("after reset: total %d, hits %v", res.Total, slugs(res))
	}
	if res := search(t, ix, catalog.SearchQuery{Text: "slack"}); res.Total != 0 {
		t.Errorf("slack after reset: %v", slugs(res))
	}
	// The index is usable again, with its settings intact.
	load(t, ix, fx[:3])
	wantFirst(t, ix, "slakc", "slack")
}

func testLimitCap(t *testing.T, ix catalog.Index) {
	load(t, ix, Generate(130))
	res := search(t, ix, catalog.SearchQuery{Limit: 500})
	if len(res.Hits) != 100 || res.Total != 130 {
		t.Errorf("limit 500: %d hits, total %d; want the maximum 100 of 130", len(res.Hits), res.Total)
	}
}
