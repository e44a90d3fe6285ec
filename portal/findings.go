package portal

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/internal/errs"
)

// apiSetConditions replaces an app's checkable conditions: {"seat_limit": 5, "allowed_groups":
// [...], "forbidden_scopes": [...], "pilot_end": "2027-06-30T00:00:00Z"}, each optional; {}
// removes them. It answers with the app.
func (s *Server) apiSetConditions(c *gin.Context) {
	var body catalog.Conditions
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.catalog.SetConditions(c.Request.Context(), actorOf(c), c.Param("slug"), body); err != nil {
		s.fail(c, err)
		return
	}
	s.respondApp(c, http.StatusOK, c.Param("slug"))
}

// findingFilter reads and checks the findings' filters.
func findingFilter(c *gin.Context) (discovery.FindingFilter, error) {
	f := discovery.FindingFilter{App: c.Query("app"), Status: c.Query("status"), Kind: c.Query("condition")}
	if f.Status != "" && !slices.Contains(discovery.FindingStates, f.Status) {
		return f, errInvalidField("status", "Use open, acknowledged or resolved.")
	}
	if f.Kind != "" && !slices.Contains(catalog.ConditionKinds, f.Kind) {
		return f, errInvalidField("condition", "Use seat_limit, allowed_groups, forbidden_scopes or pilot_end.")
	}
	return f, nil
}

// apiFinding is a finding in the API; the people concerned are listed for security only.
type apiFinding struct {
	discovery.Finding
	People []string `json:"people,omitempty"`
}

func (s *Server) apiFindings(c *gin.Context) {
	f, err := findingFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	list, err := s.discovery.Findings(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := principalOf(c)
	privileged := p.User != nil && p.Roles.Has(auth.RoleSecurity)
	out := make([]apiFinding, 0, len(list))
	for _, x := range list {
		item := apiFinding{Finding: x}
		if privileged {
			item.People = x.People()
		}
		out = append(out, item)
	}
	c.JSON(http.StatusOK, gin.H{"findings": out})
}

// findingsView is security's list of findings.
type findingsView struct {
	Findings []discovery.Finding
	Filter   discovery.FindingFilter
	States   []string
	Kinds    []string
	Errors   map[string]string
}

func (s *Server) findingsPage(c *gin.Context) {
	s.renderFindings(c, http.StatusOK, nil)
}

func (s *Server) renderFindings(c *gin.Context, status int, fieldErrs map[string]string) {
	f, err := findingFilter(c)
	if err != nil {
		f = discovery.FindingFilter{}
	}
	list, err := s.discovery.Findings(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, status, "findings", "Findings", findingsView{Findings: list, Filter: f, States: discovery.FindingStates, Kinds: catalog.ConditionKinds, Errors: fieldErrs})
}

func (s *Server) acknowledgeFinding(c *gin.Context) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		s.fail(c, errs.E(errs.NotFound, "No finding %q.", c.Param("id")))
		return
	}
	if err := s.discovery.Acknowledge(c.Request.Context(), actorOf(c), id, c.PostForm("note")); err != nil {
		if fields, ok := formErrors(err); ok {
			s.renderFindings(c, statusOfErr(err), fields)
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Acknowledged. The finding closes by itself when the usage stops.")
	c.Redirect(http.StatusSeeOther, "/findings")
}

func (s *Server) findingsRoutes() []route {
	return []route{
		{"GET", "/findings", security, s.findingsPage},
		{"POST", "/findings/:id/acknowledge", security, s.acknowledgeFinding},
		{"GET", "/api/v1/findings", access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}, s.apiFindings},
	}
}
