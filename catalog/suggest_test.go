package catalog_test

import (
	"context"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/bleveindex"
	"github.com/pavedhq/paved/internal/testutil"
)

func TestSuggest(t *testing.T) {
	names := []string{"Slab", "Slack", "Jira", "Asana", "OneDrive", "Google Drive", "Microsoft Teams", "Miro", "Salesforce", "Box", "Dropbox", "Notion"}
	cases := []struct{ text, want string }{
		{"sllak", "Slack"},                // two typos in five letters: beyond the engines, within reach here
		{"jria", "Jira"},                  // a swap counts as one typo
		{"asnaa", "Asana"},                // a letter left out and one doubled
		{"one drvie", "OneDrive"},         // spaces and punctuation do not count
		{"gogle drve", "Google Drive"},    // two typos in a long name
		{"teens", "Microsoft Teams"},      // one word of a longer name
		{"SALESFROSE", "Salesforce"},      // case does not count
		{"notoin", "Notion"},              // a swap inside the word
		{"dropbx", "Dropbox"},             // closer to Dropbox than to Box
		{"xyzzy", ""},                     // nothing close
		{"qq", ""},                        // too short to guess
		{"", ""},                          // nothing typed
		{"slack", ""},                     // already a name: no suggestion
		{"google", ""},                    // already a word of a name
		{"zzzzzzzzzzzzzzzzzzzzzzzzz", ""}, // long and far from everything
	}
	for _, c := range cases {
		if got := catalog.Suggest(c.text, names); got != c.want {
			t.Errorf("Suggest(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	if got := catalog.Suggest("sllak", nil); got != "" {
		t.Errorf("Suggest with no names = %q", got)
	}
}

// TestSearchSuggests: a search that finds nothing suggests the closest name when asked to,
// and only then.
func TestSearchSuggests(t *testing.T) {
	for _, b := range testutil.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			d := b.Open(t)
			ctx := context.Background()
			ix, err := bleveindex.OpenMemory()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			svc := catalog.NewService(d, ix, nil)
			if err := svc.EnsureCategories(ctx, []catalog.Category{{Slug: "chat", Name: "Chat"}}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"Slack", "Discord"} {
				if _, err := svc.CreateApp(ctx, sec, catalog.AppInput{Name: name, Vendor: name, Category: "chat", Status: "approved"}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.Reindex(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := svc.Search(ctx, catalog.SearchQuery{Text: "sllak", Suggest: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != 0 || res.Suggestion != "Slack" {
				t.Errorf("sllak: total %d, suggestion %q; want none found and Slack suggested", res.Total, res.Suggestion)
			}
			if res, _ := svc.Search(ctx, catalog.SearchQuery{Text: "sllak"}); res.Suggestion != "" {
				t.Errorf("sllak without Suggest: suggestion %q", res.Suggestion)
			}
			if res, _ := svc.Search(ctx, catalog.SearchQuery{Text: "slak", Suggest: true}); res.Total == 0 || res.Suggestion != "" {
				t.Errorf("slak: total %d, suggestion %q; want Slack found and no suggestion", res.Total, res.Suggestion)
			}
		})
	}
}
