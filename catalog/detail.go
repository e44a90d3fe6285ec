package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// AppDetail is everything the app page shows.
type AppDetail struct {
	App          App
	CategoryName string
	Identifiers  []Identifier
	Alternatives []Alternative
	Score        Score
	Checks       Conditions // the checkable conditions beside the text
}

// Detail gathers an app with its identifiers, alternatives and explained risk score.
func (s *Service) Detail(ctx context.Context, slug string) (AppDetail, error) {
	// The app with its category's name in one round trip.
	var row struct {
		App
		CategoryName string `db:"category_name"`
	}
	err := s.db.GetContext(ctx, &row, s.db.Rebind("SELECT "+appColumns+`,
		COALESCE((SELECT c.name FROM categories c WHERE c.slug = apps.category), '') AS category_name
		FROM apps WHERE slug = ?`), slug)
	if db.IsNotFound(err) {
		return AppDetail{}, errs.E(errs.NotFound, "There is no app “%s” in the catalogue.", slug)
	}
	if err != nil {
		return AppDetail{}, fmt.Errorf("get app %s: %w", slug, err)
	}
	a := row.App
	d := AppDetail{App: a, CategoryName: row.CategoryName}
	if d.Identifiers, err = s.Identifiers(ctx, a.ID); err != nil {
		return AppDetail{}, err
	}
	if d.Alternatives, err = s.Alternatives(ctx, a.ID); err != nil {
		return AppDetail{}, err
	}
	answers, err := s.RiskAnswers(ctx, a.ID)
	if err != nil {
		return AppDetail{}, err
	}
	weights, err := s.RiskWeights(ctx)
	if err != nil {
		return AppDetail{}, err
	}
	d.Score = ComputeScore(answers, weights, a.ScoreOverride, a.ScoreOverrideReason, s.Now())
	if d.Checks, err = s.ConditionsOf(ctx, a.ID); err != nil {
		return AppDetail{}, err
	}
	return d, nil
}

// Docs builds the search documents of the given apps (all apps when slugs is empty). Apps that
// no longer exist are simply absent from the result.
func (s *Service) Docs(ctx context.Context, slugs ...string) ([]IndexDoc, error) {
	q := "SELECT " + appColumns + " FROM apps"
	var args []any
	if len(slugs) > 0 {
		q += " WHERE slug IN (?" + strings.Repeat(", ?", len(slugs)-1) + ")"
		for _, sl := range slugs {
			args = append(args, sl)
		}
	}
	var apps []App
	if err := s.db.SelectContext(ctx, &apps, s.db.Rebind(q+" ORDER BY id"), args...); err != nil {
		return nil, fmt.Errorf("load apps for the index: %w", err)
	}
	if len(apps) == 0 {
		return nil, nil
	}
	cats, err := s.Categories(ctx)
	if err != nil {
		return nil, err
	}
	catName := map[string]string{}
	for _, c := range cats {
		catName[c.Slug] = c.Name
	}
	var ids []struct {
		AppID int64          `db:"app_id"`
		Kind  IdentifierKind `db:"kind"`
		Value string         `db:"value"`
	}
	// Identifiers for all apps at once: one query, not one per app.
	iq := "SELECT app_id, kind, value FROM app_identifiers"
	var iargs []any
	if len(slugs) > 0 {
		iq += " WHERE app_id IN (SELECT id FROM apps WHERE slug IN (?" + strings.Repeat(", ?", len(slugs)-1) + "))"
		iargs = args
	}
	if err := s.db.SelectContext(ctx, &ids, s.db.Rebind(iq), iargs...); err != nil {
		return nil, fmt.Errorf("load identifiers for the index: %w", err)
	}
	aliases := map[int64][]string{}
	for _, id := range ids {
		// Ids are opaque to people; names and domains are what they type.
		if id.Kind == IDAlias || id.Kind == IDDomain || id.Kind == IDOktaApp {
			aliases[id.AppID] = append(aliases[id.AppID], id.Value)
		}
	}
	docs := make([]IndexDoc, len(apps))
	for i, a := range apps {
		docs[i] = a.Doc(catName[a.Category], aliases[a.ID])
	}
	return docs, nil
}

// SyncIndex brings the index entries of slugs in line with the database: present apps are
// upserted, vanished ones deleted. It is what the index-sync job runs.
func (s *Service) SyncIndex(ctx context.Context, slugs ...string) error {
	docs, err := s.Docs(ctx, slugs...)
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, d := range docs {
		present[d.Slug] = true
	}
	var gone []string
	for _, sl := range slugs {
		if !present[sl] {
			gone = append(gone, sl)
		}
	}
	if len(docs) > 0 {
		if err := s.index.Upsert(ctx, docs...); err != nil {
			return fmt.Errorf("index %d apps: %w", len(docs), err)
		}
	}
	if len(gone) > 0 {
		if err := s.index.Delete(ctx, gone...); err != nil {
			return fmt.Errorf("remove %d apps from the index: %w", len(gone), err)
		}
	}
	return nil
}

// Reindex rebuilds the whole index from the database, in batches.
func (s *Service) Reindex(ctx context.Context) (int, error) {
	docs, err := s.Docs(ctx)
	if err != nil {
		return 0, err
	}
	if err := s.index.Reset(ctx); err != nil {
		return 0, fmt.Errorf("reset the index: %w", err)
	}
	const batch = 1000
	for i := 0; i < len(docs); i += batch {
		if err := s.index.Upsert(ctx, docs[i:min(i+batch, len(docs))]...); err != nil {
			return i, fmt.Errorf("index apps %d–%d: %w", i, min(i+batch, len(docs)), err)
		}
	}
	return len(docs), nil
}

// Search finds apps in the index. When nothing matches and the query asks for it, the result
// suggests the closest catalogue name (Suggest).
func (s *Service) Search(ctx context.Context, q SearchQuery) (SearchResult, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	q.Limit = min(q.Limit, 100)
	q.Offset = max(q.Offset, 0)
	start := time.Now()
	res, err := s.index.Search(ctx, q)
	s.Metrics.observe(q, res, err, time.Since(start))
	if err != nil {
		return SearchResult{}, errs.Wrap(errs.Unavailable, err, "Search is not available right now. Please try again in a moment.")
	}
	if q.Suggest && res.Total == 0 && strings.TrimSpace(q.Text) != "" {
		names, err := s.appNames(ctx)
		if err != nil {
			return SearchResult{}, err
		}
		res.Suggestion = Suggest(q.Text, names)
	}
	return res, nil
}
