package portal

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/discovery"
)

// conditionNotice tells a person they use an app outside its checked conditions: which ones,
// what to use instead, and their exception request if they asked for one. It never names
// anyone else.
type conditionNotice struct {
	AppName, AppSlug string
	// Outside are the conditions the person is outside of, in words.
	Outside      []string
	Alternatives []catalog.Alternative
	// Exception is the person's open request for an exception, if any.
	Exception *requests.Request
}

// conditionNotices gathers the notices of the person with e-mail email and user id userID:
// one per app whose findings name them. An app on which security granted them an exception
// has none.
func (s *Server) conditionNotices(c *gin.Context, email string, userID int64) ([]conditionNotice, error) {
	if s.discovery == nil || s.catalog == nil || s.requests == nil {
		return nil, nil
	}
	ctx := c.Request.Context()
	found, err := s.discovery.FindingsAbout(ctx, email)
	if err != nil {
		return nil, err
	}
	var slugs []string
	for _, f := range found {
		if !slices.Contains(slugs, f.AppSlug) {
			slugs = append(slugs, f.AppSlug)
		}
	}
	var out []conditionNotice
	for _, slug := range slugs {
		d, err := s.catalog.Detail(ctx, slug)
		if err != nil {
			return nil, err
		}
		r, has, err := s.requests.ExceptionOf(ctx, userID, d.App.ID)
		if err != nil {
			return nil, err
		}
		if has && r.Granted() {
			continue
		}
		n := conditionNotice{AppName: d.App.Name, AppSlug: d.App.Slug, Alternatives: d.Alternatives, Outside: outsidePhrases(d.Checks, found, slug)}
		if has && r.State.Open() {
			n.Exception = &r
		}
		out = append(out, n)
	}
	return out, nil
}

// outsidePhrases says, for the findings of one app, which of its conditions are not met.
func outsidePhrases(checks catalog.Conditions, found []discovery.Finding, slug string) []string {
	var out []string
	for _, f := range found {
		if f.AppSlug != slug {
			continue
		}
		p := checks.Phrase(f.Kind)
		if p == "" {
			p = strings.ReplaceAll(f.Kind, "_", " ")
		}
		out = append(out, p)
	}
	return out
}

// askException turns a person's notice into a request for an exception, through the request
// workflow; asking again while one is open shows that one.
func (s *Server) askException(c *gin.Context) {
	p := principalOf(c)
	notices, err := s.conditionNotices(c, p.User.Email, p.User.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	var n *conditionNotice
	for i := range notices {
		if notices[i].AppSlug == c.Param("slug") {
			n = &notices[i]
		}
	}
	if n == nil {
		s.flash(c, "warning", "Paved found no use of yours outside that app's conditions, so there is no exception to ask for.")
		c.Redirect(http.StatusSeeOther, "/")
		return
	}
	note := "Exception to the conditions of " + n.AppName + ": " + strings.Join(n.Outside, "; ") +
		". Asked from the notice that usage is outside them."
	r, err := s.requests.AskException(c.Request.Context(), s.memberOf(c), n.AppSlug, note)
	if err != nil {
		s.fail(c, err)
		return
	}
	if r.Existing {
		s.flash(c, "info", "You have already asked for an exception to "+r.AppName+"'s conditions: here is that request.")
	} else {
		s.flash(c, "success", "Your request for an exception to "+r.AppName+"'s conditions went to security.")
	}
	c.Redirect(http.StatusSeeOther, "/requests/"+strconv.FormatInt(r.ID, 10))
}
