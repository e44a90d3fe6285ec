package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog/seed"
	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
)

// SeedResult says what a seed run changed.
type SeedResult struct {
	Categories, Created, Existing, Decisions int
}

// Seed loads the curated catalogue: its categories, and every app not yet present, with its
// domain and aliases as identifiers. New apps start as under review. With demo, it also applies
// the demo company's decisions (statuses, conditions, access, alternatives), for the quick
// start. Running it again changes nothing that exists.
func (s *Service) Seed(ctx context.Context, actor audit.Actor, demo bool) (SeedResult, error) {
	var res SeedResult
	cats := seed.Categories()
	catList := make([]Category, len(cats))
	for i, c := range cats {
		catList[i] = Category{Slug: c.Slug, Name: c.Label}
	}
	if err := s.EnsureCategories(ctx, catList); err != nil {
		return res, err
	}
	res.Categories = len(catList)
	apps, err := seed.Apps()
	if err != nil {
		return res, fmt.Errorf("seed catalogue: %w", err)
	}
	var created []string
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := s.now()
		for _, sa := range apps {
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind("SELECT COUNT(*) FROM apps WHERE slug = ?"), sa.Slug); err != nil {
				return err
			}
			if n > 0 {
				res.Existing++
				continue
			}
			a := App{Slug: sa.Slug, Name: sa.Name, Vendor: sa.Vendor, Website: "https://" + sa.Domain, Description: sa.Description,
				Category: sa.Category, TagsText: strings.Join(sa.Tags, ", "), Status: StatusUnderReview, CreatedAt: now, UpdatedAt: now}
			if err := insertApp(ctx, tx, &a); err != nil {
				return err
			}
			ids := []Identifier{{Kind: IDDomain, Value: sa.Domain}}
			for _, al := range sa.Aliases {
				ids = append(ids, Identifier{Kind: IDAlias, Value: al})
			}
			for _, id := range ids {
				// A taken identifier is skipped: the seed never steals one from an existing app.
				if _, err := tx.ExecContext(ctx, tx.Rebind("INSERT INTO app_identifiers (app_id, kind, value) VALUES (?, ?, ?) ON CONFLICT (kind, value) DO NOTHING"), a.ID, id.Kind, id.Value); err != nil {
					return fmt.Errorf("seed identifier %s: %w", id.Value, err)
				}
			}
			created = append(created, a.Slug)
		}
		res.Created = len(created)
		if err := audit.Append(ctx, tx, now, actor, "catalog.seed", "catalog", "seed", map[string]int{"created": len(created)}); err != nil {
			return err
		}
		if len(created) > 0 {
			if err := s.identifiersChanged(ctx, tx); err != nil {
				return err
			}
		}
		return s.enqueueBatches(ctx, tx, created)
	})
	if err != nil || !demo {
		return res, err
	}
	decisions, err := seed.DemoCatalogue()
	if err != nil {
		return res, fmt.Errorf("demo decisions: %w", err)
	}
	// Usable apps first, so that alternatives can point at them.
	for pass := range 2 {
		for _, d := range decisions {
			if d.Status.Usable() != (pass == 0) {
				continue
			}
			a, err := s.App(ctx, d.Slug)
			if err != nil {
				return res, err
			}
			if a.Status != StatusUnderReview || a.DecisionRationale != "" {
				continue // decided already: never overwrite a real decision
			}
			in := inputOf(a)
			in.Status, in.MaxClassification, in.Conditions = string(d.Status), string(d.MaxDataClassification), d.Conditions
			in.AccessInstructions, in.DecisionRationale, in.WhatWouldChange = d.Access, d.Rationale, d.WhatWouldChange
			if _, err := s.UpdateApp(ctx, actor, a.Slug, in); err != nil {
				return res, fmt.Errorf("demo decision for %s: %w", a.Slug, err)
			}
			for _, alt := range d.Alternatives {
				if err := s.SetAlternative(ctx, actor, a.Slug, alt.Slug, alt.Note); err != nil {
					return res, fmt.Errorf("demo alternative %s → %s: %w", a.Slug, alt.Slug, err)
				}
			}
			res.Decisions++
		}
	}
	return res, nil
}

func (s *Service) enqueueBatches(ctx context.Context, tx *sqlx.Tx, slugs []string) error {
	if s.outbox == nil {
		return nil
	}
	for i := 0; i < len(slugs); i += 100 {
		if err := s.outbox.EnqueueIndexSync(ctx, tx, slugs[i:min(i+100, len(slugs))]...); err != nil {
			return fmt.Errorf("queue index sync: %w", err)
		}
	}
	return nil
}

// inputOf turns an app back into form input, for edits that change a few fields.
func inputOf(a App) AppInput {
	in := AppInput{Slug: a.Slug, Name: a.Name, Vendor: a.Vendor, Website: a.Website, Description: a.Description,
		Category: a.Category, Tags: a.TagsText, LogoURL: a.LogoURL, Status: string(a.Status), Conditions: a.Conditions,
		MaxClassification: string(a.MaxClassification), AccessInstructions: a.AccessInstructions,
		DecisionRationale: a.DecisionRationale, WhatWouldChange: a.WhatWouldChange, BusinessOwner: a.BusinessOwner,
		LicenceModel: a.LicenceModel, ListCostCurrency: a.ListCostCurrency}
	if a.ListCostMinor != nil {
		in.ListCost = FormatMinorUnits(*a.ListCostMinor)
	}
	return in
}

// InputOf is inputOf for forms that edit an existing app.
func InputOf(a App) AppInput { return inputOf(a) }

// demoRiskApps are the demo company's apps that security has assessed in the quick start.
var demoRiskApps = []string{"slack", "google-workspace", "github", "jira", "confluence", "notion", "figma", "miro", "zoom", "chatgpt", "loom", "wetransfer"}

// SeedDemoRisk answers the risk questions for a dozen demo apps, so the quick start shows
// scores of every level. The answers are made up and say so in their notes; there are no
// evidence links, since there is no evidence. Apps that already have answers are left alone.
func (s *Service) SeedDemoRisk(ctx context.Context, actor audit.Actor) (int, error) {
	n := 0
	for i, slug := range demoRiskApps {
		var have int
		if err := s.db.GetContext(ctx, &have, s.db.Rebind("SELECT COUNT(*) FROM risk_factors r JOIN apps a ON a.id = r.app_id WHERE a.slug = ?"), slug); err != nil {
			return n, fmt.Errorf("demo risk for %s: %w", slug, err)
		}
		if have > 0 {
			continue
		}
		var answers []RiskAnswer
		for j, f := range Factors {
			// A spread of answers: the first apps answer almost everything yes, the last ones
			// mostly no or unknown, so the levels run from low to high risk.
			a := AnswerYes
			switch (i*7 + j*3) % 12 {
			case 0, 1:
				a = AnswerUnknown
			case 2:
				a = AnswerNo
			}
			if i >= 9 && j%2 == 0 {
				a = AnswerNo
			}
			answers = append(answers, RiskAnswer{Factor: f.Key, Answer: a, Note: "Demo answer."})
		}
		if err := s.SaveRiskProfile(ctx, actor, slug, answers); err != nil {
			if errs.Is(err, errs.NotFound) {
				continue
			}
			return n, err
		}
		n++
	}
	return n, nil
}
