package portal

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery/actions"
)

// homeView is the landing page: for signed-out visitors what Paved is; for people signed in
// their own work: their requests, the votes and reviews waiting for them, recent approvals and
// the unapproved apps they use.
type homeView struct {
	MyRequests   []requestRow
	MoreRequests int
	IsCommittee  bool
	Votes        []requestRow
	IsSecurity   bool
	Reviews      []requestRow
	MoreReviews  int
	Recent       []catalog.App
	MyApps       []myApp
	// Notices are the apps the person uses outside their checked conditions.
	Notices []conditionNotice
	// Removed are the recent actions that took away this person's access to an app.
	Removed []actions.Notice
}

// homeListMax is how many rows each list on the home page shows before "see all".
const homeListMax = 5

// myApp is an unapproved app the person signs in to, with what to use instead, and the open
// request to support when there is one (rather than proposing it again).
type myApp struct {
	Name, Slug, Status string
	Alternatives       []catalog.Alternative
	ProposeURL         string
	SupportURL         string
}

func (s *Server) home(c *gin.Context) {
	var v homeView
	p := principalOf(c)
	if p == nil || p.User == nil || s.catalog == nil || s.requests == nil {
		s.render(c, http.StatusOK, "home", "Home", v)
		return
	}
	ctx := c.Request.Context()
	mine, err := s.requests.RequestsOf(ctx, p.User.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(mine) > homeListMax {
		v.MoreRequests, mine = len(mine)-homeListMax, mine[:homeListMax]
	}
	if v.MyRequests, err = s.rows(c, mine); err != nil {
		s.fail(c, err)
		return
	}
	roles := p.Roles
	if v.IsCommittee = roles.Has(auth.RoleCommittee); v.IsCommittee {
		voting, err := s.requests.OpenRequests(ctx, requests.StateVoting)
		if err != nil {
			s.fail(c, err)
			return
		}
		rows, err := s.rows(c, voting)
		if err != nil {
			s.fail(c, err)
			return
		}
		for _, r := range rows {
			if r.Vote != nil && !r.Vote.Voted && len(v.Votes) < homeListMax {
				v.Votes = append(v.Votes, r)
			}
		}
	}
	if v.IsSecurity = roles.Has(auth.RoleSecurity); v.IsSecurity {
		queue, err := s.requests.ReviewQueue(ctx)
		if err != nil {
			s.fail(c, err)
			return
		}
		if len(queue) > homeListMax {
			v.MoreReviews, queue = len(queue)-homeListMax, queue[:homeListMax]
		}
		for _, r := range queue {
			v.Reviews = append(v.Reviews, requestRow{RequestSummary: r})
		}
	}
	if v.Recent, err = s.catalog.RecentlyApproved(ctx, homeListMax); err != nil {
		s.fail(c, err)
		return
	}
	if v.Notices, err = s.conditionNotices(c, p.User.Email, p.User.ID); err != nil {
		s.fail(c, err)
		return
	}
	if v.MyApps, err = s.myUnapprovedApps(c, p.User.Email); err != nil {
		s.fail(c, err)
		return
	}
	v.Removed = s.actionNotices(c, p.User.Email)
	s.render(c, http.StatusOK, "home", "Home", v)
}

// myUnapprovedApps is the one place the home page asks discovery for the unapproved apps a
// person uses; for each it finds the approved alternatives and an open request to support.
func (s *Server) myUnapprovedApps(c *gin.Context, email string) ([]myApp, error) {
	if s.discovery == nil {
		return nil, nil
	}
	ctx := c.Request.Context()
	apps, err := s.discovery.MyUnapprovedApps(ctx, email)
	if err != nil {
		return nil, err
	}
	var out []myApp
	for _, a := range apps {
		m := myApp{Name: a.Name, Slug: a.CatalogueSlug(), Status: a.CatalogueStatus(),
			ProposeURL: "/requests/new?" + url.Values{"name": {a.Name}}.Encode()}
		if m.Slug != "" {
			if d, err := s.catalog.Detail(ctx, m.Slug); err == nil {
				m.Alternatives = d.Alternatives
			}
		}
		r, ok, err := s.requests.OpenRequestFor(ctx, a.AppID, a.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			m.SupportURL = "/requests/" + strconv.FormatInt(r.ID, 10)
		}
		out = append(out, m)
	}
	return out, nil
}
