package catalog

import (
	"testing"
	"time"
)

func TestComputeScore(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	old := now.AddDate(-2, 0, 0)
	recent := now.AddDate(0, -1, 0)
	allYes := func() []RiskAnswer {
		var out []RiskAnswer
		for _, f := range Factors {
			out = append(out, RiskAnswer{Factor: f.Key, Answer: AnswerYes, CheckedOn: &recent})
		}
		return out
	}
	onlyOn := func(keys ...string) map[string]Weight {
		w := map[string]Weight{}
		for _, f := range Factors {
			w[f.Key] = WeightIgnored
		}
		for _, k := range keys {
			w[k] = WeightHigh
		}
		return w
	}
	five := 5.0
	tests := []struct {
		name     string
		answers  []RiskAnswer
		weights  map[string]Weight
		override *float64
		want     float64
		computed float64
	}{
		{"nothing answered scores zero", nil, nil, nil, 0, 0},
		{"everything yes scores ten", allYes(), nil, nil, 10, 10},
		{"half of two equal factors", []RiskAnswer{{Factor: "sso", Answer: AnswerYes}, {Factor: "mfa", Answer: AnswerNo}}, onlyOn("sso", "mfa"), nil, 5, 5},
		{"unknown counts as no", []RiskAnswer{{Factor: "sso", Answer: AnswerYes}, {Factor: "mfa", Answer: AnswerUnknown}}, onlyOn("sso", "mfa"), nil, 5, 5},
		{"ignored factors do not count", []RiskAnswer{{Factor: "sso", Answer: AnswerYes}, {Factor: "pci_dss", Answer: AnswerNo}}, onlyOn("sso"), nil, 10, 10},
		{"weights shift the score", []RiskAnswer{{Factor: "sso", Answer: AnswerYes}}, map[string]Weight{"sso": WeightVeryHigh, "mfa": WeightLow}, nil, -1, -1},
		{"override replaces the value only", allYes(), nil, &five, 5, 10},
		{"all weights ignored scores zero", allYes(), onlyOn(), nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ComputeScore(tt.answers, tt.weights, tt.override, "reason", now)
			if tt.want >= 0 && (s.Value != tt.want || s.Computed != tt.computed) {
				t.Errorf("score = %v (computed %v), want %v (%v)", s.Value, s.Computed, tt.want, tt.computed)
			}
			if len(s.Factors) != len(Factors) {
				t.Errorf("%d factors explained, want all %d", len(s.Factors), len(Factors))
			}
			if s.Overridden != (tt.override != nil) {
				t.Errorf("overridden = %v", s.Overridden)
			}
		})
	}
	// With sso very high and mfa low among all-ignored others, sso alone is 4/5 of the score.
	w := onlyOn()
	w["sso"], w["mfa"] = WeightVeryHigh, WeightLow
	if s := ComputeScore([]RiskAnswer{{Factor: "sso", Answer: AnswerYes}}, w, nil, "", now); s.Value != 8 {
		t.Errorf("weighted score = %v, want 8", s.Value)
	}
	s := ComputeScore([]RiskAnswer{{Factor: "sso", Answer: AnswerYes, CheckedOn: &old}, {Factor: "mfa", Answer: AnswerYes, CheckedOn: &recent}}, nil, nil, "", now)
	for _, f := range s.Factors {
		if want := f.Key == "sso"; f.Stale != want {
			t.Errorf("%s stale = %v, want %v", f.Key, f.Stale, want)
		}
	}
}

func TestParseMinorUnits(t *testing.T) {
	for in, want := range map[string]int64{"12": 1200, "12.5": 1250, "12.50": 1250, "0.05": 5, "1,200.00": 120000} {
		if got, ok := ParseMinorUnits(in); !ok || got != want {
			t.Errorf("ParseMinorUnits(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-5", "1.234", "abc", "1e5", ".5", "99999999999999999"} {
		if _, ok := ParseMinorUnits(in); ok {
			t.Errorf("ParseMinorUnits(%q) accepted", in)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Google Drive": "google-drive", "  Miro!! ": "miro", "1Password 8": "1password-8"} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestScoreLevel: the number is explained in words, higher is safer, and an app nobody has
// assessed says so instead of scoring 0.
func TestScoreLevel(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	all := func(a Answer) []RiskAnswer {
		var out []RiskAnswer
		for _, f := range Factors {
			out = append(out, RiskAnswer{Factor: f.Key, Answer: a})
		}
		return out
	}
	nine := 9.0
	for _, tt := range []struct {
		name     string
		answers  []RiskAnswer
		override *float64
		want     string
	}{
		{"nothing answered", nil, nil, "Not assessed yet"},
		{"all unknown", all(AnswerUnknown), nil, "Not assessed yet"},
		{"all yes", all(AnswerYes), nil, "Low risk"},
		{"all no", all(AnswerNo), nil, "High risk"},
		{"only SSO and DPA", []RiskAnswer{{Factor: "sso", Answer: AnswerYes}, {Factor: "gdpr_dpa", Answer: AnswerYes}}, nil, "High risk"},
		{"override on nothing", nil, &nine, "Low risk"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := ComputeScore(tt.answers, nil, tt.override, "checked by hand", now)
			if got := s.Level().Label; got != tt.want {
				t.Errorf("level %q (value %.1f, answered %d), want %q", got, s.Value, s.Answered, tt.want)
			}
		})
	}
	// Around the thresholds: 8 is low risk, 5 medium, just under 5 high.
	for v, want := range map[float64]string{8: "Low risk", 7.9: "Medium risk", 5: "Medium risk", 4.9: "High risk"} {
		if got := (Score{Value: v, Answered: 1}).Level().Label; got != want {
			t.Errorf("%.1f is %q, want %q", v, got, want)
		}
	}
	top := ComputeScore(nil, nil, nil, "", now).TopFactors(3)
	if len(top) != 3 || top[0].Max < top[1].Max || top[1].Max < top[2].Max {
		t.Fatalf("top factors %+v", top)
	}
	for _, f := range top {
		if f.Weight != WeightVeryHigh && f.Weight != WeightHigh {
			t.Errorf("%s (weight %s) is among the three that weigh most", f.Key, f.Weight.Label())
		}
	}
	if top[0].Key != "sso" || top[1].Key != "gdpr_dpa" {
		t.Errorf("heaviest first: %s, %s", top[0].Key, top[1].Key)
	}
}
