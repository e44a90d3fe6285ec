package requests

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

// Outcome is what a decision says.
type Outcome string

// The outcomes.
const (
	OutcomeApproved               Outcome = "approved"
	OutcomeApprovedWithConditions Outcome = "approved_with_conditions"
	OutcomeRejectedWithGuidance   Outcome = "rejected_with_guidance"
)

// Outcomes lists every outcome.
var Outcomes = []Outcome{OutcomeApproved, OutcomeApprovedWithConditions, OutcomeRejectedWithGuidance}

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool { return slices.Contains(Outcomes, o) }

// Label names the outcome for people: "Approved with conditions".
func (o Outcome) Label() string {
	switch o {
	case OutcomeApproved:
		return "Approved"
	case OutcomeApprovedWithConditions:
		return "Approved with conditions"
	case OutcomeRejectedWithGuidance:
		return "Rejected with guidance"
	}
	return string(o)
}

// AppStatus is the catalogue status a decision gives the app it is about.
func (o Outcome) AppStatus() catalog.Status {
	switch o {
	case OutcomeApproved:
		return catalog.StatusApproved
	case OutcomeApprovedWithConditions:
		return catalog.StatusApprovedWithConditions
	}
	return catalog.StatusNotApproved
}

// ImmediateGrant says whether an access request to an app with this catalogue status is
// granted on submission (ActionGrantAccess) and with which outcome. For an app approved with
// conditions the requester must have accepted its conditions on the form first.
func ImmediateGrant(kind RequestKind, app catalog.Status) (Outcome, bool) {
	if kind != KindAccess {
		return "", false
	}
	switch app {
	case catalog.StatusApproved:
		return OutcomeApproved, true
	case catalog.StatusApprovedWithConditions:
		return OutcomeApprovedWithConditions, true
	}
	return "", false
}

// Recommendation is security's advice at the end of a review.
type Recommendation string

// The recommendations.
const (
	RecommendApprove               Recommendation = "approve"
	RecommendApproveWithConditions Recommendation = "approve_with_conditions"
	RecommendReject                Recommendation = "reject"
)

// Recommendations lists every recommendation.
var Recommendations = []Recommendation{RecommendApprove, RecommendApproveWithConditions, RecommendReject}

// Valid reports whether r is a known recommendation.
func (r Recommendation) Valid() bool { return slices.Contains(Recommendations, r) }

// Label names the recommendation for people: "Approve with conditions".
func (r Recommendation) Label() string {
	switch r {
	case RecommendApprove:
		return "Approve"
	case RecommendApproveWithConditions:
		return "Approve with conditions"
	case RecommendReject:
		return "Reject"
	}
	return string(r)
}

// Outcome is the decision the recommendation suggests.
func (r Recommendation) Outcome() Outcome {
	switch r {
	case RecommendApprove:
		return OutcomeApproved
	case RecommendApproveWithConditions:
		return OutcomeApprovedWithConditions
	}
	return OutcomeRejectedWithGuidance
}

// ReviewChecklist is security's review of a request. It may be saved half filled in
// (Validate); it must be complete (ValidateComplete) before the review is completed and the
// vote can open. Its answers fill the app's risk profile (RiskAnswers).
type ReviewChecklist struct {
	// DataClassification is the most sensitive data the app would hold: one of catalog.Classifications.
	DataClassification string
	// SSO and DPA are "yes", "no" or "unknown" (could not be confirmed); "" is not answered yet.
	SSO, DPA catalog.Answer
	// Certifications are keys of the Compliance risk factors the vendor holds (soc2_type2,
	// iso27001, …); none is an answer too.
	Certifications []string
	// DataLocation is where the vendor stores the data, such as "EU (Frankfurt)".
	DataLocation   string
	Recommendation Recommendation
	// Notes explain the recommendation; they are required for conditions or a rejection.
	Notes string
}

// ClassificationLabel names the checklist's data classification for people.
func (c ReviewChecklist) ClassificationLabel() string {
	return catalog.Classification(c.DataClassification).Label()
}

// CertificationLabels name the checklist's certifications for people ("SOC 2 Type II report").
func (c ReviewChecklist) CertificationLabels() []string {
	out := make([]string, len(c.Certifications))
	for i, k := range c.Certifications {
		out[i] = CertificationLabel(k)
	}
	return out
}

// CertificationLabel names a certification key for people; an unknown key shows as it is.
func CertificationLabel(key string) string {
	if f, ok := catalog.FactorByKey(key); ok {
		return f.Label
	}
	return key
}

// CertificationKeys are the certifications a checklist may list: the Compliance risk factors.
func CertificationKeys() []string {
	var keys []string
	for _, f := range catalog.Factors {
		if f.Group == "Compliance" {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

// Validate checks the values that are filled in; blanks are allowed.
func (c ReviewChecklist) Validate() error { return c.check(false) }

// ValidateComplete checks the values and that everything required is filled in, with a field
// error for each gap.
func (c ReviewChecklist) ValidateComplete() error { return c.check(true) }

// Complete reports whether the review may be completed.
func (c ReviewChecklist) Complete() bool { return c.check(true) == nil }

func (c ReviewChecklist) check(complete bool) error {
	f := errs.Fields{}
	required := func(field, value, msg string) {
		if complete && strings.TrimSpace(value) == "" {
			f.Add(field, msg)
		}
	}
	if c.DataClassification != "" && !slices.Contains(catalog.Classifications, catalog.Classification(c.DataClassification)) {
		f.Add("data_classification", "Choose public, internal, confidential or restricted.")
	}
	required("data_classification", c.DataClassification, "Say how sensitive the data would be.")
	for field, a := range map[string]catalog.Answer{"sso": c.SSO, "dpa": c.DPA} {
		if a != "" && a != catalog.AnswerYes && a != catalog.AnswerNo && a != catalog.AnswerUnknown {
			f.Add(field, "Answer yes, no or unknown.")
		}
		required(field, string(a), "Answer yes, no or unknown.")
	}
	known := CertificationKeys()
	for i, cert := range c.Certifications {
		if !slices.Contains(known, cert) {
			f.Add("certifications", "Choose certifications from the list.")
		} else if slices.Contains(c.Certifications[:i], cert) {
			f.Add("certifications", "List each certification once.")
		}
	}
	if utf8.RuneCountInString(c.DataLocation) > 200 {
		f.Add("data_location", "Use at most 200 characters.")
	}
	required("data_location", c.DataLocation, "Say where the vendor stores the data.")
	if c.Recommendation != "" && !c.Recommendation.Valid() {
		f.Add("recommendation", "Choose approve, approve with conditions or reject.")
	}
	required("recommendation", string(c.Recommendation), "Give your recommendation.")
	if utf8.RuneCountInString(c.Notes) > 4000 {
		f.Add("notes", "Use at most 4,000 characters.")
	}
	switch c.Recommendation {
	case RecommendApproveWithConditions:
		required("notes", c.Notes, "Say on which conditions the app may be used.")
	case RecommendReject:
		required("notes", c.Notes, "Say why, and what would change the recommendation.")
	}
	return f.Err()
}

// RiskAnswers are the risk-profile answers the checklist gives: SSO, the DPA, the data
// location and each listed certification. Factors the checklist does not speak to are left
// out, so saving them does not erase what security recorded before.
func (c ReviewChecklist) RiskAnswers() []catalog.RiskAnswer {
	var out []catalog.RiskAnswer
	if c.SSO != "" {
		out = append(out, catalog.RiskAnswer{Factor: "sso", Answer: c.SSO})
	}
	if c.DPA != "" {
		out = append(out, catalog.RiskAnswer{Factor: "gdpr_dpa", Answer: c.DPA})
	}
	if loc := strings.TrimSpace(c.DataLocation); loc != "" {
		out = append(out, catalog.RiskAnswer{Factor: "data_locations_disclosed", Answer: catalog.AnswerYes, Note: loc})
	}
	for _, cert := range c.Certifications {
		if slices.Contains(CertificationKeys(), cert) {
			out = append(out, catalog.RiskAnswer{Factor: cert, Answer: catalog.AnswerYes})
		}
	}
	return out
}

// CompleteReview stores security's checklist, fills the app's risk profile from it when the
// app is catalogued, and moves the request on. The checklist must be complete.
func (s *Service) CompleteReview(ctx context.Context, m Member, id int64, c ReviewChecklist) (Request, error) {
	if err := c.ValidateComplete(); err != nil {
		return Request{}, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return Request{}, err
	}
	var out Request
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		out, err = s.step(ctx, tx, id, &transition{action: ActionCompleteReview, by: &m, note: string(c.Recommendation),
			event: "review_done", outcome: string(c.Recommendation),
			set: func(tx *sqlx.Tx, r *Request) (string, []any, error) {
				if r.AppID != nil {
					if err := catalog.SaveRiskAnswersTx(ctx, tx, *r.AppID, c.RiskAnswers(), s.now()); err != nil {
						return "", nil, err
					}
				}
				r.ReviewJSON = string(raw)
				return "review = ?, ", []any{string(raw)}, nil
			}})
		return err
	})
	return out, err
}

// DecisionInput is security's decision on a request.
type DecisionInput struct {
	Outcome         Outcome
	Conditions      string
	Rationale       string // public: every employee can read it
	WhatWouldChange string
	Alternatives    []string // slugs of approved apps
	PilotEndsAt     *time.Time
	Category        string // for a new app: where it goes in the catalogue
	// SettleApp makes an access decision also the app's catalogue status, conditions and
	// alternatives, so the next person does not start from scratch. A proposal's decision
	// always does.
	SettleApp bool
	// Checks are the checkable conditions of an approval with conditions, as typed; they go
	// to the app with the rest of the decision. CheckPilotEnd adds the pilot's end as one.
	Checks        catalog.ConditionsInput
	CheckPilotEnd bool
}

func (in DecisionInput) validate() error {
	f := errs.Fields{}
	if !in.Outcome.Valid() {
		f.Add("outcome", "Choose approved, approved with conditions, or rejected with guidance.")
	}
	if strings.TrimSpace(in.Rationale) == "" {
		f.Add("rationale", "Explain the decision; every employee can read it.")
	}
	if in.Outcome == OutcomeApprovedWithConditions && strings.TrimSpace(in.Conditions) == "" {
		f.Add("conditions", "Say on which conditions.")
	}
	if in.Outcome == OutcomeRejectedWithGuidance {
		if strings.TrimSpace(in.WhatWouldChange) == "" {
			f.Add("what_would_change", "Say what would change this decision.")
		}
		if len(in.Alternatives) == 0 {
			f.Add("alternatives", "Name at least one approved app to use instead.")
		}
	}
	return f.Err()
}

// Decide records the decision and, in the same transaction, sets the app's catalogue status
// (creating the app for a proposal), its alternatives, and queues its index sync.
func (s *Service) Decide(ctx context.Context, m Member, id int64, in DecisionInput) (Request, error) {
	checks, err := s.decisionChecks(ctx, in)
	if err = errs.Merge(in.validate(), err); err != nil {
		return Request{}, err
	}
	var out Request
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = s.step(ctx, tx, id, &transition{action: ActionDecide, by: &m, note: string(in.Outcome), event: "decided", outcome: string(in.Outcome),
			set: func(tx *sqlx.Tx, r *Request) (string, []any, error) {
				if err := s.settleApp(ctx, tx, r, in, checks); err != nil {
					return "", nil, err
				}
				r.Outcome, r.Rationale = in.Outcome, strings.TrimSpace(in.Rationale)
				return "app_id = ?, outcome = ?, conditions = ?, rationale = ?, what_would_change = ?, pilot_ends_at = ?, ",
					[]any{r.AppID, in.Outcome, strings.TrimSpace(in.Conditions), r.Rationale, strings.TrimSpace(in.WhatWouldChange), in.PilotEndsAt}, nil
			}})
		return err
	})
	return out, err
}

// decisionChecks reads the checkable conditions of a decision, with field errors for bad
// ones and for conditions on an outcome that has none.
func (s *Service) decisionChecks(ctx context.Context, in DecisionInput) (catalog.Conditions, error) {
	ci, f := in.Checks, errs.Fields{}
	if in.CheckPilotEnd {
		if in.PilotEndsAt == nil {
			f.Add("pilot_ends_at", "Give the pilot's end date to have use after it checked.")
		} else {
			ci.PilotEnd = in.PilotEndsAt.UTC().Format(time.DateOnly)
		}
	}
	checks, err := s.catalog.ParseConditions(ctx, ci)
	if err == nil && !checks.Empty() && in.Outcome != OutcomeApprovedWithConditions {
		f.Add("checks", "Checked conditions go with an approval with conditions.")
	}
	return checks, errs.Merge(err, f.Err())
}

// settleApp brings the catalogue in line with a decision on r: a proposal of an app not yet
// catalogued creates it (its review's answers start the risk profile), and a proposal's app
// takes the decision's status and alternatives. An access request leaves the app alone unless
// the decision says to settle it too.
func (s *Service) settleApp(ctx context.Context, tx *sqlx.Tx, r *Request, in DecisionInput, checks catalog.Conditions) error {
	now := s.now()
	var app catalog.App
	if r.AppID == nil {
		if in.Category == "" {
			return &errs.Error{Code: errs.Invalid, Message: "Choose the new app's category.", Fields: map[string]string{"category": "Choose a category for the catalogue."}}
		}
		a, err := s.catalog.CreateAppTx(ctx, tx, catalog.AppInput{Name: r.AppName, Website: r.Website, Category: in.Category, Status: string(catalog.StatusUnderReview)}, now)
		if err != nil {
			return err
		}
		r.AppID, app = &a.ID, a
		// The review was made before the app existed: its answers start the risk profile.
		if review, ok := r.Review(); ok {
			if err := catalog.SaveRiskAnswersTx(ctx, tx, a.ID, review.RiskAnswers(), now); err != nil {
				return err
			}
		}
	} else {
		a, err := catalog.AppByIDTx(ctx, tx, *r.AppID)
		if err != nil {
			return fmt.Errorf("app of request %d: %w", r.ID, err)
		}
		app = a
	}
	if r.Kind != KindNewApp && !in.SettleApp {
		if !checks.Empty() {
			return &errs.Error{Code: errs.Invalid, Message: "Checked conditions belong to the app.", Fields: map[string]string{
				"settle_app": "Checked conditions belong to the app: tick the box to make this the catalogue's decision too, or clear them."}}
		}
		return nil
	}
	if err := s.catalog.SettleAppTx(ctx, tx, app, catalog.AppDecision{Status: in.Outcome.AppStatus(), Conditions: in.Conditions,
		Rationale: in.Rationale, WhatWouldChange: in.WhatWouldChange, Alternatives: in.Alternatives}, now); err != nil {
		return err
	}
	if in.Outcome != OutcomeApprovedWithConditions {
		// Conditions the app had stop with the approval they went with.
		return catalog.SaveConditionsTx(ctx, tx, app.ID, catalog.Conditions{}, now)
	}
	return catalog.SaveConditionsTx(ctx, tx, app.ID, checks, now)
}

// Review returns security's checklist, if there is one.
func (r Request) Review() (ReviewChecklist, bool) {
	var c ReviewChecklist
	if r.ReviewJSON == "" || json.Unmarshal([]byte(r.ReviewJSON), &c) != nil {
		return c, false
	}
	return c, true
}
