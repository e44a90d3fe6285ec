package portal

import (
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// apiDiscoveredApp is a discovered app in the API. Counts below the privacy threshold are
// withheld (zero, with counts_hidden) from everyone but security, so a small team's use cannot
// point at a person; the threshold applies to the merged number of people.
type apiDiscoveredApp struct {
	discovery.DiscoveredApp
	RiskScore *float64 `json:"risk_score"` // the catalogue app's, 0 (worst) to 10; null when not assessed
	Hidden    bool     `json:"counts_hidden,omitempty"`
}

func (s *Server) apiView(c *gin.Context, a discovery.DiscoveredApp, risk *catalog.Score) apiDiscoveredApp {
	p := principalOf(c)
	privileged := p.User != nil && p.Roles.Has(auth.RoleSecurity)
	item := apiDiscoveredApp{DiscoveredApp: a}
	if risk != nil {
		item.RiskScore = &risk.Value
	}
	if !privileged && a.UsersAll < s.cfg.PrivacyMinUsers {
		item.Users7, item.Users30, item.Users90, item.UsersAll = 0, 0, 0, 0
		item.Events7, item.Events30, item.Events90, item.EventsAll, item.Failures = 0, 0, 0, 0, 0
		item.Sources = slices.Clone(item.Sources)
		for i := range item.Sources {
			item.Sources[i].UsersAll, item.Sources[i].EventsAll = 0, 0
		}
		item.Hidden = true
	}
	return item
}

func (s *Server) apiDiscoveredApps(c *gin.Context) {
	f := discovery.AppFilter{Triage: c.Query("triage"), Source: c.Query("source"), ShadowOnly: c.Query("shadow") == "true", Sort: c.Query("sort"), WithSources: true}
	if f.Triage != "" && !slices.Contains(discovery.TriageStates, f.Triage) {
		s.fail(c, errInvalidField("triage", "Use one of: "+strings.Join(discovery.TriageStates, ", ")+"."))
		return
	}
	if f.Sort != "" && !slices.Contains([]string{discovery.SortUsers, discovery.SortRisk, discovery.SortLastSeen}, f.Sort) {
		s.fail(c, errInvalidField("sort", "Use users, risk or last_seen."))
		return
	}
	if v := c.Query("limit"); v != "" {
		n, err := parseLimit(v)
		if err != nil {
			s.fail(c, err)
			return
		}
		f.Limit = n
	}
	rows, err := s.discoveredRows(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]apiDiscoveredApp, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.apiView(c, r.DiscoveredApp, r.Risk))
	}
	c.JSON(http.StatusOK, gin.H{"apps": out})
}

func (s *Server) apiDiscoveredApp(c *gin.Context) {
	id, err := appIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondDiscovered(c, http.StatusOK, id)
}

// apiMergeApp folds the app in the path into {"into": id}, and answers with the app that remains.
func (s *Server) apiMergeApp(c *gin.Context) {
	id, err := appIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var body struct {
		Into int64 `json:"into"`
	}
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if body.Into <= 0 {
		s.fail(c, errInvalidField("into", "Give the id of the app to merge into."))
		return
	}
	if err := s.discovery.Merge(c.Request.Context(), actorOf(c), id, body.Into); err != nil {
		s.fail(c, err)
		return
	}
	s.respondDiscovered(c, http.StatusOK, body.Into)
}

// apiSplitApp moves {"identifier": "…"} out of the app in the path into a new app, and answers
// 201 with it.
func (s *Server) apiSplitApp(c *gin.Context) {
	id, err := appIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var body struct {
		Identifier string `json:"identifier"`
	}
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if strings.TrimSpace(body.Identifier) == "" {
		s.fail(c, errInvalidField("identifier", "Give the identifier to split off."))
		return
	}
	created, err := s.discovery.Split(c.Request.Context(), actorOf(c), id, body.Identifier)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/discovery/apps/"+strconv.FormatInt(created, 10))
	s.respondDiscovered(c, http.StatusCreated, created)
}

func (s *Server) respondDiscovered(c *gin.Context, status int, id int64) {
	a, err := s.discovery.App(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	var risk *catalog.Score
	if a.AppID != nil {
		scores, err := s.catalog.RiskScores(c.Request.Context(), []int64{*a.AppID})
		if err != nil {
			s.fail(c, err)
			return
		}
		if sc, ok := scores[*a.AppID]; ok {
			risk = &sc
		}
	}
	c.JSON(status, s.apiView(c, a, risk))
}

// apiDiscoveredDepartments breaks a discovered app's people down by department (security only;
// a department under the privacy threshold shows no counts).
func (s *Server) apiDiscoveredDepartments(c *gin.Context) {
	id, err := appIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.discovery.App(c.Request.Context(), id); err != nil {
		s.fail(c, err)
		return
	}
	depts, err := s.discovery.Departments(c.Request.Context(), id, s.cfg.PrivacyMinUsers)
	if err != nil {
		s.fail(c, err)
		return
	}
	if depts == nil {
		depts = []discovery.DepartmentUsage{}
	}
	c.JSON(http.StatusOK, gin.H{"id": id, "min_users": s.cfg.PrivacyMinUsers, "departments": depts})
}

// apiDiscoveryOverview gives the figures at the top of the dashboard, the same figures per
// department, and the 90-day trend.
func (s *Server) apiDiscoveryOverview(c *gin.Context) {
	o, err := s.discovery.Overview(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	depts, err := s.discovery.ShadowDepartments(c.Request.Context(), s.cfg.PrivacyMinUsers)
	if err != nil {
		s.fail(c, err)
		return
	}
	trend, err := s.discovery.ShadowTrend(c.Request.Context(), 90)
	if err != nil {
		s.fail(c, err)
		return
	}
	if trend == nil {
		trend = []discovery.TrendDay{}
	}
	c.JSON(http.StatusOK, gin.H{"overview": o, "departments": depts, "min_users": s.cfg.PrivacyMinUsers, "trend": trend})
}

// apiImport takes one log file as the request body: ?format=okta|entra|google|csv (or detected)
// and ?name= for the run's record. It answers with the run, 201 when it finished.
func (s *Server) apiImport(c *gin.Context) {
	format := c.Query("format")
	name := filepath.Base(c.DefaultQuery("name", "upload"))
	var (
		run discovery.ImportRun
		err error
	)
	actor := actorOf(c)
	if format == "" {
		detected, rd, derr := discovery.Sniff(c.Request.Body, s.importLimit())
		if derr != nil {
			s.fail(c, errs.Wrap(errs.Invalid, derr, "The format of the body could not be detected (%v); pass ?format=okta, entra, google or csv.", derr))
			return
		}
		run, err = s.discovery.Import(c.Request.Context(), actor, detected, name, rd, s.importLimit())
	} else {
		run, err = s.discovery.Import(c.Request.Context(), actor, format, name, c.Request.Body, s.importLimit())
	}
	if err != nil && run.ID == 0 {
		s.fail(c, errs.Wrap(errs.Invalid, err, "%s", err.Error()))
		return
	}
	body := gin.H{"run": run, "rejections": run.Rejections()}
	if err != nil {
		c.JSON(http.StatusUnprocessableEntity, body)
		return
	}
	c.Header("Location", "/api/v1/discovery/imports/"+strconv.FormatInt(run.ID, 10))
	c.JSON(http.StatusCreated, body)
}

func (s *Server) apiDiscoveryRoutes() []route {
	return []route{
		{"GET", "/api/v1/discovery/apps", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}, s.apiDiscoveredApps},
		{"GET", "/api/v1/discovery/apps/:id", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}, s.apiDiscoveredApp},
		{"GET", "/api/v1/discovery/apps/:id/departments", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}, s.apiDiscoveredDepartments},
		{"GET", "/api/v1/discovery/overview", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}, s.apiDiscoveryOverview},
		{"POST", "/api/v1/discovery/apps/:id/merge", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryWrite}, s.apiMergeApp},
		{"POST", "/api/v1/discovery/apps/:id/split", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryWrite}, s.apiSplitApp},
		{"POST", "/api/v1/discovery/imports", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryWrite}, s.apiImport},
	}
}

// importLimit bounds what an uploaded log may decompress to.
func (s *Server) importLimit() discovery.Option {
	return discovery.WithMaxInflatedBytes(s.cfg.MaxInflated())
}
