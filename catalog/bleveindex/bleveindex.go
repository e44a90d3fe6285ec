// Package bleveindex is the catalogue's search index embedded in the data dir, on Bleve. It is
// the default engine and the only package that imports Bleve.
package bleveindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/pavedhq/paved/catalog"
)

// Field names in the Bleve documents. The searchable ones carry the weights in fieldBoosts;
// status and category are keywords for filters and facets; statusRank and nameSort order an
// empty query; docField holds the whole IndexDoc as JSON so a hit is returned as stored.
const (
	fieldName          = "name"
	fieldAliases       = "aliases"
	fieldVendor        = "vendor"
	fieldTags          = "tags"
	fieldCategoryLabel = "category_label"
	fieldDescription   = "description"
	fieldStatus        = "status"
	fieldCategory      = "category"
	fieldStatusRank    = "status_rank"
	fieldNameSort      = "name_sort"
	// fieldNameJoined holds a multi-word name's neighbouring words run together ("Google
	// Drive" → "googledrive"), so a query that joins them finds the name (see joinedWords).
	fieldNameJoined = "name_joined"
	fieldDoc        = "doc"
	// synPrefix names the field that lists, for a searchable field, the synonym groups a
	// phrase of which it contains ("syn_tags" of an app tagged "video conferencing" holds the
	// video-call group's token). See synonymTokens.
	synPrefix = "syn_"
)

// synonymFields are the searchable fields a synonym is looked for in. Vendor is left out: a
// vendor is not a need.
var synonymFields = []string{fieldName, fieldAliases, fieldTags, fieldCategoryLabel, fieldDescription}

// analyzerName is the analyzer of every searchable field and of query text: Unicode word
// segmentation, lower case, accents folded (so "Café" and "cafe" meet). No stemming: prefix and
// typo matching already join "meeting" and "meetings", and stems would blur app names.
const analyzerName = "paved_text"

// mappingVersion changes whenever buildMapping changes in a way an existing index on disk
// cannot follow. Open rebuilds such an index empty (the index is derived data) and reports it
// through Created, so the caller can reindex. It includes a digest of catalog.Synonyms, whose
// groups are found in documents as they are indexed (synonymTokens): a changed list needs a
// rebuild too.
var mappingVersion = "3-" + synonymsDigest()

func synonymsDigest() string {
	h := fnv.New32a()
	for _, g := range catalog.Synonyms {
		for _, p := range g {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

var versionKey = []byte("paved_mapping_version")

// Index is a Bleve index of the catalogue. It is safe for concurrent use.
type Index struct {
	bi       bleve.Index
	created  bool
	analyzer analysis.Analyzer
	synonyms [][][]string // catalog.Synonyms, analyzed

	tableMu sync.Mutex
	table   *docTable // of the snapshot searched last; see tableFor

	// closeMu keeps Close from closing the files under a search, which reads the index's
	// snapshot directly (Search).
	closeMu sync.RWMutex
	closed  bool
}

var _ catalog.Index = (*Index)(nil)

// Open opens the index at path, a directory inside the data dir, creating it when it does not
// exist. An index written with an older mapping is replaced by a new, empty one.
func Open(path string) (*Index, error) {
	bi, err := bleve.Open(path)
	switch {
	case err == nil:
		v, verr := bi.GetInternal(versionKey)
		if verr == nil && string(v) == mappingVersion {
			return wrap(bi, false)
		}
		bi.Close()
		if verr != nil {
			return nil, fmt.Errorf("read the mapping version of the search index at %s: %w", path, verr)
		}
		// Derived data in an old layout: start again rather than search it wrongly.
		if err := os.RemoveAll(path); err != nil {
			return nil, fmt.Errorf("remove the outdated search index at %s: %w", path, err)
		}
	case errors.Is(err, bleve.ErrorIndexPathDoesNotExist):
	case emptyDir(path):
		// A directory made ahead of time (a mounted volume, say) is fine to create in.
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("prepare the search index at %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("open the search index at %s: %w", path, err)
	}
	m, err := buildMapping()
	if err != nil {
		return nil, err
	}
	bi, err = bleve.New(path, m)
	if err != nil {
		return nil, fmt.Errorf("create the search index at %s: %w", path, err)
	}
	return newIndex(bi)
}

// OpenMemory returns an index that lives in memory only, for tests and tools.
func OpenMemory() (*Index, error) {
	m, err := buildMapping()
	if err != nil {
		return nil, err
	}
	// Scorch, as on disk, rather than NewMemOnly's older engine: searches rely on scorch's
	// internal document numbers (see docTable).
	bi, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("create an in-memory search index: %w", err)
	}
	return newIndex(bi)
}

func newIndex(bi bleve.Index) (*Index, error) {
	if err := bi.SetInternal(versionKey, []byte(mappingVersion)); err != nil {
		bi.Close()
		return nil, fmt.Errorf("record the search index's mapping version: %w", err)
	}
	return wrap(bi, true)
}

func wrap(bi bleve.Index, created bool) (*Index, error) {
	adv, err := bi.Advanced()
	if err != nil {
		bi.Close()
		return nil, fmt.Errorf("open the search index's engine: %w", err)
	}
	if _, ok := adv.(*scorch.Scorch); !ok {
		bi.Close()
		return nil, fmt.Errorf("the search index uses the %T engine, not scorch: delete it to have it rebuilt", adv)
	}
	a := bi.Mapping().AnalyzerNamed(analyzerName)
	if a == nil {
		bi.Close()
		return nil, fmt.Errorf("the search index has no analyzer %s", analyzerName)
	}
	ix := &Index{bi: bi, created: created, analyzer: a}
	ix.synonyms = ix.synonymGroups()
	return ix, nil
}

func emptyDir(path string) bool {
	entries, err := os.ReadDir(path)
	return err == nil && len(entries) == 0
}

// Created reports whether Open created the index (new, or rebuilt after a mapping change), so
// it is empty and the caller should fill it from the database.
func (ix *Index) Created() bool { return ix.created }

// buildMapping declares every field explicitly: anything else in a document is ignored.
func buildMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	err := im.AddCustomAnalyzer(analyzerName, map[string]any{
		"type":          custom.Name,
		"char_filters":  []string{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name},
	})
	if err != nil {
		return nil, fmt.Errorf("search index analyzer: %w", err)
	}
	im.DefaultAnalyzer = analyzerName

	searchable := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzerName
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = false
		f.IncludeTermVectors = true // phrase queries for multi-word synonyms
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = true // facets and sorting
		return f
	}
	rank := bleve.NewNumericFieldMapping()
	rank.Store, rank.IncludeInAll, rank.DocValues = false, false, true
	stored := bleve.NewTextFieldMapping()
	stored.Index, stored.Store, stored.IncludeInAll, stored.DocValues, stored.IncludeTermVectors = false, true, false, false, false

	dm := bleve.NewDocumentStaticMapping()
	for _, f := range []string{fieldName, fieldAliases, fieldVendor, fieldTags, fieldCategoryLabel, fieldDescription} {
		dm.AddFieldMappingsAt(f, searchable())
	}
	for _, f := range synonymFields {
		syn := bleve.NewKeywordFieldMapping()
		syn.Analyzer = keyword.Name
		syn.Store, syn.IncludeInAll, syn.IncludeTermVectors, syn.DocValues = false, false, false, false
		dm.AddFieldMappingsAt(synPrefix+f, syn)
	}
	dm.AddFieldMappingsAt(fieldStatus, kw())
	dm.AddFieldMappingsAt(fieldCategory, kw())
	dm.AddFieldMappingsAt(fieldNameSort, kw())
	joined := bleve.NewKeywordFieldMapping()
	joined.Analyzer = keyword.Name
	joined.Store, joined.IncludeInAll, joined.IncludeTermVectors, joined.DocValues = false, false, false, false
	dm.AddFieldMappingsAt(fieldNameJoined, joined)
	dm.AddFieldMappingsAt(fieldStatusRank, rank)
	dm.AddFieldMappingsAt(fieldDoc, stored)
	im.DefaultMapping = dm
	im.StoreDynamic, im.IndexDynamic, im.DocValuesDynamic = false, false, false
	return im, nil
}

// bleveDoc is what Bleve indexes for one app.
func (ix *Index) bleveDoc(d catalog.IndexDoc) (map[string]any, error) {
	// The rank follows the status: the index owns the ordering, whatever the caller set.
	d.StatusRank = d.Status.Rank()
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{
		fieldName:          d.Name,
		fieldAliases:       d.Aliases,
		fieldVendor:        d.Vendor,
		fieldTags:          d.Tags,
		fieldCategoryLabel: d.CategoryLabel,
		fieldDescription:   d.Description,
		fieldStatus:        string(d.Status),
		fieldCategory:      d.Category,
		fieldStatusRank:    float64(d.StatusRank),
		fieldNameSort:      nameKey(d.Name),
		fieldDoc:           string(raw),
	}
	if j := joinedWords(ix.analyze(d.Name)); len(j) > 0 {
		doc[fieldNameJoined] = j
	}
	for f, values := range map[string][]string{
		fieldName: {d.Name}, fieldAliases: d.Aliases, fieldTags: d.Tags,
		fieldCategoryLabel: {d.CategoryLabel}, fieldDescription: {d.Description},
	} {
		if toks := ix.synonymTokens(values); len(toks) > 0 {
			doc[synPrefix+f] = toks
		}
	}
	return doc, nil
}

// synonymTokens returns the tokens of the synonym groups that any of values mentions: a
// phrase of the group as consecutive words of one value.
//
// Why at index time: searching each phrase of a group in each field, as phrase queries, cost
// more than the rest of a query together, most of it for apps that only match the synonym.
// A term query on the group's token finds the same apps for the price of one posting list.
func (ix *Index) synonymTokens(values []string) []string {
	var out []string
	for _, v := range values {
		terms := ix.analyze(v)
		for gi, group := range ix.synonyms {
			if tok := synonymToken(gi); !slices.Contains(out, tok) && mentionsAny(terms, group) {
				out = append(out, tok)
			}
		}
	}
	return out
}

// synonymToken is the token of the synonym group with index gi in catalog.Synonyms.
func synonymToken(gi int) string { return "g" + strconv.Itoa(gi) }

// joinedWords returns every run of two or more neighbouring terms, run together: "one drive
// pro" gives "onedrive", "onedrivepro" and "drivepro". Names have few words, so few runs.
func joinedWords(terms []string) []string {
	var out []string
	for i := range terms {
		for j := i + 2; j <= len(terms); j++ {
			if s := strings.Join(terms[i:j], ""); !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// nameKey is a name as the exact-name clause and the name order compare it.
func nameKey(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// Upsert adds or replaces documents by slug, in one batch. Once it returns, searches see the
// change.
func (ix *Index) Upsert(ctx context.Context, docs ...catalog.IndexDoc) error {
	if len(docs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := ix.bi.NewBatch()
	for _, d := range docs {
		if d.Slug == "" {
			return fmt.Errorf("index app %q: empty slug", d.Name)
		}
		bd, err := ix.bleveDoc(d)
		if err != nil {
			return fmt.Errorf("index app %s: %w", d.Slug, err)
		}
		if err := b.Index(d.Slug, bd); err != nil {
			return fmt.Errorf("index app %s: %w", d.Slug, err)
		}
	}
	if err := ix.bi.Batch(b); err != nil {
		return fmt.Errorf("write %d apps to the search index: %w", len(docs), err)
	}
	return nil
}

// Delete removes documents by slug; unknown slugs are ignored.
func (ix *Index) Delete(ctx context.Context, slugs ...string) error {
	if len(slugs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	b := ix.bi.NewBatch()
	for _, s := range slugs {
		b.Delete(s)
	}
	if err := ix.bi.Batch(b); err != nil {
		return fmt.Errorf("delete %d apps from the search index: %w", len(slugs), err)
	}
	return nil
}

// Reset removes every document. Bleve has no truncate, so it deletes ids in batches; the
// mapping and files stay, which keeps Reset safe while searches run.
func (ix *Index) Reset(ctx context.Context) error {
	const batch = 1000
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), batch, 0, false)
		req.SortBy([]string{"_id"})
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("list documents to reset the search index: %w", err)
		}
		if len(res.Hits) == 0 {
			return nil
		}
		b := ix.bi.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := ix.bi.Batch(b); err != nil {
			return fmt.Errorf("reset the search index: %w", err)
		}
	}
}

// Count returns how many documents the index holds.
func (ix *Index) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := ix.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("count the search index: %w", err)
	}
	return int(n), nil
}

// Ping reports whether the index can answer (it cannot once closed).
func (ix *Index) Ping(ctx context.Context) error {
	_, err := ix.Count(ctx)
	return err
}

// Close releases the index files.
func (ix *Index) Close() error {
	ix.closeMu.Lock()
	defer ix.closeMu.Unlock()
	ix.closed = true
	return ix.bi.Close()
}
