package bleveindex

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

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
	// fuzzyMinBoost is the lowest field weight that gets typo-tolerant matching: the name only.
	// Each fuzzy clause builds a Levenshtein automaton and walks a field's dictionary with it,
	// the dearest part of building a query; a typo in an alias or vendor that is not also in
	// the name is rare.
	fuzzyMinBoost = 6
	// prefixWeight scales a completion of the last word ("conflu" → "confluence") against a
	// whole-word match of it.
	prefixWeight = 0.7
	// transpositionWeight is what a swapped-letters match scores against an exact one: the
	// same as a one-edit fuzzy match.
	transpositionWeight = 0.5
	// exactNameBoost rewards a query that is exactly an app's name, as Meilisearch's exactness
	// rule does: the app called what was typed outranks apps that mention it in more fields.
	exactNameBoost = 10
	// synonymWeight scales a synonym group's clause. A doc matches few of the group's
	// fields, and Bleve scales the score by the share that match; the weight makes up for it,
	// so that a synonym weighs about as much as a word of the query.
	synonymWeight = 1.5
	// namePhraseBoost rewards a multi-word query found as a phrase in a name ("google drive").
	namePhraseBoost = 4
	// maxQueryTerms bounds the work one query can ask for.
	maxQueryTerms = 12
	// tierRatio is how finely scores are compared before status breaks a tie: scores are
	// grouped in tiers by their ratio to the best score, each tier 10% below the one before,
	// and hits in one tier are equally relevant. Ratios, not differences, so that weak matches
	// of the real thing are not lumped with noise at the bottom.
	tierRatio = 1.1
)

// logTierRatio is math.Log(tierRatio), which the compiler does not fold.
var logTierRatio = math.Log(tierRatio)

// fuzziness is how many edits a query word may be from a word in the index, as the
// Meilisearch index is set up: none under four letters, one up to eight (so the short names
// people misspell, "slak", "jiar", "asna", are found), two from nine. A fuzzy match scores
// 1/(edits+1) of an exact one, so an exact word still wins: "chat" is one edit from "what".
func fuzziness(term string) int {
	switch n := utf8.RuneCountInString(term); {
	case n < 4:
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
//
// Bleve finds and scores the matches; the rest (filters, facet counts, the order and the
// page) is done here over every match with the snapshot's docTable, in one pass, so that only
// the page's own hits are read from the stored documents.
func (ix *Index) Search(ctx context.Context, q catalog.SearchQuery) (catalog.SearchResult, error) {
	limit, offset := pageOf(q)
	terms := ix.analyze(q.Text)
	if len(terms) > maxQueryTerms {
		terms = terms[:maxQueryTerms]
	}
	// Hold off Close while the snapshot is read: bleve.Index.Search does the same.
	ix.closeMu.RLock()
	defer ix.closeMu.RUnlock()
	if ix.closed {
		return catalog.SearchResult{}, fmt.Errorf("search the index: %w", bleve.ErrorIndexClosed)
	}
	adv, err := ix.bi.Advanced()
	if err != nil {
		return catalog.SearchResult{}, fmt.Errorf("search the index: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return catalog.SearchResult{}, fmt.Errorf("search the index: %w", err)
	}
	defer r.Close()
	t, err := ix.tableFor(ctx, r)
	if err != nil {
		return catalog.SearchResult{}, err
	}
	c := newCollector(t, q)
	defer c.release()
	if len(terms) == 0 {
		// Text with no words in it ("!!") lists like an empty query: every app, equally
		// relevant, so status and name decide.
		for _, n := range t.live {
			c.add(n, 1)
		}
	} else if err := ix.match(ctx, r, ix.textQuery(terms, q.Text), c); err != nil {
		return catalog.SearchResult{}, err
	}
	return ix.page(r, c, limit, offset)
}

// match runs a Bleve query over the snapshot r and hands every match to c.
func (ix *Index) match(ctx context.Context, r index.IndexReader, q query.Query, c *collector) error {
	s, err := q.Searcher(ctx, r, ix.bi.Mapping(), search.SearcherOptions{})
	if err != nil {
		return fmt.Errorf("search the index: %w", err)
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0), IndexReader: r}
	for i := 0; ; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		dm, err := s.Next(sctx)
		if err != nil {
			return fmt.Errorf("search the index: %w", err)
		}
		if dm == nil {
			return nil
		}
		c.add(dm.IndexInternalID.Value(), dm.Score)
		sctx.DocumentMatchPool.Put(dm)
	}
}

// pageOf applies SearchQuery's paging rules: limit 0 means 20, at most 100.
func pageOf(q catalog.SearchQuery) (limit, offset int) {
	limit, offset = q.Limit, max(q.Offset, 0)
	if limit <= 0 {
		limit = 20
	}
	return min(limit, 100), offset
}

// textQuery builds the relevance query: a disjunction with one clause per query word (itself a
// disjunction over the weighted fields of exact, fuzzy and swapped-letter matches, plus prefix
// matches for the last word, which may be unfinished, and a match of a name's joined words),
// one clause per pair of neighbouring words run together (a name typed split), one clause per
// synonym group the text mentions, and exact-name and name-phrase clauses. Clauses that match
// nothing scale every score alike, so they do not change the order. Bleve multiplies a
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
			// Typos are forgiven in names (see fuzzyMinBoost), not in the prose: fuzzy
			// matching a large dictionary such as descriptions' costs most of a query's time
			// and mostly finds noise.
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
		// The word may be a multi-word name run together ("googledrive"): the joined runs of
		// names are indexed as terms of their own. Whole words only: a prefix over the joined
		// runs matched thousands of terms for a short word and doubled the cost of a query.
		jq := bleve.NewTermQuery(t)
		jq.SetField(fieldNameJoined)
		jq.SetBoost(fieldBoosts[0].boost)
		perField = append(perField, jq)
		clauses = append(clauses, bleve.NewDisjunctionQuery(perField...))
	}

	// Neighbouring words may be one name split ("one drive" for OneDrive): each pair, run
	// together, is looked for as a word of a name, with the weight of the two words it stands
	// for. The last pair may be unfinished, like the last word.
	for i := 0; i+1 < len(terms); i++ {
		pair := terms[i] + terms[i+1]
		pq := bleve.NewTermQuery(pair)
		pq.SetField(fieldName)
		pq.SetBoost(2 * fieldBoosts[0].boost)
		if i+2 == len(terms) {
			pp := bleve.NewPrefixQuery(pair)
			pp.SetField(fieldName)
			pp.SetBoost(2 * fieldBoosts[0].boost * prefixWeight)
			clauses = append(clauses, bleve.NewDisjunctionQuery(pq, pp))
		} else {
			clauses = append(clauses, pq)
		}
	}

	for gi, group := range ix.synonyms {
		if !mentionsAny(terms, group) {
			continue
		}
		// The whole group, the phrase the text used included, so that a doc using that phrase
		// scores as well as one using a synonym: the group's token, which documents carry in
		// a syn_ field for each field that mentions the group (synonymTokens).
		tok := synonymToken(gi)
		alts := make([]query.Query, 0, len(synonymFields))
		for _, fb := range fieldBoosts {
			if !slices.Contains(synonymFields, fb.field) {
				continue
			}
			tq := bleve.NewTermQuery(tok)
			tq.SetField(synPrefix + fb.field)
			tq.SetBoost(fb.boost * synonymWeight)
			alts = append(alts, tq)
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
		// The whole text run together may be exactly a name ("one drive" for OneDrive).
		ej := bleve.NewTermQuery(strings.Join(terms, ""))
		ej.SetField(fieldNameSort)
		ej.SetBoost(exactNameBoost)
		clauses = append(clauses, ej)
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

// collector gathers the matches of one search that pass its filters, with their scores, and
// counts them per status and category.
type collector struct {
	t                        *docTable
	status, category         []bool // allowed value indexes; nil allows all
	statusCount, categoryCnt []int  // by value index
	hits                     []hit
	buf                      *[]hit // hits' pooled backing list
	maxScore                 float64
}

type hit struct {
	num   uint64 // Bleve's internal document number in the snapshot
	score float64
	key   int32 // tier and status rank, see page
}

// hitBufs recycles the collectors' hit lists: a broad query matches most of the catalogue,
// and a fresh list per search was a good part of what the garbage collector had to do.
var hitBufs = sync.Pool{New: func() any { return new([]hit) }}

// maxPooledHits bounds the lists kept for reuse (24 bytes a hit).
const maxPooledHits = 1 << 17

// release hands the collector's hit list back for reuse; the collector is done with.
func (c *collector) release() {
	if cap(c.hits) <= maxPooledHits {
		*c.buf = c.hits[:0]
		hitBufs.Put(c.buf)
	}
	c.hits, c.buf = nil, nil
}

func newCollector(t *docTable, q catalog.SearchQuery) *collector {
	c := &collector{t: t, statusCount: make([]int, len(t.status.values)), categoryCnt: make([]int, len(t.category.values))}
	c.buf = hitBufs.Get().(*[]hit)
	c.hits = (*c.buf)[:0]
	if len(q.Statuses) > 0 {
		c.status = make([]bool, len(t.status.values))
		for _, s := range q.Statuses {
			if i := t.status.lookup(string(s)); i >= 0 {
				c.status[i] = true
			}
		}
	}
	if len(q.Categories) > 0 {
		c.category = make([]bool, len(t.category.values))
		for _, v := range q.Categories {
			if i := t.category.lookup(v); i >= 0 {
				c.category[i] = true
			}
		}
	}
	return c
}

// add records document num if it passes the filters.
func (c *collector) add(num uint64, score float64) {
	st, cat := c.t.status.value(num), c.t.category.value(num)
	if c.status != nil && (st < 0 || !c.status[st]) || c.category != nil && (cat < 0 || !c.category[cat]) {
		return
	}
	if st >= 0 {
		c.statusCount[st]++
	}
	if cat >= 0 {
		c.categoryCnt[cat]++
	}
	c.hits = append(c.hits, hit{num: num, score: score})
	c.maxScore = max(c.maxScore, score)
}

// page orders the collected matches by relevance tier, then status, then name, and returns the
// page of them at offset, with the total and facet counts.
//
// Why tiers: Bleve's scores are continuous, so two apps a person would call equally relevant
// (two password managers, both tagged "password manager") rarely score exactly the same; a
// shorter description is enough to tip them. Sorting by exact score then status would almost
// never let status decide. A status boost inside the query would instead depend on how common
// each status is (Bleve weighs terms by rarity) and could outweigh real relevance. So scores are
// compared in tiers (see tierRatio), and within a tier approved apps come first, then by name.
// Meilisearch does the same with its ranking rules: status_rank:asc only after words, typo,
// proximity, attribute and exactness are tied. Every match is ranked, so every page is a slice
// of one consistent order.
//
// Only the matches that can be on the page are sorted: tier and status make a coarse key, the
// keys are counted, and the matches whose key sorts after the page's last one are left out.
func (ix *Index) page(r index.IndexReader, c *collector, limit, offset int) (catalog.SearchResult, error) {
	t := c.t
	out := catalog.SearchResult{
		Hits:           []catalog.IndexDoc{},
		Total:          len(c.hits),
		StatusCounts:   map[catalog.Status]int{},
		CategoryCounts: map[string]int{},
	}
	for i, n := range c.statusCount {
		if n > 0 {
			out.StatusCounts[catalog.Status(t.status.values[i])] = n
		}
	}
	for i, n := range c.categoryCnt {
		if n > 0 {
			out.CategoryCounts[t.category.values[i]] = n
		}
	}
	need := offset + limit
	if offset >= len(c.hits) {
		return out, nil
	}

	// tier 0 holds the best hits; tiers grow as scores fall. Tiers past worstTier (scores
	// 10^-41 of the best) are one tier: no real score is that far below another.
	const worstTier = 1000
	logMax := math.Log(c.maxScore)
	tier := func(score float64) int {
		if score <= 0 || math.IsNaN(score) || c.maxScore <= 0 {
			return worstTier
		}
		return min(int((logMax-math.Log(score))/logTierRatio), worstTier)
	}
	// key orders by tier, then status rank; counts[k] is how many hits have key k.
	ranks := len(catalog.Statuses) + 1
	counts := make([]int, ranks)
	for i, h := range c.hits {
		rank := len(catalog.Statuses)
		if st := t.status.value(h.num); st >= 0 {
			rank = t.statusRank[st]
		}
		k := tier(h.score)*ranks + rank
		if k >= len(counts) {
			counts = append(counts, make([]int, k+1-len(counts))...)
		}
		c.hits[i].key = int32(k)
		counts[k]++
	}
	last, sum := int32(len(counts)-1), 0
	for k, n := range counts {
		if sum += n; sum >= need {
			last = int32(k)
			break
		}
	}

	type ranked struct {
		num  uint64
		key  int32
		name string
	}
	cands := make([]ranked, 0, sum)
	for _, h := range c.hits {
		if h.key <= last {
			cands = append(cands, ranked{h.num, h.key, t.name[h.num]})
		}
	}
	// Slugs break the rare tie of two equal names; they are read only then.
	slugs := map[uint64]string{}
	slug := func(num uint64) string {
		if s, ok := slugs[num]; ok {
			return s
		}
		s, _ := r.ExternalID(index.NewIndexInternalID(nil, num))
		slugs[num] = s
		return s
	}
	order := func(a, b ranked) int {
		if c := cmp.Or(cmp.Compare(a.key, b.key), strings.Compare(a.name, b.name)); c != 0 {
			return c
		}
		return strings.Compare(slug(a.num), slug(b.num))
	}
	for _, h := range firstN(cands, need, order)[offset:] {
		d, err := storedDoc(r, h.num)
		if err != nil {
			return catalog.SearchResult{}, err
		}
		out.Hits = append(out.Hits, d)
	}
	return out, nil
}

// firstN returns the n smallest of items in order, sorted. An empty query's candidates are a
// whole status's worth of apps for a page of 20, so it keeps the n best in a sorted list as it
// goes rather than sorting them all; for a deep page, sorting all is cheaper.
func firstN[T any](items []T, n int, order func(a, b T) int) []T {
	if n <= 0 {
		return items[:0]
	}
	if n >= len(items) || n*8 > len(items) {
		slices.SortFunc(items, order)
		return items[:min(n, len(items))]
	}
	top := make([]T, 0, n+1)
	for _, it := range items {
		if len(top) == n && order(it, top[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, it, order)
		top = slices.Insert(top, i, it)
		if len(top) > n {
			top = top[:n]
		}
	}
	return top
}

// storedDoc loads and decodes the IndexDoc stored with document num.
func storedDoc(r index.IndexReader, num uint64) (catalog.IndexDoc, error) {
	id, err := r.ExternalID(index.NewIndexInternalID(nil, num))
	if err != nil {
		return catalog.IndexDoc{}, fmt.Errorf("load a search hit: %w", err)
	}
	doc, err := r.Document(id)
	if err != nil || doc == nil {
		return catalog.IndexDoc{}, fmt.Errorf("load search hit %s: %v", id, cmp.Or(err, errors.New("gone")))
	}
	var raw []byte
	doc.VisitFields(func(f index.Field) {
		if f.Name() == fieldDoc {
			raw = f.Value()
		}
	})
	if raw == nil {
		return catalog.IndexDoc{}, fmt.Errorf("search hit %s: no stored document", id)
	}
	var d catalog.IndexDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return catalog.IndexDoc{}, fmt.Errorf("search hit %s: decode the stored document: %w", id, err)
	}
	return d, nil
}
