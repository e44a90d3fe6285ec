package catalog

import (
	"context"
	"time"
)

// Status is where an app stands in the catalogue.
type Status string

// The statuses, in the order the catalogue ranks them: approved apps come first when search
// relevance is otherwise equal.
const (
	StatusApproved               Status = "approved"
	StatusApprovedWithConditions Status = "approved_with_conditions"
	StatusUnderReview            Status = "under_review"
	StatusNotApproved            Status = "not_approved"
	StatusRetired                Status = "retired"
)

// Statuses lists every status in ranking order.
var Statuses = []Status{StatusApproved, StatusApprovedWithConditions, StatusUnderReview, StatusNotApproved, StatusRetired}

// Rank is the status's place in search ranking: 0 is best.
func (s Status) Rank() int {
	for i, x := range Statuses {
		if x == s {
			return i
		}
	}
	return len(Statuses)
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s.Rank() < len(Statuses) }

// IndexDoc is what the search index holds of an app: the fields people search and filter on.
// The database is the source of truth; an IndexDoc can always be rebuilt from it.
type IndexDoc struct {
	Slug          string    `json:"slug"`
	Name          string    `json:"name"`
	Vendor        string    `json:"vendor"`
	Description   string    `json:"description"`
	Category      string    `json:"category"`       // category slug, for filters
	CategoryLabel string    `json:"category_label"` // category name, searchable
	Tags          []string  `json:"tags"`
	Aliases       []string  `json:"aliases"` // other names and domains the app is known by
	Status        Status    `json:"status"`
	StatusRank    int       `json:"status_rank"` // Status.Rank, for tie-breaking
	UpdatedAt     time.Time `json:"updated_at"`
}

// SearchQuery asks the index for apps. Empty Text lists everything that passes the filters,
// approved first, then by name.
type SearchQuery struct {
	Text       string
	Statuses   []Status // any of these; empty means all
	Categories []string // any of these category slugs; empty means all
	Limit      int      // 0 means 20; at most 100
	Offset     int
	// Suggest asks Service.Search for a "did you mean" name when nothing matches. Indexes
	// ignore it: the suggestion comes from the catalogue's names, the same on every engine.
	Suggest bool
}

// SearchResult is one page of hits, best first, with facet counts over all matches.
type SearchResult struct {
	Hits  []IndexDoc
	Total int
	// StatusCounts and CategoryCounts count the matches (after filters) per facet value.
	StatusCounts   map[Status]int
	CategoryCounts map[string]int
	// Suggestion is the catalogue name closest to a text that matched nothing, when the query
	// asked for one (SearchQuery.Suggest) and a name is close enough; otherwise empty.
	Suggestion string
}

// Index is the catalogue's search index. Two implementations exist: Bleve, embedded in the
// data dir (the default), and Meilisearch (for several replicas). One contract test suite
// (catalog/indextest) runs against both.
type Index interface {
	// Upsert adds or replaces documents by slug.
	Upsert(ctx context.Context, docs ...IndexDoc) error
	// Delete removes documents by slug; unknown slugs are ignored.
	Delete(ctx context.Context, slugs ...string) error
	// Search runs a query: typo-tolerant, prefix-matching, with synonyms.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
	// Reset removes every document (before a full rebuild).
	Reset(ctx context.Context) error
	// Count returns how many documents the index holds.
	Count(ctx context.Context) (int, error)
	// Ping reports whether the index can answer.
	Ping(ctx context.Context) error
	Close() error
}

// Synonyms are words people use for the same need. Both engines expand a query with them, so
// "video call" finds video-conferencing apps.
var Synonyms = [][]string{
	{"video call", "video conferencing", "video meeting", "meetings", "webinar"},
	{"chat", "messaging", "instant messaging", "team chat"},
	{"diagram", "diagrams", "diagramming", "flowchart", "whiteboard"},
	{"e-signature", "esignature", "electronic signature", "sign documents"},
	{"file sharing", "file transfer", "cloud storage", "file storage"},
	{"password manager", "password management", "secrets vault"},
	{"crm", "customer relationship management", "sales pipeline"},
	{"project management", "task tracking", "kanban", "issue tracking"},
	{"notes", "note taking", "wiki", "documentation"},
	{"ai assistant", "chatbot", "llm", "generative ai"},
}
