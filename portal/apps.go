package portal

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// catalogueView is the catalogue home: a search box, facets and results.
type catalogueView struct {
	Query      string
	Statuses   []facet
	Categories []facet
	Result     catalog.SearchResult
	Page       int
	PrevURL    string
	NextURL    string
	ProposeURL string
	// SuggestURL searches for Result.Suggestion, the "did you mean" name, without filters.
	SuggestURL string
	CanCreate  bool
}

// facet is one filter value with its count and whether it is selected.
type facet struct {
	Value, Label string
	Count        int
	Selected     bool
	ToggleURL    string
}

const perPage = 20

func (s *Server) catalogue(c *gin.Context) {
	q := strings.TrimSpace(c.Query("q"))
	if utf8.RuneCountInString(q) > maxAPIQuery {
		s.fail(c, errs.E(errs.Invalid, "Search for at most %d characters.", maxAPIQuery))
		return
	}
	statuses := splitParams(c.QueryArray("status"))
	cats := splitParams(c.QueryArray("category"))
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	var st []catalog.Status
	for _, v := range statuses {
		if !catalog.Status(v).Valid() {
			s.fail(c, errInvalidField("status", "Unknown status "+v+"."))
			return
		}
		st = append(st, catalog.Status(v))
	}
	res, err := s.catalog.Search(c.Request.Context(), catalog.SearchQuery{Text: q, Statuses: st, Categories: cats, Limit: perPage, Offset: (page - 1) * perPage, Suggest: true})
	if err != nil {
		s.fail(c, err)
		return
	}
	allCats, err := s.catalog.Categories(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	v := catalogueView{Query: q, Result: res, Page: page, CanCreate: rolesOf(c).Has(auth.RoleSecurity)}
	base := url.Values{}
	if q != "" {
		base.Set("q", q)
	}
	for _, x := range statuses {
		base.Add("status", x)
	}
	for _, x := range cats {
		base.Add("category", x)
	}
	for _, st := range catalog.Statuses {
		v.Statuses = append(v.Statuses, facet{Value: string(st), Label: statusLabel(st), Count: res.StatusCounts[st],
			Selected: slices.Contains(statuses, string(st)), ToggleURL: "/apps?" + toggle(base, "status", string(st)).Encode()})
	}
	for _, ct := range allCats {
		if res.CategoryCounts[ct.Slug] == 0 && !slices.Contains(cats, ct.Slug) {
			continue
		}
		v.Categories = append(v.Categories, facet{Value: ct.Slug, Label: ct.Name, Count: res.CategoryCounts[ct.Slug],
			Selected: slices.Contains(cats, ct.Slug), ToggleURL: "/apps?" + toggle(base, "category", ct.Slug).Encode()})
	}
	if page > 1 {
		p := cloneValues(base)
		p.Set("page", strconv.Itoa(page-1))
		v.PrevURL = "/apps?" + p.Encode()
	}
	if page*perPage < res.Total {
		p := cloneValues(base)
		p.Set("page", strconv.Itoa(page+1))
		v.NextURL = "/apps?" + p.Encode()
	}
	if res.Suggestion != "" {
		v.SuggestURL = "/apps?" + url.Values{"q": {res.Suggestion}}.Encode()
	}
	if q != "" {
		v.ProposeURL = "/requests/new?" + url.Values{"name": {q}}.Encode()
	}
	// htmx asks for the results only as the person types.
	if c.GetHeader("HX-Request") == "true" {
		s.renderFragment(c, "apps", "results", v)
		return
	}
	s.render(c, http.StatusOK, "apps", "Catalogue", v)
}

func (s *Server) appPage(c *gin.Context) { s.renderApp(c, http.StatusOK, nil) }

// renderApp shows the app page, with field errors from a form on it.
func (s *Server) renderApp(c *gin.Context, status int, fieldErrs map[string]string) {
	d, err := s.catalog.Detail(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.fail(c, err)
		return
	}
	v := appView{AppDetail: d, CanEdit: rolesOf(c).Has(auth.RoleSecurity), IdentifierKinds: catalog.IdentifierKinds, Errors: fieldErrs}
	if p := principalOf(c); s.requests != nil && p != nil && p.User != nil {
		r, ok, err := s.requests.AccessOf(c.Request.Context(), p.User.ID, d.App.ID)
		if err != nil {
			s.fail(c, err)
			return
		}
		if ok {
			v.MyAccess = &r
		}
	}
	if v.CanEdit {
		if v.AlternativeChoices, err = s.usableApps(c); err != nil {
			s.fail(c, err)
			return
		}
		if v.Findings, err = s.activeFindings(c, d.App.Slug); err != nil {
			s.fail(c, err)
			return
		}
	}
	s.render(c, status, "app", d.App.Name, v)
}

// appView is the app page.
type appView struct {
	catalog.AppDetail
	// MyAccess is the viewer's latest access request for the app, if any: granted, it turns
	// the button into the instructions; open, into a link to the request.
	MyAccess           *requests.Request
	CanEdit            bool
	IdentifierKinds    any
	AlternativeChoices []catalog.IndexDoc
	Errors             map[string]string
	Form               map[string]string
	// Findings are the app's findings that are not resolved, for security.
	Findings []discovery.Finding
}

// activeFindings lists the findings of the app slug that are not resolved.
func (s *Server) activeFindings(c *gin.Context, slug string) ([]discovery.Finding, error) {
	if s.discovery == nil {
		return nil, nil
	}
	list, err := s.discovery.Findings(c.Request.Context(), discovery.FindingFilter{App: slug})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(f discovery.Finding) bool { return f.Status == discovery.FindingResolved }), nil
}

// usableApps lists approved apps, for the alternative picker.
func (s *Server) usableApps(c *gin.Context) ([]catalog.IndexDoc, error) {
	res, err := s.catalog.Search(c.Request.Context(), catalog.SearchQuery{Statuses: []catalog.Status{catalog.StatusApproved, catalog.StatusApprovedWithConditions}, Limit: 100})
	if err != nil {
		return nil, err
	}
	return res.Hits, nil
}

func statusLabel(st catalog.Status) string {
	return map[catalog.Status]string{
		catalog.StatusApproved: "Approved", catalog.StatusApprovedWithConditions: "Approved with conditions",
		catalog.StatusUnderReview: "Under review", catalog.StatusNotApproved: "Not approved", catalog.StatusRetired: "Retired",
	}[st]
}

func rolesOf(c *gin.Context) auth.RoleSet {
	if p := principalOf(c); p != nil {
		return p.Roles
	}
	return nil
}

// splitParams accepts both ?status=a&status=b and ?status=a,b.
func splitParams(vals []string) []string {
	var out []string
	for _, v := range vals {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// toggle returns v with value added to or removed from key, and paging reset.
func toggle(v url.Values, key, value string) url.Values {
	out := cloneValues(v)
	out.Del("page")
	vals := out[key]
	if i := slices.Index(vals, value); i >= 0 {
		out[key] = slices.Delete(vals, i, i+1)
	} else {
		out[key] = append(vals, value)
	}
	return out
}

func (s *Server) renderFragment(c *gin.Context, page, name string, data any) {
	p := s.page(c, "")
	p.Data = data
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("Vary", "HX-Request")
	c.Status(http.StatusOK)
	if err := s.views.RenderFragment(c.Writer, page, name, p); err != nil {
		s.log.ErrorContext(c.Request.Context(), "render fragment", "page", page, "name", name, "err", err)
	}
}

// formErrors returns the field errors of err, if it is a validation or conflict error.
func formErrors(err error) (map[string]string, bool) {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return nil, false
	}
	return e.Fields, true
}
