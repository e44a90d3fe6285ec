package catalog

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pavedhq/paved/internal/errs"
	"github.com/pavedhq/paved/internal/input"
)

// Classification is the most sensitive data an app may hold.
type Classification string

// The classifications, least to most sensitive.
const (
	ClassPublic       Classification = "public"
	ClassInternal     Classification = "internal"
	ClassConfidential Classification = "confidential"
	ClassRestricted   Classification = "restricted"
)

// Classifications lists them in order.
var Classifications = []Classification{ClassPublic, ClassInternal, ClassConfidential, ClassRestricted}

// Label names the classification for people: "Confidential".
func (c Classification) Label() string {
	switch c {
	case ClassPublic:
		return "Public"
	case ClassInternal:
		return "Internal"
	case ClassConfidential:
		return "Confidential"
	case ClassRestricted:
		return "Restricted"
	}
	return string(c)
}

// LicenceModels are how vendors charge.
var LicenceModels = []string{"per_user", "flat_fee", "usage_based", "free", "enterprise_agreement"}

// App is one catalogued cloud or SaaS app.
type App struct {
	ID                  int64          `db:"id" json:"-"`
	Slug                string         `db:"slug" json:"slug"`
	Name                string         `db:"name" json:"name"`
	Vendor              string         `db:"vendor" json:"vendor"`
	Website             string         `db:"website" json:"website"`
	Description         string         `db:"description" json:"description"`
	Category            string         `db:"category" json:"category"`
	TagsText            string         `db:"tags" json:"-"`
	LogoURL             string         `db:"logo_url" json:"logo_url,omitempty"`
	Status              Status         `db:"status" json:"status"`
	Conditions          string         `db:"conditions" json:"conditions,omitempty"`
	MaxClassification   Classification `db:"max_classification" json:"max_classification,omitempty"`
	AccessInstructions  string         `db:"access_instructions" json:"access_instructions,omitempty"`
	DecisionRationale   string         `db:"decision_rationale" json:"decision_rationale,omitempty"`
	WhatWouldChange     string         `db:"what_would_change" json:"what_would_change,omitempty"`
	BusinessOwner       string         `db:"business_owner" json:"business_owner,omitempty"`
	LicenceModel        string         `db:"licence_model" json:"licence_model,omitempty"`
	ListCostMinor       *int64         `db:"list_cost_minor" json:"list_cost_minor,omitempty"`
	ListCostCurrency    string         `db:"list_cost_currency" json:"list_cost_currency,omitempty"`
	ScoreOverride       *float64       `db:"score_override" json:"score_override,omitempty"`
	ScoreOverrideReason string         `db:"score_override_reason" json:"score_override_reason,omitempty"`
	RiskReviewedAt      *time.Time     `db:"risk_reviewed_at" json:"risk_reviewed_at,omitempty"`
	RiskReviewedBy      string         `db:"risk_reviewed_by" json:"risk_reviewed_by,omitempty"`
	CreatedAt           time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt           time.Time      `db:"updated_at" json:"updated_at"`
}

// Tags returns the app's tags.
func (a App) Tags() []string { return splitList(a.TagsText) }

// Usable reports whether employees may use the app (perhaps on conditions).
func (a App) Usable() bool {
	return a.Status == StatusApproved || a.Status == StatusApprovedWithConditions
}

// Category is a managed group of apps.
type Category struct {
	Slug     string `db:"slug" json:"slug"`
	Name     string `db:"name" json:"name"`
	Position int    `db:"position" json:"-"`
}

// AppInput is what a person submits to create or change an app. Strings are as typed.
type AppInput struct {
	Slug               string
	Name               string
	Vendor             string
	Website            string
	Description        string
	Category           string
	Tags               string // comma-separated
	LogoURL            string
	Status             string
	Conditions         string
	MaxClassification  string
	AccessInstructions string
	DecisionRationale  string
	WhatWouldChange    string
	BusinessOwner      string
	LicenceModel       string
	ListCost           string // "12.50"
	ListCostCurrency   string // ISO 4217
	// Checks are the checkable conditions, as typed; nil leaves the stored ones alone.
	Checks *ConditionsInput
}

var slugRe = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)

// Slugify turns a name into a slug: "Google Drive" → "google-drive".
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case b.Len() > 0 && !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// validate checks an app's fields, everything that needs no database; categories (known
// ones) are passed in. It returns the cleaned app.
func (in AppInput) validate(categories map[string]bool) (App, error) {
	f := errs.Fields{}
	a := App{
		Name:               strings.TrimSpace(in.Name),
		Slug:               strings.TrimSpace(in.Slug),
		Vendor:             strings.TrimSpace(in.Vendor),
		Website:            strings.TrimSpace(in.Website),
		Description:        strings.TrimSpace(in.Description),
		Category:           strings.TrimSpace(in.Category),
		LogoURL:            strings.TrimSpace(in.LogoURL),
		Status:             Status(strings.TrimSpace(in.Status)),
		Conditions:         strings.TrimSpace(in.Conditions),
		MaxClassification:  Classification(strings.TrimSpace(in.MaxClassification)),
		AccessInstructions: strings.TrimSpace(in.AccessInstructions),
		DecisionRationale:  strings.TrimSpace(in.DecisionRationale),
		WhatWouldChange:    strings.TrimSpace(in.WhatWouldChange),
		BusinessOwner:      strings.TrimSpace(in.BusinessOwner),
		LicenceModel:       strings.TrimSpace(in.LicenceModel),
		ListCostCurrency:   strings.ToUpper(strings.TrimSpace(in.ListCostCurrency)),
	}
	if a.Name == "" {
		f.Add("name", "Give the app's name.")
	} else {
		input.Line(f, "name", a.Name, 100)
	}
	input.Line(f, "vendor", a.Vendor, 200)
	input.Line(f, "business_owner", a.BusinessOwner, 200)
	input.Line(f, "website", a.Website, 2000)
	input.Line(f, "logo_url", a.LogoURL, 2000)
	if a.Slug == "" {
		a.Slug = Slugify(a.Name)
	}
	if !slugRe.MatchString(a.Slug) || len(a.Slug) > 64 {
		f.Add("slug", "Use lowercase letters, digits and single hyphens (at most 64), such as “google-drive”.")
	}
	if a.Website != "" && !validHTTPURL(a.Website) {
		f.Add("website", "Enter a full web address starting with https://.")
	}
	if a.LogoURL != "" && !validHTTPURL(a.LogoURL) {
		f.Add("logo_url", "Enter a full image address starting with https://.")
	}
	input.Text(f, "description", a.Description, 1000)
	if a.Category == "" {
		f.Add("category", "Choose a category.")
	} else if !categories[a.Category] {
		f.Add("category", "Choose one of the listed categories.")
	}
	var tags []string
	for _, t := range splitList(in.Tags) {
		t = strings.ToLower(t)
		if utf8.RuneCountInString(t) > 40 {
			f.Add("tags", "Keep each tag under 40 characters.")
		}
		input.Line(f, "tags", t, 40)
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > 20 {
		f.Add("tags", "Use at most 20 tags.")
	}
	a.TagsText = strings.Join(tags, ", ")
	if !a.Status.Valid() {
		f.Add("status", "Choose a status.")
	}
	if a.MaxClassification != "" && !slices.Contains(Classifications, a.MaxClassification) {
		f.Add("max_classification", "Choose public, internal, confidential or restricted.")
	}
	if a.Status == StatusApprovedWithConditions && a.Conditions == "" {
		f.Add("conditions", "Say on which conditions the app may be used.")
	}
	if a.Status == StatusNotApproved && a.WhatWouldChange == "" {
		f.Add("what_would_change", "Say what would change this decision, so people know what to do next.")
	}
	if a.LicenceModel != "" && !slices.Contains(LicenceModels, a.LicenceModel) {
		f.Add("licence_model", "Choose one of the listed licence models.")
	}
	if s := strings.TrimSpace(in.ListCost); s != "" {
		minor, ok := ParseMinorUnits(s)
		if !ok {
			f.Add("list_cost", "Enter an amount such as 12.50.")
		}
		a.ListCostMinor = &minor
		if !currencyRe.MatchString(a.ListCostCurrency) {
			f.Add("list_cost_currency", "Give the three-letter currency code, such as EUR or USD.")
		}
	} else {
		a.ListCostCurrency = ""
	}
	for field, v := range map[string]string{"conditions": a.Conditions, "access_instructions": a.AccessInstructions, "decision_rationale": a.DecisionRationale, "what_would_change": a.WhatWouldChange} {
		input.Text(f, field, v, 4000)
	}
	return a, f.Err()
}

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

// ParseMinorUnits reads a non-negative amount such as "12", "12.5" or "1,200.50" into cents
// (two decimals), without floating point. It reports false for anything else.
func ParseMinorUnits(s string) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	var n int64
	for _, r := range whole + frac {
		if r < '0' || r > '9' || n > 1e13 {
			return 0, false
		}
		n = n*10 + int64(r-'0')
	}
	return n, true
}

// FormatMinorUnits writes cents as "12.50".
func FormatMinorUnits(n int64) string { return fmt.Sprintf("%d.%02d", n/100, n%100) }

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && !strings.ContainsAny(u.Host, " <>\"")
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Doc builds the search document for an app, with its identifiers as aliases.
func (a App) Doc(categoryName string, aliases []string) IndexDoc {
	return IndexDoc{
		Slug: a.Slug, Name: a.Name, Vendor: a.Vendor, Description: a.Description,
		Category: a.Category, CategoryLabel: categoryName, Tags: a.Tags(), Aliases: aliases,
		Status: a.Status, StatusRank: a.Status.Rank(), UpdatedAt: a.UpdatedAt,
	}
}
