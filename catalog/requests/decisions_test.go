package requests

import (
	"slices"
	"strings"
	"testing"

	"github.com/pavedhq/paved/catalog"
	"github.com/pavedhq/paved/internal/errs"
)

func TestReviewChecklist(t *testing.T) {
	complete := ReviewChecklist{
		DataClassification: "confidential",
		SSO:                catalog.AnswerYes,
		DPA:                catalog.AnswerUnknown,
		Certifications:     []string{"soc2_type2", "iso27001"},
		DataLocation:       "EU (Frankfurt)",
		Recommendation:     RecommendApprove,
	}
	tests := []struct {
		name     string
		change   func(*ReviewChecklist)
		invalid  []string // fields Validate complains about
		missing  []string // further fields ValidateComplete complains about
		complete bool
	}{
		{"complete approval", func(*ReviewChecklist) {}, nil, nil, true},
		{"no certifications is an answer", func(c *ReviewChecklist) { c.Certifications = nil }, nil, nil, true},
		{"an empty draft is valid but not complete", func(c *ReviewChecklist) { *c = ReviewChecklist{} }, nil,
			[]string{"data_classification", "sso", "dpa", "data_location", "recommendation"}, false},
		{"half-filled draft", func(c *ReviewChecklist) { c.DPA, c.DataLocation = "", " " }, nil, []string{"dpa", "data_location"}, false},
		{"unknown classification", func(c *ReviewChecklist) { c.DataClassification = "secret" }, []string{"data_classification"}, nil, false},
		{"SSO must be yes, no or unknown", func(c *ReviewChecklist) { c.SSO = "maybe" }, []string{"sso"}, nil, false},
		{"DPA must be yes, no or unknown", func(c *ReviewChecklist) { c.DPA = "signed" }, []string{"dpa"}, nil, false},
		{"unknown certification", func(c *ReviewChecklist) { c.Certifications = []string{"iso9001"} }, []string{"certifications"}, nil, false},
		{"repeated certification", func(c *ReviewChecklist) { c.Certifications = []string{"iso27001", "iso27001"} }, []string{"certifications"}, nil, false},
		{"long data location", func(c *ReviewChecklist) { c.DataLocation = strings.Repeat("x", 201) }, []string{"data_location"}, nil, false},
		{"unknown recommendation", func(c *ReviewChecklist) { c.Recommendation = "defer" }, []string{"recommendation"}, nil, false},
		{"long notes", func(c *ReviewChecklist) { c.Notes = strings.Repeat("x", 4001) }, []string{"notes"}, nil, false},
		{"conditions need notes", func(c *ReviewChecklist) { c.Recommendation = RecommendApproveWithConditions }, nil, []string{"notes"}, false},
		{"conditions with notes", func(c *ReviewChecklist) {
			c.Recommendation, c.Notes = RecommendApproveWithConditions, "Internal data only; SSO enforced."
		}, nil, nil, true},
		{"rejection needs notes", func(c *ReviewChecklist) { c.Recommendation = RecommendReject }, nil, []string{"notes"}, false},
		{"rejection with guidance", func(c *ReviewChecklist) { c.Recommendation, c.Notes = RecommendReject, "No DPA; use Miro instead." }, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := complete
			c.Certifications = slices.Clone(complete.Certifications)
			tt.change(&c)
			checkFields(t, "Validate", c.Validate(), tt.invalid)
			checkFields(t, "ValidateComplete", c.ValidateComplete(), append(slices.Clone(tt.invalid), tt.missing...))
			if c.Complete() != tt.complete {
				t.Errorf("Complete() = %v, want %v", c.Complete(), tt.complete)
			}
		})
	}
}

func checkFields(t *testing.T, what string, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Errorf("%s = %v, want nil", what, err)
		}
		return
	}
	e, ok := errs.As(err)
	if !ok || e.Code != errs.Invalid || len(e.Fields) != len(fields) {
		t.Errorf("%s = %v, want field errors on %v", what, err, fields)
		return
	}
	for _, f := range fields {
		if e.Fields[f] == "" {
			t.Errorf("%s: no error on %s in %v", what, f, e.Fields)
		}
	}
}

func TestReviewChecklistRiskAnswers(t *testing.T) {
	c := ReviewChecklist{SSO: catalog.AnswerNo, DPA: catalog.AnswerYes, Certifications: []string{"iso27001"}, DataLocation: " US (Virginia) "}
	want := []catalog.RiskAnswer{
		{Factor: "sso", Answer: catalog.AnswerNo},
		{Factor: "gdpr_dpa", Answer: catalog.AnswerYes},
		{Factor: "data_locations_disclosed", Answer: catalog.AnswerYes, Note: "US (Virginia)"},
		{Factor: "iso27001", Answer: catalog.AnswerYes},
	}
	got := c.RiskAnswers()
	if len(got) != len(want) {
		t.Fatalf("RiskAnswers = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Factor != want[i].Factor || got[i].Answer != want[i].Answer || got[i].Note != want[i].Note {
			t.Errorf("answer %d = %+v, want %+v", i, got[i], want[i])
		}
		if _, ok := catalog.FactorByKey(got[i].Factor); !ok {
			t.Errorf("%s is not a risk factor", got[i].Factor)
		}
	}
	if len((ReviewChecklist{}).RiskAnswers()) != 0 {
		t.Error("an empty checklist must not overwrite the risk profile")
	}
	for _, key := range CertificationKeys() {
		if f, _ := catalog.FactorByKey(key); f.Group != "Compliance" {
			t.Errorf("%s is not a compliance factor", key)
		}
	}
}
