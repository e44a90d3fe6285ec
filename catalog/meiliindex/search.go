package meiliindex

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/meilisearch/meilisearch-go"

	"github.com/pavedhq/paved/catalog"
)

// searchResponse is the part of Meilisearch's answer Search reads.
type searchResponse struct {
	Hits              []catalog.IndexDoc        `json:"hits"`
	TotalHits         int                       `json:"totalHits"`
	FacetDistribution map[string]map[string]int `json:"facetDistribution"`
}

// Search runs a query. Relevance comes from the ranking rules in Settings; the name order is
// asked for on every query and applies last, so it only breaks ties (and orders the list of an
// empty query after status).
//
// Paging uses page/hitsPerPage rather than offset/limit: only then does Meilisearch count the
// matches exhaustively (totalHits) instead of estimating them. An offset that is not a multiple
// of the limit is served from a first page that spans offset+limit hits.
func (ix *Index) Search(ctx context.Context, q catalog.SearchQuery) (catalog.SearchResult, error) {
	if err := ix.opened(); err != nil {
		return catalog.SearchResult{}, err
	}
	limit, offset := pageOf(q)
	perPage, page, skip := int64(limit), int64(offset/limit+1), 0
	if offset%limit != 0 {
		perPage, page, skip = int64(offset+limit), 1, offset
	}
	req := &meilisearch.SearchRequest{
		Query:       q.Text,
		Filter:      filterOf(q),
		Facets:      []string{"status", "category"},
		Sort:        []string{"name:asc"},
		HitsPerPage: &perPage,
		Page:        page,
	}
	raw, err := ix.index.SearchRawWithContext(ctx, q.Text, req)
	if err != nil {
		return catalog.SearchResult{}, ix.fail("search", err)
	}
	var resp searchResponse
	if err := json.Unmarshal(*raw, &resp); err != nil {
		return catalog.SearchResult{}, ix.fail("decode search results", err)
	}
	out := catalog.SearchResult{
		Hits:           []catalog.IndexDoc{},
		Total:          resp.TotalHits,
		StatusCounts:   map[catalog.Status]int{},
		CategoryCounts: map[string]int{},
	}
	if skip < len(resp.Hits) {
		out.Hits = resp.Hits[skip:]
	}
	for s, n := range resp.FacetDistribution["status"] {
		out.StatusCounts[catalog.Status(s)] = n
	}
	for c, n := range resp.FacetDistribution["category"] {
		out.CategoryCounts[c] = n
	}
	return out, nil
}

// pageOf applies SearchQuery's paging rules: limit 0 means 20, at most 100.
func pageOf(q catalog.SearchQuery) (limit, offset int) {
	limit, offset = q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = 20
	}
	return min(limit, 100), offset
}

// filterOf builds a Meilisearch filter expression: any of the statuses and any of the
// categories. Nil means no filter.
func filterOf(q catalog.SearchQuery) any {
	var parts []string
	anyOf := func(attr string, values []string) {
		if len(values) == 0 {
			return
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = quote(v)
		}
		parts = append(parts, attr+" IN ["+strings.Join(quoted, ", ")+"]")
	}
	statuses := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		statuses[i] = string(s)
	}
	anyOf("status", statuses)
	anyOf("category", q.Categories)
	if len(parts) == 0 {
		return nil
	}
	return strings.Join(parts, " AND ")
}

// quote makes v a string literal of Meilisearch's filter syntax, so no value can change the
// expression.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
