package meiliindex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meilisearch/meilisearch-go"

	"github.com/pavedhq/paved/catalog"
)

const (
	// primaryKey is the document field Meilisearch identifies apps by. Slugs fit its id rules
	// (letters, digits, - and _).
	primaryKey = "slug"
	// requestTimeout bounds each HTTP call made by an Index from Open.
	requestTimeout = 5 * time.Second
	// taskTimeout bounds the wait for one task (settings, a batch of documents). A caller's
	// shorter context deadline wins.
	taskTimeout = time.Minute
	// pollInterval is how often a task's status is checked. Small, because Upsert and Delete
	// wait for their tasks and most tasks on a catalogue finish in milliseconds.
	pollInterval = 10 * time.Millisecond
	// maxTotalHits raises Meilisearch's default of 1000 so that Total stays exact for any
	// realistic catalogue.
	maxTotalHits = 10000
	// maxFacetValues bounds how many categories the facet counts report.
	maxFacetValues = 1000
)

// Error is a failure of Meilisearch on one index: a refused request or a failed task. Code is
// Meilisearch's error code ("invalid_document_id", "index_not_found", …) when it gave one.
type Error struct {
	Index   string
	Op      string // what Paved asked for: "add documents", "update settings", …
	Task    int64  // the task uid, 0 when the request itself failed
	Code    string
	Message string
	Err     error // the client's error, if any
}

func (e *Error) Error() string {
	where := fmt.Sprintf("meilisearch index %q: %s", e.Index, e.Op)
	if e.Task != 0 {
		where += fmt.Sprintf(" (task %d)", e.Task)
	}
	if e.Code != "" {
		return fmt.Sprintf("%s failed with %s: %s", where, e.Code, e.Message)
	}
	return fmt.Sprintf("%s failed: %s", where, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// fail turns a client error into an *Error that names the index and Meilisearch's code.
func (ix *Index) fail(op string, err error) error {
	e := &Error{Index: ix.uid, Op: op, Message: err.Error(), Err: err}
	var me *meilisearch.Error
	if errors.As(err, &me) && me.MeilisearchApiError.Code != "" {
		e.Code, e.Message = me.MeilisearchApiError.Code, me.MeilisearchApiError.Message
	}
	return e
}

// Open connects to the server at url with key and readies the index uid for the catalogue:
// it checks the server answers and accepts the key, creates the index when missing and applies
// the settings (EnsureSettings), waiting for each step.
func Open(ctx context.Context, url, key, uid string) (*Index, error) {
	if uid == "" {
		return nil, errors.New("meilisearch: no index name given")
	}
	ix := New(url, key, requestTimeout)
	ix.uid = uid
	ix.index = ix.client.Index(uid)
	if err := ix.Ping(ctx); err != nil {
		return nil, err
	}
	if err := ix.EnsureSettings(ctx); err != nil {
		return nil, err
	}
	return ix, nil
}

// Settings are the index settings the catalogue needs. Searchable attributes are in order of
// importance (the attribute rule ranks a match in the name above one in the description).
// After Meilisearch's relevance rules, status_rank:asc puts approved apps first among equally
// relevant ones, and the sort rule, last, applies the name order Search asks for, so it only
// breaks the remaining ties; with no query text, only those two apply.
func Settings() *meilisearch.Settings {
	return &meilisearch.Settings{
		SearchableAttributes: []string{"name", "aliases", "vendor", "tags", "category_label", "description"},
		FilterableAttributes: []string{"status", "category"},
		SortableAttributes:   []string{"name", "status_rank"},
		RankingRules:         []string{"words", "typo", "proximity", "attribute", "exactness", "status_rank:asc", "sort"},
		Synonyms:             synonyms(catalog.Synonyms),
		TypoTolerance: &meilisearch.TypoTolerance{
			Enabled: true,
			// One typo from four letters rather than Meilisearch's default five: many app
			// names are that short ("slak" for Slack, "jiar" for Jira). An exact word still
			// ranks first (the typo rule). The client sends every field, so all are set.
			MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 4, TwoTypos: 9},
			DisableOnWords:      []string{},
			DisableOnAttributes: []string{},
		},
		Pagination: &meilisearch.Pagination{MaxTotalHits: maxTotalHits},
		Faceting: &meilisearch.Faceting{
			MaxValuesPerFacet: maxFacetValues,
			SortFacetValuesBy: map[string]meilisearch.SortFacetType{"*": meilisearch.SortFacetTypeAlpha},
		},
	}
}

// synonyms turns groups of equivalent phrases into Meilisearch's map, in both directions:
// every phrase lists all the others. Multi-word phrases work as keys and values.
func synonyms(groups [][]string) map[string][]string {
	m := map[string][]string{}
	for _, g := range groups {
		for _, p := range g {
			for _, q := range g {
				if q != p {
					m[p] = append(m[p], q)
				}
			}
		}
	}
	return m
}

// EnsureSettings creates the index (primary key slug) if it does not exist and applies
// Settings. It is safe to run at every start: unchanged settings cost Meilisearch nothing, and
// changed ones make it re-index in the task this waits for.
func (ix *Index) EnsureSettings(ctx context.Context) error {
	if err := ix.opened(); err != nil {
		return err
	}
	info, err := ix.client.CreateIndexWithContext(ctx, &meilisearch.IndexConfig{Uid: ix.uid, PrimaryKey: primaryKey})
	if err := ix.wait(ctx, "create index", info, err); err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Code != "index_already_exists" {
			return err
		}
	}
	info, err = ix.index.UpdateSettingsWithContext(ctx, Settings())
	return ix.wait(ctx, "update settings", info, err)
}

// opened reports an Index made by New, which has no index to work on.
func (ix *Index) opened() error {
	if ix.index == nil {
		return errors.New("meilisearch: no index chosen (use meiliindex.Open)")
	}
	return nil
}

// wait waits for the task a call enqueued and turns a failed or unfinished task into an
// *Error. err is the call's own error, so a call and its wait read as one line.
func (ix *Index) wait(ctx context.Context, op string, info *meilisearch.TaskInfo, err error) error {
	if err != nil {
		return ix.fail(op, err)
	}
	wctx, cancel := context.WithTimeout(ctx, taskTimeout)
	defer cancel()
	task, err := ix.client.WaitForTaskWithContext(wctx, info.TaskUID, pollInterval)
	if err != nil {
		e := ix.fail("wait for "+op, err).(*Error)
		e.Task = info.TaskUID
		if wctx.Err() != nil && ctx.Err() == nil {
			e.Message = fmt.Sprintf("not finished after %s", taskTimeout)
		}
		return e
	}
	if task.Status != meilisearch.TaskStatusSucceeded {
		e := &Error{Index: ix.uid, Op: op, Task: info.TaskUID, Code: task.Error.Code, Message: task.Error.Message}
		if e.Message == "" {
			e.Message = "task " + string(task.Status)
		}
		return e
	}
	return nil
}

// Upsert adds or replaces documents by slug and waits until Meilisearch has indexed them, so a
// search right after it sees the change (the portal redirects to results after an edit, and
// tests check at once). Meilisearch itself is asynchronous; the wait is what makes this
// read-after-write.
func (ix *Index) Upsert(ctx context.Context, docs ...catalog.IndexDoc) error {
	if err := ix.opened(); err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	out := make([]catalog.IndexDoc, len(docs))
	for i, d := range docs {
		if d.Slug == "" {
			return fmt.Errorf("meilisearch index %q: app %q has no slug", ix.uid, d.Name)
		}
		// The rank follows the status: the index owns the ordering, whatever the caller set.
		d.StatusRank = d.Status.Rank()
		out[i] = d
	}
	pk := primaryKey
	info, err := ix.index.AddDocumentsWithContext(ctx, out, &meilisearch.DocumentOptions{PrimaryKey: &pk})
	return ix.wait(ctx, fmt.Sprintf("add %d documents", len(out)), info, err)
}

// Delete removes documents by slug, ignoring unknown ones, and waits like Upsert.
func (ix *Index) Delete(ctx context.Context, slugs ...string) error {
	if err := ix.opened(); err != nil {
		return err
	}
	if len(slugs) == 0 {
		return nil
	}
	info, err := ix.index.DeleteDocumentsWithContext(ctx, slugs, nil)
	return ix.wait(ctx, fmt.Sprintf("delete %d documents", len(slugs)), info, err)
}

// Reset removes every document, keeping the index and its settings, and waits like Upsert.
func (ix *Index) Reset(ctx context.Context) error {
	if err := ix.opened(); err != nil {
		return err
	}
	info, err := ix.index.DeleteAllDocumentsWithContext(ctx, nil)
	return ix.wait(ctx, "delete all documents", info, err)
}

// Count returns how many documents the index holds.
func (ix *Index) Count(ctx context.Context) (int, error) {
	if err := ix.opened(); err != nil {
		return 0, err
	}
	st, err := ix.index.GetStatsWithContext(ctx, nil)
	if err != nil {
		return 0, ix.fail("count documents", err)
	}
	return int(st.NumberOfDocuments), nil
}

// Drop deletes the whole index, settings included, and waits. Tests use it to clean up; an
// operator can use it to start over (the next Open recreates the index).
func (ix *Index) Drop(ctx context.Context) error {
	if err := ix.opened(); err != nil {
		return err
	}
	info, err := ix.client.DeleteIndexWithContext(ctx, ix.uid)
	return ix.wait(ctx, "delete index", info, err)
}

// Close releases idle connections. The server and the index stay as they are.
func (ix *Index) Close() error {
	ix.client.Close()
	return nil
}

// UID returns the name of the index on the server.
func (ix *Index) UID() string { return ix.uid }
