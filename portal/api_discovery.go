package portal

import (
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// apiDiscoveredApp is a discovered app in the API. Counts below the privacy threshold are
// withheld (null) from everyone but security, so a small team's use cannot point at a person.
type apiDiscoveredApp struct {
	discovery.DiscoveredApp
	Hidden bool `json:"counts_hidden,omitempty"`
}

func (s *Server) apiDiscoveredApps(c *gin.Context) {
	f := discovery.AppFilter{Triage: c.Query("triage"), ShadowOnly: c.Query("shadow") == "true"}
	if v := c.Query("limit"); v != "" {
		n, err := parseLimit(v)
		if err != nil {
			s.fail(c, err)
			return
		}
		f.Limit = n
	}
	apps, err := s.discovery.Apps(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := principalOf(c)
	privileged := p.User != nil && p.Roles.Has(auth.RoleSecurity)
	out := make([]apiDiscoveredApp, 0, len(apps))
	for _, a := range apps {
		item := apiDiscoveredApp{DiscoveredApp: a}
		if !privileged && a.UsersAll < s.cfg.PrivacyMinUsers {
			item.Users7, item.Users30, item.Users90, item.UsersAll = 0, 0, 0, 0
			item.Events7, item.Events30, item.Events90, item.EventsAll, item.Failures = 0, 0, 0, 0, 0
			item.Hidden = true
		}
		out = append(out, item)
	}
	c.JSON(http.StatusOK, gin.H{"apps": out})
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
		{"POST", "/api/v1/discovery/imports", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryWrite}, s.apiImport},
	}
}

// importLimit bounds what an uploaded log may decompress to.
func (s *Server) importLimit() discovery.Option {
	return discovery.WithMaxInflatedBytes(s.cfg.MaxInflated())
}
