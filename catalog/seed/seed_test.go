package seed_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pavedhq/paved/catalog/seed"
)

// minApps is the size the seed catalogue promises; minPerCategory keeps every category worth
// browsing.
const (
	minApps        = 230
	minPerCategory = 5
)

func TestCategories(t *testing.T) {
	cats := seed.Categories()
	if n := len(cats); n < 15 || n > 25 {
		t.Errorf("got %d categories, want about 20", n)
	}
	seen := map[string]bool{}
	labels := map[string]bool{}
	for _, c := range cats {
		if !seed.ValidSlug(c.Slug) {
			t.Errorf("category slug %q is not a valid slug", c.Slug)
		}
		if seen[c.Slug] {
			t.Errorf("duplicate category slug %q", c.Slug)
		}
		seen[c.Slug] = true
		if strings.TrimSpace(c.Label) == "" || labels[c.Label] {
			t.Errorf("category %q has an empty or duplicate label %q", c.Slug, c.Label)
		}
		labels[c.Label] = true
		if got, ok := seed.CategoryLabel(c.Slug); !ok || got != c.Label {
			t.Errorf("CategoryLabel(%q) = %q, %v; want %q, true", c.Slug, got, ok, c.Label)
		}
	}
	if _, ok := seed.CategoryLabel("no-such-category"); ok {
		t.Error("CategoryLabel accepted an unknown slug")
	}
	cats[0].Label = "changed"
	if seed.Categories()[0].Label == "changed" {
		t.Error("Categories returned the package's own slice, not a copy")
	}
}

func TestEmbeddedApps(t *testing.T) {
	apps, err := seed.Apps()
	if err != nil {
		t.Fatalf("embedded apps.json is invalid:\n%v", err)
	}
	if len(apps) < minApps {
		t.Errorf("got %d apps, want at least %d", len(apps), minApps)
	}
	perCategory := map[string]int{}
	for _, a := range apps {
		perCategory[a.Category]++
	}
	for _, c := range seed.Categories() {
		t.Logf("%-22s %3d  %s", c.Slug, perCategory[c.Slug], c.Label)
		if perCategory[c.Slug] < minPerCategory {
			t.Errorf("category %q has %d apps, want at least %d", c.Slug, perCategory[c.Slug], minPerCategory)
		}
	}
	t.Logf("%-22s %3d", "total", len(apps))
}

// TestEmbeddedAppsSpotChecks pins a few facts that the search and discovery features rely on.
func TestEmbeddedAppsSpotChecks(t *testing.T) {
	apps, err := seed.Apps()
	if err != nil {
		t.Fatal(err)
	}
	bySlug := map[string]seed.App{}
	byName := map[string]string{} // lowercased name or alias -> slug
	for _, a := range apps {
		bySlug[a.Slug] = a
		byName[strings.ToLower(a.Name)] = a.Slug
		for _, al := range a.Aliases {
			byName[strings.ToLower(al)] = a.Slug
		}
	}
	tests := []struct {
		slug, domain, category, tag string
	}{
		{"slack", "slack.com", seed.CategoryChat, "chat"},
		{"zoom", "zoom.us", seed.CategoryVideoConferencing, "video conferencing"},
		{"wetransfer", "wetransfer.com", seed.CategoryFileStorage, "file transfer"},
		{"github", "github.com", seed.CategorySourceAndCI, "git"},
		{"1password", "1password.com", seed.CategorySecurity, "password manager"},
		{"chatgpt", "chatgpt.com", seed.CategoryAI, "ai chatbot"},
	}
	for _, tt := range tests {
		a, ok := bySlug[tt.slug]
		if !ok {
			t.Errorf("app %q is missing", tt.slug)
			continue
		}
		if a.Domain != tt.domain || a.Category != tt.category || !slices.Contains(a.Tags, tt.tag) {
			t.Errorf("app %q = domain %q, category %q, tags %q; want %q, %q, a %q tag", tt.slug, a.Domain, a.Category, a.Tags, tt.domain, tt.category, tt.tag)
		}
	}
	for alias, slug := range map[string]string{
		"office 365": "microsoft-365", "teams": "microsoft-teams", "salesforce.com": "salesforce",
		"g suite": "google-workspace", "azure ad": "microsoft-entra-id", "hellosign": "dropbox-sign",
	} {
		if got := byName[alias]; got != slug {
			t.Errorf("name or alias %q resolves to %q, want %q", alias, got, slug)
		}
	}
}

func validApps() []seed.App {
	return []seed.App{
		{
			Name: "Slack", Slug: "slack", Vendor: "Salesforce", Domain: "slack.com",
			Category: seed.CategoryChat, Description: "Team chat.",
			Tags: []string{"chat", "messaging"}, Aliases: []string{"Slack Enterprise Grid"},
		},
		{
			Name: "Zoom", Slug: "zoom", Vendor: "Zoom Communications", Domain: "zoom.us",
			Category: seed.CategoryVideoConferencing, Description: "Video meetings.",
			Tags: []string{"video call", "video conferencing", "meetings", "webinars"},
		},
	}
}

func TestValidateApps(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(apps []seed.App) []seed.App
		wantErr string // "" means the list must be valid
	}{
		{"valid", func(a []seed.App) []seed.App { return a }, ""},
		{"description of exactly the limit", func(a []seed.App) []seed.App {
			a[0].Description = strings.Repeat("x", seed.MaxDescriptionLen-1) + "."
			return a
		}, ""},
		{"limit counts characters not bytes", func(a []seed.App) []seed.App {
			a[0].Description = strings.Repeat("é", seed.MaxDescriptionLen-1) + "."
			return a
		}, ""},
		{"slug starting with a digit", func(a []seed.App) []seed.App { a[0].Slug = "8x8"; return a }, ""},
		{"no aliases", func(a []seed.App) []seed.App { a[0].Aliases = nil; return a }, ""},

		{"empty list", func([]seed.App) []seed.App { return nil }, "no apps"},
		{"duplicate slug", func(a []seed.App) []seed.App { a[1].Slug = "slack"; return a }, `duplicate slug "slack"`},
		{"duplicate name ignoring case", func(a []seed.App) []seed.App { a[1].Name = "SLACK"; return a }, `duplicate name "SLACK"`},
		{"duplicate domain", func(a []seed.App) []seed.App { a[1].Domain = "slack.com"; return a }, `duplicate domain "slack.com"`},
		{"unknown category", func(a []seed.App) []seed.App { a[0].Category = "chats"; return a }, `unknown category "chats"`},
		{"description over the limit", func(a []seed.App) []seed.App {
			a[0].Description = strings.Repeat("x", seed.MaxDescriptionLen) + "."
			return a
		}, "description is 141 characters"},
		{"description without full stop", func(a []seed.App) []seed.App { a[0].Description = "Team chat"; return a }, "ending with a full stop"},
		{"description with newline", func(a []seed.App) []seed.App { a[0].Description = "Team\nchat."; return a }, "control character"},
		{"missing name", func(a []seed.App) []seed.App { a[0].Name = ""; return a }, "name is required"},
		{"missing vendor", func(a []seed.App) []seed.App { a[0].Vendor = ""; return a }, "vendor is required"},
		{"missing domain", func(a []seed.App) []seed.App { a[0].Domain = ""; return a }, "domain is required"},
		{"missing category", func(a []seed.App) []seed.App { a[0].Category = ""; return a }, "category is required"},
		{"missing description", func(a []seed.App) []seed.App { a[0].Description = ""; return a }, "description is required"},
		{"missing slug", func(a []seed.App) []seed.App { a[0].Slug = ""; return a }, "slug is required"},
		{"name with trailing space", func(a []seed.App) []seed.App { a[0].Name = "Slack "; return a }, "leading or trailing spaces"},
		{"too few tags", func(a []seed.App) []seed.App { a[0].Tags = []string{"chat"}; return a }, "has 1 tags, want 2 to 5"},
		{"too many tags", func(a []seed.App) []seed.App {
			a[0].Tags = []string{"a", "b", "c", "d", "e", "f"}
			return a
		}, "has 6 tags"},
		{"uppercase tag", func(a []seed.App) []seed.App { a[0].Tags = []string{"Chat", "messaging"}; return a }, `tag "Chat" must be lowercase`},
		{"duplicate tag", func(a []seed.App) []seed.App { a[0].Tags = []string{"chat", "chat"}; return a }, `duplicate tag "chat"`},
		{"empty tag", func(a []seed.App) []seed.App { a[0].Tags = []string{"chat", ""}; return a }, `tag "" must be non-empty`},
		{"alias repeating own name", func(a []seed.App) []seed.App { a[0].Aliases = []string{"slack"}; return a }, "repeats the app's name"},
		{"alias repeated", func(a []seed.App) []seed.App { a[0].Aliases = []string{"Grid", "grid"}; return a }, `duplicate alias "grid"`},
		{"alias naming another app", func(a []seed.App) []seed.App { a[0].Aliases = []string{"zoom"}; return a }, `alias "zoom" is already a name or alias of app 1 (zoom)`},
		{"alias shared by two apps", func(a []seed.App) []seed.App {
			a[0].Aliases = []string{"Meetings"}
			a[1].Aliases = []string{"meetings"}
			return a
		}, `alias "meetings" is already a name or alias of app 0 (slack)`},
		{"empty alias", func(a []seed.App) []seed.App { a[0].Aliases = []string{""}; return a }, "alias is required"},
	}
	for _, slug := range []string{"Slack", "slack_app", "-slack", "slack-", "sl ack", "slack--app", "slack.com", "slåck", strings.Repeat("a", seed.MaxSlugLen+1)} {
		tests = append(tests, struct {
			name    string
			mutate  func(apps []seed.App) []seed.App
			wantErr string
		}{"bad slug " + slug, func(a []seed.App) []seed.App { a[0].Slug = slug; return a }, "must be lowercase a-z"})
	}
	for _, domain := range []string{"https://slack.com", "slack.com/app", "Slack.com", "slack", "slack.com:443", "-slack.com", "slack..com", "*.slack.com"} {
		tests = append(tests, struct {
			name    string
			mutate  func(apps []seed.App) []seed.App
			wantErr string
		}{"bad domain " + domain, func(a []seed.App) []seed.App { a[0].Domain = domain; return a }, "must be a bare lowercase host name"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := seed.ValidateApps(tt.mutate(validApps()))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateAppsReportsEveryProblem(t *testing.T) {
	apps := validApps()
	apps[0].Category = "nope"
	apps[1].Slug = "Zoom"
	err := seed.ValidateApps(apps)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`app 0 (slack): unknown category "nope"`, `app 1 (Zoom): slug "Zoom"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestParseApps(t *testing.T) {
	const good = `[{"name":"Slack","slug":"slack","vendor":"Salesforce","domain":"slack.com","category":"chat",
		"description":"Team chat.","tags":["chat","messaging"]}]`
	apps, err := seed.ParseApps([]byte(good))
	if err != nil {
		t.Fatalf("ParseApps(good): %v", err)
	}
	if len(apps) != 1 || apps[0].Slug != "slack" || len(apps[0].Tags) != 2 {
		t.Errorf("ParseApps(good) = %+v", apps)
	}
	tests := []struct{ name, data, wantErr string }{
		{"malformed", `[{"name":`, "decode"},
		{"not an array", `{"name":"Slack"}`, "decode"},
		{"unknown field", strings.Replace(good, `"slug"`, `"url":"https://slack.com","slug"`, 1), `unknown field "url"`},
		{"wrong type", strings.Replace(good, `["chat","messaging"]`, `"chat"`, 1), "decode"},
		{"trailing data", good + `[]`, "after the top-level value"},
		{"empty array", `[]`, "no apps"},
		{"invalid record", strings.Replace(good, `"chat","messaging"`, `"chat"`, 1), "has 1 tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seed.ParseApps([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestEmbeddedDemo(t *testing.T) {
	demo, err := seed.DemoCatalogue()
	if err != nil {
		t.Fatalf("embedded demo.json is invalid:\n%v", err)
	}
	if n := len(demo); n < 20 || n > 40 {
		t.Errorf("got %d demo decisions, want about 25", n)
	}
	apps, err := seed.Apps()
	if err != nil {
		t.Fatal(err)
	}
	inCatalogue := map[string]bool{}
	for _, a := range apps {
		inCatalogue[a.Slug] = true
	}
	status := map[string]seed.Status{}
	statuses := map[seed.Status]int{}
	levels := map[seed.Classification]int{}
	for _, d := range demo {
		status[d.Slug] = d.Status
		statuses[d.Status]++
		levels[d.MaxDataClassification]++
	}
	// Checked here directly as well as by ValidateDemo, so a validator bug cannot hide bad data.
	for _, d := range demo {
		if !inCatalogue[d.Slug] {
			t.Errorf("demo app %q is not in apps.json", d.Slug)
		}
		for _, alt := range d.Alternatives {
			if !status[alt.Slug].Usable() {
				t.Errorf("%s (%s) lists alternative %q, whose status is %q, not approved", d.Slug, d.Status, alt.Slug, status[alt.Slug])
			}
		}
	}
	for _, s := range seed.Statuses() {
		if statuses[s] == 0 {
			t.Errorf("no demo app has status %q", s)
		}
	}
	for _, c := range seed.Classifications() {
		if levels[c] == 0 {
			t.Errorf("no demo app allows up to %q data", c)
		}
	}
	// The story the quick start tells.
	for slug, want := range map[string]seed.Status{
		"slack": seed.StatusApproved, "zoom": seed.StatusApprovedWithConditions,
		"microsoft-teams": seed.StatusUnderReview, "wetransfer": seed.StatusNotApproved,
	} {
		if status[slug] != want {
			t.Errorf("demo status of %q = %q, want %q", slug, status[slug], want)
		}
	}
}

func TestClassificationRank(t *testing.T) {
	prev := 0
	for _, c := range seed.Classifications() {
		if !c.Valid() || c.Rank() <= prev {
			t.Errorf("%q: Valid = %v, Rank = %d after %d", c, c.Valid(), c.Rank(), prev)
		}
		prev = c.Rank()
	}
	if c := seed.Classification("secret"); c.Valid() || c.Rank() != 0 {
		t.Errorf("unknown level %q: Valid = %v, Rank = %d", c, c.Valid(), c.Rank())
	}
}

func demoApps() []seed.App {
	mk := func(slug string) seed.App {
		return seed.App{
			Name: slug, Slug: slug, Vendor: "V", Domain: slug + ".example",
			Category: seed.CategoryChat, Description: "An app.", Tags: []string{"a", "b"},
		}
	}
	return []seed.App{mk("slack"), mk("zoom"), mk("teams"), mk("wetransfer"), mk("drive"), mk("evernote"), mk("unused")}
}

func validDemo() []seed.DemoApp {
	return []seed.DemoApp{
		{Slug: "slack", Status: seed.StatusApproved, MaxDataClassification: seed.ClassificationConfidential, Access: "Sign in with SSO."},
		{Slug: "drive", Status: seed.StatusApproved, MaxDataClassification: seed.ClassificationConfidential, Access: "Included."},
		{Slug: "zoom", Status: seed.StatusApprovedWithConditions, MaxDataClassification: seed.ClassificationInternal,
			Conditions: "Internal data only; enable SSO.", Access: "Request a seat."},
		{Slug: "teams", Status: seed.StatusUnderReview, Rationale: "Security review in progress.",
			Alternatives: []seed.Alternative{{Slug: "slack", Note: "Use Slack Connect."}}},
		{Slug: "wetransfer", Status: seed.StatusNotApproved, Rationale: "Public links.",
			Alternatives:    []seed.Alternative{{Slug: "drive", Note: "Share a folder."}},
			WhatWouldChange: "An enterprise plan with SSO."},
		{Slug: "evernote", Status: seed.StatusRetired, Rationale: "Replaced.",
			Alternatives: []seed.Alternative{{Slug: "drive", Note: "Notes were exported to Drive."}}},
	}
}

func TestValidateDemo(t *testing.T) {
	find := func(demo []seed.DemoApp, slug string) *seed.DemoApp {
		for i := range demo {
			if demo[i].Slug == slug {
				return &demo[i]
			}
		}
		panic("no demo app " + slug)
	}
	tests := []struct {
		name    string
		mutate  func(d []seed.DemoApp) []seed.DemoApp
		wantErr string
	}{
		{"valid", func(d []seed.DemoApp) []seed.DemoApp { return d }, ""},
		{"alternative with conditions", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives = []seed.Alternative{{Slug: "zoom", Note: "Fine."}}
			return d
		}, ""},

		{"empty", func([]seed.DemoApp) []seed.DemoApp { return nil }, "no demo decisions"},
		{"slug not in catalogue", func(d []seed.DemoApp) []seed.DemoApp { find(d, "slack").Slug = "slak"; return d }, `slug "slak" is not in the catalogue`},
		{"missing slug", func(d []seed.DemoApp) []seed.DemoApp { find(d, "zoom").Slug = ""; return d }, "slug is required"},
		{"duplicate slug", func(d []seed.DemoApp) []seed.DemoApp { return append(d, d[0]) }, `duplicate slug "slack"`},
		{"unknown status", func(d []seed.DemoApp) []seed.DemoApp { find(d, "slack").Status = "allowed"; return d }, `unknown status "allowed"`},
		{"unknown classification", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "slack").MaxDataClassification = "secret"
			return d
		}, `unknown data classification "secret"`},
		{"approved without classification", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "slack").MaxDataClassification = ""
			return d
		}, "approved needs max_data_classification"},
		{"approved without access", func(d []seed.DemoApp) []seed.DemoApp { find(d, "slack").Access = ""; return d }, "needs access instructions"},
		{"approved with conditions text", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "slack").Conditions = "SSO only."
			return d
		}, "use approved_with_conditions"},
		{"approved with alternatives", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "slack").Alternatives = []seed.Alternative{{Slug: "drive", Note: "x"}}
			return d
		}, "approved must not list alternatives"},
		{"conditions missing", func(d []seed.DemoApp) []seed.DemoApp { find(d, "zoom").Conditions = ""; return d }, "approved_with_conditions needs conditions"},
		{"not approved without alternatives", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives = nil
			return d
		}, "not_approved needs at least one alternative"},
		{"not approved without what would change", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").WhatWouldChange = ""
			return d
		}, "not_approved needs what_would_change"},
		{"not approved with a classification", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").MaxDataClassification = seed.ClassificationPublic
			return d
		}, "not_approved must not allow a data classification"},
		{"not approved without rationale", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Rationale = ""
			return d
		}, "not_approved needs a rationale"},
		{"retired without replacement", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "evernote").Alternatives = nil
			return d
		}, "retired needs at least one alternative"},
		{"alternative under review", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives[0].Slug = "teams"
			return d
		}, `alternative "teams" is under_review, not approved`},
		{"alternative not approved", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "evernote").Alternatives[0].Slug = "wetransfer"
			return d
		}, `alternative "wetransfer" is not_approved, not approved`},
		{"alternative without decision", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives[0].Slug = "unused"
			return d
		}, `alternative "unused" has no demo decision`},
		{"alternative not in catalogue", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives[0].Slug = "dropbox"
			return d
		}, `alternative "dropbox" is not in the catalogue`},
		{"alternative is itself", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "teams").Alternatives[0].Slug = "teams"
			return d
		}, "alternative points to the app itself"},
		{"alternative repeated", func(d []seed.DemoApp) []seed.DemoApp {
			w := find(d, "wetransfer")
			w.Alternatives = append(w.Alternatives, w.Alternatives[0])
			return d
		}, `duplicate alternative "drive"`},
		{"alternative without note", func(d []seed.DemoApp) []seed.DemoApp {
			find(d, "wetransfer").Alternatives[0].Note = " "
			return d
		}, `alternative "drive" needs a note`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := seed.ValidateDemo(tt.mutate(validDemo()), demoApps())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseDemo(t *testing.T) {
	apps := demoApps()
	good := `[{"slug":"slack","status":"approved","max_data_classification":"internal","access":"SSO."}]`
	demo, err := seed.ParseDemo([]byte(good), apps)
	if err != nil || len(demo) != 1 || demo[0].MaxDataClassification != seed.ClassificationInternal {
		t.Fatalf("ParseDemo(good) = %+v, %v", demo, err)
	}
	for name, data := range map[string]string{
		"unknown field":  strings.Replace(good, `"access"`, `"owner":"it","access"`, 1),
		"malformed":      `[{"slug":`,
		"invalid record": strings.Replace(good, `"slack"`, `"nope"`, 1),
	} {
		if _, err := seed.ParseDemo([]byte(data), apps); err == nil {
			t.Errorf("%s: ParseDemo accepted %s", name, data)
		}
	}
}

func TestKnownIdentifiers(t *testing.T) {
	ids, err := seed.KnownIdentifiers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatal("the registry is empty")
	}
	apps, err := seed.Apps()
	if err != nil {
		t.Fatal(err)
	}
	bad := []seed.KnownIdentifier{
		{Slug: "no-such-app", Kind: seed.KnownDomain, Value: "example.com", Doc: "x"},
		{Slug: "zoom", Kind: "fax", Value: "x", Doc: "x"},
		{Slug: "zoom", Kind: seed.KnownDomain, Value: "Zoom.US", Doc: "x"},
		{Slug: "zoom", Kind: seed.KnownDomain, Value: "zoom.example", Doc: ""},
	}
	for _, b := range bad {
		if err := seed.ValidateKnown([]seed.KnownIdentifier{b}, apps); err == nil {
			t.Errorf("seed.ValidateKnown(%+v) = nil, want an error", b)
		}
	}
	dup := []seed.KnownIdentifier{{Slug: "zoom", Kind: seed.KnownDomain, Value: "zoom.example", Doc: "x"}, {Slug: "slack", Kind: seed.KnownDomain, Value: "zoom.example", Doc: "x"}}
	if err := seed.ValidateKnown(dup, apps); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a duplicate identifier: %v", err)
	}
}
