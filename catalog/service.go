package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/db"
	"github.com/pavedhq/paved/internal/errs"
)

// Outbox queues work that must follow a committed change, inside the change's transaction, so
// the search index catches up even if it was down when the change was made.
type Outbox interface {
	EnqueueIndexSync(ctx context.Context, tx *sqlx.Tx, slugs ...string) error
}

// Service is the catalogue: its rules and its storage.
type Service struct {
	db     *db.DB
	outbox Outbox
	index  Index
	groups GroupDirectory
	names  nameCache // for search suggestions
	// Now is the clock; tests set it.
	Now func() time.Time
	// Metrics, when set, counts searches for /metrics.
	Metrics *SearchMetrics
}

// NewService returns the catalogue on d. Changes enqueue index syncs on outbox; searches go to
// index.
func NewService(d *db.DB, index Index, outbox Outbox) *Service {
	return &Service{db: d, index: index, outbox: outbox, Now: time.Now}
}

func (s *Service) now() time.Time { return db.Time(s.Now()) }

// Index returns the search index the service searches.
func (s *Service) Index() Index { return s.index }

// change runs fn in a transaction that also records the audit entry and queues an index sync
// for the affected apps, so the three are committed together or not at all.
func (s *Service) change(ctx context.Context, actor audit.Actor, action, slug string, details any, fn func(tx *sqlx.Tx) error, syncSlugs ...string) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, s.now(), actor, action, "app", slug, details); err != nil {
			return err
		}
		if len(syncSlugs) > 0 && s.outbox != nil {
			if err := s.outbox.EnqueueIndexSync(ctx, tx, syncSlugs...); err != nil {
				return fmt.Errorf("queue index sync: %w", err)
			}
		}
		if identifierActions[action] {
			return s.identifiersChanged(ctx, tx)
		}
		return nil
	})
}

// identifierActions change what discovery matches log identifiers against: names, aliases,
// domains and IdP ids.
var identifierActions = map[string]bool{"app.create": true, "app.update": true, "app.identifier.add": true, "app.identifier.remove": true}

// ResolverOutbox is an Outbox that can also ask discovery to resolve the identifiers it has
// seen again, when the catalogue's identifiers change.
type ResolverOutbox interface {
	EnqueueIdentifiersChanged(ctx context.Context, tx *sqlx.Tx) error
}

func (s *Service) identifiersChanged(ctx context.Context, tx *sqlx.Tx) error {
	if o, ok := s.outbox.(ResolverOutbox); ok {
		if err := o.EnqueueIdentifiersChanged(ctx, tx); err != nil {
			return fmt.Errorf("queue identifier resolution: %w", err)
		}
	}
	return nil
}

// Categories lists the managed categories in display order.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	var out []Category
	if err := s.db.SelectContext(ctx, &out, "SELECT slug, name, position FROM categories ORDER BY position, name"); err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return out, nil
}

// EnsureCategories creates missing categories and renames existing ones; it never deletes.
func (s *Service) EnsureCategories(ctx context.Context, cats []Category) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		for i, c := range cats {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO categories (slug, name, position) VALUES (?, ?, ?)
				ON CONFLICT (slug) DO UPDATE SET name = excluded.name, position = excluded.position`), c.Slug, c.Name, i); err != nil {
				return fmt.Errorf("save category %s: %w", c.Slug, err)
			}
		}
		return nil
	})
}

func (s *Service) categorySet(ctx context.Context, q sqlx.QueryerContext) (map[string]bool, error) {
	var slugs []string
	if err := sqlx.SelectContext(ctx, q, &slugs, "SELECT slug FROM categories"); err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	set := make(map[string]bool, len(slugs))
	for _, c := range slugs {
		set[c] = true
	}
	return set, nil
}

const appColumns = `id, slug, name, vendor, website, description, category, tags, logo_url, status, conditions,
	max_classification, access_instructions, decision_rationale, what_would_change, business_owner, licence_model,
	list_cost_minor, list_cost_currency, score_override, score_override_reason, risk_reviewed_at, risk_reviewed_by,
	created_at, updated_at`

// CreateApp adds an app to the catalogue.
func (s *Service) CreateApp(ctx context.Context, actor audit.Actor, in AppInput) (App, error) {
	cats, err := s.categorySet(ctx, s.db)
	if err != nil {
		return App{}, err
	}
	a, err := in.validate(cats)
	if err != nil {
		return App{}, err
	}
	now := s.now()
	a.CreatedAt, a.UpdatedAt = now, now
	err = s.change(ctx, actor, "app.create", a.Slug, map[string]any{"name": a.Name, "status": a.Status}, func(tx *sqlx.Tx) error {
		return insertApp(ctx, tx, &a)
	}, a.Slug)
	return a, err
}

func insertApp(ctx context.Context, tx *sqlx.Tx, a *App) error {
	err := tx.GetContext(ctx, &a.ID, tx.Rebind(`INSERT INTO apps (slug, name, vendor, website, description, category, tags, logo_url, status,
		conditions, max_classification, access_instructions, decision_rationale, what_would_change, business_owner,
		licence_model, list_cost_minor, list_cost_currency, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.Slug, a.Name, a.Vendor, a.Website, a.Description, a.Category, a.TagsText, a.LogoURL, a.Status,
		a.Conditions, a.MaxClassification, a.AccessInstructions, a.DecisionRationale, a.WhatWouldChange, a.BusinessOwner,
		a.LicenceModel, a.ListCostMinor, a.ListCostCurrency, a.CreatedAt, a.UpdatedAt)
	if db.IsUniqueViolation(err) {
		return &errs.Error{Code: errs.Conflict, Message: "An app with that slug already exists.", Fields: map[string]string{"slug": fmt.Sprintf("“%s” is taken by another app; choose another slug.", a.Slug)}}
	}
	if err != nil {
		return fmt.Errorf("insert app %s: %w", a.Slug, err)
	}
	return nil
}

// UpdateApp changes an app's details. A new slug must be free; the old one stops working.
func (s *Service) UpdateApp(ctx context.Context, actor audit.Actor, slug string, in AppInput) (App, error) {
	cats, err := s.categorySet(ctx, s.db)
	if err != nil {
		return App{}, err
	}
	a, err := in.validate(cats)
	var checks Conditions
	if in.Checks != nil {
		var cerr error
		if checks, cerr = s.ParseConditions(ctx, *in.Checks); cerr == nil && !checks.Empty() && a.Status != StatusApprovedWithConditions {
			cerr = (errs.Fields{"checks": "Checked conditions go with an approval with conditions: choose that status, or clear them."}).Err()
		}
		err = errs.Merge(err, cerr)
	}
	if err != nil {
		return App{}, err
	}
	var old App
	err = s.change(ctx, actor, "app.update", a.Slug, nil, func(tx *sqlx.Tx) error {
		if old, err = appBySlug(ctx, tx, slug); err != nil {
			return err
		}
		a.ID, a.CreatedAt, a.UpdatedAt = old.ID, old.CreatedAt, s.now()
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE apps SET slug = ?, name = ?, vendor = ?, website = ?, description = ?, category = ?,
			tags = ?, logo_url = ?, status = ?, conditions = ?, max_classification = ?, access_instructions = ?,
			decision_rationale = ?, what_would_change = ?, business_owner = ?, licence_model = ?, list_cost_minor = ?,
			list_cost_currency = ?, updated_at = ? WHERE id = ?`),
			a.Slug, a.Name, a.Vendor, a.Website, a.Description, a.Category, a.TagsText, a.LogoURL, a.Status, a.Conditions,
			a.MaxClassification, a.AccessInstructions, a.DecisionRationale, a.WhatWouldChange, a.BusinessOwner, a.LicenceModel,
			a.ListCostMinor, a.ListCostCurrency, a.UpdatedAt, a.ID)
		if db.IsUniqueViolation(err) {
			return &errs.Error{Code: errs.Conflict, Message: "An app with that slug already exists.", Fields: map[string]string{"slug": fmt.Sprintf("“%s” is taken by another app; choose another slug.", a.Slug)}}
		}
		if err != nil {
			return fmt.Errorf("update app %s: %w", slug, err)
		}
		if in.Checks != nil {
			return SaveConditionsTx(ctx, tx, a.ID, checks, a.UpdatedAt)
		}
		return nil
	}, slug, a.Slug)
	a.ScoreOverride, a.ScoreOverrideReason, a.RiskReviewedAt, a.RiskReviewedBy = old.ScoreOverride, old.ScoreOverrideReason, old.RiskReviewedAt, old.RiskReviewedBy
	return a, err
}

// App returns one app by slug.
func (s *Service) App(ctx context.Context, slug string) (App, error) {
	return appBySlug(ctx, s.db, slug)
}

func appBySlug(ctx context.Context, q sqlx.ExtContext, slug string) (App, error) {
	var a App
	err := sqlx.GetContext(ctx, q, &a, q.Rebind("SELECT "+appColumns+" FROM apps WHERE slug = ?"), slug)
	if db.IsNotFound(err) {
		return App{}, errs.E(errs.NotFound, "There is no app “%s” in the catalogue.", slug)
	}
	if err != nil {
		return App{}, fmt.Errorf("get app %s: %w", slug, err)
	}
	return a, nil
}

// CreateApps adds many apps at once (an import, a synthetic catalogue), validating each and
// committing in batches of 500 with their audit entries and index syncs. It stops at the first
// invalid app and reports its position; batches before it stay committed.
func (s *Service) CreateApps(ctx context.Context, actor audit.Actor, ins []AppInput) (int, error) {
	cats, err := s.categorySet(ctx, s.db)
	if err != nil {
		return 0, err
	}
	const batch = 500
	created := 0
	for start := 0; start < len(ins); start += batch {
		end := min(start+batch, len(ins))
		var slugs []string
		err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
			now := s.now()
			for i := start; i < end; i++ {
				a, err := ins[i].validate(cats)
				if err != nil {
					return fmt.Errorf("app %d (%q): %w", i+1, ins[i].Name, err)
				}
				a.CreatedAt, a.UpdatedAt = now, now
				if err := insertApp(ctx, tx, &a); err != nil {
					return fmt.Errorf("app %d (%q): %w", i+1, ins[i].Name, err)
				}
				slugs = append(slugs, a.Slug)
			}
			if err := audit.Append(ctx, tx, now, actor, "catalog.bulk_create", "catalog", "apps", map[string]int{"created": len(slugs)}); err != nil {
				return err
			}
			return s.enqueueBatches(ctx, tx, slugs)
		})
		if err != nil {
			return created, err
		}
		created += len(slugs)
	}
	return created, nil
}

// SaveCategory adds a category or renames one (the slug never changes: apps refer to it).
func (s *Service) SaveCategory(ctx context.Context, actor audit.Actor, slug, name string) (Category, error) {
	c := Category{Slug: strings.TrimSpace(slug), Name: strings.TrimSpace(name)}
	if c.Slug == "" {
		c.Slug = Slugify(c.Name)
	}
	f := errs.Fields{}
	if c.Name == "" || len(c.Name) > 80 {
		f.Add("name", "Give the category a name of at most 80 characters.")
	}
	if !slugRe.MatchString(c.Slug) || len(c.Slug) > 64 {
		f.Add("slug", "Use lowercase letters, digits and single hyphens.")
	}
	if err := f.Err(); err != nil {
		return Category{}, err
	}
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO categories (slug, name, position) VALUES (?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM categories))
			ON CONFLICT (slug) DO UPDATE SET name = excluded.name`), c.Slug, c.Name)
		if db.IsUniqueViolation(err) {
			return &errs.Error{Code: errs.Conflict, Message: "That name is taken.", Fields: map[string]string{"name": "Another category has that name."}}
		}
		if err != nil {
			return fmt.Errorf("save category: %w", err)
		}
		// Apps carry the category's name in the index: queue them for a sync.
		var slugs []string
		if err := tx.SelectContext(ctx, &slugs, tx.Rebind("SELECT slug FROM apps WHERE category = ?"), c.Slug); err != nil {
			return err
		}
		if err := audit.Append(ctx, tx, s.now(), actor, "category.save", "category", c.Slug, map[string]string{"name": c.Name}); err != nil {
			return err
		}
		return s.enqueueBatches(ctx, tx, slugs)
	})
	return c, err
}
