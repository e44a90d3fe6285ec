package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

// appFormView is the create and edit form of an app.
type appFormView struct {
	Editing       bool
	Slug          string // the app being edited
	Form          catalog.AppInput
	Errors        map[string]string
	Categories    []catalog.Category
	Statuses      []catalog.Status
	Classes       []catalog.Classification
	LicenceModels []string
}

func (s *Server) appFormView(c *gin.Context, editing bool, slug string, in catalog.AppInput, fieldErrs map[string]string) (appFormView, error) {
	cats, err := s.catalog.Categories(c.Request.Context())
	if err != nil {
		return appFormView{}, err
	}
	return appFormView{Editing: editing, Slug: slug, Form: in, Errors: fieldErrs, Categories: cats,
		Statuses: catalog.Statuses, Classes: catalog.Classifications, LicenceModels: catalog.LicenceModels}, nil
}

func appInputFrom(c *gin.Context) catalog.AppInput {
	return catalog.AppInput{
		Slug: c.PostForm("slug"), Name: c.PostForm("name"), Vendor: c.PostForm("vendor"), Website: c.PostForm("website"),
		Description: c.PostForm("description"), Category: c.PostForm("category"), Tags: c.PostForm("tags"),
		LogoURL: c.PostForm("logo_url"), Status: c.PostForm("status"), Conditions: c.PostForm("conditions"),
		MaxClassification: c.PostForm("max_classification"), AccessInstructions: c.PostForm("access_instructions"),
		DecisionRationale: c.PostForm("decision_rationale"), WhatWouldChange: c.PostForm("what_would_change"),
		BusinessOwner: c.PostForm("business_owner"), LicenceModel: c.PostForm("licence_model"),
		ListCost: c.PostForm("list_cost"), ListCostCurrency: c.PostForm("list_cost_currency"),
	}
}

// conditionsInputFrom reads the checkable conditions' fields of a form.
func conditionsInputFrom(c *gin.Context) catalog.ConditionsInput {
	return catalog.ConditionsInput{SeatLimit: c.PostForm("seat_limit"), AllowedGroups: c.PostForm("allowed_groups"),
		ForbiddenScopes: c.PostForm("forbidden_scopes"), PilotEnd: c.PostForm("pilot_end")}
}

func (s *Server) newAppForm(c *gin.Context) {
	v, err := s.appFormView(c, false, "", catalog.AppInput{Name: c.Query("name"), Status: string(catalog.StatusUnderReview)}, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "app_form", "Add an app", v)
}

func (s *Server) createApp(c *gin.Context) {
	in := appInputFrom(c)
	a, err := s.catalog.CreateApp(c.Request.Context(), actorOf(c), in)
	if s.formFailed(c, err, false, "", in) {
		return
	}
	s.flash(c, "success", a.Name+" is in the catalogue.")
	c.Redirect(http.StatusSeeOther, "/apps/"+a.Slug)
}

func (s *Server) editAppForm(c *gin.Context) {
	a, err := s.catalog.App(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.fail(c, err)
		return
	}
	checks, err := s.catalog.ConditionsOf(c.Request.Context(), a.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	in := catalog.InputOf(a)
	ci := catalog.InputOfConditions(checks)
	in.Checks = &ci
	v, err := s.appFormView(c, true, a.Slug, in, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "app_form", "Edit "+a.Name, v)
}

func (s *Server) updateApp(c *gin.Context) {
	in := appInputFrom(c)
	ci := conditionsInputFrom(c)
	in.Checks = &ci
	a, err := s.catalog.UpdateApp(c.Request.Context(), actorOf(c), c.Param("slug"), in)
	if s.formFailed(c, err, true, c.Param("slug"), in) {
		return
	}
	s.flash(c, "success", "Saved "+a.Name+".")
	c.Redirect(http.StatusSeeOther, "/apps/"+a.Slug)
}

// formFailed shows the form again with field errors (400 or 409), or fails the request.
func (s *Server) formFailed(c *gin.Context, err error, editing bool, slug string, in catalog.AppInput) bool {
	if err == nil {
		return false
	}
	fields, ok := formErrors(err)
	if !ok {
		s.fail(c, err)
		return true
	}
	v, verr := s.appFormView(c, editing, slug, in, fields)
	if verr != nil {
		s.fail(c, verr)
		return true
	}
	status := http.StatusBadRequest
	if errs.Is(err, errs.Conflict) {
		status = http.StatusConflict
	}
	title := "Add an app"
	if editing {
		title = "Edit app"
	}
	s.render(c, status, "app_form", title, v)
	return true
}

// appPageWithErrors shows the app page again with the errors of one of its small forms.
func (s *Server) appPageWithErrors(c *gin.Context, err error, form map[string]string) {
	fields, ok := formErrors(err)
	if !ok {
		s.fail(c, err)
		return
	}
	d, derr := s.catalog.Detail(c.Request.Context(), c.Param("slug"))
	if derr != nil {
		s.fail(c, derr)
		return
	}
	v := appView{AppDetail: d, CanEdit: true, IdentifierKinds: catalog.IdentifierKinds, Errors: fields, Form: form}
	if v.AlternativeChoices, derr = s.usableApps(c); derr != nil {
		s.fail(c, derr)
		return
	}
	if v.Findings, derr = s.activeFindings(c, d.App.Slug); derr != nil {
		s.fail(c, derr)
		return
	}
	status := http.StatusBadRequest
	if errs.Is(err, errs.Conflict) {
		status = http.StatusConflict
	}
	s.render(c, status, "app", d.App.Name, v)
}

func (s *Server) addIdentifier(c *gin.Context) {
	slug := c.Param("slug")
	_, err := s.catalog.AddIdentifier(c.Request.Context(), actorOf(c), slug, catalog.IdentifierKind(c.PostForm("kind")), c.PostForm("value"))
	if err != nil {
		s.appPageWithErrors(c, err, map[string]string{"kind": c.PostForm("kind"), "value": c.PostForm("value")})
		return
	}
	s.flash(c, "success", "Identifier added: discovery will match it from the next import.")
	c.Redirect(http.StatusSeeOther, "/apps/"+slug+"#identifiers")
}

func (s *Server) removeIdentifier(c *gin.Context) {
	id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
	if err := s.catalog.RemoveIdentifier(c.Request.Context(), actorOf(c), c.Param("slug"), id); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Identifier removed.")
	c.Redirect(http.StatusSeeOther, "/apps/"+c.Param("slug")+"#identifiers")
}

func (s *Server) setAlternative(c *gin.Context) {
	slug := c.Param("slug")
	if err := s.catalog.SetAlternative(c.Request.Context(), actorOf(c), slug, c.PostForm("alternative"), c.PostForm("note")); err != nil {
		s.appPageWithErrors(c, err, map[string]string{"alternative": c.PostForm("alternative"), "note": c.PostForm("note")})
		return
	}
	s.flash(c, "success", "Alternative saved.")
	c.Redirect(http.StatusSeeOther, "/apps/"+slug+"#alternatives")
}

func (s *Server) removeAlternative(c *gin.Context) {
	if err := s.catalog.RemoveAlternative(c.Request.Context(), actorOf(c), c.Param("slug"), c.Param("alt")); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Alternative removed.")
	c.Redirect(http.StatusSeeOther, "/apps/"+c.Param("slug")+"#alternatives")
}

// riskFormView is the risk review form.
type riskFormView struct {
	App     catalog.App
	Answers []catalog.Answer
	Score   catalog.Score
	Groups  []string
	Errors  map[string]string
}

var riskAnswers = []catalog.Answer{catalog.AnswerYes, catalog.AnswerNo, catalog.AnswerUnknown}

func (s *Server) riskForm(c *gin.Context) {
	d, err := s.catalog.Detail(c.Request.Context(), c.Param("slug"))
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "risk_form", "Risk review: "+d.App.Name, riskFormView{App: d.App, Answers: riskAnswers, Score: d.Score, Groups: catalog.FactorGroups})
}

func (s *Server) saveRisk(c *gin.Context) {
	slug := c.Param("slug")
	var answers []catalog.RiskAnswer
	for _, f := range catalog.Factors {
		a := catalog.RiskAnswer{Factor: f.Key, Answer: catalog.Answer(c.PostForm(f.Key + ".answer")), Note: c.PostForm(f.Key + ".note"), EvidenceURL: c.PostForm(f.Key + ".evidence_url")}
		if a.Answer == "" {
			a.Answer = catalog.AnswerUnknown
		}
		if v := strings.TrimSpace(c.PostForm(f.Key + ".checked_on")); v != "" {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				s.fail(c, errInvalidField(f.Key+".checked_on", "Use a date such as 2026-01-31."))
				return
			}
			a.CheckedOn = &t
		}
		answers = append(answers, a)
	}
	if err := s.catalog.SaveRiskProfile(c.Request.Context(), actorOf(c), slug, answers); err != nil {
		if fields, ok := formErrors(err); ok {
			d, derr := s.catalog.Detail(c.Request.Context(), slug)
			if derr != nil {
				s.fail(c, derr)
				return
			}
			s.render(c, http.StatusBadRequest, "risk_form", "Risk review: "+d.App.Name, riskFormView{App: d.App, Answers: riskAnswers, Score: d.Score, Groups: catalog.FactorGroups, Errors: fields})
			return
		}
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Risk review saved.")
	c.Redirect(http.StatusSeeOther, "/apps/"+slug+"#risk")
}

func (s *Server) overrideScore(c *gin.Context) {
	slug := c.Param("slug")
	var score *float64
	if v := strings.TrimSpace(c.PostForm("score")); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			s.appPageWithErrors(c, errInvalidField("score", "Use a number from 0 to 10."), map[string]string{"score": v, "reason": c.PostForm("reason")})
			return
		}
		score = &f
	}
	if err := s.catalog.OverrideScore(c.Request.Context(), actorOf(c), slug, score, c.PostForm("reason")); err != nil {
		s.appPageWithErrors(c, err, map[string]string{"score": c.PostForm("score"), "reason": c.PostForm("reason")})
		return
	}
	s.flash(c, "success", "Score updated; the reason is in the audit log.")
	c.Redirect(http.StatusSeeOther, "/apps/"+slug+"#risk")
}

// weightsView is the risk weights settings page.
type weightsView struct {
	Factors []catalog.Factor
	Groups  []string
	Current map[string]catalog.Weight
	Weights any
}

func (s *Server) weightsPage(c *gin.Context) {
	w, err := s.catalog.RiskWeights(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "risk_weights", "Risk weights", weightsView{Factors: catalog.Factors, Groups: catalog.FactorGroups, Current: w, Weights: catalog.Weights})
}

func (s *Server) saveWeights(c *gin.Context) {
	w := map[string]catalog.Weight{}
	for _, f := range catalog.Factors {
		n, err := strconv.Atoi(c.PostForm(f.Key))
		if err != nil {
			s.fail(c, errInvalidField(f.Key, "Choose a weight."))
			return
		}
		w[f.Key] = catalog.Weight(n)
	}
	if err := s.catalog.SetRiskWeights(c.Request.Context(), actorOf(c), w); err != nil {
		s.fail(c, err)
		return
	}
	s.flash(c, "success", "Weights saved. Every app's score now uses them.")
	c.Redirect(http.StatusSeeOther, "/admin/risk-weights")
}
