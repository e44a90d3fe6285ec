package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

// apiAppRoutes are the catalogue's JSON API routes; routeTable includes them. The OpenAPI
// document is served even without a catalogue: it describes the API, not this replica.
func (s *Server) apiAppRoutes() []route {
	routes := []route{{"GET", "/api/openapi.yaml", public, s.openAPI}}
	if s.catalog == nil {
		return routes
	}
	read := access{Role: auth.RoleEmployee, Scope: auth.ScopeCatalogRead}
	write := access{Role: auth.RoleSecurity, Scope: auth.ScopeCatalogWrite}
	return append(routes, []route{
		{"GET", "/api/v1/apps", read, s.apiListApps},
		{"POST", "/api/v1/apps", write, s.apiCreateApp},
		{"GET", "/api/v1/apps/:slug", read, s.apiGetApp},
		{"PUT", "/api/v1/apps/:slug", write, s.apiReplaceApp},
		{"POST", "/api/v1/apps/:slug/identifiers", write, s.apiAddIdentifier},
		{"POST", "/api/v1/apps/:slug/alternatives", write, s.apiSetAlternative},
		{"PUT", "/api/v1/apps/:slug/conditions", write, s.apiSetConditions},
	}...)
}

// API paging: a page is at most maxAPIPerPage apps, and pages stop at maxAPIPage so that an
// offset can never overflow or make the index collect an absurd number of hits.
const (
	defaultAPIPerPage = 20
	maxAPIPerPage     = 100
	maxAPIPage        = 10000
	maxAPIQuery       = 200 // runes of search text
)

// apiAppSummary is one search hit: what the index holds of an app, minus ranking internals.
type apiAppSummary struct {
	Slug          string         `json:"slug"`
	Name          string         `json:"name"`
	Vendor        string         `json:"vendor"`
	Description   string         `json:"description"`
	Category      string         `json:"category"`
	CategoryLabel string         `json:"category_label"`
	Tags          []string       `json:"tags"`
	Status        catalog.Status `json:"status"`
}

// apiAppList is GET /api/v1/apps: one page of hits with facet counts over every match.
type apiAppList struct {
	Apps    []apiAppSummary `json:"apps"`
	Total   int             `json:"total"`
	Page    int             `json:"page"`
	PerPage int             `json:"per_page"`
	Facets  apiFacets       `json:"facets"`
	// DidYouMean is the catalogue name closest to a q that matched nothing; empty otherwise.
	DidYouMean string `json:"did_you_mean"`
}

// apiFacets count the matches per status (every status, zeros included) and per category
// (categories with at least one match).
type apiFacets struct {
	Status   map[catalog.Status]int `json:"status"`
	Category map[string]int         `json:"category"`
}

// apiListApps searches the catalogue: ?q=&status=&category=&page=&per_page=. Status and
// category take several values, repeated or comma-separated.
func (s *Server) apiListApps(c *gin.Context) {
	ctx := c.Request.Context()
	f := errs.Fields{}
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > maxAPIQuery {
		f.Add("q", fmt.Sprintf("Use at most %d characters.", maxAPIQuery))
	}
	var statuses []catalog.Status
	for _, v := range splitParams(c.QueryArray("status")) {
		st := catalog.Status(v)
		if !st.Valid() {
			f.Add("status", fmt.Sprintf("Unknown status “%s”; use %s.", v, statusNames()))
			continue
		}
		statuses = append(statuses, st)
	}
	page := intParam(c, f, "page", 1, 1, maxAPIPage)
	perPage := intParam(c, f, "per_page", defaultAPIPerPage, 1, maxAPIPerPage)
	cats := splitParams(c.QueryArray("category"))
	if len(cats) > 0 {
		known, err := s.catalog.Categories(ctx)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, v := range cats {
			if !hasCategory(known, v) {
				f.Add("category", fmt.Sprintf("Unknown category “%s”.", v))
			}
		}
	}
	if err := f.Err(); err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.catalog.Search(ctx, catalog.SearchQuery{Text: q, Statuses: statuses, Categories: cats, Limit: perPage, Offset: (page - 1) * perPage, Suggest: true})
	if err != nil {
		s.fail(c, err)
		return
	}
	out := apiAppList{Apps: make([]apiAppSummary, 0, len(res.Hits)), Total: res.Total, Page: page, PerPage: perPage, DidYouMean: res.Suggestion,
		Facets: apiFacets{Status: map[catalog.Status]int{}, Category: map[string]int{}}}
	for _, h := range res.Hits {
		tags := h.Tags
		if tags == nil {
			tags = []string{}
		}
		out.Apps = append(out.Apps, apiAppSummary{Slug: h.Slug, Name: h.Name, Vendor: h.Vendor, Description: h.Description,
			Category: h.Category, CategoryLabel: h.CategoryLabel, Tags: tags, Status: h.Status})
	}
	for _, st := range catalog.Statuses {
		out.Facets.Status[st] = res.StatusCounts[st]
	}
	for cat, n := range res.CategoryCounts {
		if n > 0 {
			out.Facets.Category[cat] = n
		}
	}
	c.JSON(http.StatusOK, out)
}

// intParam reads an optional whole-number query parameter within [lo, hi], recording a field
// error otherwise.
func intParam(c *gin.Context, f errs.Fields, name string, def, lo, hi int) int {
	v, ok := c.GetQuery(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		f.Add(name, fmt.Sprintf("Use a whole number from %d to %d.", lo, hi))
		return def
	}
	return n
}

func statusNames() string {
	names := make([]string, len(catalog.Statuses))
	for i, st := range catalog.Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

func hasCategory(cats []catalog.Category, slug string) bool {
	for _, c := range cats {
		if c.Slug == slug {
			return true
		}
	}
	return false
}

// apiAppDetail is one app as the API shows it: its fields, identifiers, alternatives and risk
// score. Every field is always present, so clients need not guess between absent and empty.
type apiAppDetail struct {
	// CheckedConditions are the structured conditions discovery holds usage against.
	CheckedConditions  catalog.Conditions    `json:"checked_conditions"`
	Slug               string                `json:"slug"`
	Name               string                `json:"name"`
	Vendor             string                `json:"vendor"`
	Website            string                `json:"website"`
	Description        string                `json:"description"`
	Category           string                `json:"category"`
	CategoryLabel      string                `json:"category_label"`
	Tags               []string              `json:"tags"`
	LogoURL            string                `json:"logo_url"`
	Status             catalog.Status        `json:"status"`
	Conditions         string                `json:"conditions"`
	MaxClassification  string                `json:"max_classification"`
	AccessInstructions string                `json:"access_instructions"`
	DecisionRationale  string                `json:"decision_rationale"`
	WhatWouldChange    string                `json:"what_would_change"`
	BusinessOwner      string                `json:"business_owner"`
	LicenceModel       string                `json:"licence_model"`
	ListCost           *string               `json:"list_cost"` // "12.50", as it is written
	ListCostCurrency   string                `json:"list_cost_currency"`
	CreatedAt          time.Time             `json:"created_at"`
	UpdatedAt          time.Time             `json:"updated_at"`
	Identifiers        []catalog.Identifier  `json:"identifiers"`
	Alternatives       []catalog.Alternative `json:"alternatives"`
	Risk               apiRisk               `json:"risk"`
}

// apiRisk is the risk score with every factor that made it, and any override.
type apiRisk struct {
	Score          float64         `json:"score"`    // the score shown: the override when there is one
	Computed       float64         `json:"computed"` // the score the factors give
	Overridden     bool            `json:"overridden"`
	OverrideReason string          `json:"override_reason"`
	Answered       int             `json:"answered"`
	ReviewedAt     *time.Time      `json:"reviewed_at"`
	ReviewedBy     string          `json:"reviewed_by"`
	Factors        []apiRiskFactor `json:"factors"`
}

// apiRiskFactor is one line of the score's explanation.
type apiRiskFactor struct {
	Key         string         `json:"key"`
	Group       string         `json:"group"`
	Label       string         `json:"label"`
	Answer      catalog.Answer `json:"answer"`
	Weight      int            `json:"weight"`
	WeightLabel string         `json:"weight_label"`
	Points      float64        `json:"points"`
	MaxPoints   float64        `json:"max_points"`
	Note        string         `json:"note"`
	EvidenceURL string         `json:"evidence_url"`
	CheckedOn   *string        `json:"checked_on"` // a date, 2026-01-31
	Stale       bool           `json:"stale"`
}

func apiDetailOf(d catalog.AppDetail) apiAppDetail {
	a := d.App
	out := apiAppDetail{
		Slug: a.Slug, Name: a.Name, Vendor: a.Vendor, Website: a.Website, Description: a.Description,
		Category: a.Category, CategoryLabel: d.CategoryName, Tags: a.Tags(), LogoURL: a.LogoURL, Status: a.Status,
		Conditions: a.Conditions, MaxClassification: string(a.MaxClassification), AccessInstructions: a.AccessInstructions,
		DecisionRationale: a.DecisionRationale, WhatWouldChange: a.WhatWouldChange, BusinessOwner: a.BusinessOwner,
		LicenceModel: a.LicenceModel, ListCostCurrency: a.ListCostCurrency, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Identifiers: d.Identifiers, Alternatives: d.Alternatives, CheckedConditions: d.Checks,
		Risk: apiRisk{Score: d.Score.Value, Computed: d.Score.Computed, Overridden: d.Score.Overridden, OverrideReason: d.Score.Reason,
			Answered: d.Score.Answered, ReviewedAt: a.RiskReviewedAt, ReviewedBy: a.RiskReviewedBy, Factors: make([]apiRiskFactor, 0, len(d.Score.Factors))},
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if out.Identifiers == nil {
		out.Identifiers = []catalog.Identifier{}
	}
	if out.Alternatives == nil {
		out.Alternatives = []catalog.Alternative{}
	}
	if a.ListCostMinor != nil {
		cost := catalog.FormatMinorUnits(*a.ListCostMinor)
		out.ListCost = &cost
	}
	for _, f := range d.Score.Factors {
		rf := apiRiskFactor{Key: f.Key, Group: f.Group, Label: f.Label, Answer: f.Answer, Weight: int(f.Weight), WeightLabel: f.Weight.Label(),
			Points: round2(f.Points), MaxPoints: round2(f.Max), Note: f.Note, EvidenceURL: f.EvidenceURL, Stale: f.Stale}
		if f.CheckedOn != nil {
			day := f.CheckedOn.Format(time.DateOnly)
			rf.CheckedOn = &day
		}
		out.Risk.Factors = append(out.Risk.Factors, rf)
	}
	return out
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func (s *Server) apiGetApp(c *gin.Context) {
	d, err := s.catalog.Detail(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, apiDetailOf(d))
}

// apiAppInput is the body of POST /api/v1/apps and PUT /api/v1/apps/{slug}: the fields of
// catalog.AppInput in snake_case, with tags as a list.
type apiAppInput struct {
	Slug               string   `json:"slug"`
	Name               string   `json:"name"`
	Vendor             string   `json:"vendor"`
	Website            string   `json:"website"`
	Description        string   `json:"description"`
	Category           string   `json:"category"`
	Tags               []string `json:"tags"`
	LogoURL            string   `json:"logo_url"`
	Status             string   `json:"status"`
	Conditions         string   `json:"conditions"`
	MaxClassification  string   `json:"max_classification"`
	AccessInstructions string   `json:"access_instructions"`
	DecisionRationale  string   `json:"decision_rationale"`
	WhatWouldChange    string   `json:"what_would_change"`
	BusinessOwner      string   `json:"business_owner"`
	LicenceModel       string   `json:"licence_model"`
	ListCost           string   `json:"list_cost"` // "12.50": a string, so no cent is lost to floating point
	ListCostCurrency   string   `json:"list_cost_currency"`
}

// appInput turns the body into the catalogue's input. Tags travel as a comma-separated string
// there, so a tag holding a comma would silently become two: it is refused instead.
func (in apiAppInput) appInput() (catalog.AppInput, error) {
	for _, t := range in.Tags {
		if strings.Contains(t, ",") {
			return catalog.AppInput{}, errInvalidField("tags", "A tag cannot contain a comma; send each tag as its own list item.")
		}
	}
	return catalog.AppInput{
		Slug: in.Slug, Name: in.Name, Vendor: in.Vendor, Website: in.Website, Description: in.Description,
		Category: in.Category, Tags: strings.Join(in.Tags, ", "), LogoURL: in.LogoURL, Status: in.Status,
		Conditions: in.Conditions, MaxClassification: in.MaxClassification, AccessInstructions: in.AccessInstructions,
		DecisionRationale: in.DecisionRationale, WhatWouldChange: in.WhatWouldChange, BusinessOwner: in.BusinessOwner,
		LicenceModel: in.LicenceModel, ListCost: in.ListCost, ListCostCurrency: in.ListCostCurrency,
	}, nil
}

func (s *Server) apiCreateApp(c *gin.Context) {
	var body apiAppInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	in, err := body.appInput()
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.catalog.CreateApp(c.Request.Context(), actorOf(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondApp(c, http.StatusCreated, a.Slug)
}

// apiReplaceApp replaces every field of an app. Without a slug in the body the app keeps its
// own: renaming takes an explicit new slug, never a side effect of a changed name.
func (s *Server) apiReplaceApp(c *gin.Context) {
	var body apiAppInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if strings.TrimSpace(body.Slug) == "" {
		body.Slug = c.Param("slug")
	}
	in, err := body.appInput()
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.catalog.UpdateApp(c.Request.Context(), actorOf(c), c.Param("slug"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondApp(c, http.StatusOK, a.Slug)
}

// apiIdentifierInput is the body of POST /api/v1/apps/{slug}/identifiers.
type apiIdentifierInput struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

func (s *Server) apiAddIdentifier(c *gin.Context) {
	var body apiIdentifierInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	id, err := s.catalog.AddIdentifier(c.Request.Context(), actorOf(c), c.Param("slug"), catalog.IdentifierKind(strings.TrimSpace(body.Kind)), body.Value)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, id)
}

// apiAlternativeInput is the body of POST /api/v1/apps/{slug}/alternatives.
type apiAlternativeInput struct {
	Alternative string `json:"alternative"`
	Note        string `json:"note"`
}

// apiSetAlternative recommends an approved app instead of this one, or changes the note of an
// existing recommendation; it answers with the app, alternatives included.
func (s *Server) apiSetAlternative(c *gin.Context) {
	var body apiAlternativeInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	slug := c.Param("slug")
	if err := s.catalog.SetAlternative(c.Request.Context(), actorOf(c), slug, strings.TrimSpace(body.Alternative), body.Note); err != nil {
		s.fail(c, err)
		return
	}
	s.respondApp(c, http.StatusOK, slug)
}

// respondApp answers a write with the app as GET shows it; a new app also gets its address.
func (s *Server) respondApp(c *gin.Context, status int, slug string) {
	d, err := s.catalog.Detail(c.Request.Context(), slug)
	if err != nil {
		s.fail(c, err)
		return
	}
	if status == http.StatusCreated {
		c.Header("Location", "/api/v1/apps/"+d.App.Slug)
	}
	c.JSON(status, apiDetailOf(d))
}

// decodeJSONBody reads one JSON object into v, refusing anything a client would rather hear
// about than have ignored: another content type, unknown fields, wrong types, trailing data.
// Every refusal is an Invalid error saying what to fix; a body over the limit stays a
// *http.MaxBytesError, which fail turns into 413.
func decodeJSONBody(c *gin.Context, v any) error {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errs.E(errs.Invalid, "Send the body as JSON, with Content-Type: application/json.")
	}
	if c.Request.Body == nil {
		return errs.E(errs.Invalid, "The request body is empty; send a JSON object.")
	}
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errs.Wrap(errs.Invalid, err, "The request body could not be read.")
	}
	trimmed := bytes.TrimSpace(raw)
	switch {
	case len(trimmed) == 0:
		return errs.E(errs.Invalid, "The request body is empty; send a JSON object.")
	case trimmed[0] != '{':
		return errs.E(errs.Invalid, "The request body must be a JSON object, {…}.")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonDecodeError(err)
	}
	if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
		return errs.E(errs.Invalid, "The request body holds more than one JSON value; send a single object.")
	}
	return nil
}

// jsonDecodeError turns encoding/json's errors into messages for the person writing the
// client, with the offending field named where there is one.
func jsonDecodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errs.Wrap(errs.Invalid, err, "The request body is not valid JSON: %s (at byte %d).", strings.TrimPrefix(syn.Error(), "json: "), syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Wrap(errs.Invalid, err, "The request body is not valid JSON: it ends before the object is complete.")
	case errors.As(err, &typ) && typ.Field != "":
		msg := fmt.Sprintf("Expected %s, got %s.", jsonKind(typ.Type), article(typ.Value))
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Field “%s” has the wrong type: %s", typ.Field, msg), Fields: map[string]string{typ.Field: msg}, Err: err}
	}
	// encoding/json has no type for an unknown field, only this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, uerr := strconv.Unquote(name); uerr == nil {
			name = n
		}
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("Unknown field “%s” in the request body.", name),
			Fields: map[string]string{name: "This field does not exist; see /api/openapi.yaml for the fields this request takes."}, Err: err}
	}
	return errs.Wrap(errs.Invalid, err, "The request body does not match what this request takes; see /api/openapi.yaml.")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	default:
		return "a number"
	}
}

func article(jsonType string) string {
	switch jsonType {
	case "array", "object":
		return "an " + jsonType
	case "":
		return "something else"
	default:
		return "a " + jsonType
	}
}
