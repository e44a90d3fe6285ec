package requests

import (
	"context"
	"fmt"
	"time"

	"github.com/pavedhq/paved/catalog"
)

// DemoPeople are the people the quick start's requests belong to: the four demo users (one per
// role) and colleagues who back proposals.
type DemoPeople struct {
	Employee, Committee, Security, Admin Member
	Colleagues                           []Member
}

// DemoResult says what SeedDemo created.
type DemoResult struct {
	Requests, Pledges, Comments, Votes int
}

// demoNote marks every demo request as such, on the page people read.
const demoNote = " (Demo data.)"

// SeedDemo gives each role work to find in the quick start, through the same functions people
// use: a proposal in security review, one in an open vote the committee member has not voted
// on, one approved with conditions as a pilot, one rejected with guidance, with supporters,
// pledges in two currencies and comments. It does nothing when any request exists.
func (s *Service) SeedDemo(ctx context.Context, p DemoPeople) (DemoResult, error) {
	var res DemoResult
	var n int
	if err := s.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM requests"); err != nil || n > 0 {
		return res, err
	}
	if len(p.Colleagues) < 2 {
		return res, fmt.Errorf("the demo needs at least two colleagues")
	}
	propose := func(by Member, name, site, use string, estimate string, cur string) (Request, error) {
		r, err := s.Propose(ctx, by, ProposalInput{Name: name, Website: site, UseCase: use + demoNote, DataClassification: "internal",
			ExpectedUsers: "25", Estimate: estimate, EstimateCurrency: cur})
		if err == nil {
			res.Requests++
		}
		return r, err
	}
	back := func(r Request, by Member, centre, amount, cur, period string) error {
		if err := s.Support(ctx, by, r.ID); err != nil {
			return err
		}
		if _, err := s.SetPledge(ctx, by, r.ID, PledgeInput{CostCentre: centre, Amount: amount, Currency: cur, Period: period, Seats: "5"}); err != nil {
			return err
		}
		res.Pledges++
		return nil
	}
	comment := func(r Request, by Member, body string) error {
		_, err := s.AddComment(ctx, by, r.ID, body)
		res.Comments++
		return err
	}
	review := func(r Request, rec Recommendation, notes string) error {
		if _, err := s.Transition(ctx, p.Security, r.ID, ActionStartReview, ""); err != nil {
			return err
		}
		_, err := s.CompleteReview(ctx, p.Security, r.ID, ReviewChecklist{DataClassification: "internal", SSO: catalog.AnswerYes, DPA: catalog.AnswerYes,
			Certifications: []string{"soc2_type2"}, DataLocation: "EU (Frankfurt)", Recommendation: rec, Notes: notes})
		return err
	}
	vote := func(r Request, by Member, c VoteChoice, why string) error {
		res.Votes++
		return s.CastVote(ctx, by, r.ID, c, why)
	}
	closeAndDecide := func(r Request, in DecisionInput) error {
		if _, err := s.CloseVote(ctx, r.ID, VotingRules{Quorum: 2, Majority: 0.5, Window: time.Hour}); err != nil {
			return err
		}
		_, err := s.Decide(ctx, p.Security, r.ID, in)
		return err
	}
	c1, c2 := p.Colleagues[0], p.Colleagues[1]

	// In security review: the employee's proposal, backed in euros and dollars.
	tl, err := propose(p.Employee, "tldraw", "https://tldraw.com", "A collaborative whiteboard for design sprints with customers.", "3000", "EUR")
	if err != nil {
		return res, err
	}
	if err := first(back(tl, c1, "CC-1234 Design", "100", "EUR", "monthly"), back(tl, c2, "US-200 Sales", "900", "USD", "yearly"),
		comment(tl, c1, "Our design team runs three customer workshops a month; Miro's guest limits get in the way.")); err != nil {
		return res, err
	}
	if _, err := s.Transition(ctx, p.Security, tl.ID, ActionStartReview, ""); err != nil {
		return res, err
	}

	// In an open vote that the committee member has not voted on yet.
	gl, err := propose(p.Colleagues[0], "Gliffy", "https://www.gliffy.com", "Architecture diagrams embedded in our Confluence pages.", "2400", "EUR")
	if err != nil {
		return res, err
	}
	if err := first(back(gl, p.Employee, "ENG-42 Platform", "150", "EUR", "monthly"), back(gl, c2, "UK-310 Support", "600", "GBP", "yearly"),
		review(gl, RecommendApprove, "SSO through our identity provider and a signed DPA."), comment(gl, p.Security, "Reviewed: SSO and a DPA are in place.")); err != nil {
		return res, err
	}
	if _, err := s.OpenVote(ctx, p.Security, gl.ID); err != nil {
		return res, err
	}
	if err := first(vote(gl, p.Security, VoteApprove, "Security is fine with it."), vote(gl, p.Admin, VoteAbstain, "")); err != nil {
		return res, err
	}

	// Approved with conditions, as a three-month pilot.
	tn, err := propose(c2, "Tana", "https://tana.inc", "Shared research notes for the product discovery team.", "1800", "EUR")
	if err != nil {
		return res, err
	}
	pilotEnd := s.now().AddDate(0, 3, 0)
	if err := first(back(tn, c1, "PM-11 Product", "120", "EUR", "monthly"), review(tn, RecommendApproveWithConditions, "Internal data only; no customer personal data."),
		s.openVoteQuiet(ctx, p.Security, tn.ID), vote(tn, p.Committee, VoteApprove, "Worth a pilot."), vote(tn, p.Security, VoteApprove, ""),
		closeAndDecide(tn, DecisionInput{Outcome: OutcomeApprovedWithConditions, Conditions: "Internal data only; the product team's ten seats.",
			Rationale: "A pilot for the product team; the committee looks again when it ends.", Category: "notes-docs", PilotEndsAt: &pilotEnd})); err != nil {
		return res, err
	}

	// Rejected with guidance: use the approved app instead.
	te, err := propose(c1, "Tella", "https://www.tella.tv", "Screen recordings for product demos.", "900", "USD")
	if err != nil {
		return res, err
	}
	if err := first(review(te, RecommendReject, "Loom, already approved, covers screen recordings."), s.openVoteQuiet(ctx, p.Security, te.ID),
		vote(te, p.Committee, VoteReject, "Loom does this."), vote(te, p.Admin, VoteReject, ""),
		closeAndDecide(te, DecisionInput{Outcome: OutcomeRejectedWithGuidance, Rationale: "Loom is approved and does the same job.",
			WhatWouldChange: "A need Loom cannot meet, such as editing recordings together.", Alternatives: []string{"loom"}, Category: "video-conferencing"})); err != nil {
		return res, err
	}
	return res, nil
}

// openVoteQuiet opens a vote and keeps only the error, for chains of demo steps.
func (s *Service) openVoteQuiet(ctx context.Context, by Member, id int64) error {
	_, err := s.OpenVote(ctx, by, id)
	return err
}

// first returns the first error of steps that have already run in order.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
