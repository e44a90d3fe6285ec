// Package seed holds Paved's starter catalogue: a curated list of well-known SaaS and cloud
// apps (apps.json) and a small, believable demo approval policy over some of them (demo.json)
// for the dev quick start. Both files are embedded in the binary and validated every time they
// are read, so a bad edit fails the tests rather than reaching a database.
package seed

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed apps.json
var appsJSON []byte

//go:embed demo.json
var demoJSON []byte

// Limits that every catalogue record must respect.
const (
	MaxDescriptionLen = 140 // characters (runes), including the final full stop
	MinTags           = 2
	MaxTags           = 5
	MaxSlugLen        = 64
	MaxTagLen         = 40
)

// Category slugs. Every app belongs to exactly one.
const (
	CategoryProductivity        = "productivity"
	CategoryChat                = "chat"
	CategoryVideoConferencing   = "video-conferencing"
	CategoryProjectManagement   = "project-management"
	CategoryNotesDocs           = "notes-docs"
	CategoryDesign              = "design"
	CategoryDiagramming         = "diagramming"
	CategoryDeveloperTools      = "developer-tools"
	CategorySourceAndCI         = "source-and-ci"
	CategoryMonitoring          = "monitoring"
	CategoryCloudInfrastructure = "cloud-infrastructure"
	CategoryDatabases           = "databases"
	CategoryCRMSales            = "crm-sales"
	CategoryMarketing           = "marketing"
	CategoryAnalytics           = "analytics"
	CategoryHR                  = "hr"
	CategoryFinance             = "finance"
	CategoryESignature          = "e-signature"
	CategoryFileStorage         = "file-storage"
	CategorySecurity            = "security"
	CategoryCustomerSupport     = "customer-support"
	CategoryAI                  = "ai"
)

// Category is one way of grouping the catalogue: a stable slug and a label for people.
type Category struct {
	Slug  string `json:"slug"`
	Label string `json:"label"`
}

var categories = []Category{
	{CategoryProductivity, "Productivity & Office Suites"},
	{CategoryChat, "Chat & Messaging"},
	{CategoryVideoConferencing, "Video Conferencing & Calling"},
	{CategoryProjectManagement, "Project & Work Management"},
	{CategoryNotesDocs, "Notes, Docs & Knowledge Bases"},
	{CategoryDesign, "Design & Creative"},
	{CategoryDiagramming, "Diagramming & Whiteboards"},
	{CategoryDeveloperTools, "Developer Tools & APIs"},
	{CategorySourceAndCI, "Source Hosting & CI/CD"},
	{CategoryMonitoring, "Monitoring & Observability"},
	{CategoryCloudInfrastructure, "Cloud Infrastructure & Hosting"},
	{CategoryDatabases, "Databases & Data Platforms"},
	{CategoryCRMSales, "CRM & Sales"},
	{CategoryMarketing, "Marketing, Websites & Surveys"},
	{CategoryAnalytics, "Analytics & BI"},
	{CategoryHR, "HR, Recruiting & Payroll"},
	{CategoryFinance, "Finance, Payments & Expenses"},
	{CategoryESignature, "E-Signature & Contracts"},
	{CategoryFileStorage, "File Storage & Sharing"},
	{CategorySecurity, "Security, Identity & Passwords"},
	{CategoryCustomerSupport, "Customer Support & IT Service Desk"},
	{CategoryAI, "AI Assistants & Tools"},
}

// Categories returns every category in display order. The slice is a copy.
func Categories() []Category { return slices.Clone(categories) }

// CategoryLabel returns the label of the category with the given slug.
func CategoryLabel(slug string) (string, bool) {
	for _, c := range categories {
		if c.Slug == slug {
			return c.Label, true
		}
	}
	return "", false
}

// App is one catalogue entry.
type App struct {
	Name   string `json:"name"`
	Slug   string `json:"slug"`
	Vendor string `json:"vendor"` // the company that owns the product today
	// Domain is the product's main web host, e.g. "slack.com". Where one vendor serves several
	// products from one site, it is a product-specific host such as "drive.google.com".
	Domain      string   `json:"domain"`
	Category    string   `json:"category"`    // a Category slug
	Description string   `json:"description"` // one sentence, at most MaxDescriptionLen runes
	Tags        []string `json:"tags"`        // MinTags..MaxTags lowercase search keywords
	// Aliases are other names the app appears under, e.g. in identity-provider logs.
	Aliases []string `json:"aliases,omitempty"`
}

var (
	slugRe   = regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`)
	domainRe = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
)

// ValidSlug reports whether s is a well-formed slug: lowercase letters and digits in groups
// joined by single hyphens, at most MaxSlugLen characters.
func ValidSlug(s string) bool { return len(s) <= MaxSlugLen && slugRe.MatchString(s) }

// Apps returns the embedded catalogue, parsed and validated.
func Apps() ([]App, error) {
	apps, err := ParseApps(appsJSON)
	if err != nil {
		return nil, fmt.Errorf("seed: apps.json: %w", err)
	}
	return apps, nil
}

// ParseApps decodes a JSON array of apps, rejecting unknown fields, and validates the result
// with ValidateApps.
func ParseApps(data []byte) ([]App, error) {
	var apps []App
	if err := decodeStrict(data, &apps); err != nil {
		return nil, err
	}
	if err := ValidateApps(apps); err != nil {
		return nil, err
	}
	return apps, nil
}

// ValidateApps checks every record and the list as a whole: required fields, slug and domain
// format, known category, description length, tags, and that slugs, names, domains and aliases
// are unique (names and aliases case-insensitively). It reports every problem found, joined.
func ValidateApps(apps []App) error {
	if len(apps) == 0 {
		return errors.New("no apps")
	}
	var errs []error
	bySlug := map[string]int{}
	byDomain := map[string]int{}
	byName := map[string]int{} // lowercased name or alias -> index of the app that owns it
	for i, a := range apps {
		where := appRef(i, a)
		for _, p := range appProblems(a) {
			errs = append(errs, fmt.Errorf("%s: %s", where, p))
		}
		if a.Slug != "" {
			if j, dup := bySlug[a.Slug]; dup {
				errs = append(errs, fmt.Errorf("%s: duplicate slug %q (also %s)", where, a.Slug, appRef(j, apps[j])))
			} else {
				bySlug[a.Slug] = i
			}
		}
		if a.Domain != "" {
			if j, dup := byDomain[a.Domain]; dup {
				errs = append(errs, fmt.Errorf("%s: duplicate domain %q (also %s)", where, a.Domain, appRef(j, apps[j])))
			} else {
				byDomain[a.Domain] = i
			}
		}
		if a.Name != "" {
			k := strings.ToLower(a.Name)
			if j, dup := byName[k]; dup {
				errs = append(errs, fmt.Errorf("%s: duplicate name %q (also a name or alias of %s)", where, a.Name, appRef(j, apps[j])))
			} else {
				byName[k] = i
			}
		}
	}
	// Aliases after all names, so an alias that shadows a later app's name is reported on the alias.
	for i, a := range apps {
		for _, al := range a.Aliases {
			k := strings.ToLower(al)
			if al == "" || k == strings.ToLower(a.Name) {
				continue // reported by appProblems
			}
			if j, dup := byName[k]; dup {
				if j != i { // a repeat within one app is reported by appProblems
					errs = append(errs, fmt.Errorf("%s: alias %q is already a name or alias of %s", appRef(i, a), al, appRef(j, apps[j])))
				}
				continue
			}
			byName[k] = i
		}
	}
	return errors.Join(errs...)
}

func appRef(i int, a App) string {
	if a.Slug != "" {
		return fmt.Sprintf("app %d (%s)", i, a.Slug)
	}
	return fmt.Sprintf("app %d", i)
}

// appProblems checks one record on its own.
func appProblems(a App) []string {
	var ps []string
	text := func(field, v string) bool {
		switch {
		case v == "":
			ps = append(ps, field+" is required")
			return false
		case strings.TrimSpace(v) != v:
			ps = append(ps, fmt.Sprintf("%s %q has leading or trailing spaces", field, v))
			return false
		case strings.ContainsFunc(v, unicode.IsControl):
			ps = append(ps, fmt.Sprintf("%s %q contains a control character", field, v))
			return false
		}
		return true
	}
	text("name", a.Name)
	text("vendor", a.Vendor)
	if text("slug", a.Slug) && !ValidSlug(a.Slug) {
		ps = append(ps, fmt.Sprintf("slug %q must be lowercase a-z, 0-9 and single inner hyphens, at most %d characters", a.Slug, MaxSlugLen))
	}
	if text("domain", a.Domain) && (len(a.Domain) > 253 || !domainRe.MatchString(a.Domain)) {
		ps = append(ps, fmt.Sprintf("domain %q must be a bare lowercase host name such as example.com (no scheme, port or path)", a.Domain))
	}
	if text("category", a.Category) {
		if _, ok := CategoryLabel(a.Category); !ok {
			ps = append(ps, fmt.Sprintf("unknown category %q", a.Category))
		}
	}
	if text("description", a.Description) {
		if n := utf8.RuneCountInString(a.Description); n > MaxDescriptionLen {
			ps = append(ps, fmt.Sprintf("description is %d characters, over the limit of %d", n, MaxDescriptionLen))
		}
		if !strings.HasSuffix(a.Description, ".") {
			ps = append(ps, "description must be one sentence ending with a full stop")
		}
	}
	if n := len(a.Tags); n < MinTags || n > MaxTags {
		ps = append(ps, fmt.Sprintf("has %d tags, want %d to %d", n, MinTags, MaxTags))
	}
	seenTags := map[string]bool{}
	for _, t := range a.Tags {
		switch {
		case t == "" || strings.TrimSpace(t) != t || strings.Contains(t, "  "):
			ps = append(ps, fmt.Sprintf("tag %q must be non-empty with single spaces between words", t))
		case strings.ToLower(t) != t:
			ps = append(ps, fmt.Sprintf("tag %q must be lowercase", t))
		case utf8.RuneCountInString(t) > MaxTagLen:
			ps = append(ps, fmt.Sprintf("tag %q is longer than %d characters", t, MaxTagLen))
		case seenTags[t]:
			ps = append(ps, fmt.Sprintf("duplicate tag %q", t))
		}
		seenTags[t] = true
	}
	seenAliases := map[string]bool{}
	for _, al := range a.Aliases {
		if !text("alias", al) {
			continue
		}
		k := strings.ToLower(al)
		switch {
		case k == strings.ToLower(a.Name):
			ps = append(ps, fmt.Sprintf("alias %q repeats the app's name", al))
		case seenAliases[k]:
			ps = append(ps, fmt.Sprintf("duplicate alias %q", al))
		}
		seenAliases[k] = true
	}
	return ps
}

// decodeStrict decodes exactly one JSON value into v, rejecting unknown fields and trailing data.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode: unexpected data after the top-level value")
	}
	return nil
}

// Status is a demo approval decision.
type Status string

// The demo approval decisions.
const (
	StatusApproved               Status = "approved"
	StatusApprovedWithConditions Status = "approved_with_conditions"
	StatusUnderReview            Status = "under_review"
	StatusNotApproved            Status = "not_approved"
	StatusRetired                Status = "retired"
)

// Statuses returns every status, from most to least permissive.
func Statuses() []Status {
	return []Status{StatusApproved, StatusApprovedWithConditions, StatusUnderReview, StatusNotApproved, StatusRetired}
}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// String returns the status slug.
func (s Status) String() string { return string(s) }

// Usable reports whether employees may use the app: approved, with or without conditions.
func (s Status) Usable() bool { return s == StatusApproved || s == StatusApprovedWithConditions }

// Classification is a data classification level.
type Classification string

// Data classification levels, from least to most sensitive.
const (
	ClassificationPublic       Classification = "public"
	ClassificationInternal     Classification = "internal"
	ClassificationConfidential Classification = "confidential"
	ClassificationRestricted   Classification = "restricted"
)

// Classifications returns every level, from least to most sensitive.
func Classifications() []Classification {
	return []Classification{ClassificationPublic, ClassificationInternal, ClassificationConfidential, ClassificationRestricted}
}

// Rank orders levels: 1 for public up to 4 for restricted, 0 for an unknown level.
func (c Classification) Rank() int { return slices.Index(Classifications(), c) + 1 }

// Valid reports whether c is one of Classifications.
func (c Classification) Valid() bool { return c.Rank() > 0 }

// Alternative points from an app that may not be used to an approved one.
type Alternative struct {
	Slug string `json:"slug"`
	Note string `json:"note"` // how to use the alternative for the same job
}

// DemoApp is the demo company's decision about one catalogue app.
type DemoApp struct {
	Slug   string `json:"slug"`
	Status Status `json:"status"`
	// MaxDataClassification is the most sensitive data the app may hold; set only for usable apps.
	MaxDataClassification Classification `json:"max_data_classification,omitempty"`
	Conditions            string         `json:"conditions,omitempty"` // for approved_with_conditions
	Access                string         `json:"access,omitempty"`     // how to get access, for usable apps
	Rationale             string         `json:"rationale,omitempty"`  // why; required unless usable
	Alternatives          []Alternative  `json:"alternatives,omitempty"`
	WhatWouldChange       string         `json:"what_would_change,omitempty"` // for not_approved
}

// DemoCatalogue returns the embedded demo policy, validated against the embedded catalogue.
func DemoCatalogue() ([]DemoApp, error) {
	apps, err := Apps()
	if err != nil {
		return nil, err
	}
	demo, err := ParseDemo(demoJSON, apps)
	if err != nil {
		return nil, fmt.Errorf("seed: demo.json: %w", err)
	}
	return demo, nil
}

// ParseDemo decodes a JSON array of demo decisions, rejecting unknown fields, and validates it
// against apps with ValidateDemo.
func ParseDemo(data []byte, apps []App) ([]DemoApp, error) {
	var demo []DemoApp
	if err := decodeStrict(data, &demo); err != nil {
		return nil, err
	}
	if err := ValidateDemo(demo, apps); err != nil {
		return nil, err
	}
	return demo, nil
}

// ValidateDemo checks demo decisions against the catalogue apps: every slug names a catalogue
// app and appears once; each status carries the fields it needs (access and a classification
// for usable apps, conditions for approved_with_conditions, alternatives and what would change
// the decision for not_approved, a replacement for retired) and none it should not; and every
// alternative points to a different app whose demo status is usable.
func ValidateDemo(demo []DemoApp, apps []App) error {
	if len(demo) == 0 {
		return errors.New("no demo decisions")
	}
	known := make(map[string]bool, len(apps))
	for _, a := range apps {
		known[a.Slug] = true
	}
	status := map[string]Status{}
	var errs []error
	for i, d := range demo {
		if d.Slug == "" {
			continue
		}
		if _, dup := status[d.Slug]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate slug %q", demoRef(i, d), d.Slug))
			continue
		}
		status[d.Slug] = d.Status
	}
	for i, d := range demo {
		where := demoRef(i, d)
		for _, p := range demoProblems(d, known, status) {
			errs = append(errs, fmt.Errorf("%s: %s", where, p))
		}
	}
	return errors.Join(errs...)
}

func demoRef(i int, d DemoApp) string {
	if d.Slug != "" {
		return fmt.Sprintf("demo %d (%s)", i, d.Slug)
	}
	return fmt.Sprintf("demo %d", i)
}

func demoProblems(d DemoApp, known map[string]bool, status map[string]Status) []string {
	var ps []string
	switch {
	case d.Slug == "":
		ps = append(ps, "slug is required")
	case !known[d.Slug]:
		ps = append(ps, fmt.Sprintf("slug %q is not in the catalogue", d.Slug))
	}
	if !d.Status.Valid() {
		ps = append(ps, fmt.Sprintf("unknown status %q", d.Status))
		return ps
	}
	for _, f := range []struct{ name, v string }{
		{"conditions", d.Conditions}, {"access", d.Access}, {"rationale", d.Rationale}, {"what_would_change", d.WhatWouldChange},
	} {
		if f.v != strings.TrimSpace(f.v) {
			ps = append(ps, f.name+" has leading or trailing spaces")
		}
	}
	need := func(ok bool, msg string) {
		if !ok {
			ps = append(ps, msg)
		}
	}
	if d.Status.Usable() {
		need(d.MaxDataClassification != "", d.Status.String()+" needs max_data_classification")
		need(d.MaxDataClassification == "" || d.MaxDataClassification.Valid(), fmt.Sprintf("unknown data classification %q", d.MaxDataClassification))
		need(d.Access != "", d.Status.String()+" needs access instructions")
		need(len(d.Alternatives) == 0, d.Status.String()+" must not list alternatives")
		need(d.WhatWouldChange == "", d.Status.String()+" must not have what_would_change")
	} else {
		need(d.MaxDataClassification == "", d.Status.String()+" must not allow a data classification")
		need(d.Access == "", d.Status.String()+" must not have access instructions")
		need(d.Conditions == "", d.Status.String()+" must not have conditions")
		need(d.Rationale != "", d.Status.String()+" needs a rationale")
	}
	switch d.Status {
	case StatusApproved:
		need(d.Conditions == "", "approved must not have conditions (use approved_with_conditions)")
	case StatusApprovedWithConditions:
		need(d.Conditions != "", "approved_with_conditions needs conditions")
	case StatusNotApproved:
		need(len(d.Alternatives) > 0, "not_approved needs at least one alternative")
		need(d.WhatWouldChange != "", "not_approved needs what_would_change")
	case StatusRetired:
		need(len(d.Alternatives) > 0, "retired needs at least one alternative (its replacement)")
	}
	seen := map[string]bool{}
	for _, alt := range d.Alternatives {
		st, decided := status[alt.Slug]
		switch {
		case alt.Slug == "":
			ps = append(ps, "alternative slug is required")
		case alt.Slug == d.Slug:
			ps = append(ps, "alternative points to the app itself")
		case seen[alt.Slug]:
			ps = append(ps, fmt.Sprintf("duplicate alternative %q", alt.Slug))
		case !known[alt.Slug]:
			ps = append(ps, fmt.Sprintf("alternative %q is not in the catalogue", alt.Slug))
		case !decided:
			ps = append(ps, fmt.Sprintf("alternative %q has no demo decision, so it is not approved", alt.Slug))
		case !st.Usable():
			ps = append(ps, fmt.Sprintf("alternative %q is %s, not approved", alt.Slug, st))
		}
		seen[alt.Slug] = true
		if strings.TrimSpace(alt.Note) == "" {
			ps = append(ps, fmt.Sprintf("alternative %q needs a note", alt.Slug))
		}
	}
	return ps
}
