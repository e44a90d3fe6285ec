package bleveindex

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/pavedhq/paved/catalog"
)

// fieldBoosts are the searchable fields and their weights: what people type is most often an
// app's name, then another name it goes by, its vendor, what it is for, and last the prose.
var fieldBoosts = []struct {
	field string
	boost float64
}{
	{fieldName, 6},
	{fieldAliases, 4},
	{fieldVendor, 3},
	{fieldTags, 2.5},
	{fieldCategoryLabel, 2},
	{fieldDescription, 1},
}

const (
	// fuzzyMinBoost is the lowest field weight that gets typo-tolerant matching.
	fuzzyMinBoost = 3
	// prefixWeight scales a completion of the last word ("conflu" → "confluence") against a
	// whole-word match of it.
	prefixWeight = 0.7
	// transpositionWeight is what a swapped-letters match scores against an exact one: the
	// same as a one-edit fuzzy match.
	transpositionWeight = 0.5
	// exactNameBoost rewards a query that is exactly an app's name, as Meilisearch's exactness
	// rule does: the app called what was typed outranks apps that mention it in more fields.
	exactNameBoost = 10
	// namePhraseBoost rewards a multi-word query found as a phrase in a name ("google drive").
	namePhraseBoost = 4
	// maxQueryTerms bounds the work one query can ask for.
	maxQueryTerms = 12
	// tierRatio is how finely scores are compared before status breaks a tie: scores are
	// grouped in tiers by their ratio to the best score, each tier 10% below the one before,
	// and hits in one tier are equally relevant. Ratios, not differences, so that weak matches
	// of the real thing are not lumped with noise at the bottom.
	tierRatio = 1.1
	// windowSlack is how many hits beyond the requested page a ranked search fetches at first,
	// so that usually one request holds every hit of the page's last relevance tier.
	windowSlack = 32
	// maxCategoryFacets bounds the category facet; a catalogue has a few dozen categories.
	maxCategoryFacets = 1000
)

// fuzziness is how many edits a query word may be from a word in the index: Meilisearch's
// defaults, none under five letters ("chat" is one edit from "what" and "that"), one up to
// eight, two from nine. A fuzzy match scores 1/(edits+1) of an exact one.
func fuzziness(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n < 5:
		return 0
	case n < 9:
		return 1
	default:
		return 2
	}
}

// transpositions returns term with each pair of neighbouring letters swapped. Bleve's edit
// distance counts a swap ("slakc" for "slack") as two edits where Meilisearch counts one, so
// the swapped spellings are searched as one-typo matches of their own; without them "slakc"
// finds Slab before Slack.
func transpositions(term string) []string {
	r := []rune(term)
	var out []string
	for i := 0; i+1 < len(r); i++ {
		if r[i] == r[i+1] {
			continue
		}
		v := slices.Clone(r)
		v[i], v[i+1] = v[i+1], v[i]
		if s := string(v); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// analyze splits text the way the index splits fields.
func (ix *Index) analyze(text string) []string {
	var out []string
	for _, tok := range ix.analyzer.Analyze([]byte(text)) {
		out = append(out, string(tok.Term))
	}
	return out
}

// synonymGroups are catalog.Synonyms, each phrase split into index terms.
func (ix *Index) synonymGroups() [][][]string {
	groups := make([][][]string, 0, len(catalog.Synonyms))
	for _, g := range catalog.Synonyms {
		var phrases [][]string
		for _, p := range g {
			if toks := ix.analyze(p); len(toks) > 0 {
				phrases = append(phrases, toks)
			}
		}
		groups = append(groups, phrases)
	}
	return groups
}

// Search runs a query. With text it ranks by relevance, then status, then name; without
// text it lists every app that passes the filters, approved first, then by name.
func (ix *Index) Search(ctx context.Context, q catalog.SearchQuery) (catalog.SearchResult, error) {
	limit, offset := pageOf(q)
	terms := ix.analyze(q.Text)
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	filters := filterQueries(q)
	if len(terms) == 0 {
		// Text with no words in it ("!!") lists like an empty query.
		var qq query.Query = bleve.NewMatchAllQuery()
		if len(filters) > 0 {
			qq = bleve.NewConjunctionQuery(append([]query.Query{qq}, filters...)...)
		}
		return ix.list(ctx, qq, limit, offset)
	}
	qq := ix.textQuery(terms, q.Text)
	if len(filters) > 0 {
		qq = bleve.NewConjunctionQuery(append([]query.Query{qq}, filters...)...)
	}
	return ix.ranked(ctx, qq, limit, offset)
}

// pageOf applies SearchQuery's paging rules: limit 0 means 20, at most 100.
func pageOf(q catalog.SearchQuery) (limit, offset int) {
	limit, offset = q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = 20
	}
	return min(limit, 100), offset
}

// filterQueries turns the filters into term queries on keyword fields. Their boost is 0 so
// that a filter never changes a score: with several statuses allowed, the rarer status would
// otherwise score higher.
func filterQueries(q catalog.SearchQuery) []query.Query {
	var out []query.Query
	anyOf := func(field string, values []string) {
		if len(values) == 0 {
			return
		}
		qs := make([]query.Query, len(values))
		for i, v := range values {
			tq := bleve.NewTermQuery(v)
			tq.SetField(field)
			tq.SetBoost(0)
			qs[i] = tq
		}
		out = append(out, bleve.NewDisjunctionQuery(qs...))
	}
	statuses := make([]string, len(q.Statuses))
	for i, s := range q.Statuses {
		statuses[i] = string(s)
	}
	anyOf(fieldStatus, statuses)
	anyOf(fieldCategory, q.Categories)
	return out
}

// textQuery builds the relevance query: a disjunction with one clause per query word (itself a
// disjunction over the weighted fields of exact, fuzzy and swapped-letter matches, plus prefix
// matches for the last word, which may be unfinished), one clause per
// synonym group the text mentions, and exact-name and name-phrase clauses. Bleve multiplies a
// disjunction's score by the share of its clauses that match, so a doc matching more of the
// words, or a synonym of them, ranks higher, much as Meilisearch's "words" rule does.
func (ix *Index) textQuery(terms []string, text string) query.Query {
	var clauses []query.Query
	for i, t := range terms {
		last := i == len(terms)-1
		fz := fuzziness(t)
		perField := make([]query.Query, 0, len(fieldBoosts))
		for _, fb := range fieldBoosts {
			// Exact, typo and prefix matches of the word in this field. An exact match also
			// matches the fuzzy and prefix clauses (a word is within 0 edits of itself and a
			// prefix of itself), and Bleve scales a disjunction by the share of clauses that
			// match, so exact matches rank well above typos and completions, like
			// Meilisearch's typo rule.
			tq := bleve.NewTermQuery(t)
			tq.SetField(fb.field)
			tq.SetBoost(fb.boost)
			kinds := []query.Query{tq}
			// Typos are forgiven in the names people type (name, aliases, vendor), not in the
			// prose: fuzzy matching a large dictionary such as descriptions' costs most of a
			// query's time and mostly finds noise.
			if fz > 0 && fb.boost >= fuzzyMinBoost {
				fq := bleve.NewFuzzyQuery(t)
				fq.SetFuzziness(fz)
				fq.SetField(fb.field)
				fq.SetBoost(fb.boost)
				kinds = append(kinds, fq)
				// One clause for all swaps, as a fuzzy query is one clause for all its
				// spellings; its boost makes up for the share of swaps that match (one).
				swaps := transpositions(t)
				var sq []query.Query
				for _, v := range swaps {
					vq := bleve.NewTermQuery(v)
					vq.SetField(fb.field)
					vq.SetBoost(fb.boost * transpositionWeight * float64(len(swaps)))
					sq = append(sq, vq)
				}
				if len(sq) > 0 {
					kinds = append(kinds, bleve.NewDisjunctionQuery(sq...))
				}
			}
			if last {
				pq := bleve.NewPrefixQuery(t)
				pq.SetField(fb.field)
				pq.SetBoost(fb.boost * prefixWeight)
				kinds = append(kinds, pq)
			}
			if len(kinds) == 1 {
				perField = append(perField, tq)
			} else {
				perField = append(perField, bleve.NewDisjunctionQuery(kinds...))
			}
		}
		clauses = append(clauses, bleve.NewDisjunctionQuery(perField...))
	}

	for _, group := range ix.synonyms {
		if !mentionsAny(terms, group) {
			continue
		}
		// The whole group, the phrase the text used included, so that a doc using that phrase
		// scores as well as one using a synonym. Vendor is left out: a vendor is not a need.
		// A doc matches few of the group's phrases × fields, and Bleve scales the score by the
		// share that match; the boost is multiplied by the group's size to make up for it, so
		// a synonym weighs about as much as a word of the query.
		n := float64(len(group))
		var alts []query.Query
		for _, phrase := range group {
			for _, fb := range fieldBoosts {
				if fb.field == fieldVendor {
					continue
				}
				if len(phrase) == 1 {
					tq := bleve.NewTermQuery(phrase[0])
					tq.SetField(fb.field)
					tq.SetBoost(fb.boost * n)
					alts = append(alts, tq)
				} else {
					pq := bleve.NewPhraseQuery(phrase, fb.field)
					pq.SetBoost(fb.boost * n)
					alts = append(alts, pq)
				}
			}
		}
		clauses = append(clauses, bleve.NewDisjunctionQuery(alts...))
	}

	exact := bleve.NewTermQuery(nameKey(text))
	exact.SetField(fieldNameSort)
	exact.SetBoost(exactNameBoost)
	clauses = append(clauses, exact)
	if len(terms) > 1 {
		pq := bleve.NewPhraseQuery(terms, fieldName)
		pq.SetBoost(namePhraseBoost)
		clauses = append(clauses, pq)
	}
	return bleve.NewDisjunctionQuery(clauses...)
}

// mentionsAny reports whether terms contain any phrase of group as consecutive words.
func mentionsAny(terms []string, group [][]string) bool {
	for _, phrase := range group {
		for i := 0; i+len(phrase) <= len(terms); i++ {
			if slices.Equal(terms[i:i+len(phrase)], phrase) {
				return true
			}
		}
	}
	return false
}

// addFacets asks for the status and category counts over every match.
func addFacets(req *bleve.SearchRequest) {
	req.AddFacet(fieldStatus, bleve.NewFacetRequest(fieldStatus, len(catalog.Statuses)+1))
	req.AddFacet(fieldCategory, bleve.NewFacetRequest(fieldCategory, maxCategoryFacets))
}

// list pages through an unranked query in status, then name order, all in Bleve.
func (ix *Index) list(ctx context.Context, q query.Query, limit, offset int) (catalog.SearchResult, error) {
	req := bleve.NewSearchRequestOptions(q, limit, offset, false)
	req.SortBy([]string{fieldStatusRank, fieldNameSort, "_id"})
	req.Fields = []string{fieldDoc}
	addFacets(req)
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return catalog.SearchResult{}, fmt.Errorf("search the index: %w", err)
	}
	out := resultOf(res)
	for _, h := range res.Hits {
		d, err := docOf(h.Fields)
		if err != nil {
			return catalog.SearchResult{}, fmt.Errorf("search hit %s: %w", h.ID, err)
		}
		out.Hits = append(out.Hits, d)
	}
	return out, nil
}

// ranked pages through a relevance query, ordered by relevance tier, then status, then name.
//
// Why tiers: Bleve's scores are continuous, so two apps a person would call equally relevant
// (two password managers, both tagged "password manager") rarely score exactly the same; a
// shorter description is enough to tip them. Sorting by exact score then status would almost
// never let status decide. A status boost inside the query would instead depend on how common
// each status is (Bleve weighs terms by rarity) and could outweigh real relevance. So scores are
// compared in tiers (see tierRatio), and within a tier approved apps come first, then by name. Meilisearch does the same with its ranking rules: status_rank:asc only
// after words, typo, proximity, attribute and exactness are tied.
//
// A tier can straddle a page boundary, so the window of hits is widened until it holds the
// whole tier of the page's last hit: then every page is a slice of one consistent order.
func (ix *Index) ranked(ctx context.Context, q query.Query, limit, offset int) (catalog.SearchResult, error) {
	need := offset + limit
	size := need + ix.slack
	for {
		req := bleve.NewSearchRequestOptions(q, size, 0, false)
		req.Fields = []string{fieldDoc}
		addFacets(req)
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return catalog.SearchResult{}, fmt.Errorf("search the index: %w", err)
		}
		// tier 0 holds the best hits; tiers grow as scores fall.
		tier := func(score float64) int {
			if score <= 0 || math.IsNaN(score) || res.MaxScore <= 0 {
				return math.MaxInt
			}
			return int(math.Floor(math.Log(res.MaxScore/score) / math.Log(tierRatio)))
		}
		hits := res.Hits
		complete := len(hits) < size || uint64(len(hits)) >= res.Total ||
			tier(hits[len(hits)-1].Score) > tier(hits[need-1].Score)
		if !complete {
			size *= 2
			continue
		}
		type ranked struct {
			doc  catalog.IndexDoc
			tier int
			name string
		}
		all := make([]ranked, len(hits))
		for i, h := range hits {
			d, err := docOf(h.Fields)
			if err != nil {
				return catalog.SearchResult{}, fmt.Errorf("search hit %s: %w", h.ID, err)
			}
			all[i] = ranked{doc: d, tier: tier(h.Score), name: nameKey(d.Name)}
		}
		slices.SortStableFunc(all, func(a, b ranked) int {
			switch {
			case a.tier != b.tier:
				return cmp.Compare(a.tier, b.tier)
			case a.doc.StatusRank != b.doc.StatusRank:
				return a.doc.StatusRank - b.doc.StatusRank
			case a.name != b.name:
				return strings.Compare(a.name, b.name)
			}
			return strings.Compare(a.doc.Slug, b.doc.Slug)
		})
		out := resultOf(res)
		for _, r := range all[min(offset, len(all)):min(need, len(all))] {
			out.Hits = append(out.Hits, r.doc)
		}
		return out, nil
	}
}

// resultOf copies the total and facets of a Bleve result.
func resultOf(res *bleve.SearchResult) catalog.SearchResult {
	out := catalog.SearchResult{
		Hits:           []catalog.IndexDoc{},
		Total:          int(res.Total),
		StatusCounts:   map[catalog.Status]int{},
		CategoryCounts: map[string]int{},
	}
	if f := res.Facets[fieldStatus]; f != nil {
		for _, t := range f.Terms.Terms() {
			out.StatusCounts[catalog.Status(t.Term)] = t.Count
		}
	}
	if f := res.Facets[fieldCategory]; f != nil {
		for _, t := range f.Terms.Terms() {
			out.CategoryCounts[t.Term] = t.Count
		}
	}
	return out
}

// docOf decodes the IndexDoc stored with a hit.
func docOf(fields map[string]any) (catalog.IndexDoc, error) {
	raw, ok := fields[fieldDoc].(string)
	if !ok {
		return catalog.IndexDoc{}, fmt.Errorf("no stored document")
	}
	var d catalog.IndexDoc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return catalog.IndexDoc{}, fmt.Errorf("decode the stored document: %w", err)
	}
	return d, nil
}
