package portal

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// uploadPaths accept bodies up to the upload limit instead of the general one.
var uploadPaths = map[string]bool{"/discovery/import": true, "/discovery/people": true, "/api/v1/discovery/imports": true}

// discoveryView is the shadow-IT dashboard: the overview, its trend and the list.
type discoveryView struct {
	Overview  discovery.Overview
	Trend     chart
	TrendDays []discovery.TrendDay
	Apps      []discoveredRow
	NewThisWk []discovery.DiscoveredApp
	Triage    string
	Source    string
	Sort      string
	Sources   []string
	Shadow    bool
	States    []string
	Errors    map[string]string
}

// discoveryFilter reads the dashboard's filters from the query string.
func discoveryFilter(c *gin.Context) discovery.AppFilter {
	f := discovery.AppFilter{Triage: c.Query("triage"), Source: c.Query("source"), ShadowOnly: c.Query("all") == "", Sort: c.Query("sort")}
	if !slices.Contains(discovery.TriageStates, f.Triage) {
		f.Triage = ""
	}
	if !slices.Contains(discovery.Formats(), f.Source) {
		f.Source = ""
	}
	if !slices.Contains([]string{discovery.SortUsers, discovery.SortRisk, discovery.SortLastSeen}, f.Sort) {
		f.Sort = discovery.SortUsers
	}
	return f
}

func (s *Server) discoveryPage(c *gin.Context) {
	s.renderDiscovery(c, http.StatusOK, nil)
}

func (s *Server) renderDiscovery(c *gin.Context, status int, fieldErrs map[string]string) {
	ctx := c.Request.Context()
	f := discoveryFilter(c)
	v := discoveryView{Triage: f.Triage, Source: f.Source, Sort: f.Sort, Sources: discovery.Formats(), Shadow: f.ShadowOnly, States: discovery.TriageStates, Errors: fieldErrs}
	var err error
	if v.Overview, err = s.discovery.Overview(ctx); err != nil {
		s.fail(c, err)
		return
	}
	trend, err := s.discovery.ShadowTrend(ctx, 90)
	if err != nil {
		s.fail(c, err)
		return
	}
	people := map[string]int{}
	for _, d := range trend {
		people[d.Day] = d.People
	}
	v.Trend, v.TrendDays = newChart(90, 900, people, "people", "Distinct people using unapproved apps per day"), trend
	if v.Apps, err = s.discoveredRows(ctx, f); err != nil {
		s.fail(c, err)
		return
	}
	if v.NewThisWk, err = s.discovery.Apps(ctx, discovery.AppFilter{ShadowOnly: true, NewSince: time.Now().AddDate(0, 0, -7), Limit: 10}); err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, status, "discovery", "Discovery", v)
}

// discoveredRow is a discovered app in a list, with its catalogue app's risk score when that
// has been assessed.
type discoveredRow struct {
	discovery.DiscoveredApp
	Risk *catalog.Score `json:"-"`
}

// discoveredRows lists discovered apps with their risk scores. Sorted by risk, the least safe
// assessed apps come first (the score is 0 for the worst, 10 for the best), then those not
// assessed yet, each group by people.
func (s *Server) discoveredRows(ctx context.Context, f discovery.AppFilter) ([]discoveredRow, error) {
	limit := f.Limit
	if f.Sort == discovery.SortRisk {
		f.Limit = 500 // sorted here, then cut
	}
	apps, err := s.discovery.Apps(ctx, f)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, a := range apps {
		if a.AppID != nil {
			ids = append(ids, *a.AppID)
		}
	}
	scores, err := s.catalog.RiskScores(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows := make([]discoveredRow, len(apps))
	for i, a := range apps {
		rows[i].DiscoveredApp = a
		if a.AppID != nil {
			if sc, ok := scores[*a.AppID]; ok {
				rows[i].Risk = &sc
			}
		}
	}
	if f.Sort == discovery.SortRisk {
		slices.SortStableFunc(rows, func(x, y discoveredRow) int {
			switch {
			case x.Risk != nil && y.Risk != nil:
				return cmp.Compare(x.Risk.Value, y.Risk.Value)
			case x.Risk != nil:
				return -1
			case y.Risk != nil:
				return 1
			}
			return 0
		})
		if limit <= 0 || limit > 500 {
			limit = 200
		}
		rows = rows[:min(len(rows), limit)]
	}
	return rows, nil
}

// discoveredAppView is one discovered app: its identifiers, trend, users and the triage forms.
type discoveredAppView struct {
	App        discovery.DiscoveredApp
	Users      []discovery.UserUsage
	Depts      []discovery.DepartmentUsage
	MinUsers   int
	Chart      chart
	Days       []discovery.DailyCount
	States     []string
	Categories []catalog.Category
	Catalogue  []catalog.IndexDoc        // the catalogue apps whose names are closest to this one
	Query      string                    // what the catalogue was searched for
	Others     []discovery.DiscoveredApp // the apps it could be merged into
	Errors     map[string]string
}

// chart is a bar chart of one number per day, drawn as SVG on the server: no script, and
// described for screen readers by its title and the table beside it (the page's own data).
type chart struct {
	Bars           []bar
	Width, Height  int
	Max            int
	Summary        string
	FirstDay, Last string
}

type bar struct {
	X, Y, W, H int
	Label      string
}

// newChart lays out one bar per day of the span days ending today, from the value of each day
// (YYYY-MM-DD); unit names what is counted ("sign-ins and grants") and what summarises the
// chart ("Sign-ins and grants per day").
func newChart(span, width int, value map[string]int, unit, what string) chart {
	ch := chart{Width: width, Height: 120}
	for _, v := range value {
		ch.Max = max(ch.Max, v)
	}
	start := time.Now().UTC().AddDate(0, 0, -span+1)
	w := width / span
	for i := range span {
		day := start.AddDate(0, 0, i).Format(time.DateOnly)
		v, h := value[day], 0
		if ch.Max > 0 {
			h = v * (ch.Height - 10) / ch.Max
		}
		ch.Bars = append(ch.Bars, bar{X: i * w, Y: ch.Height - h, W: max(w-1, 1), H: h, Label: fmt.Sprintf("%s: %d %s", day, v, unit)})
	}
	ch.FirstDay, ch.Last = start.Format("2 Jan"), time.Now().UTC().Format("2 Jan")
	ch.Summary = fmt.Sprintf("%s over the last %d days, at most %d on one day.", what, span, ch.Max)
	return ch
}

// appIDParam reads a discovered app's id from the path; anything else is not found.
func appIDParam(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "No discovered app %q.", c.Param("id"))
	}
	return id, nil
}

func (s *Server) discoveredAppPage(c *gin.Context) {
	id, err := appIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderDiscoveredApp(c, http.StatusOK, id, nil)
}

// legacyDiscoveredApp sends an old link, by identifier, to the app the identifier belongs to.
func (s *Server) legacyDiscoveredApp(c *gin.Context) {
	id, err := s.discovery.AppOfIdentifier(c.Request.Context(), c.Query("key"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusMovedPermanently, discoveredAppURL(id))
}

func discoveredAppURL(id int64) string { return "/discovery/apps/" + strconv.FormatInt(id, 10) }

func (s *Server) renderDiscoveredApp(c *gin.Context, status int, id int64, fieldErrs map[string]string) {
	ctx := c.Request.Context()
	a, err := s.discovery.App(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	users, err := s.discovery.Users(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	days, err := s.discovery.Daily(ctx, id, 30)
	if err != nil {
		s.fail(c, err)
		return
	}
	depts, err := s.discovery.Departments(ctx, id, s.cfg.PrivacyMinUsers)
	if err != nil {
		s.fail(c, err)
		return
	}
	cats, err := s.catalog.Categories(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Linking searches the whole catalogue: by the app's name until security types something.
	query := strings.TrimSpace(c.Query("q"))
	res, err := s.catalog.Search(ctx, catalog.SearchQuery{Text: cmp.Or(query, a.Name), Limit: 8})
	if err != nil {
		s.fail(c, err)
		return
	}
	others, err := s.discovery.Apps(ctx, discovery.AppFilter{Limit: 500, Sort: discovery.SortLastSeen})
	if err != nil {
		s.fail(c, err)
		return
	}
	others = slices.DeleteFunc(others, func(o discovery.DiscoveredApp) bool { return o.ID == id })
	slices.SortFunc(others, func(x, y discovery.DiscoveredApp) int {
		return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
	})
	events := map[string]int{}
	for _, d := range days {
		events[d.Day] = d.Events
	}
	s.render(c, status, "discovered_app", a.Name, discoveredAppView{App: a, Users: users, Days: days, Depts: depts, MinUsers: s.cfg.PrivacyMinUsers,
		Chart: newChart(30, 600, events, "sign-ins and grants", "Sign-ins and grants per day"), States: discovery.TriageStates,
		Categories: cats, Catalogue: res.Hits, Query: query, Others: others, Errors: fieldErrs})
}

// discoveryAction runs an action on the app in the path and goes to the app it leaves (the
// one merged into, the one split off).
func (s *Server) discoveryAction(do func(c *gin.Context, id int64) (string, int64, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := appIDParam(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		msg, next, err := do(c, id)
		if err != nil {
			if fields, ok := formErrors(err); ok {
				s.renderDiscoveredApp(c, statusOfErr(err), id, fields)
				return
			}
			s.fail(c, err)
			return
		}
		s.flash(c, "success", msg)
		c.Redirect(http.StatusSeeOther, discoveredAppURL(next))
	}
}

func (s *Server) triageApp(c *gin.Context, id int64) (string, int64, error) {
	return "Triage saved.", id, s.discovery.Triage(c.Request.Context(), actorOf(c), []int64{id}, c.PostForm("triage"), c.PostForm("note"), c.PostForm("assignee"))
}

func (s *Server) linkApp(c *gin.Context, id int64) (string, int64, error) {
	kept, err := s.discovery.Link(c.Request.Context(), actorOf(c), id, c.PostForm("slug"))
	if err != nil {
		return "", 0, err
	}
	if kept != id {
		return "Linked, and merged with the app already linked to it. The next import matches it by itself.", kept, nil
	}
	return "Linked. The next import matches it by itself.", kept, nil
}

func (s *Server) mergeApp(c *gin.Context, id int64) (string, int64, error) {
	into, err := strconv.ParseInt(c.PostForm("into"), 10, 64)
	if err != nil {
		return "", 0, errInvalidField("into", "Choose an app to merge with.")
	}
	if err := s.discovery.Merge(c.Request.Context(), actorOf(c), id, into); err != nil {
		return "", 0, err
	}
	return "Merged. Each person is counted once, and later imports follow.", into, nil
}

func (s *Server) splitApp(c *gin.Context, id int64) (string, int64, error) {
	created, err := s.discovery.Split(c.Request.Context(), actorOf(c), id, c.PostForm("identifier"))
	if err != nil {
		return "", 0, err
	}
	return c.PostForm("identifier") + " is now an app of its own. Later imports keep it apart.", created, nil
}

// addToCatalogue puts a discovered app in the catalogue as under review and links it.
func (s *Server) addToCatalogue(c *gin.Context, id int64) (string, int64, error) {
	app, kept, err := s.catalogueDiscovered(c, id)
	if err != nil {
		return "", 0, err
	}
	return app.Name + " is in the catalogue, under review.", kept, nil
}

// catalogueDiscovered returns the catalogue app of a discovered app, adding it as under review
// (in the category the form names) when it has none; and the discovered app's id after linking.
func (s *Server) catalogueDiscovered(c *gin.Context, id int64) (catalog.App, int64, error) {
	ctx := c.Request.Context()
	a, err := s.discovery.App(ctx, id)
	if err != nil {
		return catalog.App{}, 0, err
	}
	if slug := a.CatalogueSlug(); slug != "" {
		app, err := s.catalog.App(ctx, slug)
		return app, id, err
	}
	in := catalog.AppInput{Name: a.Name, Category: c.PostForm("category"), Status: string(catalog.StatusUnderReview),
		Description: "Seen in the sign-in logs; security is reviewing it."}
	for _, src := range a.Sources {
		if host, ok := strings.CutPrefix(src.Identifier, discovery.KeyDomain); ok {
			in.Website = "https://" + host
			break
		}
	}
	app, err := s.catalog.CreateApp(ctx, actorOf(c), in)
	if err != nil {
		return catalog.App{}, 0, err
	}
	kept, err := s.discovery.Link(ctx, actorOf(c), id, app.Slug)
	return app, kept, err
}

// startReview takes a discovered app to a decision in one step: it is in the catalogue as under
// review, and a request for it is open in review, whose demand counts the people who already
// use it.
func (s *Server) startReview(c *gin.Context, id int64) (string, int64, error) {
	ctx := c.Request.Context()
	app, kept, err := s.catalogueDiscovered(c, id)
	if err != nil {
		return "", 0, err
	}
	a, err := s.discovery.App(ctx, kept)
	if err != nil {
		return "", 0, err
	}
	m := s.memberOf(c)
	useCase := fmt.Sprintf("Found in the sign-in logs: %d people used %s in the last 90 days without approval. Security opened this review.", a.Users90, a.Name)
	r, err := s.requests.RequestAccess(ctx, m, app.Slug, useCase, true)
	if err != nil {
		return "", 0, err
	}
	if r.Existing {
		return fmt.Sprintf("Request #%d for %s is open already.", r.ID, a.Name), kept, nil
	}
	if _, err := s.requests.Transition(ctx, m, r.ID, requests.ActionStartReview, "opened from discovery"); err != nil {
		return "", 0, err
	}
	return fmt.Sprintf("Review started: request #%d is in review, with the %d people who already use it as its demand.", r.ID, a.Users90), kept, nil
}

// bulkDiscovery triages, assigns or links several apps at once, from the dashboard's list.
func (s *Server) bulkDiscovery(c *gin.Context) {
	ctx := c.Request.Context()
	var ids []int64
	for _, v := range c.PostFormArray("ids") {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.fail(c, errInvalidField("ids", "Choose apps from the list."))
			return
		}
		ids = append(ids, id)
	}
	var (
		msg string
		err error
	)
	switch {
	case len(ids) == 0:
		err = errInvalidField("ids", "Tick at least one app in the list.")
	case c.PostForm("action") == "link":
		for _, id := range ids {
			if _, err = s.discovery.Link(ctx, actorOf(c), id, c.PostForm("slug")); err != nil {
				break
			}
		}
		msg = fmt.Sprintf("%d apps linked.", len(ids))
	default:
		err = s.discovery.Triage(ctx, actorOf(c), ids, c.PostForm("triage"), c.PostForm("note"), c.PostForm("assignee"))
		msg = fmt.Sprintf("Triage saved for %d apps.", len(ids))
	}
	if err != nil {
		if fields, ok := formErrors(err); ok {
			s.renderDiscovery(c, statusOfErr(err), fields)
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", msg)
	c.Redirect(http.StatusSeeOther, "/discovery")
}

// importView is the upload form and, after an upload, its result.
type importView struct {
	Formats     []string
	Run         *discovery.ImportRun
	Error       string
	People      *discovery.PeopleImport // after a directory upload
	PeopleError string
	MaxMB       int64
}

func (s *Server) importPage(c *gin.Context) {
	s.render(c, http.StatusOK, "discovery_import", "Import logs", importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20})
}

// uploadedFile opens the import page's uploaded file. Without one it shows the page again with
// missing's message set; a file over the limit is a 413. ok is false when the answer is given.
func (s *Server) uploadedFile(c *gin.Context, v importView, missing func(*importView)) (f multipart.File, fh *multipart.FileHeader, ok bool) {
	fh, err := c.FormFile("file")
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			s.fail(c, errs.E(errs.TooLarge, "The file is larger than %d MB.", v.MaxMB))
			return nil, nil, false
		}
		missing(&v)
		s.render(c, http.StatusBadRequest, "discovery_import", "Import logs", v)
		return nil, nil, false
	}
	if f, err = fh.Open(); err != nil {
		s.fail(c, err)
		return nil, nil, false
	}
	return f, fh, true
}

func (s *Server) importUpload(c *gin.Context) {
	v := importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20}
	f, fh, ok := s.uploadedFile(c, v, func(v *importView) { v.Error = "Choose a log file to import." })
	if !ok {
		return
	}
	defer f.Close()
	format := c.PostForm("format")
	var reader io.Reader = f
	var (
		run discovery.ImportRun
		err error
	)
	if format == "" || format == "auto" {
		detected, rd, derr := discovery.Sniff(reader, s.importLimit())
		if derr != nil {
			v.Error = "Paved could not tell the format of this file: " + derr.Error() + ". Choose it in the list."
			s.render(c, http.StatusBadRequest, "discovery_import", "Import logs", v)
			return
		}
		run, err = s.discovery.Import(c.Request.Context(), actorOf(c), detected, filepath.Base(fh.Filename), rd, s.importLimit())
	} else {
		run, err = s.discovery.Import(c.Request.Context(), actorOf(c), format, filepath.Base(fh.Filename), reader, s.importLimit())
	}
	v.Run = &run
	status := http.StatusOK
	if err != nil {
		if run.ID == 0 {
			s.fail(c, errs.Wrap(errs.Invalid, err, "%s", err.Error()))
			return
		}
		v.Error, status = err.Error(), http.StatusUnprocessableEntity
	}
	s.render(c, status, "discovery_import", "Import logs", v)
}

func (s *Server) discoveryRoutes() []route {
	act := s.discoveryAction
	return []route{
		{"GET", "/discovery", security, s.discoveryPage},
		{"POST", "/discovery/bulk", security, s.bulkDiscovery},
		{"GET", "/discovery/app", security, s.legacyDiscoveredApp},
		{"GET", "/discovery/apps/:id", security, s.discoveredAppPage},
		{"POST", "/discovery/apps/:id/triage", security, act(s.triageApp)},
		{"POST", "/discovery/apps/:id/link", security, act(s.linkApp)},
		{"POST", "/discovery/apps/:id/add", security, act(s.addToCatalogue)},
		{"POST", "/discovery/apps/:id/review", security, act(s.startReview)},
		{"POST", "/discovery/apps/:id/merge", security, act(s.mergeApp)},
		{"POST", "/discovery/apps/:id/split", security, act(s.splitApp)},
		{"GET", "/discovery/import", security, s.importPage},
		{"POST", "/discovery/import", security, s.importUpload},
		{"POST", "/discovery/people", security, s.importPeople},
		{"GET", "/admin/sources", admin, s.sourcesPage},
		{"POST", "/admin/sources", admin, s.createSource},
		{"POST", "/admin/sources/:id/enabled", admin, s.toggleSource},
		{"POST", "/admin/sources/:id/actions", admin, s.toggleSourceActions},
	}
}
