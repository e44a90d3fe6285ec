package portal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/errs"
)

// apiRequestRoutes are the JSON API of requests, supporters, pledges and votes; routeTable
// includes them when there is a catalogue.
//
// Every route takes a session and none a token. Each write is a person's act (their proposal,
// their support, their pledge from their cost centre, their vote), and an API token acts for
// nobody: it would have no one to record. Reads follow the same rule because what a request
// shows depends on who asks: "my requests", "my pledge", and names and votes only for the
// committee and security. Tokens get 403 ("it needs a session") from require.
func (s *Server) apiRequestRoutes() []route {
	// A token with requests:write acts as its owner: every request operation is a person's act.
	as := func(r auth.Role) access { return access{Role: r, Scope: auth.ScopeRequestsWrite, AsOwner: true} }
	employee, committee, security := as(auth.RoleEmployee), as(auth.RoleCommittee), as(auth.RoleSecurity)
	return []route{
		{"GET", "/api/v1/requests", employee, s.apiListRequests},
		{"POST", "/api/v1/requests", employee, s.apiPropose},
		{"GET", "/api/v1/requests/:id", employee, s.apiGetRequest},
		{"POST", "/api/v1/apps/:slug/access", employee, s.apiRequestAccess},
		{"POST", "/api/v1/requests/:id/support", employee, s.apiSupport},
		{"PUT", "/api/v1/requests/:id/pledge", employee, s.apiSetPledge},
		{"DELETE", "/api/v1/requests/:id/pledge", employee, s.apiWithdrawPledge},
		{"PUT", "/api/v1/requests/:id/vote", committee, s.apiCastVote},
		// Who may start a review, withdraw or open a vote depends on the action and on whether
		// the caller made the request: requests.NextState decides, and refuses with 403.
		{"POST", "/api/v1/requests/:id/transitions", employee, s.apiTransition},
		{"POST", "/api/v1/requests/:id/review", security, s.apiCompleteReview},
		{"POST", "/api/v1/requests/:id/decision", security, s.apiDecide},
	}
}

// apiMoney is an amount as the API shows it: the decimal string in the currency's own
// decimals, and the same in minor units for clients that count.
type apiMoney struct {
	Amount   string `json:"amount"` // "1200.50"; "1500" for JPY
	Currency string `json:"currency"`
	Minor    int64  `json:"minor"`
}

func apiMoneyOf(m requests.Money) apiMoney {
	exp, _ := requests.CurrencyExponent(m.Currency)
	return apiMoney{Amount: decimalString(m.Minor, exp), Currency: m.Currency, Minor: m.Minor}
}

// decimalString writes minor units with exp decimals and no grouping: 120050, 2 → "1200.50".
func decimalString(minor int64, exp int) string {
	sign, u := "", uint64(minor)
	if minor < 0 {
		sign, u = "-", uint64(-(minor+1))+1
	}
	digits := strconv.FormatUint(u, 10)
	if exp <= 0 {
		return sign + digits
	}
	for len(digits) <= exp {
		digits = "0" + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

// apiRequest is a request's own fields. Every field is always present; those without a value
// are "" or null.
type apiRequest struct {
	ID                 int64                 `json:"id"`
	Kind               requests.RequestKind  `json:"kind"`
	State              requests.RequestState `json:"state"`
	StateLabel         string                `json:"state_label"`
	App                *string               `json:"app"` // the catalogued app's slug; null until a proposal is decided
	AppName            string                `json:"app_name"`
	Website            string                `json:"website"`
	UseCase            string                `json:"use_case"`
	DataClassification string                `json:"data_classification"`
	ExpectedUsers      int                   `json:"expected_users"`
	Estimate           *apiMoney             `json:"estimate"` // yearly
	Requester          string                `json:"requester"`
	Outcome            requests.Outcome      `json:"outcome"`
	Conditions         string                `json:"conditions"`
	Rationale          string                `json:"rationale"`
	WhatWouldChange    string                `json:"what_would_change"`
	PilotEndsAt        *time.Time            `json:"pilot_ends_at"`
	VoteOpenedAt       *time.Time            `json:"vote_opened_at"`
	CreatedAt          time.Time             `json:"created_at"`
	UpdatedAt          time.Time             `json:"updated_at"`
}

func apiRequestOf(r requests.Request, requester string, app *string) apiRequest {
	out := apiRequest{ID: r.ID, Kind: r.Kind, State: r.State, StateLabel: r.State.Label(), App: app, AppName: r.AppName,
		Website: r.Website, UseCase: r.UseCase, DataClassification: r.DataClassification, ExpectedUsers: r.ExpectedUsers,
		Requester: requester, Outcome: r.Outcome, Conditions: r.Conditions, Rationale: r.Rationale, WhatWouldChange: r.WhatWouldChange,
		PilotEndsAt: r.PilotEndsAt, VoteOpenedAt: r.VoteOpenedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.EstimateMinor != nil {
		m := apiMoneyOf(requests.Money{Minor: *r.EstimateMinor, Currency: r.EstimateCurrency})
		out.Estimate = &m
	}
	return out
}

// apiRequestSummary is a request in a list.
type apiRequestSummary struct {
	ID         int64                 `json:"id"`
	Kind       requests.RequestKind  `json:"kind"`
	State      requests.RequestState `json:"state"`
	StateLabel string                `json:"state_label"`
	AppName    string                `json:"app_name"`
	Requester  string                `json:"requester"`
	Supporters int                   `json:"supporters"`
	Demand     int                   `json:"demand"`
	Outcome    requests.Outcome      `json:"outcome"`
	CreatedAt  time.Time             `json:"created_at"`
	UpdatedAt  time.Time             `json:"updated_at"`
}

// apiListRequests lists the caller's requests (made, supported or pledged to). With ?state=
// (repeated or comma-separated) it lists every request in those states instead, which only
// the committee and security may: it is their queue.
func (s *Server) apiListRequests(c *gin.Context) {
	ctx := c.Request.Context()
	var list []requests.RequestSummary
	var err error
	if vals := splitParams(c.QueryArray("state")); len(vals) > 0 {
		if !rolesOf(c).Has(auth.RoleCommittee) {
			s.fail(c, errs.E(errs.Forbidden, "Only committee members and security list every request by state; leave out state to list your own."))
			return
		}
		states := make([]requests.RequestState, 0, len(vals))
		for _, v := range vals {
			st := requests.RequestState(v)
			if !st.Valid() {
				s.fail(c, errInvalidField("state", fmt.Sprintf("Unknown state “%s”; use %s.", v, requestStateNames())))
				return
			}
			states = append(states, st)
		}
		list, err = s.requests.OpenRequests(ctx, states...)
	} else {
		list, err = s.requests.RequestsOf(ctx, principalOf(c).User.ID)
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]apiRequestSummary, 0, len(list))
	for _, r := range list {
		out = append(out, apiRequestSummary{ID: r.ID, Kind: r.Kind, State: r.State, StateLabel: r.State.Label(), AppName: r.AppName,
			Requester: r.Requester, Supporters: r.Supporters, Demand: r.Demand, Outcome: r.Outcome, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	}
	c.JSON(http.StatusOK, gin.H{"requests": out})
}

func requestStateNames() string {
	names := make([]string, len(requests.RequestStates))
	for i, st := range requests.RequestStates {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}

// apiRequestDetail is GET /api/v1/requests/{id}: the request, its timeline and funding, and
// what the caller may see of who pledged and voted.
type apiRequestDetail struct {
	apiRequest
	Timeline []requests.TimelineEvent `json:"timeline"`
	Funding  apiFunding               `json:"funding"`
	// Pledges and Votes name people: they are null unless the caller is on the committee or in
	// security, so employees see the totals only.
	Pledges []apiPledgeRow `json:"pledges"`
	Votes   []apiVoteRow   `json:"votes"`
	// Tally is null until the vote has closed: a running count would sway the votes to come.
	Tally  *apiTally    `json:"tally"`
	Review *apiReview   `json:"review"`
	Me     apiRequestMe `json:"me"`
}

// apiFunding is what was pledged, per currency and never converted, with the supporters.
type apiFunding struct {
	Supporters  int                `json:"supporters"`
	PledgeCount int                `json:"pledge_count"`
	Totals      []apiCurrencyTotal `json:"totals"`
	Percent     int                `json:"percent"`    // of the estimate, in its currency; 0 when not comparable
	Comparable  bool               `json:"comparable"` // false without an estimate
	Demand      int                `json:"demand"`
}

// apiCurrencyTotal is the pledges in one currency as a yearly sum.
type apiCurrencyTotal struct {
	Yearly  apiMoney `json:"yearly"`
	Pledges int      `json:"pledges"`
	Seats   int      `json:"seats"`
}

// apiPledge is one pledge: the caller's own in "me", with a name in the committee's list.
type apiPledge struct {
	CostCentre string          `json:"cost_centre"`
	Amount     apiMoney        `json:"amount"`
	Period     requests.Period `json:"period"`
	Seats      int             `json:"seats"`
}

type apiPledgeRow struct {
	Name string `json:"name"`
	apiPledge
}

type apiVoteRow struct {
	Name    string              `json:"name"`
	Choice  requests.VoteChoice `json:"choice"`
	Comment string              `json:"comment"`
}

type apiTally struct {
	Approve   int    `json:"approve"`
	Reject    int    `json:"reject"`
	Abstain   int    `json:"abstain"`
	Cast      int    `json:"cast"`
	QuorumMet bool   `json:"quorum_met"`
	Passed    bool   `json:"passed"`
	Reason    string `json:"reason"`
}

// apiReview is security's checklist, as shown and as sent to POST …/review.
type apiReview struct {
	DataClassification string   `json:"data_classification"`
	SSO                string   `json:"sso"`
	DPA                string   `json:"dpa"`
	Certifications     []string `json:"certifications"`
	DataLocation       string   `json:"data_location"`
	Recommendation     string   `json:"recommendation"`
	Notes              string   `json:"notes"`
}

// apiRequestMe is the caller's own part in the request.
type apiRequestMe struct {
	IsRequester bool                 `json:"is_requester"`
	Pledge      *apiPledge           `json:"pledge"`
	Vote        *requests.VoteChoice `json:"vote"`
}

func apiPledgeOf(p requests.Pledge) apiPledge {
	return apiPledge{CostCentre: p.CostCentre, Amount: apiMoneyOf(p.Amount), Period: p.Period, Seats: p.Seats}
}

// requestDetail gathers what GET /api/v1/requests/{id} shows to the caller.
func (s *Server) requestDetail(c *gin.Context, id int64) (apiRequestDetail, error) {
	ctx := c.Request.Context()
	r, err := s.requests.Request(ctx, id)
	if err != nil {
		return apiRequestDetail{}, err
	}
	var requester string
	if s.auth != nil {
		u, err := s.auth.UserByID(ctx, r.RequesterID)
		if err != nil {
			return apiRequestDetail{}, err
		}
		requester = u.DisplayName()
	}
	var app *string
	if r.AppID != nil {
		a, err := s.catalog.AppByID(ctx, *r.AppID)
		if err != nil {
			return apiRequestDetail{}, err
		}
		app = &a.Slug
	}
	me := principalOf(c).User.ID
	seesNames := rolesOf(c).Has(auth.RoleCommittee)
	out := apiRequestDetail{apiRequest: apiRequestOf(r, requester, app), Me: apiRequestMe{IsRequester: r.RequesterID == me}}
	if out.Timeline, err = s.requests.Timeline(ctx, id); err != nil {
		return apiRequestDetail{}, err
	}
	if out.Timeline == nil {
		out.Timeline = []requests.TimelineEvent{}
	}
	f, err := s.requests.FundingOf(ctx, id)
	if err != nil {
		return apiRequestDetail{}, err
	}
	demand, err := s.requests.Demand(ctx, r, f.Supporters)
	if err != nil {
		return apiRequestDetail{}, err
	}
	out.Funding = apiFunding{Supporters: f.Supporters, PledgeCount: len(f.Pledges), Totals: make([]apiCurrencyTotal, 0, len(f.Totals)),
		Percent: f.Percent, Comparable: f.Comparable, Demand: demand}
	for _, t := range f.Totals {
		out.Funding.Totals = append(out.Funding.Totals, apiCurrencyTotal{Yearly: apiMoneyOf(t.Yearly), Pledges: t.Pledges, Seats: t.Seats})
	}
	if seesNames {
		out.Pledges = make([]apiPledgeRow, 0, len(f.Pledges))
	}
	for _, p := range f.Pledges {
		if p.UserID == me {
			mine := apiPledgeOf(p.Pledge)
			out.Me.Pledge = &mine
		}
		if seesNames {
			out.Pledges = append(out.Pledges, apiPledgeRow{Name: p.Name, apiPledge: apiPledgeOf(p.Pledge)})
		}
	}
	votes, err := s.requests.VoteRows(ctx, id)
	if err != nil {
		return apiRequestDetail{}, err
	}
	if seesNames {
		out.Votes = make([]apiVoteRow, 0, len(votes))
	}
	for _, v := range votes {
		if v.UserID == me {
			choice := v.Choice
			out.Me.Vote = &choice
		}
		if seesNames {
			out.Votes = append(out.Votes, apiVoteRow{Name: v.Name, Choice: v.Choice, Comment: v.Comment})
		}
	}
	if t, ok := r.Tally(); ok {
		out.Tally = &apiTally{Approve: t.Approve, Reject: t.Reject, Abstain: t.Abstain, Cast: t.Cast, QuorumMet: t.QuorumMet, Passed: t.Passed, Reason: t.Reason}
	}
	if rv, ok := r.Review(); ok {
		certs := rv.Certifications
		if certs == nil {
			certs = []string{}
		}
		out.Review = &apiReview{DataClassification: rv.DataClassification, SSO: string(rv.SSO), DPA: string(rv.DPA), Certifications: certs,
			DataLocation: rv.DataLocation, Recommendation: string(rv.Recommendation), Notes: rv.Notes}
	}
	return out, nil
}

// respondRequest answers with the request as GET shows it to the caller; a new request also
// gets its address.
func (s *Server) respondRequest(c *gin.Context, status int, id int64) {
	d, err := s.requestDetail(c, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if status == http.StatusCreated {
		c.Header("Location", "/api/v1/requests/"+strconv.FormatInt(id, 10))
	}
	c.JSON(status, d)
}

// apiRequestID reads the {id} of the path; one that cannot be a request is not found.
func (s *Server) apiRequestID(c *gin.Context) (int64, bool) {
	id, ok := requestParam(c)
	if !ok {
		s.fail(c, errs.E(errs.NotFound, "There is no request %q.", c.Param("id")))
	}
	return id, ok
}

func (s *Server) apiGetRequest(c *gin.Context) {
	if id, ok := s.apiRequestID(c); ok {
		s.respondRequest(c, http.StatusOK, id)
	}
}

// apiProposalInput is the body of POST /api/v1/requests.
type apiProposalInput struct {
	Name               string `json:"name"`
	Website            string `json:"website"`
	UseCase            string `json:"use_case"`
	DataClassification string `json:"data_classification"`
	ExpectedUsers      *int   `json:"expected_users"`
	Estimate           string `json:"estimate"` // yearly, "5000.00": a string, so no cent is lost to floating point
	EstimateCurrency   string `json:"estimate_currency"`
}

func (s *Server) apiPropose(c *gin.Context) {
	var body apiProposalInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	in := requests.ProposalInput{Name: body.Name, Website: body.Website, UseCase: body.UseCase, DataClassification: body.DataClassification,
		Estimate: body.Estimate, EstimateCurrency: body.EstimateCurrency}
	if body.ExpectedUsers != nil {
		in.ExpectedUsers = strconv.Itoa(*body.ExpectedUsers)
	}
	r, err := s.requests.Propose(c.Request.Context(), s.memberOf(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusCreated, r.ID)
}

// apiAccessInput is the body of POST /api/v1/apps/{slug}/access.
type apiAccessInput struct {
	UseCase          string `json:"use_case"`
	AcceptConditions bool   `json:"accept_conditions"`
}

// apiRequestAccess asks for access to a catalogued app: granted at once (state decided) when
// the app is approved, otherwise sent to security.
func (s *Server) apiRequestAccess(c *gin.Context) {
	var body apiAccessInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.requests.RequestAccess(c.Request.Context(), s.memberOf(c), c.Param("slug"), body.UseCase, body.AcceptConditions)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusCreated
	if r.Existing {
		status = http.StatusOK // the caller's pending request for this app
	}
	s.respondRequest(c, status, r.ID)
}

// requestWrite runs one change by the caller on the request of the path and answers with the
// request as it now stands.
func (s *Server) requestWrite(c *gin.Context, do func(m requests.Member, id int64) error) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	if err := do(s.memberOf(c), id); err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// apiSupport counts the caller among the request's supporters; supporting twice is harmless.
func (s *Server) apiSupport(c *gin.Context) {
	s.requestWrite(c, func(m requests.Member, id int64) error {
		return s.requests.Support(c.Request.Context(), m, id)
	})
}

// apiPledgeInput is the body of PUT /api/v1/requests/{id}/pledge.
type apiPledgeInput struct {
	CostCentre string `json:"cost_centre"`
	Amount     string `json:"amount"` // "1200.50": a string, so no cent is lost to floating point
	Currency   string `json:"currency"`
	Period     string `json:"period"`
	Seats      *int   `json:"seats"`
}

// apiSetPledge records or replaces the caller's pledge.
func (s *Server) apiSetPledge(c *gin.Context) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	var body apiPledgeInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	in := requests.PledgeInput{CostCentre: body.CostCentre, Amount: body.Amount, Currency: body.Currency, Period: body.Period}
	if body.Seats != nil {
		in.Seats = strconv.Itoa(*body.Seats)
	}
	if _, err := s.requests.SetPledge(c.Request.Context(), s.memberOf(c), id, in); err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// apiWithdrawPledge removes the caller's pledge, if any.
func (s *Server) apiWithdrawPledge(c *gin.Context) {
	s.requestWrite(c, func(m requests.Member, id int64) error {
		return s.requests.WithdrawPledge(c.Request.Context(), m, id)
	})
}

// apiVoteInput is the body of PUT /api/v1/requests/{id}/vote.
type apiVoteInput struct {
	Choice  string `json:"choice"`
	Comment string `json:"comment"`
}

// apiCastVote records or replaces the caller's vote while the vote is open.
func (s *Server) apiCastVote(c *gin.Context) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	var body apiVoteInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.requests.CastVote(c.Request.Context(), s.memberOf(c), id, requests.VoteChoice(strings.TrimSpace(body.Choice)), body.Comment); err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// apiTransitionInput is the body of POST /api/v1/requests/{id}/transitions.
type apiTransitionInput struct {
	Action string `json:"action"`
	Note   string `json:"note"`
}

// apiTransitionActions are the moves that take nothing but a note; completing a review and
// deciding carry their own bodies, and closing a vote is Paved's alone.
const apiTransitionActions = "start_review, withdraw or open_vote"

// apiTransition starts a review (security), withdraws a request (its requester) or opens the
// vote (committee or security). The request rules say who may do which from which state.
func (s *Server) apiTransition(c *gin.Context) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	var body apiTransitionInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	ctx, m := c.Request.Context(), s.memberOf(c)
	var err error
	switch action := requests.RequestAction(strings.TrimSpace(body.Action)); action {
	case requests.ActionStartReview, requests.ActionWithdraw:
		_, err = s.requests.Transition(ctx, m, id, action, strings.TrimSpace(body.Note))
	case requests.ActionOpenVote:
		if strings.TrimSpace(body.Note) != "" {
			err = errInvalidField("note", "Opening a vote takes no note.")
			break
		}
		_, err = s.requests.OpenVote(ctx, m, id)
	case "":
		err = errInvalidField("action", "Choose "+apiTransitionActions+".")
	case requests.ActionCompleteReview:
		err = errInvalidField("action", "Complete a review with POST /api/v1/requests/{id}/review and its checklist.")
	case requests.ActionDecide:
		err = errInvalidField("action", "Record a decision with POST /api/v1/requests/{id}/decision.")
	default:
		err = errInvalidField("action", fmt.Sprintf("“%s” is not an action here; use %s.", action, apiTransitionActions))
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// apiCompleteReview stores security's complete checklist and moves the request to reviewed.
func (s *Server) apiCompleteReview(c *gin.Context) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	var body apiReview
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	checklist := requests.ReviewChecklist{DataClassification: strings.TrimSpace(body.DataClassification), SSO: catalog.Answer(strings.TrimSpace(body.SSO)),
		DPA: catalog.Answer(strings.TrimSpace(body.DPA)), Certifications: body.Certifications, DataLocation: strings.TrimSpace(body.DataLocation),
		Recommendation: requests.Recommendation(strings.TrimSpace(body.Recommendation)), Notes: strings.TrimSpace(body.Notes)}
	if _, err := s.requests.CompleteReview(c.Request.Context(), s.memberOf(c), id, checklist); err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// apiDecisionInput is the body of POST /api/v1/requests/{id}/decision.
type apiDecisionInput struct {
	Outcome         string   `json:"outcome"`
	Conditions      string   `json:"conditions"`
	Rationale       string   `json:"rationale"`
	WhatWouldChange string   `json:"what_would_change"`
	Alternatives    []string `json:"alternatives"` // slugs of approved apps
	Category        string   `json:"category"`     // for a proposal: where the new app goes
	PilotEndsAt     string   `json:"pilot_ends_at"`
}

// apiDecide records security's decision; the catalogue follows in the same transaction.
func (s *Server) apiDecide(c *gin.Context) {
	id, ok := s.apiRequestID(c)
	if !ok {
		return
	}
	var body apiDecisionInput
	if err := decodeJSONBody(c, &body); err != nil {
		s.fail(c, err)
		return
	}
	in := requests.DecisionInput{Outcome: requests.Outcome(strings.TrimSpace(body.Outcome)), Conditions: body.Conditions, Rationale: body.Rationale,
		WhatWouldChange: body.WhatWouldChange, Alternatives: splitParams(body.Alternatives), Category: strings.TrimSpace(body.Category)}
	if v := strings.TrimSpace(body.PilotEndsAt); v != "" {
		t, err := parseAPITime(v)
		if err != nil {
			s.fail(c, err)
			return
		}
		in.PilotEndsAt = &t
	}
	if _, err := s.requests.Decide(c.Request.Context(), s.memberOf(c), id, in); err != nil {
		s.fail(c, err)
		return
	}
	s.respondRequest(c, http.StatusOK, id)
}

// parseAPITime reads an RFC 3339 time or a date (the pilot then ends at its start, UTC).
func parseAPITime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errInvalidField("pilot_ends_at", "Use a date such as 2026-06-30, or an RFC 3339 time.")
}
