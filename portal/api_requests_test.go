package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedhq/paved/auth"
	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/catalog/requests"
	"github.com/pavedhq/paved/internal/audit"
)

// newRequestsEnv is the portal with the dev identity provider and a catalogue of three apps:
// Slack (approved), Microsoft Teams (approved with conditions) and Lucidchart (under review).
func newRequestsEnv(t *testing.T) *testEnv {
	t.Helper()
	env := newEnv(t, envOptions{provider: "devidp", catalog: true})
	for _, in := range []catalog.AppInput{
		{Name: "Slack", Vendor: "Salesforce", Website: "https://slack.com", Category: "chat", Status: "approved"},
		{Name: "Microsoft Teams", Vendor: "Microsoft", Website: "https://teams.microsoft.com", Category: "chat", Status: "approved_with_conditions", Conditions: "Internal data only."},
		{Name: "Lucidchart", Vendor: "Lucid Software", Website: "https://lucid.co", Category: "diagramming", Status: "under_review"},
	} {
		if _, err := env.catalog.CreateApp(context.Background(), audit.System, in); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// personFor signs a person in directly, with role and the roles below it, and returns their
// API caller and how the request rules see them. Each subject is a different person.
func (e *testEnv) personFor(subject, name string, role auth.Role) (caller, requests.Member) {
	e.t.Helper()
	roles := auth.RoleSet{role}.Expand()
	u, secret, err := e.auth.SignIn(context.Background(), auth.Identity{Issuer: "https://idp.test", Subject: subject, Email: subject + "@example.com", Name: name}, roles, "", auth.ClientInfo{})
	if err != nil {
		e.t.Fatal(err)
	}
	m := requests.Member{UserID: u.ID, Email: u.Email}
	for _, r := range roles {
		m.Roles = append(m.Roles, string(r))
	}
	return caller{env: e, cookie: secret}, m
}

// devSession signs in through the dev provider's page and returns the session as an API caller.
func (e *testEnv) devSession(subject string) caller {
	e.t.Helper()
	br := e.browser()
	br.signInDev(e.base, "/requests", subject)
	u, _ := url.Parse(e.base)
	for _, c := range br.client.Jar.Cookies(u) {
		if c.Name == e.srv.sessionCookie() {
			return caller{env: e, cookie: c.Value}
		}
	}
	e.t.Fatalf("no session cookie after signing in as %s", subject)
	return caller{}
}

// asRequest decodes a request, failing the test unless the status is want.
func (r apiResponse) asRequest(want int) apiRequestDetail {
	r.t.Helper()
	if r.status != want {
		r.t.Fatalf("status %d, want %d; body %s", r.status, want, r.body)
	}
	var d apiRequestDetail
	r.decode(&d)
	// Every documented field is present, null or not.
	var raw map[string]json.RawMessage
	r.decode(&raw)
	for _, k := range []string{"id", "kind", "state", "state_label", "app", "app_name", "website", "use_case", "data_classification", "expected_users",
		"estimate", "requester", "outcome", "conditions", "rationale", "what_would_change", "pilot_ends_at", "vote_opened_at", "created_at", "updated_at",
		"timeline", "funding", "pledges", "votes", "tally", "review", "me"} {
		if _, ok := raw[k]; !ok {
			r.t.Errorf("the request lacks %q: %s", k, r.body)
		}
	}
	return d
}

func requestPath(id int64, rest string) string { return "/api/v1/requests/" + itoa(id) + rest }

func timelineActions(d apiRequestDetail) []string {
	var out []string
	for _, ev := range d.Timeline {
		out = append(out, ev.Action)
	}
	return out
}

func eur(minor int64) apiMoney { return apiMoneyOf(requests.Money{Minor: minor, Currency: "EUR"}) }

// TestAPIRequestFlow takes a proposal through the whole API: propose, support, pledge, review,
// vote, close and decide, checking the JSON at each step.
func TestAPIRequestFlow(t *testing.T) {
	env := newRequestsEnv(t)
	ctx := context.Background()
	requester := env.devSession("devidp-employee") // Emma Employee, through the real sign-in
	pledger, _ := env.personFor("paul", "Paul Pledger", auth.RoleEmployee)
	security, _ := env.personFor("sid", "Sid Security", auth.RoleSecurity)
	voters := []caller{}
	for _, n := range []string{"Cora", "Colm", "Cleo"} {
		c, _ := env.personFor(strings.ToLower(n), n+" Committee", auth.RoleCommittee)
		voters = append(voters, c)
	}

	// Propose.
	r := requester.send(t, "POST", "/api/v1/requests", map[string]any{"name": "Figma", "website": "https://figma.com",
		"use_case": "Design reviews with product.", "data_classification": "internal", "expected_users": 40, "estimate": "6000", "estimate_currency": "EUR"})
	d := r.asRequest(http.StatusCreated)
	id := d.ID
	if loc := r.header.Get("Location"); loc != requestPath(id, "") {
		t.Errorf("Location %q", loc)
	}
	if d.Kind != requests.KindNewApp || d.State != requests.StateSubmitted || d.StateLabel != "Submitted" || d.App != nil || d.AppName != "Figma" ||
		d.Website != "https://figma.com" || d.UseCase != "Design reviews with product." || d.DataClassification != "internal" || d.ExpectedUsers != 40 ||
		d.Estimate == nil || *d.Estimate != (apiMoney{Amount: "6000.00", Currency: "EUR", Minor: 600000}) || d.Requester != "Emma Employee" ||
		d.Outcome != "" || d.VoteOpenedAt != nil || d.CreatedAt.IsZero() {
		t.Errorf("proposal = %+v", d.apiRequest)
	}
	if len(d.Timeline) != 1 || d.Timeline[0].Action != "submit" || d.Timeline[0].Actor != "employee@example.com" || d.Timeline[0].ToState != "submitted" {
		t.Errorf("timeline = %+v", d.Timeline)
	}
	if d.Funding.Supporters != 0 || d.Funding.PledgeCount != 0 || len(d.Funding.Totals) != 0 || d.Funding.Percent != 0 || !d.Funding.Comparable ||
		!d.Me.IsRequester || d.Me.Pledge != nil || d.Me.Vote != nil || d.Pledges != nil || d.Votes != nil || d.Tally != nil || d.Review != nil {
		t.Errorf("a new proposal: funding %+v, me %+v, pledges %v, votes %v, tally %v, review %v", d.Funding, d.Me, d.Pledges, d.Votes, d.Tally, d.Review)
	}
	var mine struct{ Requests []apiRequestSummary }
	requester.get(t, "/api/v1/requests").decode(&mine)
	if len(mine.Requests) != 1 || mine.Requests[0].ID != id || mine.Requests[0].Requester != "Emma Employee" || mine.Requests[0].State != "submitted" {
		t.Errorf("the requester's list = %+v", mine.Requests)
	}

	// Support: counted once however often.
	for range 2 {
		d = pledger.send(t, "POST", requestPath(id, "/support"), nil).asRequest(http.StatusOK)
	}
	if d.Funding.Supporters != 1 || d.Me.IsRequester || d.Funding.Demand != 8 {
		t.Errorf("after support: funding %+v, me %+v", d.Funding, d.Me)
	}

	// Pledges: the requester yearly, the supporter monthly; totals are yearly.
	d = requester.send(t, "PUT", requestPath(id, "/pledge"), map[string]any{"cost_centre": "CC-0042", "amount": "1200", "currency": "EUR", "period": "yearly"}).asRequest(http.StatusOK)
	if d.Me.Pledge == nil || *d.Me.Pledge != (apiPledge{CostCentre: "CC-0042", Amount: eur(120000), Period: "yearly"}) || d.Funding.Percent != 20 {
		t.Errorf("the requester's pledge: me %+v, funding %+v", d.Me.Pledge, d.Funding)
	}
	d = pledger.send(t, "PUT", requestPath(id, "/pledge"), map[string]any{"cost_centre": "CC-1001", "amount": "150.00", "currency": "eur", "period": "monthly", "seats": 5}).asRequest(http.StatusOK)
	wantTotals := []apiCurrencyTotal{{Yearly: eur(300000), Pledges: 2, Seats: 5}}
	if d.Me.Pledge == nil || *d.Me.Pledge != (apiPledge{CostCentre: "CC-1001", Amount: eur(15000), Period: "monthly", Seats: 5}) ||
		!slices.Equal(d.Funding.Totals, wantTotals) || d.Funding.PledgeCount != 2 || d.Funding.Percent != 50 || !d.Funding.Comparable ||
		d.Funding.Demand != requests.DemandScore(1, 50, 0) || d.Pledges != nil {
		t.Errorf("after two pledges: me %+v, funding %+v, pledges %v", d.Me.Pledge, d.Funding, d.Pledges)
	}
	// Changing a pledge replaces it; withdrawing and pledging again works while the request is open.
	pledger.send(t, "PUT", requestPath(id, "/pledge"), map[string]any{"cost_centre": "CC-1001", "amount": "100", "currency": "EUR", "period": "monthly", "seats": 5}).asRequest(http.StatusOK)
	if d = pledger.do(t, "DELETE", requestPath(id, "/pledge"), "", nil).asRequest(http.StatusOK); d.Me.Pledge != nil || d.Funding.PledgeCount != 1 || d.Funding.Percent != 20 {
		t.Errorf("after withdrawing: me %+v, funding %+v", d.Me.Pledge, d.Funding)
	}
	d = pledger.send(t, "PUT", requestPath(id, "/pledge"), map[string]any{"cost_centre": "CC-1001", "amount": "150", "currency": "EUR", "period": "monthly", "seats": 5}).asRequest(http.StatusOK)
	if !slices.Equal(d.Funding.Totals, wantTotals) || d.Funding.Percent != 50 {
		t.Errorf("pledged again: %+v", d.Funding)
	}
	var pledgerList struct{ Requests []apiRequestSummary }
	pledger.get(t, "/api/v1/requests").decode(&pledgerList)
	if len(pledgerList.Requests) != 1 || pledgerList.Requests[0].ID != id || pledgerList.Requests[0].Supporters != 1 || pledgerList.Requests[0].Demand != 28 {
		t.Errorf("the supporter's list = %+v", pledgerList.Requests)
	}

	// Security reviews.
	d = security.send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "start_review", "note": "Picked up."}).asRequest(http.StatusOK)
	if d.State != requests.StateInReview || len(d.Timeline) != 2 || d.Timeline[1].Actor != "sid@example.com" || d.Timeline[1].Note != "Picked up." {
		t.Errorf("start_review: %s, timeline %+v", d.State, d.Timeline)
	}
	review := apiReview{DataClassification: "internal", SSO: "yes", DPA: "yes", Certifications: []string{"soc2_type2"}, DataLocation: "EU (Frankfurt)", Recommendation: "approve", Notes: ""}
	d = security.send(t, "POST", requestPath(id, "/review"), review).asRequest(http.StatusOK)
	if d.State != requests.StateReviewed || d.Review == nil || d.Review.DataLocation != review.DataLocation || !slices.Equal(d.Review.Certifications, review.Certifications) ||
		d.Review.SSO != "yes" || d.Review.Recommendation != "approve" {
		t.Errorf("review: %s, %+v", d.State, d.Review)
	}

	// A committee member opens the vote; three vote.
	d = voters[0].send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "open_vote"}).asRequest(http.StatusOK)
	if d.State != requests.StateVoting || d.VoteOpenedAt == nil || d.StateLabel != "Committee vote open" {
		t.Errorf("open_vote: %s, opened %v", d.State, d.VoteOpenedAt)
	}
	ballots := []map[string]string{{"choice": "approve", "comment": "Good fit."}, {"choice": "approve"}, {"choice": "reject", "comment": "Too dear."}}
	for i, b := range ballots {
		d = voters[i].send(t, "PUT", requestPath(id, "/vote"), b).asRequest(http.StatusOK)
		if d.Me.Vote == nil || string(*d.Me.Vote) != b["choice"] || len(d.Votes) != i+1 || d.Tally != nil {
			t.Errorf("vote %d: me %v, votes %+v, tally %+v", i, d.Me.Vote, d.Votes, d.Tally)
		}
	}
	// Changing one's mind replaces the vote.
	voters[2].send(t, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "abstain"}).asRequest(http.StatusOK)
	d = voters[2].send(t, "PUT", requestPath(id, "/vote"), ballots[2]).asRequest(http.StatusOK)
	wantVotes := []apiVoteRow{{Name: "Cora Committee", Choice: "approve", Comment: "Good fit."}, {Name: "Colm Committee", Choice: "approve"}, {Name: "Cleo Committee", Choice: "reject", Comment: "Too dear."}}
	if !slices.Equal(d.Votes, wantVotes) {
		t.Errorf("votes = %+v, want %+v", d.Votes, wantVotes)
	}

	// The vote closes (Paved's job does it when the window ends).
	if _, err := env.requests.CloseVote(ctx, id, requests.DefaultVotingRules()); err != nil {
		t.Fatal(err)
	}
	d = requester.get(t, requestPath(id, "")).asRequest(http.StatusOK)
	if d.State != requests.StateVoteClosed || d.Tally == nil || d.Tally.Approve != 2 || d.Tally.Reject != 1 || d.Tally.Abstain != 0 || d.Tally.Cast != 3 ||
		!d.Tally.QuorumMet || !d.Tally.Passed || !strings.HasPrefix(d.Tally.Reason, "Passed:") {
		t.Errorf("after the vote closed, the requester sees %s, tally %+v", d.State, d.Tally)
	}
	if d.Votes != nil || d.Pledges != nil {
		t.Errorf("the requester sees names: votes %v, pledges %v", d.Votes, d.Pledges)
	}

	// Security decides; the app joins the catalogue.
	d = security.send(t, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "approved", "rationale": "SSO, a DPA and the committee's approval.", "category": "diagramming"}).asRequest(http.StatusOK)
	if d.State != requests.StateDecided || d.Outcome != requests.OutcomeApproved || d.Rationale != "SSO, a DPA and the committee's approval." || d.App == nil || *d.App != "figma" {
		t.Errorf("decision: %+v", d.apiRequest)
	}
	if want := []string{"submit", "start_review", "complete_review", "open_vote", "close_vote", "decide"}; !slices.Equal(timelineActions(d), want) {
		t.Errorf("timeline %v, want %v", timelineActions(d), want)
	}
	var app apiAppDetail
	security.get(t, "/api/v1/apps/figma").decode(&app)
	if app.Status != catalog.StatusApproved || app.Category != "diagramming" || app.DecisionRationale != d.Rationale {
		t.Errorf("the decided app: %+v", app)
	}
	// The committee's queue by state finds it; pledges are now closed.
	var queue struct{ Requests []apiRequestSummary }
	voters[0].get(t, "/api/v1/requests?state=decided,withdrawn").decode(&queue)
	if len(queue.Requests) != 1 || queue.Requests[0].ID != id || queue.Requests[0].Outcome != requests.OutcomeApproved {
		t.Errorf("?state=decided: %+v", queue.Requests)
	}
	if got := pledger.do(t, "DELETE", requestPath(id, "/pledge"), "", nil).apiError(http.StatusConflict); !strings.Contains(got.Message, "Decided") {
		t.Errorf("withdrawing a pledge after the decision: %+v", got)
	}
}

// TestAPIRequestVisibility: employees, the requester included, see totals; committee and
// security see who pledged and how each voted.
func TestAPIRequestVisibility(t *testing.T) {
	env := newRequestsEnv(t)
	ctx := context.Background()
	requester, rm := env.personFor("rita", "Rita Requester", auth.RoleEmployee)
	employee, _ := env.personFor("eve", "Eve Employee", auth.RoleEmployee)
	pledger, pm := env.personFor("paul", "Paul Pledger", auth.RoleEmployee)
	committee, cm := env.personFor("cora", "Cora Committee", auth.RoleCommittee)
	security, sm := env.personFor("sid", "Sid Security", auth.RoleSecurity)
	admin, _ := env.personFor("ada", "Ada Admin", auth.RoleAdmin)

	r, err := env.requests.Propose(ctx, rm, requests.ProposalInput{Name: "Gliffy", UseCase: "Diagrams for the platform team.", DataClassification: "internal", Estimate: "1000", EstimateCurrency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.requests.SetPledge(ctx, pm, r.ID, requests.PledgeInput{CostCentre: "CC-SECRET-7", Amount: "400", Currency: "EUR", Period: "yearly", Seats: "3"}); err != nil {
		t.Fatal(err)
	}
	advance(t, env, sm, r.ID, requests.StateVoting)
	if err := env.requests.CastVote(ctx, cm, r.ID, requests.VoteReject, "Overlaps with Miro entirely."); err != nil {
		t.Fatal(err)
	}
	path := requestPath(r.ID, "")

	// Employees see totals, and their own part, but no names or individual votes.
	for name, c := range map[string]caller{"requester": requester, "employee": employee, "pledger": pledger} {
		resp := c.get(t, path)
		d := resp.asRequest(http.StatusOK)
		if d.Pledges != nil || d.Votes != nil || d.Tally != nil {
			t.Errorf("%s sees pledges %v, votes %v, tally %v", name, d.Pledges, d.Votes, d.Tally)
		}
		if !bytes.Contains(resp.body, []byte(`"pledges":null`)) || !bytes.Contains(resp.body, []byte(`"votes":null`)) || !bytes.Contains(resp.body, []byte(`"tally":null`)) {
			t.Errorf("%s: pledges, votes and tally should be null: %s", name, resp.body)
		}
		for _, secret := range []string{"Paul Pledger", "Cora Committee", "Overlaps with Miro", `"reject"`} {
			if bytes.Contains(resp.body, []byte(secret)) {
				t.Errorf("%s sees %q: %s", name, secret, resp.body)
			}
		}
		if name != "pledger" && bytes.Contains(resp.body, []byte("CC-SECRET-7")) {
			t.Errorf("%s sees the pledger's cost centre", name)
		}
		if d.Funding.PledgeCount != 1 || !slices.Equal(d.Funding.Totals, []apiCurrencyTotal{{Yearly: eur(40000), Pledges: 1, Seats: 3}}) || d.Funding.Percent != 40 {
			t.Errorf("%s: funding %+v", name, d.Funding)
		}
	}
	d := pledger.get(t, path).asRequest(http.StatusOK)
	if d.Me.Pledge == nil || d.Me.Pledge.CostCentre != "CC-SECRET-7" || d.Me.IsRequester {
		t.Errorf("the pledger's own pledge: %+v", d.Me)
	}
	if d := requester.get(t, path).asRequest(http.StatusOK); !d.Me.IsRequester || d.Me.Pledge != nil {
		t.Errorf("the requester's part: %+v", d.Me)
	}

	// Committee, security and administrators (who hold both roles) see who pledged and voted.
	for name, c := range map[string]caller{"committee": committee, "security": security, "admin": admin} {
		d := c.get(t, path).asRequest(http.StatusOK)
		wantPledges := []apiPledgeRow{{Name: "Paul Pledger", apiPledge: apiPledge{CostCentre: "CC-SECRET-7", Amount: eur(40000), Period: "yearly", Seats: 3}}}
		if !slices.Equal(d.Pledges, wantPledges) {
			t.Errorf("%s: pledges %+v", name, d.Pledges)
		}
		if !slices.Equal(d.Votes, []apiVoteRow{{Name: "Cora Committee", Choice: "reject", Comment: "Overlaps with Miro entirely."}}) {
			t.Errorf("%s: votes %+v", name, d.Votes)
		}
		if d.Tally != nil {
			t.Errorf("%s sees a tally while the vote is open: %+v", name, d.Tally)
		}
	}
	if d := committee.get(t, path).asRequest(http.StatusOK); d.Me.Vote == nil || *d.Me.Vote != requests.VoteReject {
		t.Errorf("the voter's own vote: %+v", d.Me)
	}

	// The tally appears for everyone once the vote has closed; names still do not.
	if _, err := env.requests.CloseVote(ctx, r.ID, requests.DefaultVotingRules()); err != nil {
		t.Fatal(err)
	}
	resp := employee.get(t, path)
	d = resp.asRequest(http.StatusOK)
	if d.Tally == nil || d.Tally.Reject != 1 || d.Tally.Cast != 1 || d.Tally.QuorumMet || d.Tally.Passed || d.Votes != nil || bytes.Contains(resp.body, []byte("Cora Committee")) {
		t.Errorf("after closing, the employee sees tally %+v, votes %v", d.Tally, d.Votes)
	}

	// The list by state is the committee's and security's queue, not everyone's.
	var queue struct{ Requests []apiRequestSummary }
	committee.get(t, "/api/v1/requests?state=vote_closed").decode(&queue)
	if len(queue.Requests) != 1 || queue.Requests[0].ID != r.ID {
		t.Errorf("committee queue: %+v", queue.Requests)
	}
	if got := employee.get(t, "/api/v1/requests?state=vote_closed").apiError(http.StatusForbidden); got.Code != "forbidden" {
		t.Errorf("employee queue: %+v", got)
	}
	var none struct{ Requests []apiRequestSummary }
	if resp := employee.get(t, "/api/v1/requests"); !bytes.Contains(resp.body, []byte(`"requests":[]`)) {
		t.Errorf("an employee without requests: %s", resp.body)
	} else if resp.decode(&none); len(none.Requests) != 0 {
		t.Errorf("an employee without requests sees %+v", none.Requests)
	}
}

// advance moves request id on to state, as Paved and the security member sec would.
func advance(t *testing.T, env *testEnv, sec requests.Member, id int64, state requests.RequestState) {
	t.Helper()
	ctx := context.Background()
	for {
		r, err := env.requests.Request(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch r.State {
		case state:
			return
		case requests.StateSubmitted:
			_, err = env.requests.Transition(ctx, sec, id, requests.ActionStartReview, "")
		case requests.StateInReview:
			_, err = env.requests.CompleteReview(ctx, sec, id, requests.ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes,
				DataLocation: "EU", Recommendation: requests.RecommendApprove})
		case requests.StateReviewed:
			_, err = env.requests.OpenVote(ctx, sec, id)
		case requests.StateVoting:
			_, err = env.requests.CloseVote(ctx, id, requests.DefaultVotingRules())
		default:
			t.Fatalf("request %d is %s and cannot reach %s", id, r.State, state)
		}
		if err != nil {
			t.Fatalf("advance request %d from %s toward %s: %v", id, r.State, state, err)
		}
	}
}

// TestAPIRequestBadInput: each kind of refusal has its status, code and field, and writes nothing.
func TestAPIRequestBadInput(t *testing.T) {
	env := newRequestsEnv(t)
	ctx := context.Background()
	requester, rm := env.personFor("rita", "Rita Requester", auth.RoleEmployee)
	employee, _ := env.personFor("eve", "Eve Employee", auth.RoleEmployee)
	committee, _ := env.personFor("cora", "Cora Committee", auth.RoleCommittee)
	security, sm := env.personFor("sid", "Sid Security", auth.RoleSecurity)
	propose := func(name string) int64 {
		t.Helper()
		r, err := env.requests.Propose(ctx, rm, requests.ProposalInput{Name: name, UseCase: "Diagrams for the platform team.", DataClassification: "internal"})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	id := propose("Gliffy")

	// 400, with the field that is wrong.
	valid := func() map[string]any {
		return map[string]any{"cost_centre": "CC-1", "amount": "100", "currency": "EUR", "period": "monthly"}
	}
	cases := []struct {
		name         string
		c            caller
		method, path string
		body         any
		fields       []string
	}{
		{"empty proposal", requester, "POST", "/api/v1/requests", map[string]any{}, []string{"name", "use_case", "data_classification"}},
		{"negative estimate", requester, "POST", "/api/v1/requests", map[string]any{"name": "X", "use_case": "Long enough use.", "data_classification": "internal", "estimate": "-5", "estimate_currency": "EUR"}, []string{"estimate"}},
		{"estimate in an unknown currency", requester, "POST", "/api/v1/requests", map[string]any{"name": "X", "use_case": "Long enough use.", "data_classification": "internal", "estimate": "5", "estimate_currency": "XYZ"}, []string{"estimate_currency"}},
		{"negative expected users", requester, "POST", "/api/v1/requests", map[string]any{"name": "X", "use_case": "Long enough use.", "data_classification": "secret", "expected_users": -3}, []string{"expected_users", "data_classification"}},
		{"proposal with an unknown field", requester, "POST", "/api/v1/requests", map[string]any{"name": "X", "owner": "me"}, []string{"owner"}},
		{"negative amount", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "amount", "-100"), []string{"amount"}},
		{"zero amount", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "amount", "0"), []string{"amount"}},
		{"too many decimals", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "amount", "12.345"), []string{"amount"}},
		{"yen with decimals", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "amount", "1500.5", "currency", "JPY"), []string{"amount"}},
		{"amount as a number", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "amount", 12.5), []string{"amount"}},
		{"unknown currency", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "currency", "XYZ"), []string{"currency"}},
		{"no currency", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "currency", ""), []string{"currency"}},
		{"unknown period", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "period", "weekly"), []string{"period"}},
		{"negative seats", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "seats", -1), []string{"seats"}},
		{"no cost centre", employee, "PUT", requestPath(id, "/pledge"), with(valid(), "cost_centre", " "), []string{"cost_centre"}},
		{"everything wrong", employee, "PUT", requestPath(id, "/pledge"), map[string]any{"amount": "-1", "currency": "ZZZ", "period": "daily"}, []string{"cost_centre", "amount", "currency", "period"}},
		{"unknown action", security, "POST", requestPath(id, "/transitions"), map[string]string{"action": "fly"}, []string{"action"}},
		{"no action", security, "POST", requestPath(id, "/transitions"), map[string]string{}, []string{"action"}},
		{"decide as a transition", security, "POST", requestPath(id, "/transitions"), map[string]string{"action": "decide"}, []string{"action"}},
		{"close_vote as a transition", security, "POST", requestPath(id, "/transitions"), map[string]string{"action": "close_vote"}, []string{"action"}},
		{"open_vote with a note", security, "POST", requestPath(id, "/transitions"), map[string]string{"action": "open_vote", "note": "now"}, []string{"note"}},
		{"incomplete review", security, "POST", requestPath(id, "/review"), map[string]any{"sso": "maybe"}, []string{"data_classification", "sso", "dpa", "data_location", "recommendation"}},
		{"rejection without notes", security, "POST", requestPath(id, "/review"), apiReview{DataClassification: "internal", SSO: "no", DPA: "no", DataLocation: "US", Recommendation: "reject"}, []string{"notes"}},
		{"unknown certification", security, "POST", requestPath(id, "/review"), apiReview{DataClassification: "internal", SSO: "no", DPA: "no", DataLocation: "US", Recommendation: "approve", Certifications: []string{"iso9001"}}, []string{"certifications"}},
		{"decision without rationale", security, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "maybe"}, []string{"outcome", "rationale"}},
		{"rejection without guidance", security, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "rejected_with_guidance", "rationale": "No SSO."}, []string{"what_would_change", "alternatives"}},
		{"conditions missing", security, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "approved_with_conditions", "rationale": "Fine."}, []string{"conditions"}},
		{"pilot end that is no time", security, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "approved", "rationale": "Fine.", "pilot_ends_at": "soon"}, []string{"pilot_ends_at"}},
		{"conditions not accepted", employee, "POST", "/api/v1/apps/microsoft-teams/access", map[string]any{"use_case": "Calls."}, []string{"accept_conditions"}},
		{"unknown state", committee, "GET", "/api/v1/requests?state=pending", nil, []string{"state"}},
		{"comment too long", committee, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "approve", "comment": strings.Repeat("x", 2001)}, []string{"comment"}},
		{"bad choice", committee, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "maybe"}, []string{"choice"}},
	}
	for _, tc := range cases {
		var resp apiResponse
		if tc.body == nil {
			resp = tc.c.get(t, tc.path)
		} else {
			resp = tc.c.send(t, tc.method, tc.path, tc.body)
		}
		if resp.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400; %s", tc.name, resp.status, resp.body)
			continue
		}
		got := resp.apiError(http.StatusBadRequest)
		if got.Code != "invalid" {
			t.Errorf("%s: code %s", tc.name, got.Code)
		}
		for _, f := range tc.fields {
			if got.Fields[f] == "" {
				t.Errorf("%s: no error for %s in %v", tc.name, f, got.Fields)
			}
		}
	}
	// Malformed bodies are 400 too, without touching the request.
	for name, raw := range map[string]string{"not JSON": "{", "a list": "[]", "two objects": `{"choice":"approve"}{}`} {
		if got := committee.send(t, "PUT", requestPath(id, "/vote"), raw).apiError(http.StatusBadRequest); got.Code != "invalid" {
			t.Errorf("%s: %+v", name, got)
		}
	}
	if got := committee.do(t, "PUT", requestPath(id, "/vote"), "text/plain", strings.NewReader(`{"choice":"approve"}`)).apiError(http.StatusBadRequest); !strings.Contains(got.Message, "application/json") {
		t.Errorf("text/plain: %+v", got)
	}
	if d := security.get(t, requestPath(id, "")).asRequest(http.StatusOK); d.State != requests.StateSubmitted || d.Funding.PledgeCount != 0 || len(d.Timeline) != 1 {
		t.Errorf("refused input changed the request: %s, %d pledges, timeline %v", d.State, d.Funding.PledgeCount, timelineActions(d))
	}
	var n int
	if err := env.db.Get(&n, "SELECT COUNT(*) FROM requests"); err != nil || n != 1 {
		t.Errorf("%d requests stored (%v), want only the first", n, err)
	}

	// 403: the wrong person or role; nothing changes.
	forbidden := []struct {
		name         string
		c            caller
		method, path string
		body         any
	}{
		{"someone else withdraws", employee, "POST", requestPath(id, "/transitions"), map[string]string{"action": "withdraw"}},
		{"security withdraws", security, "POST", requestPath(id, "/transitions"), map[string]string{"action": "withdraw"}},
		{"an employee starts the review", employee, "POST", requestPath(id, "/transitions"), map[string]string{"action": "start_review"}},
		{"the committee starts the review", committee, "POST", requestPath(id, "/transitions"), map[string]string{"action": "start_review"}},
		{"the requester opens the vote", requester, "POST", requestPath(id, "/transitions"), map[string]string{"action": "open_vote"}},
		{"an employee votes", employee, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "approve"}},
		{"the committee reviews", committee, "POST", requestPath(id, "/review"), apiReview{}},
		{"the committee decides", committee, "POST", requestPath(id, "/decision"), map[string]string{"outcome": "approved", "rationale": "Yes."}},
	}
	for _, tc := range forbidden {
		if got := tc.c.send(t, tc.method, tc.path, tc.body).apiError(http.StatusForbidden); got.Code != "forbidden" {
			t.Errorf("%s: %+v", tc.name, got)
		}
	}
	if d := security.get(t, requestPath(id, "")).asRequest(http.StatusOK); d.State != requests.StateSubmitted || len(d.Timeline) != 1 {
		t.Errorf("refused actions changed the request: %s, %v", d.State, timelineActions(d))
	}
	// A token made by no one acts for nobody: request operations are always someone's.
	_, token, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "all", Scopes: scopeNames(auth.Scopes), ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	bot := caller{env: env, token: token}
	if got := bot.get(t, "/api/v1/requests").apiError(http.StatusForbidden); !strings.Contains(got.Message, "owner") {
		t.Errorf("token: %+v", got)
	}
	bot.send(t, "PUT", requestPath(id, "/pledge"), valid()).apiError(http.StatusForbidden)
	caller{env: env}.get(t, requestPath(id, "")).apiError(http.StatusUnauthorized)

	// 404: no such request or app.
	for _, p := range []string{"/api/v1/requests/999999", "/api/v1/requests/abc", "/api/v1/requests/0", "/api/v1/requests/-1"} {
		if got := employee.get(t, p).apiError(http.StatusNotFound); got.Code != "not_found" {
			t.Errorf("GET %s: %+v", p, got)
		}
	}
	employee.send(t, "POST", "/api/v1/requests/999999/support", nil).apiError(http.StatusNotFound)
	employee.send(t, "PUT", "/api/v1/requests/999999/pledge", valid()).apiError(http.StatusNotFound)
	employee.do(t, "DELETE", "/api/v1/requests/999999/pledge", "", nil).apiError(http.StatusNotFound)
	committee.send(t, "PUT", "/api/v1/requests/999999/vote", map[string]string{"choice": "approve"}).apiError(http.StatusNotFound)
	security.send(t, "POST", "/api/v1/requests/999999/transitions", map[string]string{"action": "start_review"}).apiError(http.StatusNotFound)
	employee.send(t, "POST", "/api/v1/apps/no-such-app/access", map[string]any{}).apiError(http.StatusNotFound)

	// 409: moves the state does not allow.
	conflict := func(name string, resp apiResponse) {
		t.Helper()
		if got := resp.apiError(http.StatusConflict); got.Code != "conflict" {
			t.Errorf("%s: %+v", name, got)
		}
	}
	conflict("the requester supports their own request", requester.send(t, "POST", requestPath(id, "/support"), nil))
	conflict("open_vote before the review", committee.send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "open_vote"}))
	conflict("voting before the vote opens", committee.send(t, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "approve"}))
	conflict("completing a review not started", security.send(t, "POST", requestPath(id, "/review"), apiReview{DataClassification: "internal", SSO: "yes", DPA: "yes", DataLocation: "EU", Recommendation: "approve"}))
	security.send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "start_review"}).asRequest(http.StatusOK)
	conflict("starting the review twice", security.send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "start_review"}))
	advance(t, env, sm, id, requests.StateVoting)
	conflict("deciding during the vote", security.send(t, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "approved", "rationale": "Yes.", "category": "diagramming"}))
	committee.send(t, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "approve"}).asRequest(http.StatusOK)
	if _, err := env.requests.CloseVote(ctx, id, requests.DefaultVotingRules()); err != nil {
		t.Fatal(err)
	}
	conflict("voting on a closed vote", committee.send(t, "PUT", requestPath(id, "/vote"), map[string]string{"choice": "reject"}))
	if d := committee.get(t, requestPath(id, "")).asRequest(http.StatusOK); len(d.Votes) != 1 || d.Votes[0].Choice != "approve" || d.Tally == nil || d.Tally.Approve != 1 {
		t.Errorf("a refused late vote changed the count: votes %+v, tally %+v", d.Votes, d.Tally)
	}

	// Two decisions at once: one is recorded, the other is told it came too late.
	const racers = 4
	statuses := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			statuses[i] = security.send(t, "POST", requestPath(id, "/decision"), map[string]any{"outcome": "approved", "rationale": fmt.Sprintf("Decision %d.", i), "category": "diagramming"}).status
		})
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{200, 409, 409, 409}) {
		t.Errorf("concurrent decisions answered %v, want one 200 and the rest 409", statuses)
	}
	d := security.get(t, requestPath(id, "")).asRequest(http.StatusOK)
	if d.State != requests.StateDecided || strings.Count(strings.Join(timelineActions(d), " "), "decide") != 1 {
		t.Errorf("after the race: %s, timeline %v", d.State, timelineActions(d))
	}
	if err := env.db.Get(&n, "SELECT COUNT(*) FROM apps WHERE name = 'Gliffy'"); err != nil || n != 1 {
		t.Errorf("the race created %d Gliffy apps (%v), want 1", n, err)
	}
	conflict("pledging on a decided request", employee.send(t, "PUT", requestPath(id, "/pledge"), valid()))
	conflict("supporting a decided request", employee.send(t, "POST", requestPath(id, "/support"), nil))
	conflict("withdrawing a decided request", requester.send(t, "POST", requestPath(id, "/transitions"), map[string]string{"action": "withdraw"}))
	other := propose("Whimsical")
	requester.send(t, "POST", requestPath(other, "/transitions"), map[string]string{"action": "withdraw", "note": "Found another way."}).asRequest(http.StatusOK)
	conflict("withdrawing twice", requester.send(t, "POST", requestPath(other, "/transitions"), map[string]string{"action": "withdraw"}))

	// 413: a body over the limit, announced or not.
	huge := `{"name":"X","use_case":"` + strings.Repeat("x", 2<<20) + `"}`
	if got := requester.send(t, "POST", "/api/v1/requests", huge).apiError(http.StatusRequestEntityTooLarge); got.Code != "too_large" {
		t.Errorf("oversize body: %+v", got)
	}
	chunked := io.MultiReader(strings.NewReader(huge)) // no length: read until the limit
	if got := requester.do(t, "POST", "/api/v1/requests", "application/json", chunked).apiError(http.StatusRequestEntityTooLarge); got.Code != "too_large" {
		t.Errorf("oversize chunked body: %+v", got)
	}
	if err := env.db.Get(&n, "SELECT COUNT(*) FROM requests"); err != nil || n != 2 {
		t.Errorf("%d requests stored (%v), want 2", n, err)
	}
}

// TestAPIRequestAuthorizationMatrix: who may take each write action, as a table, each cell
// on a fresh request in the state the action needs.
func TestAPIRequestAuthorizationMatrix(t *testing.T) {
	env := newRequestsEnv(t)
	ctx := context.Background()
	_, sm := env.personFor("setup-security", "Setup Security", auth.RoleSecurity)
	requester, rm := env.personFor("rita", "Rita Requester", auth.RoleEmployee)
	callers := map[string]caller{"requester": requester}
	for _, role := range []auth.Role{auth.RoleEmployee, auth.RoleCommittee, auth.RoleSecurity, auth.RoleAdmin} {
		callers[string(role)], _ = env.personFor("matrix-"+string(role), "Matrix "+string(role), role)
	}
	_, token, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "requests", Scopes: []string{string(auth.ScopeRequestsWrite)}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	callers["token"] = caller{env: env, token: token}
	columns := []string{"employee", "committee", "security", "admin", "requester", "token"}

	const (
		ok      = http.StatusOK
		created = http.StatusCreated
		no      = http.StatusForbidden
		clash   = http.StatusConflict
	)
	pledge := map[string]any{"cost_centre": "CC-9", "amount": "10", "currency": "EUR", "period": "yearly"}
	review := apiReview{DataClassification: "internal", SSO: "yes", DPA: "yes", DataLocation: "EU", Recommendation: "approve"}
	decision := map[string]any{"outcome": "approved", "rationale": "Fine.", "category": "diagramming"}
	matrix := []struct {
		action string
		state  requests.RequestState // of the fresh request the action is tried on; "" needs none
		method string
		path   string // %d is the request
		body   any
		want   []int // in the order of columns
	}{
		{"propose", "", "POST", "/api/v1/requests", map[string]any{"name": "Pitch", "use_case": "Slides for sales.", "data_classification": "internal"},
			[]int{created, created, created, created, created, no}},
		{"request access", "", "POST", "/api/v1/apps/lucidchart/access", map[string]any{"use_case": "Diagrams."},
			[]int{created, created, created, created, created, no}},
		{"support", requests.StateSubmitted, "POST", "/api/v1/requests/%d/support", nil,
			[]int{ok, ok, ok, ok, clash, no}}, // the requester supports their own request already
		{"pledge", requests.StateInReview, "PUT", "/api/v1/requests/%d/pledge", pledge,
			[]int{ok, ok, ok, ok, ok, no}},
		{"withdraw pledge", requests.StateVoting, "DELETE", "/api/v1/requests/%d/pledge", nil,
			[]int{ok, ok, ok, ok, ok, no}},
		{"vote", requests.StateVoting, "PUT", "/api/v1/requests/%d/vote", map[string]string{"choice": "approve"},
			[]int{no, ok, ok, ok, no, no}},
		{"start review", requests.StateSubmitted, "POST", "/api/v1/requests/%d/transitions", map[string]string{"action": "start_review"},
			[]int{no, no, ok, ok, no, no}},
		{"withdraw", requests.StateReviewed, "POST", "/api/v1/requests/%d/transitions", map[string]string{"action": "withdraw"},
			[]int{no, no, no, no, ok, no}},
		{"open vote", requests.StateReviewed, "POST", "/api/v1/requests/%d/transitions", map[string]string{"action": "open_vote"},
			[]int{no, ok, ok, ok, no, no}},
		{"complete review", requests.StateInReview, "POST", "/api/v1/requests/%d/review", review,
			[]int{no, no, ok, ok, no, no}},
		{"decide", requests.StateVoteClosed, "POST", "/api/v1/requests/%d/decision", decision,
			[]int{no, no, ok, ok, no, no}},
	}
	n := 0
	for _, row := range matrix {
		for i, col := range columns {
			t.Run(row.action+"/"+col, func(t *testing.T) {
				path := row.path
				var id int64
				if row.state != "" {
					n++
					r, err := env.requests.Propose(ctx, rm, requests.ProposalInput{Name: "Matrix app " + strconv.Itoa(n), UseCase: "A need worth testing.", DataClassification: "internal"})
					if err != nil {
						t.Fatal(err)
					}
					id = r.ID
					advance(t, env, sm, id, row.state)
					path = fmt.Sprintf(path, id)
				}
				c := callers[col]
				var resp apiResponse
				body := row.body
				if m, ok := body.(map[string]any); ok && row.action == "propose" {
					// Each caller proposes an app of its own: a second "Pitch" would be a duplicate.
					m = maps.Clone(m)
					m["name"] = fmt.Sprintf("%s for %s", m["name"], col)
					body = m
				}
				if body == nil {
					resp = c.do(t, row.method, path, "", nil)
				} else {
					resp = c.send(t, row.method, path, body)
				}
				if resp.status != row.want[i] {
					t.Fatalf("%s as %s: %d, want %d; %s", row.action, col, resp.status, row.want[i], resp.body)
				}
				if resp.status >= 400 {
					resp.apiError(resp.status)
					if id != 0 {
						if r, err := env.requests.Request(ctx, id); err != nil || r.State != row.state {
							t.Errorf("a refused %s moved the request to %s (%v)", row.action, r.State, err)
						}
					}
					return
				}
				d := resp.asRequest(resp.status)
				if row.state != "" && d.ID != id {
					t.Errorf("answered with request %d, want %d", d.ID, id)
				}
			})
		}
	}
}

// A token with requests:write acts as the person who made it: their request, their pledge,
// under their roles. A token made by no one acts for no one.
func TestRequestsWriteTokenActsAsItsOwner(t *testing.T) {
	env := newRequestsEnv(t)
	ctx := context.Background()
	_, m := env.personFor("olga", "Olga Owner", auth.RoleEmployee)
	_, secret, err := env.auth.CreateToken(ctx, audit.Actor{UserID: &m.UserID, Name: m.Email}, auth.NewToken{Name: "olga-script", Scopes: []string{string(auth.ScopeRequestsWrite)}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tok := caller{env: env, token: secret}
	d := tok.send(t, "POST", "/api/v1/apps/lucidchart/access", map[string]any{"use_case": "Architecture diagrams for the platform team."}).asRequest(http.StatusCreated)
	if d.Requester != "Olga Owner" && d.Requester != m.Email {
		t.Errorf("requester = %q, want the token's owner", d.Requester)
	}
	if r := tok.get(t, requestPath(d.ID, "")); r.status != http.StatusOK {
		t.Errorf("owner's token reads the request: %d %s", r.status, r.body)
	}
	// The owner is an employee: the committee's vote stays closed to the token.
	if r := tok.send(t, "PUT", requestPath(d.ID, "/vote"), map[string]any{"choice": "approve"}); r.status != http.StatusForbidden {
		t.Errorf("vote through an employee's token: %d", r.status)
	}
	_, orphan, err := env.auth.CreateToken(ctx, audit.System, auth.NewToken{Name: "system", Scopes: []string{string(auth.ScopeRequestsWrite)}, ExpiresIn: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if e := (caller{env: env, token: orphan}).get(t, "/api/v1/requests").apiError(http.StatusForbidden); !strings.Contains(e.Message, "owner") {
		t.Errorf("token of no one: %+v", e)
	}
}
