package catalog

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Answer is what security found for one risk factor.
type Answer string

// The answers. Unknown counts as a no in the score: an unproven control is not a control.
const (
	AnswerYes     Answer = "yes"
	AnswerNo      Answer = "no"
	AnswerUnknown Answer = "unknown"
)

// Label names the answer for people: "Yes", "No", "Unknown", "Not answered".
func (a Answer) Label() string {
	switch a {
	case AnswerYes:
		return "Yes"
	case AnswerNo:
		return "No"
	case AnswerUnknown:
		return "Unknown"
	case "":
		return "Not answered"
	}
	return string(a)
}

// Weight is how much a factor counts in the score, set by an administrator.
type Weight int

// The weights.
const (
	WeightIgnored Weight = iota
	WeightLow
	WeightMedium
	WeightHigh
	WeightVeryHigh
)

// Weights lists the weights with their labels, for forms.
var Weights = []struct {
	Weight Weight
	Label  string
}{{WeightIgnored, "Ignored"}, {WeightLow, "Low"}, {WeightMedium, "Medium"}, {WeightHigh, "High"}, {WeightVeryHigh, "Very high"}}

// Label names a weight.
func (w Weight) Label() string {
	for _, x := range Weights {
		if x.Weight == w {
			return x.Label
		}
	}
	return "Unknown"
}

// Valid reports whether w is one of the weights.
func (w Weight) Valid() bool { return w >= WeightIgnored && w <= WeightVeryHigh }

// Factor is one question of the risk profile. Good is the answer that lowers risk.
type Factor struct {
	Key, Group, Label, Help string
	Default                 Weight
}

// Factors are the risk profile's questions in four groups, as the leading cloud-app catalogues
// arrange them. Every answer "yes" is the safer one.
var Factors = []Factor{
	{"vendor_hq_disclosed", "General", "Vendor headquarters disclosed", "The vendor says where it is based; note the country.", WeightLow},
	{"data_locations_disclosed", "General", "Data-centre locations disclosed", "Where customer data is stored; note the regions.", WeightMedium},
	{"hosting_provider_known", "General", "Hosting provider known", "Which cloud or data centres host the service.", WeightLow},
	{"privacy_policy", "General", "Published privacy policy", "A privacy policy that covers customer data.", WeightMedium},
	{"sso", "Security", "Single sign-on (SAML or OIDC)", "People sign in through the company identity provider.", WeightVeryHigh},
	{"scim", "Security", "User provisioning (SCIM)", "Accounts are created and removed automatically.", WeightMedium},
	{"mfa", "Security", "Multi-factor authentication", "MFA is available and can be enforced.", WeightHigh},
	{"encryption_in_transit", "Security", "Encryption in transit", "TLS for every connection.", WeightHigh},
	{"encryption_at_rest", "Security", "Encryption at rest", "Stored data is encrypted.", WeightHigh},
	{"admin_audit_trail", "Security", "Admin audit trail", "Administrator actions are logged and exportable.", WeightMedium},
	{"user_audit_trail", "Security", "User audit trail", "User activity is logged and exportable.", WeightLow},
	{"no_recent_breach", "Security", "No breach in the last three years", "No publicly reported breach of customer data in three years.", WeightHigh},
	{"soc2_type2", "Compliance", "SOC 2 Type II report", "A current SOC 2 Type II report is available.", WeightHigh},
	{"iso27001", "Compliance", "ISO/IEC 27001 certified", "A current ISO/IEC 27001 certificate.", WeightHigh},
	{"hipaa_baa", "Compliance", "HIPAA BAA available", "The vendor signs a business associate agreement.", WeightLow},
	{"pci_dss", "Compliance", "PCI DSS compliant", "Required only where card data is handled.", WeightLow},
	{"gdpr_dpa", "Legal", "GDPR data processing agreement signed", "A DPA with the vendor is in place.", WeightVeryHigh},
	{"retention_policy", "Legal", "Data retention policy", "Data is deleted on request and at contract end.", WeightMedium},
}

// FactorGroups lists the groups in display order.
var FactorGroups = []string{"General", "Security", "Compliance", "Legal"}

// FactorByKey finds a factor.
func FactorByKey(key string) (Factor, bool) {
	for _, f := range Factors {
		if f.Key == key {
			return f, true
		}
	}
	return Factor{}, false
}

// RiskAnswer is security's answer to one factor for one app.
type RiskAnswer struct {
	Factor      string     `db:"factor" json:"factor"`
	Answer      Answer     `db:"answer" json:"answer"`
	Note        string     `db:"note" json:"note,omitempty"`
	EvidenceURL string     `db:"evidence_url" json:"evidence_url,omitempty"`
	CheckedOn   *time.Time `db:"checked_on" json:"checked_on,omitempty"`
}

// EvidenceMaxAge is how old evidence may be before the app page flags it.
const EvidenceMaxAge = 365 * 24 * time.Hour

// ScoredFactor is one line of a score's explanation.
type ScoredFactor struct {
	Factor
	RiskAnswer
	Weight Weight
	// Points is what the factor adds to the score (0 to 10 scale), Max what it could add.
	Points, Max float64
	Stale       bool // evidence checked more than a year ago
}

// Score is an app's risk score with every factor that made it.
type Score struct {
	Value      float64 // 0 (worst) to 10 (best), one decimal
	Computed   float64 // the value before any override
	Overridden bool
	Reason     string
	Factors    []ScoredFactor
	Answered   int // factors with a yes or no
}

// ComputeScore is the one rule for the risk score: each factor's weight is its share of 10, and
// a factor adds its share when the answer is yes. Ignored factors are shown but do not count.
// An override replaces the value but never hides the factors.
func ComputeScore(answers []RiskAnswer, weights map[string]Weight, override *float64, reason string, now time.Time) Score {
	byKey := map[string]RiskAnswer{}
	for _, a := range answers {
		byKey[a.Factor] = a
	}
	var total float64
	for _, f := range Factors {
		total += float64(weightOf(f, weights))
	}
	var s Score
	for _, f := range Factors {
		a, ok := byKey[f.Key]
		if !ok {
			a = RiskAnswer{Factor: f.Key, Answer: AnswerUnknown}
		}
		w := weightOf(f, weights)
		sf := ScoredFactor{Factor: f, RiskAnswer: a, Weight: w}
		if total > 0 {
			sf.Max = 10 * float64(w) / total
		}
		if a.Answer == AnswerYes {
			sf.Points = sf.Max
		}
		if a.Answer != AnswerUnknown {
			s.Answered++
		}
		sf.Stale = a.CheckedOn != nil && now.Sub(*a.CheckedOn) > EvidenceMaxAge
		s.Computed += sf.Points
		s.Factors = append(s.Factors, sf)
	}
	s.Computed = math.Round(s.Computed*10) / 10
	s.Value = s.Computed
	if override != nil {
		s.Value, s.Overridden, s.Reason = *override, true, reason
	}
	return s
}

// Assessed reports whether security has said anything about the app: an answer of yes or no to
// some factor, or an override. An unassessed app has no meaningful score.
func (s Score) Assessed() bool { return s.Answered > 0 || s.Overridden }

// RiskLevel names what a score means. The score runs from 0 to 10 and higher is safer: the
// level says it in words, so nobody has to guess the direction of the number.
type RiskLevel struct {
	Label string // "Low risk", "Medium risk", "High risk", "Not assessed yet"
	Class string // for the badge: low, medium, high, none
}

// Level is the one rule that turns a score into words: 8 and above is low risk, 5 and above
// medium, below 5 high; an app nobody has assessed is "Not assessed yet", not a score of 0.
func (s Score) Level() RiskLevel {
	switch {
	case !s.Assessed():
		return RiskLevel{"Not assessed yet", "none"}
	case s.Value >= 8:
		return RiskLevel{"Low risk", "low"}
	case s.Value >= 5:
		return RiskLevel{"Medium risk", "medium"}
	}
	return RiskLevel{"High risk", "high"}
}

// TopFactors are the n factors that weigh most in the score, heaviest first (in the order of
// Factors among equals): what an employee needs to read to understand it.
func (s Score) TopFactors(n int) []ScoredFactor {
	out := slices.Clone(s.Factors)
	slices.SortStableFunc(out, func(a, b ScoredFactor) int { return cmp.Compare(b.Max, a.Max) })
	return out[:min(n, len(out))]
}

func weightOf(f Factor, weights map[string]Weight) Weight {
	if w, ok := weights[f.Key]; ok {
		return w
	}
	return f.Default
}
