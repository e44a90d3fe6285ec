package meiliindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/pavedhq/paved/catalog"
)

// searchRequest is the body of a search: Meilisearch's parameters that Search uses.
type searchRequest struct {
	Q           string   `json:"q"`
	Filter      string   `json:"filter,omitempty"`
	Facets      []string `json:"facets"`
	Sort        []string `json:"sort"`
	HitsPerPage int      `json:"hitsPerPage"`
	Page        int      `json:"page"`
}

// searchResponse is the part of Meilisearch's answer Search reads.
type searchResponse struct {
	Hits              []catalog.IndexDoc        `json:"hits"`
	TotalHits         int                       `json:"totalHits"`
	FacetDistribution map[string]map[string]int `json:"facetDistribution"`
}

// apiError is the body of a refused request.
type apiError struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

var (
	searchFacets = []string{"status", "category"}
	searchSort   = []string{"name:asc"}
)

// Search runs a query. Relevance comes from the ranking rules in Settings; the name order is
// asked for on every query and applies last, so it only breaks ties (and orders the list of an
// empty query after status).
//
// Paging uses page/hitsPerPage rather than offset/limit: only then does Meilisearch count the
// matches exhaustively (totalHits) instead of estimating them. An offset that is not a multiple
// of the limit is served from a first page that spans offset+limit hits.
//
// Search posts to Meilisearch's search route itself rather than through meilisearch-go, which
// reads the whole answer into memory, checks it and only then decodes it: here the answer is
// decoded as it arrives, straight into the hits. Search is what the portal calls most, and the
// portal's own cost per search is what stands between Meilisearch's latency and the portal's.
func (ix *Index) Search(ctx context.Context, q catalog.SearchQuery) (catalog.SearchResult, error) {
	if err := ix.opened(); err != nil {
		return catalog.SearchResult{}, err
	}
	limit, offset := pageOf(q)
	perPage, page, skip := limit, offset/limit+1, 0
	if offset%limit != 0 {
		perPage, page, skip = offset+limit, 1, offset
	}
	body, err := json.Marshal(searchRequest{Q: q.Text, Filter: filterOf(q), Facets: searchFacets, Sort: searchSort, HitsPerPage: perPage, Page: page})
	if err != nil {
		return catalog.SearchResult{}, &Error{Index: ix.uid, Op: "search", Message: err.Error(), Err: err}
	}
	var resp searchResponse
	if err := ix.post(ctx, "search", "/indexes/"+url.PathEscape(ix.uid)+"/search", body, &resp); err != nil {
		return catalog.SearchResult{}, err
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

// post sends a JSON body to path and decodes the JSON answer into out. A refusal becomes an
// *Error with Meilisearch's code and message.
func (ix *Index) post(ctx context.Context, op, path string, body []byte, out *searchResponse) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ix.url+path, bytes.NewReader(body))
	if err != nil {
		return &Error{Index: ix.uid, Op: op, Message: err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if ix.key != "" {
		req.Header.Set("Authorization", "Bearer "+ix.key)
	}
	resp, err := ix.hc.Do(req)
	if err != nil {
		return &Error{Index: ix.uid, Op: op, Message: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var ae apiError
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(raw, &ae) != nil || ae.Message == "" {
			ae.Message = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		return &Error{Index: ix.uid, Op: op, Code: ae.Code, Message: ae.Message}
	}
	buf := bodyBufs.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxAnswer+1)); err != nil {
		return &Error{Index: ix.uid, Op: op, Message: err.Error(), Err: err}
	}
	if buf.Len() > maxAnswer {
		return &Error{Index: ix.uid, Op: op, Message: fmt.Sprintf("the answer is larger than %d MB", maxAnswer>>20)}
	}
	// decodeSearch copies what it keeps, so the buffer is reused.
	if err := decodeSearch(buf.Bytes(), out); err != nil {
		return &Error{Index: ix.uid, Op: "decode " + op + " results", Message: err.Error(), Err: err}
	}
	return nil
}

// maxAnswer bounds a search answer read into memory: a page holds at most 100 hits.
const maxAnswer = 16 << 20

// bodyBufs recycles the buffers answers are read into; maxPooledBody bounds those kept.
var (
	bodyBufs      = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	maxPooledBody = 1 << 20
)

// pageOf applies SearchQuery's paging rules: limit 0 means 20, at most 100.
func pageOf(q catalog.SearchQuery) (limit, offset int) {
	limit, offset = q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = 20
	}
	return min(limit, 100), offset
}

// filterOf builds a Meilisearch filter expression: any of the statuses and any of the
// categories. Empty means no filter.
func filterOf(q catalog.SearchQuery) string {
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
	return strings.Join(parts, " AND ")
}

// quote makes v a string literal of Meilisearch's filter syntax, so no value can change the
// expression.
func quote(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}
