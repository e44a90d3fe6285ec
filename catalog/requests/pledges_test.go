package requests

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pavedhq/paved/internal/errs"
)

func TestPledgeTotals(t *testing.T) {
	eur := func(minor int64, p Period, seats int) Pledge {
		return Pledge{CostCentre: "CC-1", Amount: Money{minor, "EUR"}, Period: p, Seats: seats}
	}
	in := func(currency string, minor int64, p Period) Pledge {
		return Pledge{CostCentre: "CC-2", Amount: Money{minor, currency}, Period: p}
	}
	tests := []struct {
		name    string
		pledges []Pledge
		want    []CurrencyTotal
		bad     bool
	}{
		{"no pledges", nil, nil, false},
		{"monthly counts twelve times", []Pledge{eur(1000, PeriodMonthly, 2)}, []CurrencyTotal{{Money{12000, "EUR"}, 1, 2}}, false},
		{"yearly counts once", []Pledge{eur(50000, PeriodYearly, 0)}, []CurrencyTotal{{Money{50000, "EUR"}, 1, 0}}, false},
		{"monthly and yearly add up", []Pledge{eur(1000, PeriodMonthly, 1), eur(50000, PeriodYearly, 3)}, []CurrencyTotal{{Money{62000, "EUR"}, 2, 4}}, false},
		{
			"currencies are kept apart and ordered by code",
			[]Pledge{in("USD", 999, PeriodMonthly), eur(1, PeriodYearly, 0), in("JPY", 1500, PeriodMonthly), in("USD", 1, PeriodYearly), in("GBP", 10000, PeriodYearly)},
			[]CurrencyTotal{{Money{1, "EUR"}, 1, 0}, {Money{10000, "GBP"}, 1, 0}, {Money{18000, "JPY"}, 1, 0}, {Money{11989, "USD"}, 2, 0}},
			false,
		},
		{"zero-decimal JPY stays whole yen", []Pledge{in("JPY", 1, PeriodMonthly), in("JPY", 7, PeriodYearly)}, []CurrencyTotal{{Money{19, "JPY"}, 2, 0}}, false},
		{"total exactly at the int64 limit", []Pledge{in("EUR", math.MaxInt64-1, PeriodYearly), in("EUR", 1, PeriodYearly)}, []CurrencyTotal{{Money{math.MaxInt64, "EUR"}, 2, 0}}, false},
		{"monthly at the limit of twelve", []Pledge{in("EUR", math.MaxInt64/12, PeriodMonthly)}, []CurrencyTotal{{Money{math.MaxInt64 / 12 * 12, "EUR"}, 1, 0}}, false},
		{"sum overflow is refused", []Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("EUR", 1, PeriodYearly)}, nil, true},
		{"many pledges overflowing is refused", []Pledge{in("JPY", math.MaxInt64/3+1, PeriodYearly), in("JPY", math.MaxInt64/3+1, PeriodYearly), in("JPY", math.MaxInt64/3+1, PeriodYearly)}, nil, true},
		{"monthly overflow is refused", []Pledge{in("EUR", math.MaxInt64/12+1, PeriodMonthly)}, nil, true},
		{"big totals in different currencies do not add up", []Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("USD", math.MaxInt64, PeriodYearly)}, []CurrencyTotal{{Money{math.MaxInt64, "EUR"}, 1, 0}, {Money{math.MaxInt64, "USD"}, 1, 0}}, false},
		{"negative pledge is refused", []Pledge{eur(-1, PeriodYearly, 0)}, nil, true},
		{"unknown currency is refused", []Pledge{in("XYZ", 100, PeriodYearly)}, nil, true},
		{"unknown period is refused", []Pledge{eur(100, "weekly", 0)}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PledgeTotals(tt.pledges)
			if tt.bad {
				if errs.CodeOf(err) != errs.Invalid {
					t.Fatalf("PledgeTotals = %+v, %v; want invalid", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("PledgeTotals = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	_, err := PledgeTotals([]Pledge{in("EUR", math.MaxInt64, PeriodYearly), in("EUR", 1, PeriodYearly)})
	if e, _ := errs.As(err); e == nil || e.Fields["amount"] == "" {
		t.Errorf("overflow error %v has no field error on amount", err)
	}
}

func TestFundedPercent(t *testing.T) {
	totals := func(ms ...Money) []CurrencyTotal {
		var out []CurrencyTotal
		for _, m := range ms {
			out = append(out, CurrencyTotal{Yearly: m, Pledges: 1})
		}
		return out
	}
	eur := func(minor int64) Money { return Money{minor, "EUR"} }
	tests := []struct {
		name       string
		totals     []CurrencyTotal
		estimate   Money
		percent    int
		comparable bool
	}{
		{"half funded", totals(eur(50000)), eur(100000), 50, true},
		{"rounded down", totals(eur(99999)), eur(100000), 99, true},
		{"a cent short of one percent", totals(eur(999)), eur(100000), 0, true},
		{"exactly funded", totals(eur(100000)), eur(100000), 100, true},
		{"over-funded shows over 100", totals(eur(150000)), eur(100000), 150, true},
		{"nothing pledged", nil, eur(100000), 0, true},
		{"only the estimate's currency counts", totals(Money{90000, "USD"}, eur(25000), Money{1_000_000, "JPY"}), eur(100000), 25, true},
		{"pledges only in other currencies", totals(Money{90000, "USD"}), eur(100000), 0, true},
		{"JPY estimate", totals(Money{30000, "JPY"}), Money{120000, "JPY"}, 25, true},
		{"no estimate", totals(eur(100)), Money{}, 0, false},
		{"zero estimate", totals(eur(100)), eur(0), 0, false},
		{"negative estimate", totals(eur(100)), eur(-100), 0, false},
		{"estimate without currency", totals(eur(100)), Money{Minor: 100}, 0, false},
		{"huge totals need no float", totals(eur(math.MaxInt64)), eur(math.MaxInt64), 100, true},
		{"huge totals half funded", totals(eur(math.MaxInt64 / 2)), eur(math.MaxInt64), 49, true},
		{"absurd ratio is capped at MaxInt", totals(eur(math.MaxInt64)), eur(1), math.MaxInt, true},
	}
	for _, tt := range tests {
		if p, ok := FundedPercent(tt.totals, tt.estimate); p != tt.percent || ok != tt.comparable {
			t.Errorf("%s: FundedPercent = %d, %v; want %d, %v", tt.name, p, ok, tt.percent, tt.comparable)
		}
	}
}

func TestPledgeInputValidate(t *testing.T) {
	good := PledgeInput{CostCentre: " CC-4711 ", Amount: "250.00", Currency: "eur", Period: "monthly", Seats: "5"}
	p, err := good.Validate()
	if err != nil || p != (Pledge{CostCentre: "CC-4711", Amount: Money{25000, "EUR"}, Period: PeriodMonthly, Seats: 5}) {
		t.Fatalf("Validate = %+v, %v", p, err)
	}
	if p, err := (PledgeInput{CostCentre: "CC", Amount: "1", Currency: "JPY", Period: "yearly"}).Validate(); err != nil || p.Seats != 0 {
		t.Errorf("seats are optional: %+v, %v", p, err)
	}
	tests := []struct {
		name   string
		change func(*PledgeInput)
		fields []string
	}{
		{"no cost centre", func(in *PledgeInput) { in.CostCentre = " " }, []string{"cost_centre"}},
		{"long cost centre", func(in *PledgeInput) { in.CostCentre = strings.Repeat("x", 65) }, []string{"cost_centre"}},
		{"zero amount", func(in *PledgeInput) { in.Amount = "0.00" }, []string{"amount"}},
		{"negative amount", func(in *PledgeInput) { in.Amount = "-250" }, []string{"amount"}},
		{"unknown currency", func(in *PledgeInput) { in.Currency = "BTC" }, []string{"currency"}},
		{"weekly", func(in *PledgeInput) { in.Period = "weekly" }, []string{"period"}},
		{"negative seats", func(in *PledgeInput) { in.Seats = "-1" }, []string{"seats"}},
		{"fractional seats", func(in *PledgeInput) { in.Seats = "1.5" }, []string{"seats"}},
		{"monthly too large for a year", func(in *PledgeInput) { in.Amount, in.Currency = "922337203685477580", "JPY" }, []string{"amount"}},
		{"implausible yen", func(in *PledgeInput) { in.Amount, in.Currency = "700000000000000000", "JPY" }, []string{"amount"}},
		{"implausible euros", func(in *PledgeInput) { in.Amount = "10,000,000" }, []string{"amount"}},
		{"everything wrong", func(in *PledgeInput) { *in = PledgeInput{Amount: "x", Currency: "?", Seats: "many"} },
			[]string{"cost_centre", "amount", "currency", "period", "seats"}},
	}
	for _, tt := range tests {
		in := good
		tt.change(&in)
		_, err := in.Validate()
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tt.fields) {
			t.Errorf("%s: %v; want field errors on %v", tt.name, err, tt.fields)
			continue
		}
		for _, f := range tt.fields {
			if e.Fields[f] == "" {
				t.Errorf("%s: no error on %s in %v", tt.name, f, e.Fields)
			}
		}
	}
}

func TestDemandScore(t *testing.T) {
	tests := []struct {
		name                       string
		supporters, percent, users int
		want                       int
	}{
		{"nothing", 0, 0, 0, 0},
		{"one supporter", 1, 0, 0, 8},
		{"two supporters are not yet a doubling", 2, 0, 0, 8},
		{"three supporters", 3, 0, 0, 16},
		{"seven supporters", 7, 0, 0, 24},
		{"fifteen supporters", 15, 0, 0, 32},
		{"thirty supporters", 30, 0, 0, 32},
		{"thirty-one supporters reach the cap", 31, 0, 0, 40},
		{"a thousand supporters stay capped", 1000, 0, 0, 40},
		{"a quarter funded", 0, 25, 0, 10},
		{"half funded", 0, 50, 0, 20},
		{"funding rounds down", 0, 99, 0, 39},
		{"fully funded", 0, 100, 0, 40},
		{"over-funded is capped", 0, 250, 0, 40},
		{"one active user", 0, 0, 1, 4},
		{"three active users", 0, 0, 3, 8},
		{"thirty-one active users reach the cap", 0, 0, 31, 20},
		{"many active users stay capped", 0, 0, 5000, 20},
		{"a mix", 7, 25, 3, 42},
		{"everything at its cap", 31, 100, 31, 100},
		{"everything beyond its cap", 1 << 40, math.MaxInt, math.MaxInt, 100},
		{"negative inputs count as zero", -5, -10, -1, 0},
	}
	for _, tt := range tests {
		if got := DemandScore(tt.supporters, tt.percent, tt.users); got != tt.want {
			t.Errorf("%s: DemandScore(%d, %d, %d) = %d, want %d", tt.name, tt.supporters, tt.percent, tt.users, got, tt.want)
		}
	}
	// More demand never lowers the score, and it stays within 0–100.
	for s := range 40 {
		for p := 0; p <= 120; p += 5 {
			for u := range 40 {
				got := DemandScore(s, p, u)
				if got < 0 || got > 100 || got < DemandScore(max(s-1, 0), p, u) || got < DemandScore(s, max(p-5, 0), u) || got < DemandScore(s, p, max(u-1, 0)) {
					t.Fatalf("DemandScore(%d, %d, %d) = %d breaks monotonicity or range", s, p, u, got)
				}
			}
		}
	}
}

func TestDemandThreshold(t *testing.T) {
	tests := []struct {
		threshold DemandThreshold
		score     int
		want      bool
	}{
		{0, 0, false},
		{0, 100, false},
		{60, 59, false},
		{60, 60, true},
		{60, 100, true},
		{1, 0, false},
		{1, 1, true},
		{100, 99, false},
		{100, 100, true},
	}
	for _, tt := range tests {
		if got := tt.threshold.AutoOpensVote(tt.score); got != tt.want {
			t.Errorf("DemandThreshold(%d).AutoOpensVote(%d) = %v, want %v", tt.threshold, tt.score, got, tt.want)
		}
	}
	for d, want := range map[DemandThreshold]bool{-1: false, 0: true, 50: true, 100: true, 101: false} {
		if d.Valid() != want {
			t.Errorf("DemandThreshold(%d).Valid() = %v", d, !want)
		}
	}
}

// The ceiling lets large real pledges through in every currency and refuses absurd ones.
func TestPledgeCeiling(t *testing.T) {
	for _, c := range Currencies() {
		ceiling := PledgeCeiling(c.Code)
		exp, _ := CurrencyExponent(c.Code)
		million := int64(1_000_000)
		for range exp {
			million *= 10
		}
		// A million a month in any currency is a plausible pledge.
		p := Pledge{CostCentre: "CC", Amount: Money{Minor: million, Currency: c.Code}, Period: PeriodMonthly}
		if msg := p.checkPlausible(); msg != "" {
			t.Errorf("%s: a million a month refused: %s", c.Code, msg)
		}
		p.Amount.Minor = ceiling.Minor
		p.Period = PeriodYearly
		if msg := p.checkPlausible(); msg != "" {
			t.Errorf("%s: the ceiling itself refused", c.Code)
		}
		p.Amount.Minor++
		if msg := p.checkPlausible(); !strings.Contains(msg, "at most") {
			t.Errorf("%s: one over the ceiling accepted", c.Code)
		}
	}
	if c := PledgeCeiling("JPY"); c.Minor != 20_000_000_000 {
		t.Errorf("JPY ceiling = %v", c)
	}
}
