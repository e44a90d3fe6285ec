package portal

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/errs"
)

// memberOf is the signed-in person as the request rules see them.
func (s *Server) memberOf(c *gin.Context) requests.Member {
	p := principalOf(c)
	m := requests.Member{UserID: p.User.ID, Email: p.User.Email, RequestID: RequestIDOf(c), Chair: s.isChair(p)}
	for _, r := range p.Roles {
		m.Roles = append(m.Roles, string(r))
	}
	return m
}

// isChair reports whether the signed-in person chairs the committee: they hold the chair role
// (PAVED_VOTE_CHAIR_ROLE) or were in a chair group (PAVED_VOTE_CHAIR_GROUPS) at sign-in.
// Closing a vote early also takes a seat on the committee, which the rules check.
func (s *Server) isChair(p *principal) bool {
	if p == nil {
		return false
	}
	if r := auth.Role(s.cfg.VoteChairRole); r.Valid() && p.Roles.Has(r) {
		return true
	}
	groups := auth.SplitGroups(s.cfg.VoteChairGroups)
	return len(groups) > 0 && p.User != nil && p.User.InAnyGroup(groups)
}

func requestParam(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// requestListView is "My requests" and the committee's queue.
type requestListView struct {
	Heading, Intro string
	Requests       []requestRow
	Empty          string
	// Waiting are reviewed proposals that wait for their vote to open (the committee's queue).
	Waiting []requestRow
}

// requestRow is a request in a list, with its vote's progress when it went to the vote.
type requestRow struct {
	requests.RequestSummary
	Vote *voteView
	// Age is how long the request has waited since it was submitted, in words.
	Age string
}

// ageOf says how long ago t was, in whole days: "today", "1 day", "12 days".
func ageOf(t, now time.Time) string {
	days := int(now.Sub(t) / (24 * time.Hour))
	if days < 1 {
		return "today"
	}
	return plural(days, "day", "days")
}

// reviewQueue is security's work queue: requests waiting for a review or a decision, oldest
// first, with how long each has waited and how much it is wanted.
func (s *Server) reviewQueue(c *gin.Context) {
	list, err := s.requests.ReviewQueue(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	now := time.Now()
	rows := make([]requestRow, len(list))
	for i, r := range list {
		rows[i] = requestRow{RequestSummary: r, Age: ageOf(r.CreatedAt, now)}
	}
	s.render(c, http.StatusOK, "reviews", "Reviews", requestListView{Heading: "Security reviews",
		Intro:    "Requests waiting for a review or a decision, oldest first. Votes in progress are in the committee's queue.",
		Requests: rows, Empty: "Nothing is waiting for security."})
}

// voteView is a vote's progress as the person looking sees it.
type voteView struct {
	requests.VoteProgress
	// Left is the time the vote has left, in words.
	Left string
	// IsVoter is true when the viewer may vote, so the page says whether they have.
	IsVoter bool
}

// voteViewOf is r's vote progress for the signed-in person, or nil when r never went to the vote.
func (s *Server) voteViewOf(c *gin.Context, r requests.Request) (*voteView, error) {
	p, ok, err := s.requests.VoteProgressOf(c.Request.Context(), r, principalOf(c).User.ID)
	if err != nil || !ok {
		return nil, err
	}
	return &voteView{VoteProgress: p, Left: p.Left(time.Now()), IsVoter: rolesOf(c).Has(auth.RoleCommittee)}, nil
}

// rows adds vote progress to a list of requests.
func (s *Server) rows(c *gin.Context, list []requests.RequestSummary) ([]requestRow, error) {
	out := make([]requestRow, len(list))
	for i, r := range list {
		out[i].RequestSummary = r
		v, err := s.voteViewOf(c, r.Request)
		if err != nil {
			return nil, err
		}
		out[i].Vote = v
	}
	return out, nil
}

func (s *Server) myRequests(c *gin.Context) {
	list, err := s.requests.RequestsOf(c.Request.Context(), principalOf(c).User.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.rows(c, list)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "requests", "My requests", requestListView{Heading: "My requests",
		Intro: "What you asked for, supported or pledged to, and where each stands.", Requests: rows,
		Empty: "You have no requests yet. Search the catalogue, or propose an app it lacks."})
}

// votingQueue is the committee's queue: open votes, those the viewer has not voted on first
// and then the ones closing soonest, and below them the reviewed proposals waiting for a vote.
func (s *Server) votingQueue(c *gin.Context) {
	ctx := c.Request.Context()
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
	slices.SortStableFunc(rows, func(a, b requestRow) int {
		if a.Vote.Voted != b.Vote.Voted {
			if !a.Vote.Voted {
				return -1
			}
			return 1
		}
		return a.Vote.ClosesAt.Compare(b.Vote.ClosesAt)
	})
	reviewed, err := s.requests.OpenRequests(ctx, requests.StateReviewed)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Reviewed proposals wait for someone to open their vote: the most wanted first.
	sortByDemand(reviewed)
	var waiting []requestRow
	for _, r := range reviewed {
		if r.Kind == requests.KindNewApp {
			waiting = append(waiting, requestRow{RequestSummary: r})
		}
	}
	s.render(c, http.StatusOK, "requests", "Voting", requestListView{Heading: "Committee queue",
		Intro:    "Open votes: the ones you have not voted on first, then those closing soonest. Each row says how far it is from its quorum.",
		Requests: rows, Waiting: waiting, Empty: "No vote is open right now."})
}

func sortByDemand(list []requests.RequestSummary) {
	slices.SortStableFunc(list, func(a, b requests.RequestSummary) int { return b.Demand - a.Demand })
}

// proposalView is the proposal form with approved apps that may already cover the need, and
// the app or proposal it duplicates when Paved already knows it.
type proposalView struct {
	Form    requests.ProposalInput
	Errors  map[string]string
	Similar []catalog.IndexDoc
	Classes []catalog.Classification
	Cur     []requests.Currency
	// Existing is the catalogued app the proposal names; Open the request to support instead.
	Existing *catalog.App
	Open     *requests.Request
}

func (s *Server) proposalForm(c *gin.Context) {
	in := requests.ProposalInput{Name: c.Query("name"), UseCase: c.Query("use_case"), EstimateCurrency: "EUR", DataClassification: "internal"}
	s.renderProposal(c, http.StatusOK, in, nil, nil)
}

// maxSimilar is how many approved apps the proposal form suggests.
const maxSimilar = 5

// similarApps asks the search engine for approved apps matching the name, then the use case,
// and returns up to maxSimilar of them, name matches first.
func (s *Server) similarApps(c *gin.Context, in requests.ProposalInput) []catalog.IndexDoc {
	var out []catalog.IndexDoc
	seen := map[string]bool{}
	for _, q := range []string{in.Name, in.UseCase} {
		if q = strings.TrimSpace(q); q == "" || len(out) >= maxSimilar {
			continue
		}
		res, err := s.catalog.Search(c.Request.Context(), catalog.SearchQuery{Text: q, Statuses: []catalog.Status{catalog.StatusApproved, catalog.StatusApprovedWithConditions}, Limit: maxSimilar})
		if err != nil {
			// The hint is a help, not the form: without it the proposal still works.
			s.log.WarnContext(c.Request.Context(), "similar apps", "err", err, "request_id", RequestIDOf(c))
			continue
		}
		for _, h := range res.Hits {
			if !seen[h.Slug] && len(out) < maxSimilar {
				seen[h.Slug] = true
				out = append(out, h)
			}
		}
	}
	return out
}

func (s *Server) renderProposal(c *gin.Context, status int, in requests.ProposalInput, fieldErrs map[string]string, dup *requests.DuplicateError) {
	v := proposalView{Form: in, Errors: fieldErrs, Classes: catalog.Classifications, Cur: requests.Currencies(), Similar: s.similarApps(c, in)}
	if dup != nil {
		v.Existing, v.Open = dup.App, dup.Request
	}
	if c.GetHeader("HX-Request") == "true" {
		s.renderFragment(c, "request_new", "similar", v)
		return
	}
	s.render(c, status, "request_new", "Propose an app", v)
}

func (s *Server) propose(c *gin.Context) {
	in := requests.ProposalInput{Name: c.PostForm("name"), Website: c.PostForm("website"), UseCase: c.PostForm("use_case"),
		DataClassification: c.PostForm("data_classification"), ExpectedUsers: c.PostForm("expected_users"),
		Estimate: c.PostForm("estimate"), EstimateCurrency: c.PostForm("estimate_currency")}
	r, err := s.requests.Propose(c.Request.Context(), s.memberOf(c), in)
	if err != nil {
		var dup *requests.DuplicateError
		if errors.As(err, &dup) {
			s.renderProposal(c, http.StatusConflict, in, nil, dup)
			return
		}
		if fields, ok := formErrors(err); ok {
			s.renderProposal(c, statusOfErr(err), in, fields, nil)
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Your proposal is submitted. Share this page with colleagues who need "+r.AppName+" too.")
	c.Redirect(http.StatusSeeOther, "/requests/"+strconv.FormatInt(r.ID, 10))
}

func (s *Server) requestAccess(c *gin.Context) {
	r, err := s.requests.RequestAccess(c.Request.Context(), s.memberOf(c), c.Param("slug"), c.PostForm("use_case"), c.PostForm("accept_conditions") == "yes")
	if err != nil {
		if fields, ok := formErrors(err); ok {
			s.renderApp(c, statusOfErr(err), fields)
			return
		}
		s.fail(c, err)
		return
	}
	if r.State == requests.StateDecided {
		s.flash(c, "success", "Access to "+r.AppName+" is granted. The instructions are below.")
		c.Redirect(http.StatusSeeOther, "/apps/"+c.Param("slug"))
		return
	}
	s.flash(c, "success", "Your request for "+r.AppName+" went to security.")
	c.Redirect(http.StatusSeeOther, "/requests/"+strconv.FormatInt(r.ID, 10))
}

// requestView is one request's page.
type requestView struct {
	R            requests.Request
	Timeline     []requests.TimelineEvent
	Funding      requests.Funding
	Demand       int
	Votes        []requests.VoteRow
	MyVote       string
	Tally        requests.TallyResult
	Tallied      bool
	Review       requests.ReviewChecklist
	Reviewed     bool
	IsRequester  bool
	SeesNames    bool // committee and security see who pledged and voted
	CanReview    bool
	CanVote      bool
	CanDecide    bool
	CanOpenVote  bool
	CanWithdraw  bool
	CanSupport   bool
	Categories   []catalog.Category
	Usable       []catalog.IndexDoc
	Currencies   []requests.Currency
	Certs        []certOption
	Classes      []catalog.Classification
	Errors       map[string]string
	Comments     []requests.Comment
	App          *catalog.AppDetail
	Alternatives []catalog.Alternative
	// MyPledge is the viewer's pledge, if they made one: only then can they withdraw it.
	MyPledge *requests.PledgeRow
	// Vote is the vote's progress, nil before the request goes to the vote.
	Vote         *voteView
	CanCloseVote bool
	// DecidedApp is the app an access request being decided is about: the form says whether
	// the decision also settles its catalogue status.
	DecidedApp *catalog.App
	// Suggested is the outcome the review recommends: the decision form starts from it.
	Suggested       requests.Outcome
	Outcomes        []requests.Outcome
	Recommendations []requests.Recommendation
	Answers         []catalog.Answer
	// Form is what the decision form was sent with, to show it again beside its errors; on
	// first view it holds the app's checked conditions.
	Form map[string]string
}

// certOption is a certification on the review form.
type certOption struct{ Key, Label string }

func certOptions() []certOption {
	var out []certOption
	for _, k := range requests.CertificationKeys() {
		out = append(out, certOption{Key: k, Label: requests.CertificationLabel(k)})
	}
	return out
}

func (s *Server) requestPage(c *gin.Context) {
	s.renderRequest(c, http.StatusOK, nil)
}

func (s *Server) renderRequest(c *gin.Context, status int, fieldErrs map[string]string) {
	id, ok := requestParam(c)
	if !ok {
		s.fail(c, errs.E(errs.NotFound, "No such request."))
		return
	}
	ctx := c.Request.Context()
	r, err := s.requests.Request(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	roles := rolesOf(c)
	me := principalOf(c).User.ID
	v := requestView{R: r, IsRequester: r.RequesterID == me, SeesNames: roles.Has(auth.RoleCommittee), Errors: fieldErrs,
		Currencies: requests.Currencies(), Certs: certOptions(), Classes: catalog.Classifications}
	if v.Timeline, err = s.requests.Timeline(ctx, id); err != nil {
		s.fail(c, err)
		return
	}
	if v.Comments, err = s.requests.Comments(ctx, id); err != nil {
		s.fail(c, err)
		return
	}
	if v.Funding, err = s.requests.FundingOf(ctx, id); err != nil {
		s.fail(c, err)
		return
	}
	for i, p := range v.Funding.Pledges {
		if p.UserID == me {
			v.MyPledge = &v.Funding.Pledges[i]
		}
	}
	if v.Demand, err = s.requests.Demand(ctx, r, v.Funding.Supporters); err != nil {
		s.fail(c, err)
		return
	}
	v.Tally, v.Tallied = r.Tally()
	v.Review, v.Reviewed = r.Review()
	votes, err := s.requests.VoteRows(ctx, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, vr := range votes {
		if vr.UserID == me {
			v.MyVote = string(vr.Choice)
		}
	}
	if v.SeesNames {
		v.Votes = votes
	}
	open := r.State.Open()
	v.CanWithdraw = open && v.IsRequester
	v.CanSupport = open && !v.IsRequester
	v.CanReview = roles.Has(auth.RoleSecurity) && (r.State == requests.StateSubmitted || r.State == requests.StateInReview) && r.Kind != requests.KindException
	v.CanOpenVote = roles.Has(auth.RoleCommittee) && r.State == requests.StateReviewed && r.Kind == requests.KindNewApp
	v.CanVote = roles.Has(auth.RoleCommittee) && r.State == requests.StateVoting
	v.CanDecide = roles.Has(auth.RoleSecurity) && (r.State == requests.StateVoteClosed || (r.Kind == requests.KindAccess && r.State == requests.StateReviewed) ||
		(r.Kind == requests.KindException && r.State.Open()))
	v.CanCloseVote = v.CanVote && s.isChair(principalOf(c))
	if v.Vote, err = s.voteViewOf(c, r); err != nil {
		s.fail(c, err)
		return
	}
	v.Outcomes, v.Recommendations = requests.Outcomes, requests.Recommendations
	v.Answers = []catalog.Answer{catalog.AnswerYes, catalog.AnswerNo, catalog.AnswerUnknown}
	v.Suggested = requests.OutcomeApproved
	if v.Reviewed && v.Review.Recommendation.Valid() {
		v.Suggested = v.Review.Recommendation.Outcome()
	}
	if v.CanDecide && r.Kind == requests.KindAccess && r.AppID != nil {
		if a, err := s.catalog.AppByID(ctx, *r.AppID); err == nil {
			v.DecidedApp = &a
		}
	}
	if v.CanDecide {
		if v.Form, err = s.decisionForm(c, r); err != nil {
			s.fail(c, err)
			return
		}
		if v.Categories, err = s.catalog.Categories(ctx); err != nil {
			s.fail(c, err)
			return
		}
		if v.Usable, err = s.usableApps(c); err != nil {
			s.fail(c, err)
			return
		}
	}
	if r.State == requests.StateDecided && r.AppID != nil {
		// The requester, supporters and pledgers see the guidance where they look for it.
		if a, err := s.catalog.AppByID(ctx, *r.AppID); err == nil {
			if d, err := s.catalog.Detail(ctx, a.Slug); err == nil {
				v.App, v.Alternatives = &d, d.Alternatives
			}
		}
	}
	s.render(c, status, "request", r.AppName, v)
}

// decisionForm is the decision form's values: as sent when it comes back with errors, else
// the suggested conditions and the app's checked conditions.
func (s *Server) decisionForm(c *gin.Context, r requests.Request) (map[string]string, error) {
	form := map[string]string{}
	if c.Request.Method == http.MethodPost {
		for _, k := range []string{"outcome", "category", "conditions", "rationale", "pilot_ends_at", "what_would_change", "settle_app",
			"seat_limit", "allowed_groups", "forbidden_scopes", "check_pilot_end"} {
			form[k] = c.PostForm(k)
		}
		form["sent"] = "yes"
		return form, nil
	}
	if r.AppID == nil || r.Kind == requests.KindException {
		return form, nil
	}
	checks, err := s.catalog.ConditionsOf(c.Request.Context(), *r.AppID)
	if err != nil {
		return nil, err
	}
	ci := catalog.InputOfConditions(checks)
	form["seat_limit"], form["allowed_groups"], form["forbidden_scopes"] = ci.SeatLimit, ci.AllowedGroups, ci.ForbiddenScopes
	return form, nil
}

// requestAction runs one change on a request and comes back to its page, showing field errors
// or a conflict there.
func (s *Server) requestAction(do func(c *gin.Context, m requests.Member, id int64) (string, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := requestParam(c)
		if !ok {
			s.fail(c, errs.E(errs.NotFound, "No such request."))
			return
		}
		msg, err := do(c, s.memberOf(c), id)
		if err != nil {
			if fields, ok := formErrors(err); ok {
				s.renderRequest(c, statusOfErr(err), fields)
				return
			}
			if errs.Is(err, errs.Conflict) {
				s.flash(c, "warning", errMessage(err))
				c.Redirect(http.StatusSeeOther, "/requests/"+c.Param("id"))
				return
			}
			s.fail(c, err)
			return
		}
		s.flash(c, "success", msg)
		c.Redirect(http.StatusSeeOther, "/requests/"+c.Param("id"))
	}
}

func errMessage(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return "That did not work."
}

func (s *Server) requestRoutes() []route {
	act := s.requestAction
	return []route{
		{"GET", "/requests", employee, s.myRequests},
		{"GET", "/requests/new", employee, s.proposalForm},
		{"POST", "/requests", employee, s.propose},
		{"GET", "/requests/:id", employee, s.requestPage},
		{"POST", "/apps/:slug/access", employee, s.requestAccess},
		{"POST", "/apps/:slug/exception", employee, s.askException},
		{"GET", "/voting", access{Role: auth.RoleCommittee}, s.votingQueue},
		{"GET", "/reviews", security, s.reviewQueue},
		{"POST", "/requests/:id/comments", employee, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.AddComment(c.Request.Context(), m, id, c.PostForm("body"))
			return "Comment added.", err
		})},
		{"POST", "/requests/:id/support", employee, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			return "Thanks: your support is counted.", s.requests.Support(c.Request.Context(), m, id)
		})},
		{"POST", "/requests/:id/pledge", employee, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.SetPledge(c.Request.Context(), m, id, requests.PledgeInput{CostCentre: c.PostForm("cost_centre"),
				Amount: c.PostForm("amount"), Currency: c.PostForm("currency"), Period: c.PostForm("period"), Seats: c.PostForm("seats")})
			return "Your pledge is recorded. You can change or withdraw it until the decision.", err
		})},
		{"POST", "/requests/:id/pledge/withdraw", employee, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			return "Your pledge is withdrawn.", s.requests.WithdrawPledge(c.Request.Context(), m, id)
		})},
		{"POST", "/requests/:id/withdraw", employee, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.Transition(c.Request.Context(), m, id, requests.ActionWithdraw, c.PostForm("note"))
			return "Your request is withdrawn.", err
		})},
		{"POST", "/requests/:id/review/start", security, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.Transition(c.Request.Context(), m, id, requests.ActionStartReview, "")
			return "Review started.", err
		})},
		{"POST", "/requests/:id/review", security, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.CompleteReview(c.Request.Context(), m, id, requests.ReviewChecklist{
				DataClassification: c.PostForm("data_classification"), SSO: catalog.Answer(c.PostForm("sso")), DPA: catalog.Answer(c.PostForm("dpa")),
				Certifications: c.PostFormArray("certifications"), DataLocation: c.PostForm("data_location"),
				Recommendation: requests.Recommendation(c.PostForm("recommendation")), Notes: c.PostForm("notes")})
			return "Review completed.", err
		})},
		{"POST", "/requests/:id/vote/open", access{Role: auth.RoleCommittee}, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			_, err := s.requests.OpenVote(c.Request.Context(), m, id)
			return "The vote is open.", err
		})},
		{"POST", "/requests/:id/vote", access{Role: auth.RoleCommittee}, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			ctx := c.Request.Context()
			if err := s.requests.CastVote(ctx, m, id, requests.VoteChoice(c.PostForm("choice")), c.PostForm("comment")); err != nil {
				return "", err
			}
			if r, err := s.requests.Request(ctx, id); err == nil && r.State == requests.StateVoteClosed {
				return "Your vote is recorded. Everyone on the committee has now voted, so the vote is closed and counted.", nil
			}
			return "Your vote is recorded; you can change it until the vote closes.", nil
		})},
		{"POST", "/requests/:id/vote/close", access{Role: auth.RoleCommittee}, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			t, err := s.requests.CloseVoteEarly(c.Request.Context(), m, id, c.PostForm("reason"))
			return "The vote is closed. " + t.Reason, err
		})},
		{"POST", "/requests/:id/decide", security, act(func(c *gin.Context, m requests.Member, id int64) (string, error) {
			in := requests.DecisionInput{Outcome: requests.Outcome(c.PostForm("outcome")),
				Conditions: c.PostForm("conditions"), Rationale: c.PostForm("rationale"), WhatWouldChange: c.PostForm("what_would_change"),
				Alternatives: splitParams(c.PostFormArray("alternatives")), Category: c.PostForm("category"), SettleApp: c.PostForm("settle_app") == "yes",
				Checks: conditionsInputFrom(c), CheckPilotEnd: c.PostForm("check_pilot_end") == "yes"}
			if v := strings.TrimSpace(c.PostForm("pilot_ends_at")); v != "" {
				t, err := time.Parse("2006-01-02", v)
				if err != nil {
					return "", errInvalidField("pilot_ends_at", "Use a date such as 2027-03-31.")
				}
				in.PilotEndsAt = &t
			}
			r, err := s.requests.Decide(c.Request.Context(), m, id, in)
			if r.Kind == requests.KindAccess && !in.SettleApp {
				return "The decision is recorded for this request only; the app's catalogue status is unchanged.", err
			}
			return "The decision is recorded and the catalogue updated.", err
		})},
	}
}
