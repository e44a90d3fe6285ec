package portal

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// uploadPaths accept bodies up to the upload limit instead of the general one.
var uploadPaths = map[string]bool{"/discovery/import": true, "/api/v1/discovery/imports": true}

// discoveryView is the shadow-IT dashboard.
type discoveryView struct {
	Apps       []discovery.DiscoveredApp
	NewThisWk  []discovery.DiscoveredApp
	Triage     string
	Source     string
	Sources    []string
	Shadow     bool
	States     []string
	TotalUsers int
}

func (s *Server) discoveryPage(c *gin.Context) {
	ctx := c.Request.Context()
	f := discovery.AppFilter{Triage: c.Query("triage"), Source: c.Query("source"), ShadowOnly: c.Query("all") == ""}
	apps, err := s.discovery.Apps(ctx, f)
	if err != nil {
		s.fail(c, err)
		return
	}
	fresh, err := s.discovery.Apps(ctx, discovery.AppFilter{ShadowOnly: true, NewSince: time.Now().AddDate(0, 0, -7), Limit: 10})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "discovery", "Discovery", discoveryView{Apps: apps, NewThisWk: fresh, Triage: f.Triage, Source: f.Source, Sources: discovery.Formats(), Shadow: f.ShadowOnly, States: discovery.TriageStates})
}

// discoveredAppView is one discovered app: its trend, its users and the triage forms.
type discoveredAppView struct {
	App        discovery.DiscoveredApp
	Users      []discovery.UserUsage
	Chart      chart
	States     []string
	Categories []catalog.Category
	Catalogue  []catalog.IndexDoc
	Errors     map[string]string
}

// chart is a bar chart of daily use drawn as SVG on the server: no script, and described
// for screen readers by its title and the table beside it.
type chart struct {
	Bars           []bar
	Width, Height  int
	Max            int
	Summary        string
	Days           []discovery.DailyCount
	FirstDay, Last string
}

type bar struct {
	X, Y, W, H int
	Label      string
}

func newChart(days []discovery.DailyCount, span int) chart {
	ch := chart{Width: 600, Height: 120, Days: days}
	byDay := map[string]discovery.DailyCount{}
	for _, d := range days {
		byDay[d.Day] = d
		ch.Max = max(ch.Max, d.Events)
	}
	start := time.Now().UTC().AddDate(0, 0, -span+1)
	w := ch.Width / span
	for i := range span {
		day := start.AddDate(0, 0, i).Format("2006-01-02")
		u := byDay[day].Events
		h := 0
		if ch.Max > 0 {
			h = u * (ch.Height - 10) / ch.Max
		}
		ch.Bars = append(ch.Bars, bar{X: i * w, Y: ch.Height - h, W: max(w-2, 1), H: h, Label: fmt.Sprintf("%s: %d sign-ins and grants", day, u)})
	}
	ch.FirstDay, ch.Last = start.Format("2 Jan"), time.Now().UTC().Format("2 Jan")
	ch.Summary = fmt.Sprintf("Sign-ins and grants per day over the last %d days, at most %d on one day.", span, ch.Max)
	return ch
}

func (s *Server) discoveredAppPage(c *gin.Context) {
	s.renderDiscoveredApp(c, http.StatusOK, c.Query("key"), nil)
}

func (s *Server) renderDiscoveredApp(c *gin.Context, status int, key string, fieldErrs map[string]string) {
	ctx := c.Request.Context()
	a, err := s.discovery.App(ctx, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	users, err := s.discovery.Users(ctx, key)
	if err != nil {
		s.fail(c, err)
		return
	}
	days, err := s.discovery.Daily(ctx, key, 30)
	if err != nil {
		s.fail(c, err)
		return
	}
	cats, err := s.catalog.Categories(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	res, err := s.catalog.Search(ctx, catalog.SearchQuery{Text: a.Name, Limit: 10})
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, status, "discovered_app", a.Name, discoveredAppView{App: a, Users: users, Chart: newChart(days, 30), States: discovery.TriageStates,
		Categories: cats, Catalogue: res.Hits, Errors: fieldErrs})
}

// discoveryAction runs a triage action and returns to the app's page.
func (s *Server) discoveryAction(do func(c *gin.Context, key string) (string, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.PostForm("key")
		msg, err := do(c, key)
		if err != nil {
			if fields, ok := formErrors(err); ok {
				s.renderDiscoveredApp(c, statusOfErr(err), key, fields)
				return
			}
			s.fail(c, err)
			return
		}
		s.flash(c, "success", msg)
		c.Redirect(http.StatusSeeOther, "/discovery/app?"+url.Values{"key": {key}}.Encode())
	}
}

func (s *Server) triageApp(c *gin.Context, key string) (string, error) {
	return "Triage saved.", s.discovery.Triage(c.Request.Context(), actorOf(c), key, c.PostForm("triage"), c.PostForm("note"), c.PostForm("assignee"))
}

func (s *Server) linkApp(c *gin.Context, key string) (string, error) {
	if err := s.discovery.Link(c.Request.Context(), actorOf(c), key, c.PostForm("slug")); err != nil {
		return "", err
	}
	return "Linked. The next import matches it by itself.", nil
}

// addToCatalogue puts a discovered app in the catalogue as under review and links it.
func (s *Server) addToCatalogue(c *gin.Context, key string) (string, error) {
	ctx := c.Request.Context()
	a, err := s.discovery.App(ctx, key)
	if err != nil {
		return "", err
	}
	in := catalog.AppInput{Name: a.Name, Category: c.PostForm("category"), Status: string(catalog.StatusUnderReview),
		Description: "Seen in the sign-in logs; security is reviewing it."}
	if host, ok := strings.CutPrefix(key, discovery.KeyDomain); ok {
		in.Website = "https://" + host
	}
	app, err := s.catalog.CreateApp(ctx, actorOf(c), in)
	if err != nil {
		return "", err
	}
	if err := s.discovery.Link(ctx, actorOf(c), key, app.Slug); err != nil {
		return "", err
	}
	return a.Name + " is in the catalogue, under review.", nil
}

// importView is the upload form and, after an upload, its result.
type importView struct {
	Formats []string
	Run     *discovery.ImportRun
	Error   string
	MaxMB   int64
}

func (s *Server) importPage(c *gin.Context) {
	s.render(c, http.StatusOK, "discovery_import", "Import logs", importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20})
}

func (s *Server) importUpload(c *gin.Context) {
	v := importView{Formats: discovery.Formats(), MaxMB: s.cfg.MaxUploadBytes >> 20}
	fh, err := c.FormFile("file")
	if err != nil {
		if strings.Contains(err.Error(), "too large") {
			s.fail(c, errs.E(errs.TooLarge, "The file is larger than %d MB.", v.MaxMB))
			return
		}
		v.Error = "Choose a log file to import."
		s.render(c, http.StatusBadRequest, "discovery_import", "Import logs", v)
		return
	}
	f, err := fh.Open()
	if err != nil {
		s.fail(c, err)
		return
	}
	defer f.Close()
	format := c.PostForm("format")
	var reader io.Reader = f
	var run discovery.ImportRun
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
		{"GET", "/discovery/app", security, s.discoveredAppPage},
		{"POST", "/discovery/triage", security, act(s.triageApp)},
		{"POST", "/discovery/link", security, act(s.linkApp)},
		{"POST", "/discovery/add", security, act(s.addToCatalogue)},
		{"GET", "/discovery/import", security, s.importPage},
		{"POST", "/discovery/import", security, s.importUpload},
		{"GET", "/admin/sources", admin, s.sourcesPage},
		{"POST", "/admin/sources", admin, s.createSource},
		{"POST", "/admin/sources/:id/enabled", admin, s.toggleSource},
	}
}
