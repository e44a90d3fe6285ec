package bleveindex

import (
	"context"
	"fmt"

	index "github.com/blevesearch/bleve_index_api"

	"github.com/pavedhq/paved/catalog"
)

// docTable holds, for every document of one index snapshot, what ranking, filters and facets
// need besides the score: its status, category and name key, found by Bleve's internal
// document number. A search reads them from here for each match instead of decoding doc values
// (snappy-compressed chunks) per match, which cost more than the matching itself on queries
// with thousands of hits.
//
// A table describes one snapshot: internal numbers change when the index does. It is rebuilt
// on the first search of a new snapshot (a few milliseconds for 30,000 apps), so it is never
// stale, and it holds no query results.
type docTable struct {
	// reader is the snapshot the table was built from; only compared, never read.
	reader index.IndexReader
	// live lists the documents in increasing internal number.
	live     []uint64
	status   keywordColumn
	category keywordColumn
	// statusRank is catalog.Status.Rank of each status value, by value index.
	statusRank []int
	// name is each document's name key (nameKey), by internal number.
	name []string
}

// keywordColumn is a keyword field with one value per document: the distinct values, and for
// each internal number the index of its value, or -1 when it has none.
type keywordColumn struct {
	values []string
	of     []int32
}

// value returns the value index of document num, -1 for none.
func (c *keywordColumn) value(num uint64) int32 {
	if num >= uint64(len(c.of)) {
		return -1
	}
	return c.of[num]
}

// lookup returns the index of value v, -1 when no document has it.
func (c *keywordColumn) lookup(v string) int32 {
	for i, x := range c.values {
		if x == v {
			return int32(i)
		}
	}
	return -1
}

// tableFor returns the table of the snapshot r, building it when r is newer than the one
// cached. Searches of one snapshot share one build; the lock is held during it so that a burst
// of searches after a write builds it once, not once per search.
func (ix *Index) tableFor(ctx context.Context, r index.IndexReader) (*docTable, error) {
	ix.tableMu.Lock()
	defer ix.tableMu.Unlock()
	if t := ix.table; t != nil && t.reader == r {
		return t, nil
	}
	t, err := buildTable(ctx, r)
	if err != nil {
		return nil, err
	}
	ix.table = t
	return t, nil
}

func buildTable(ctx context.Context, r index.IndexReader) (*docTable, error) {
	t := &docTable{reader: r}
	ids, err := r.DocIDReaderAll()
	if err != nil {
		return nil, fmt.Errorf("list the search index's documents: %w", err)
	}
	var top uint64
	for {
		id, err := ids.Next()
		if err != nil {
			ids.Close()
			return nil, fmt.Errorf("list the search index's documents: %w", err)
		}
		if id == nil {
			break
		}
		n := id.Value()
		t.live = append(t.live, n)
		top = max(top, n+1)
	}
	ids.Close()
	for _, c := range []struct {
		field string
		col   *keywordColumn
	}{{fieldStatus, &t.status}, {fieldCategory, &t.category}} {
		if err := fillColumn(ctx, r, c.field, c.col, top); err != nil {
			return nil, err
		}
	}
	t.statusRank = make([]int, len(t.status.values))
	for i, v := range t.status.values {
		t.statusRank[i] = catalog.Status(v).Rank()
	}
	t.name = make([]string, top)
	dv, err := r.DocValueReader([]string{fieldNameSort})
	if err != nil {
		return nil, fmt.Errorf("read names from the search index: %w", err)
	}
	var buf []byte
	for _, n := range t.live {
		buf = index.NewIndexInternalID(buf, n)
		err := dv.VisitDocValues(buf, func(_ string, term []byte) { t.name[n] = string(term) })
		if err != nil {
			return nil, fmt.Errorf("read names from the search index: %w", err)
		}
	}
	return t, nil
}

// fillColumn reads a keyword field's dictionary and postings into col.
func fillColumn(ctx context.Context, r index.IndexReader, field string, col *keywordColumn, top uint64) error {
	col.of = make([]int32, top)
	for i := range col.of {
		col.of[i] = -1
	}
	dict, err := r.FieldDict(field)
	if err != nil {
		return fmt.Errorf("read %s values from the search index: %w", field, err)
	}
	defer dict.Close()
	var doc index.TermFieldDoc
	for {
		e, err := dict.Next()
		if err != nil {
			return fmt.Errorf("read %s values from the search index: %w", field, err)
		}
		if e == nil {
			return nil
		}
		vi := int32(len(col.values))
		col.values = append(col.values, e.Term)
		tfr, err := r.TermFieldReader(ctx, []byte(e.Term), field, false, false, false)
		if err != nil {
			return fmt.Errorf("read %s %q from the search index: %w", field, e.Term, err)
		}
		for {
			d, err := tfr.Next(&doc)
			if err != nil {
				tfr.Close()
				return fmt.Errorf("read %s %q from the search index: %w", field, e.Term, err)
			}
			if d == nil {
				break
			}
			if n := d.ID.Value(); n < top {
				col.of[n] = vi
			}
		}
		tfr.Close()
	}
}
