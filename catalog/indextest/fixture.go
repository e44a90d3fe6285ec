package indextest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/pavedhq/paved/catalog"
)

// fixtureTime is the UpdatedAt of every fixture document: fixed, with sub-second precision, so
// the suite can check that an engine gives it back unchanged.
var fixtureTime = time.Date(2025, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

// categoryLabels names the fixture's categories.
var categoryLabels = map[string]string{
	"communication":      "Communication",
	"collaboration":      "Collaboration",
	"project-management": "Project management",
	"design":             "Design",
	"file-sharing":       "File sharing",
	"security":           "Security",
	"e-signature":        "E-signature",
	"crm":                "Sales & CRM",
	"developer-tools":    "Developer tools",
	"ai":                 "AI assistants",
	"productivity":       "Productivity",
}

// app builds one fixture document.
func app(slug, name, vendor, category string, status catalog.Status, tags, aliases []string, description string) catalog.IndexDoc {
	return catalog.IndexDoc{
		Slug: slug, Name: name, Vendor: vendor, Description: description,
		Category: category, CategoryLabel: categoryLabels[category],
		Tags: tags, Aliases: aliases, Status: status, StatusRank: status.Rank(),
		UpdatedAt: fixtureTime,
	}
}

const (
	approved    = catalog.StatusApproved
	conditions  = catalog.StatusApprovedWithConditions
	underReview = catalog.StatusUnderReview
	notApproved = catalog.StatusNotApproved
	retired     = catalog.StatusRetired
)

// Fixture returns the suite's catalogue: 42 real-world apps across the five statuses. Some
// details are chosen so that assertions can fail:
//   - the video-conferencing apps never contain the words "call" or "webinar" (except Zoom's
//     "webinars"), so only synonyms can find Google Meet and Teams for "webinar";
//   - Loom mentions video but is no conferencing app, so "video call" must rank it below them;
//   - Dashlane (not approved) and Keeper (approved) are described identically and Dashlane comes
//     first by name and by insertion order, so only the status tie-break puts Keeper first;
//   - some slugs sort unlike their names (ms-teams, gdrive), so name order is visible;
//   - draw.io, Lucidchart and Miro never say "flowchart";
//   - OneDrive is one word and Google Drive two, so "one drive" and "googledrive" need the
//     engine to join and split words; both are "drive" apps, so a plain word match is not enough;
//   - Box (approved) mentions Dropbox (not approved) in its description only, so "dropbox" must
//     rank Dropbox above Box although Box has the better status.
func Fixture() []catalog.IndexDoc {
	return []catalog.IndexDoc{
		app("slack", "Slack", "Slack Technologies", "communication", approved,
			[]string{"team chat", "messaging"}, []string{"slack.com"},
			"Channels, direct messages and huddles for teams, with thousands of integrations."),
		app("ms-teams", "Microsoft Teams", "Microsoft", "communication", approved,
			[]string{"video conferencing", "team chat"}, []string{"teams.microsoft.com", "MS Teams"},
			"Chat, online meetings and screen sharing for Microsoft 365 tenants."),
		app("zoom", "Zoom", "Zoom Video Communications", "communication", conditions,
			[]string{"video conferencing"}, []string{"zoom.us"},
			"Online meetings and webinars with breakout rooms and cloud recording."),
		app("google-meet", "Google Meet", "Google", "communication", approved,
			[]string{"video conferencing"}, []string{"meet.google.com"},
			"Meetings in the browser, included with Google Workspace."),
		app("webex", "Webex", "Cisco", "communication", notApproved,
			[]string{"video conferencing"}, []string{"webex.com"},
			"Cisco's meeting rooms, screen sharing and large events."),
		app("whatsapp", "WhatsApp", "Meta", "communication", notApproved,
			[]string{"messaging"}, []string{"web.whatsapp.com"},
			"Consumer messenger; company data must not be shared there."),
		app("discord", "Discord", "Discord", "communication", notApproved,
			[]string{"community", "voice"}, []string{"discord.com"},
			"Community servers with voice rooms, popular with gamers and open-source projects."),
		app("confluence", "Confluence", "Atlassian", "collaboration", approved,
			[]string{"wiki", "knowledge base"}, []string{"atlassian.net"},
			"Team wiki for documentation, meeting notes and knowledge bases."),
		app("jira", "Jira", "Atlassian", "project-management", conditions,
			[]string{"issue tracking", "kanban"}, []string{"atlassian.net/jira"},
			"Issue and project tracking for software teams, with scrum and kanban boards."),
		app("trello", "Trello", "Atlassian", "project-management", approved,
			[]string{"boards"}, []string{"trello.com"},
			"Boards, lists and cards for organising work visually."),
		app("bitbucket", "Bitbucket", "Atlassian", "developer-tools", retired,
			[]string{"git", "code hosting"}, []string{"bitbucket.org"},
			"Git repositories with pull requests and Pipelines for continuous integration."),
		app("notion", "Notion", "Notion Labs", "collaboration", underReview,
			[]string{"notes", "wiki"}, []string{"notion.so"},
			"All-in-one workspace for notes, docs and lightweight databases."),
		app("evernote", "Evernote", "Bending Spoons", "collaboration", retired,
			[]string{"note taking"}, []string{"evernote.com"},
			"Personal notebooks with web clipping and handwriting search."),
		app("figma", "Figma", "Figma", "design", approved,
			[]string{"interface design", "prototyping"}, []string{"figma.com"},
			"Collaborative interface design and prototyping in the browser."),
		app("miro", "Miro", "Miro", "design", approved,
			[]string{"whiteboard", "workshops"}, []string{"miro.com", "RealtimeBoard"},
			"Online canvas for workshops, brainstorming and retrospectives."),
		app("lucidchart", "Lucidchart", "Lucid Software", "design", conditions,
			[]string{"diagramming"}, []string{"lucid.app"},
			"Org charts, network maps and process maps with data linking."),
		app("drawio", "draw.io", "JGraph", "design", approved,
			[]string{"diagramming"}, []string{"diagrams.net", "app.diagrams.net"},
			"Free editor for technical drawings that stores files in your own storage."),
		app("canva", "Canva", "Canva", "design", conditions,
			[]string{"graphic design", "presentations"}, []string{"canva.com"},
			"Templates for social posts, slides and printed material."),
		app("docusign", "DocuSign", "DocuSign", "e-signature", approved,
			[]string{"e-signature"}, []string{"docusign.net"},
			"Send contracts for signing and track who signed what."),
		app("dropbox-sign", "Dropbox Sign", "Dropbox", "e-signature", underReview,
			[]string{"e-signature"}, []string{"HelloSign", "hellosign.com"},
			"Signing workflows embedded in Dropbox, formerly a separate product."),
		app("dropbox", "Dropbox", "Dropbox", "file-sharing", notApproved,
			[]string{"cloud storage", "file sharing"}, []string{"dropbox.com"},
			"Sync folders across devices and share links to files."),
		app("box", "Box", "Box", "file-sharing", approved,
			[]string{"cloud storage", "file sharing"}, []string{"box.com"},
			"Content cloud with granular permissions and retention; the approved replacement for Dropbox."),
		app("wetransfer", "WeTransfer", "WeTransfer", "file-sharing", notApproved,
			[]string{"file transfer"}, []string{"wetransfer.com"},
			"Send large files by link without an account."),
		app("onedrive", "OneDrive", "Microsoft", "file-sharing", conditions,
			[]string{"cloud storage"}, []string{"onedrive.live.com"},
			"Personal and business files in Microsoft 365, synced to every device."),
		app("gdrive", "Google Drive", "Google", "file-sharing", approved,
			[]string{"cloud storage"}, []string{"drive.google.com"},
			"Files and shared drives in Google Workspace."),
		app("1password", "1Password", "AgileBits", "security", conditions,
			[]string{"password manager"}, []string{"1password.com"},
			"Vaults for logins, secrets and SSH keys, with Watchtower breach alerts."),
		app("bitwarden", "Bitwarden", "Bitwarden", "security", underReview,
			[]string{"password manager", "open source"}, []string{"vault.bitwarden.com"},
			"Open-source vaults you can self-host."),
		app("lastpass", "LastPass", "GoTo", "security", retired,
			[]string{"password manager"}, []string{"lastpass.com"},
			"Retired after the 2022 breach; existing vaults are being migrated."),
		// Dashlane and Keeper are twins on purpose (see Fixture's comment).
		app("dashlane", "Dashlane", "Dashlane", "security", notApproved,
			[]string{"password manager"}, nil,
			"Password manager for teams with shared vaults and browser autofill."),
		app("keeper", "Keeper", "Keeper Security", "security", approved,
			[]string{"password manager"}, nil,
			"Password manager for teams with shared vaults and browser autofill."),
		app("salesforce", "Salesforce", "Salesforce", "crm", approved,
			[]string{"crm", "sales pipeline"}, []string{"Salesforce.com", "force.com"},
			"Accounts, opportunities and forecasts for the sales organisation."),
		app("hubspot", "HubSpot", "HubSpot", "crm", conditions,
			[]string{"crm", "marketing automation"}, []string{"hubspot.com"},
			"Marketing emails, landing pages and a free contact database."),
		app("github", "GitHub", "GitHub", "developer-tools", approved,
			[]string{"git", "code hosting"}, []string{"github.com"},
			"Repositories, pull requests, Actions and Copilot for engineering."),
		app("gitlab", "GitLab", "GitLab", "developer-tools", underReview,
			[]string{"git", "code hosting", "ci"}, []string{"gitlab.com"},
			"Single application for source code, CI/CD and package registries."),
		app("zapier", "Zapier", "Zapier", "developer-tools", underReview,
			[]string{"automation", "integrations"}, []string{"zapier.com"},
			"No-code workflows that move data between web apps."),
		app("chatgpt", "ChatGPT", "OpenAI", "ai", conditions,
			[]string{"ai assistant", "llm"}, []string{"chat.openai.com", "chatgpt.com"},
			"General-purpose assistant for drafting, summarising and coding."),
		app("claude", "Claude", "Anthropic", "ai", conditions,
			[]string{"ai assistant", "llm"}, []string{"claude.ai"},
			"Assistant for long documents, analysis and coding."),
		app("grammarly", "Grammarly", "Grammarly", "productivity", notApproved,
			[]string{"writing"}, []string{"grammarly.com"},
			"Spelling and tone suggestions in every text box; sends what you type to its servers."),
		app("loom", "Loom", "Loom", "productivity", approved,
			[]string{"video messaging", "screen recording"}, []string{"loom.com"},
			"Record short screen videos to explain work asynchronously."),
		app("calendly", "Calendly", "Calendly", "productivity", approved,
			[]string{"scheduling"}, []string{"calendly.com"},
			"Let people book time from your availability."),
		app("asana", "Asana", "Asana", "project-management", notApproved,
			[]string{"task tracking"}, []string{"asana.com"},
			"Tasks, timelines and portfolios for cross-team work."),
		app("airtable", "Airtable", "Airtable", "project-management", approved,
			[]string{"databases", "spreadsheets"}, []string{"airtable.com"},
			"Spreadsheet-database hybrid with forms and automations."),
	}
}

// CategoryLabel returns the label of a fixture category slug.
func CategoryLabel(slug string) string { return categoryLabels[slug] }

// benchWords feed the generated benchmark catalogue.
var benchWords = strings.Fields(`analytics billing calendar chat cloud code compliance contract
	crm dashboard data design diagram email expense feedback file finance form hiring identity
	invoice kanban knowledge learning legal meeting monitoring notes onboarding password payroll
	planning portal project recruiting report roadmap sales scheduling security signature social
	storage support survey task ticket training translation video whiteboard wiki workflow`)

var benchSyllables = strings.Fields("ka lo mi zen tra vio nex ora pul sky dex qua rio fin tal bo ve lux")

// Generate returns n synthetic apps for benchmarks: made-up names from a fixed seed (the same
// catalogue every run), with the fixture's categories and statuses.
func Generate(n int) []catalog.IndexDoc {
	r := rand.New(rand.NewPCG(42, 7))
	cats := make([]string, 0, len(categoryLabels))
	for c := range categoryLabels {
		cats = append(cats, c)
	}
	// Map order is random; sort for a stable catalogue.
	slices.Sort(cats)
	pick := func(words []string, k int) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = words[r.IntN(len(words))]
		}
		return out
	}
	docs := make([]catalog.IndexDoc, n)
	for i := range docs {
		name := strings.Join(pick(benchSyllables, 2+r.IntN(2)), "")
		name = strings.ToUpper(name[:1]) + name[1:]
		cat := cats[r.IntN(len(cats))]
		st := catalog.Statuses[r.IntN(len(catalog.Statuses))]
		docs[i] = catalog.IndexDoc{
			Slug:          fmt.Sprintf("%s-%d", strings.ToLower(name), i),
			Name:          name,
			Vendor:        name + " Inc",
			Description:   strings.Join(pick(benchWords, 8+r.IntN(10)), " ") + ".",
			Category:      cat,
			CategoryLabel: categoryLabels[cat],
			Tags:          pick(benchWords, 1+r.IntN(3)),
			Aliases:       []string{strings.ToLower(name) + ".com"},
			Status:        st,
			StatusRank:    st.Rank(),
			UpdatedAt:     fixtureTime,
		}
	}
	return docs
}

// BenchQueries is the fixed list of queries the engines' BenchmarkSearch run: exact words,
// typos, prefixes, synonyms and an empty query.
var BenchQueries = []catalog.SearchQuery{
	{Text: "kanban"},
	{Text: "password manager"},
	{Text: "video call"},
	{Text: "scheduling meeting"},
	{Text: "invocie"},
	{Text: "secu"},
	{Text: "kalo"},
	{Text: ""},
	{Text: "", Statuses: []catalog.Status{catalog.StatusApproved}},
	{Text: "data", Categories: []string{"security", "crm"}},
}

// BenchName names a benchmark query for b.Run: its text, then its filters.
func BenchName(q catalog.SearchQuery) string {
	name := q.Text
	if name == "" {
		name = "(empty)"
	}
	for _, s := range q.Statuses {
		name += "+" + string(s)
	}
	for _, c := range q.Categories {
		name += "+" + c
	}
	return strings.ReplaceAll(name, " ", "_")
}
