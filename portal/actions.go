package portal

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/discovery"
	"github.com/pavedhq/paved/discovery/actions"
	"github.com/pavedhq/paved/internal/errs"
)

// Actions: security's decisions carried to the identity providers, previewed, approved by a
// second member, carried out by a job.

func actionIDParam(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "No action %q.", c.Param("id"))
	}
	return id, nil
}

// actionsView is the list of actions.
type actionsView struct {
	Actions []actions.Action
}

func (s *Server) actionsPage(c *gin.Context) {
	list, err := s.actions.List(c.Request.Context(), 200)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "actions", "Actions", actionsView{Actions: list})
}

// actionFormView is the preview form, started from a discovered app, a catalogue app or a
// finding.
type actionFormView struct {
	Request    actions.Request
	EmailsText string
	App        *discovery.DiscoveredApp
	Finding    *discovery.Finding
	Kinds      []actions.KindInfo
	Sources    []discovery.Source
	Errors     map[string]string
}

func (s *Server) newActionForm(c *gin.Context) {
	r := actions.Request{People: actions.PeopleEveryone}
	r.DiscoveredAppID, _ = strconv.ParseInt(c.Query("app"), 10, 64)
	r.FindingID, _ = strconv.ParseInt(c.Query("finding"), 10, 64)
	r.AppSlug = strings.TrimSpace(c.Query("slug"))
	if r.FindingID > 0 {
		r.People = actions.PeopleFinding
		if f, err := s.discovery.Finding(c.Request.Context(), r.FindingID); err == nil && r.DiscoveredAppID == 0 {
			if id, err := s.actions.DiscoveredAppOf(c.Request.Context(), f.AppSlug); err == nil {
				r.DiscoveredAppID = id
			}
		}
	}
	if r.AppSlug != "" && r.DiscoveredAppID == 0 {
		// A catalogue decision: act on the app discovery saw under it.
		id, err := s.actions.DiscoveredAppOf(c.Request.Context(), r.AppSlug)
		if err != nil {
			s.fail(c, err)
			return
		}
		r.DiscoveredAppID, r.AppSlug = id, ""
	}
	s.renderActionForm(c, http.StatusOK, r, nil)
}

func (s *Server) renderActionForm(c *gin.Context, status int, r actions.Request, fieldErrs map[string]string) {
	ctx := c.Request.Context()
	v := actionFormView{Request: r, EmailsText: strings.Join(r.Emails, "\n"), Kinds: actions.KindInfos, Errors: fieldErrs}
	if r.FindingID > 0 {
		f, err := s.discovery.Finding(ctx, r.FindingID)
		if err != nil {
			s.fail(c, err)
			return
		}
		v.Finding = &f
	}
	if r.DiscoveredAppID > 0 {
		a, err := s.discovery.App(ctx, r.DiscoveredAppID)
		if err != nil {
			s.fail(c, err)
			return
		}
		v.App = &a
		if k := actions.KindsFor(a); len(k) > 0 {
			v.Kinds = k
		}
	}
	srcs, err := s.discovery.Sources(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, src := range srcs {
		if !src.Actions {
			continue // read-only: the preview would refuse it
		}
		for _, k := range v.Kinds {
			if k.Source == src.Kind {
				v.Sources = append(v.Sources, src)
				break
			}
		}
	}
	s.render(c, status, "action_form", "Preview an action", v)
}

// actionRequestFromForm reads the preview form.
func actionRequestFromForm(c *gin.Context) actions.Request {
	r := actions.Request{Kind: actions.Kind(c.PostForm("kind")), App: c.PostForm("app"), AppSlug: c.PostForm("slug"),
		People: c.PostForm("people"), Reason: c.PostForm("reason")}
	r.SourceID, _ = strconv.ParseInt(c.PostForm("source"), 10, 64)
	r.DiscoveredAppID, _ = strconv.ParseInt(c.PostForm("discovered_app"), 10, 64)
	r.FindingID, _ = strconv.ParseInt(c.PostForm("finding"), 10, 64)
	if e := strings.TrimSpace(c.PostForm("emails")); e != "" {
		r.Emails = actions.SplitEmails(e)
	}
	return r
}

func (s *Server) createAction(c *gin.Context) {
	r := actionRequestFromForm(c)
	a, err := s.actions.Preview(c.Request.Context(), actorOf(c), r)
	if err != nil {
		if fields, ok := formErrors(err); ok {
			e, _ := errs.As(err)
			if e.Message != "" && !strings.HasPrefix(e.Message, "Please correct") {
				fields = withGeneral(fields, e.Message)
			}
			s.renderActionForm(c, statusOfErr(err), r, fields)
			return
		}
		if errs.Is(err, errs.Conflict) || errs.Is(err, errs.Unavailable) {
			e, _ := errs.As(err)
			s.renderActionForm(c, statusOfErr(err), r, map[string]string{"form": e.Message})
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Previewed: nothing has changed yet. Another security member must approve it within 24 hours.")
	c.Redirect(http.StatusSeeOther, "/actions/"+strconv.FormatInt(a.ID, 10))
}

// withGeneral adds the error's own message above the form, where it says more than the field.
func withGeneral(fields map[string]string, msg string) map[string]string {
	out := map[string]string{"form": msg}
	for k, v := range fields {
		out[k] = v
	}
	return out
}

// actionView is one action with what the viewer may do to it.
type actionView struct {
	Action     actions.Action
	IsStarter  bool
	CanApprove bool
	CanRetry   bool
	CanUndo    bool
	NotDone    int // steps failed or still pending, which a retry carries out
}

func (s *Server) actionPage(c *gin.Context) {
	id, err := actionIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.actions.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := actionView{Action: a}
	if p := principalOf(c); p != nil && p.User != nil {
		v.IsStarter = a.StartedByID != nil && *a.StartedByID == p.User.ID
	}
	v.CanApprove = a.State == actions.StatePreviewed && !v.IsStarter
	v.NotDone = a.Counts.Failed + a.Counts.Pending
	v.CanRetry = (a.State == actions.StatePartial || a.State == actions.StateFailed) && v.NotDone > 0
	v.CanUndo = (a.State == actions.StateDone || a.State == actions.StatePartial || a.State == actions.StateFailed) && a.Undoable()
	s.render(c, http.StatusOK, "action", "Action: "+a.AppName, v)
}

// actionStep runs one of approve, retry or undo from the action's page.
func (s *Server) actionStep(do func(s *Server, c *gin.Context, id int64) (actions.Action, error), done string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := actionIDParam(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		if _, err := do(s, c, id); err != nil {
			if e, ok := errs.As(err); ok && (e.Code == errs.Conflict || e.Code == errs.Forbidden) {
				s.flash(c, "error", e.Message)
				c.Redirect(http.StatusSeeOther, "/actions/"+strconv.FormatInt(id, 10))
				return
			}
			s.fail(c, err)
			return
		}
		s.flash(c, "success", done)
		c.Redirect(http.StatusSeeOther, "/actions/"+strconv.FormatInt(id, 10))
	}
}

func approveAction(s *Server, c *gin.Context, id int64) (actions.Action, error) {
	return s.actions.Approve(c.Request.Context(), actorOf(c), id)
}

func retryAction(s *Server, c *gin.Context, id int64) (actions.Action, error) {
	return s.actions.Retry(c.Request.Context(), actorOf(c), id)
}

func undoAction(s *Server, c *gin.Context, id int64) (actions.Action, error) {
	return s.actions.Undo(c.Request.Context(), actorOf(c), id)
}

// The API.

func (s *Server) apiActions(c *gin.Context) {
	list, err := s.actions.List(c.Request.Context(), 200)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"actions": list})
}

func (s *Server) apiPreviewAction(c *gin.Context) {
	var r actions.Request
	if err := decodeJSONBody(c, &r); err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.actions.Preview(c.Request.Context(), actorOf(c), r)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/actions/"+strconv.FormatInt(a.ID, 10))
	c.JSON(http.StatusCreated, a)
}

func (s *Server) apiAction(c *gin.Context) {
	id, err := actionIDParam(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	a, err := s.actions.Get(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

func (s *Server) apiActionStep(do func(s *Server, c *gin.Context, id int64) (actions.Action, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := actionIDParam(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		a, err := do(s, c, id)
		if err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusAccepted, a)
	}
}

func (s *Server) actionRoutes() []route {
	write := access{Role: auth.RoleSecurity, Scope: auth.ScopeActionsWrite, AsOwner: true}
	read := access{Role: auth.RoleSecurity, Scope: auth.ScopeDiscoveryRead}
	return []route{
		{"GET", "/actions", security, s.actionsPage},
		{"GET", "/actions/new", security, s.newActionForm},
		{"POST", "/actions", security, s.createAction},
		{"GET", "/actions/:id", security, s.actionPage},
		{"POST", "/actions/:id/approve", security, s.actionStep(approveAction, "Approved. The job is carrying the action out; this page shows its progress.")},
		{"POST", "/actions/:id/retry", security, s.actionStep(retryAction, "The failed steps are being tried again.")},
		{"POST", "/actions/:id/undo", security, s.actionStep(undoAction, "Undoing what can be undone.")},
		{"GET", "/api/v1/actions", read, s.apiActions},
		{"POST", "/api/v1/actions", write, s.apiPreviewAction},
		{"GET", "/api/v1/actions/:id", read, s.apiAction},
		{"POST", "/api/v1/actions/:id/approve", write, s.apiActionStep(approveAction)},
		{"POST", "/api/v1/actions/:id/retry", write, s.apiActionStep(retryAction)},
		{"POST", "/api/v1/actions/:id/undo", write, s.apiActionStep(undoAction)},
	}
}

// actionNotices is the one place the home page asks for the actions that reached a person.
func (s *Server) actionNotices(c *gin.Context, email string) []actions.Notice {
	if s.actions == nil {
		return nil
	}
	ns, err := s.actions.Notices(c.Request.Context(), email)
	if err != nil {
		// The home page matters more than this notice: log and show none.
		s.log.WarnContext(c.Request.Context(), "action notices", "err", err, "request_id", RequestIDOf(c))
	}
	return ns
}
