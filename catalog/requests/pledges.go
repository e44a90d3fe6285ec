package requests

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/pavedhq/paved/internal/audit"
	"github.com/pavedhq/paved/internal/errs"
)

// Period is how often a pledged amount recurs.
type Period string

// The periods.
const (
	PeriodMonthly Period = "monthly"
	PeriodYearly  Period = "yearly"
)

// Periods lists every period.
var Periods = []Period{PeriodMonthly, PeriodYearly}

// Valid reports whether p is a known period.
func (p Period) Valid() bool { return slices.Contains(Periods, p) }

// Pledge is budget a supporter or the requester offers toward a request.
type Pledge struct {
	CostCentre string
	Amount     Money
	Period     Period
	Seats      int
}

// PledgeInput is a pledge as typed on the form or sent to the API.
type PledgeInput struct {
	CostCentre string
	Amount     string
	Currency   string
	Period     string
	Seats      string // optional
}

// maxSeats bounds a pledge's seats; no organisation pledges more.
const maxSeats = 1_000_000

// Validate checks a pledge and returns it cleaned. A pledge must name the cost centre that
// pays and offer more than nothing; a yearly amount that would not fit in int64 is refused.
func (in PledgeInput) Validate() (Pledge, error) {
	f := errs.Fields{}
	p := Pledge{CostCentre: strings.TrimSpace(in.CostCentre), Period: Period(strings.TrimSpace(in.Period))}
	if p.CostCentre == "" {
		f.Add("cost_centre", "Say which cost centre pays.")
	} else if utf8.RuneCountInString(p.CostCentre) > 64 {
		f.Add("cost_centre", "Use at most 64 characters.")
	}
	m, err := ParseAmount(in.Amount, in.Currency)
	if e, ok := errs.As(err); ok {
		for k, v := range e.Fields {
			f.Add(k, v)
		}
	} else if m.Minor == 0 {
		f.Add("amount", "Pledge an amount above zero.")
	}
	p.Amount = m
	if !p.Period.Valid() {
		f.Add("period", "Choose monthly or yearly.")
	}
	if s := strings.TrimSpace(in.Seats); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > maxSeats {
			f.Add("seats", "Enter a whole number of seats, 0 or more.")
		}
		p.Seats = n
	}
	if len(f) == 0 {
		if msg := p.checkPlausible(); msg != "" {
			f.Add("amount", msg)
		}
	}
	return p, f.Err()
}

// Yearly is the pledge as a yearly amount: a monthly pledge counts twelve times.
func (p Pledge) Yearly() (Money, error) {
	m := p.Amount
	if m.Minor < 0 {
		return Money{}, errs.E(errs.Invalid, "A pledge of %s is negative.", m)
	}
	if _, ok := CurrencyExponent(m.Currency); !ok {
		return Money{}, errs.E(errs.Invalid, "A pledge is in %q, which is not a currency Paved knows.", m.Currency)
	}
	switch p.Period {
	case PeriodYearly:
	case PeriodMonthly:
		if m.Minor > math.MaxInt64/12 {
			return Money{}, errs.E(errs.Invalid, "A monthly pledge of %s is too large to count over a year.", m)
		}
		m.Minor *= 12
	default:
		return Money{}, errs.E(errs.Invalid, "A pledge has the unknown period %q.", p.Period)
	}
	return m, nil
}

// CurrencyTotal is what has been pledged in one currency.
type CurrencyTotal struct {
	Yearly  Money // sum of the pledges' yearly amounts
	Pledges int
	Seats   int
}

// PledgeTotals is the one rule for the pledged total: it sums pledges per currency as yearly
// amounts in minor units (monthly × 12), ordered by currency code. Currencies are never
// converted into each other. A total that would overflow int64, or a pledge that is negative
// or in an unknown currency or period, is refused with errs.Invalid: call it with the new
// pledge included before storing one.
func PledgeTotals(pledges []Pledge) ([]CurrencyTotal, error) {
	var totals []CurrencyTotal
	for _, p := range pledges {
		y, err := p.Yearly()
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(totals, func(t CurrencyTotal) bool { return t.Yearly.Currency == y.Currency })
		if i < 0 {
			totals = append(totals, CurrencyTotal{Yearly: Money{Currency: y.Currency}})
			i = len(totals) - 1
		}
		t := &totals[i]
		if t.Yearly.Minor > math.MaxInt64-y.Minor {
			return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("The pledges in %s add up to more than Paved can count.", y.Currency),
				Fields: map[string]string{"amount": "That amount would make the pledged total too large to count."}}
		}
		t.Yearly.Minor += y.Minor
		t.Pledges++
		if p.Seats > 0 && t.Seats <= math.MaxInt-p.Seats {
			t.Seats += p.Seats
		}
	}
	slices.SortFunc(totals, func(a, b CurrencyTotal) int { return strings.Compare(a.Yearly.Currency, b.Yearly.Currency) })
	return totals, nil
}

// FundedPercent is the share of the yearly estimate that is pledged, in whole percent rounded
// down, and may exceed 100. Only pledges in the estimate's currency count: Paved converts no
// currencies, so pledges in others are shown beside it, not added. comparable is false when
// there is no usable estimate (zero, negative or without a currency).
func FundedPercent(totals []CurrencyTotal, estimate Money) (percent int, comparable bool) {
	if estimate.Minor <= 0 || estimate.Currency == "" {
		return 0, false
	}
	var pledged int64
	for _, t := range totals {
		if t.Yearly.Currency == estimate.Currency && t.Yearly.Minor > 0 {
			pledged = t.Yearly.Minor
		}
	}
	// pledged × 100 may not fit in 64 bits; work in 128.
	hi, lo := bits.Mul64(uint64(pledged), 100)
	if hi >= uint64(estimate.Minor) {
		return math.MaxInt, true
	}
	q, _ := bits.Div64(hi, lo, uint64(estimate.Minor))
	if q > math.MaxInt {
		return math.MaxInt, true
	}
	return int(q), true
}

// DemandScore is the one rule for a proposal's demand, from 0 to 100, made of three parts so
// that anyone can check it by hand:
//
//   - supporters (not counting the requester): 8 points per doubling, floor(log2(supporters+1))
//     × 8, at most 40: 1 supporter 8, 3 give 16, 7 give 24, 15 give 32, 31 or more give 40;
//   - funding: the funded percentage × 40 / 100 rounded down, at most 40 (fully funded);
//   - active users, people discovery has seen signing in to the app: 4 points per doubling,
//     floor(log2(users+1)) × 4, at most 20 (31 or more users).
//
// Logarithms reward the first backers most, so a long list of names cannot outweigh money.
// Negative inputs count as zero.
func DemandScore(supporters int, pledgedPercent int, activeUsers int) int {
	return doublings(supporters, 8, 40) + min(max(pledgedPercent, 0), 100)*40/100 + doublings(activeUsers, 4, 20)
}

// doublings is floor(log2(n+1)) × per, at most most.
func doublings(n, per, most int) int {
	if n <= 0 {
		return 0
	}
	return min((bits.Len(uint(n)+1)-1)*per, most)
}

// DemandThreshold is the demand score at which Paved puts a reviewed proposal to the committee
// by itself. 0 turns that off.
type DemandThreshold int

// Valid reports whether d is 0 (off) to 100.
func (d DemandThreshold) Valid() bool { return d >= 0 && d <= 100 }

// AutoOpensVote reports whether a proposal with this demand score is put to the vote without
// anyone pushing it. The vote still opens only from StateReviewed: security's review comes first.
func (d DemandThreshold) AutoOpensVote(score int) bool { return d > 0 && score >= int(d) }

// Support records that m wants the app too: once per person, never the requester.
func (s *Service) Support(ctx context.Context, m Member, id int64) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; support is closed.", r.State.Label())
		}
		if r.RequesterID == m.UserID {
			return errs.E(errs.Conflict, "You made this request; you support it already.")
		}
		_, err = tx.ExecContext(ctx, tx.Rebind("INSERT INTO supporters (request_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (request_id, user_id) DO NOTHING"), id, m.UserID, s.now())
		if err != nil {
			return fmt.Errorf("support request: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.support", "request", strconv.FormatInt(id, 10), nil)
	})
}

// SetPledge records or replaces m's pledge toward an open request.
func (s *Service) SetPledge(ctx context.Context, m Member, id int64, in PledgeInput) (Pledge, error) {
	p, err := in.Validate()
	if err != nil {
		return Pledge{}, err
	}
	err = s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; pledges can no longer change.", r.State.Label())
		}
		// The totals must still fit once this pledge is counted.
		current, err := pledgesOf(ctx, tx, id)
		if err != nil {
			return err
		}
		var others []Pledge
		for _, x := range current {
			if x.UserID != m.UserID {
				others = append(others, x.Pledge)
			}
		}
		if _, err := PledgeTotals(append(others, p)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO pledges (request_id, user_id, cost_centre, amount_minor, currency, period, seats, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id, user_id) DO UPDATE SET cost_centre = excluded.cost_centre,
			amount_minor = excluded.amount_minor, currency = excluded.currency, period = excluded.period, seats = excluded.seats,
			updated_at = excluded.updated_at`), id, m.UserID, p.CostCentre, p.Amount.Minor, p.Amount.Currency, p.Period, p.Seats, s.now())
		if err != nil {
			return fmt.Errorf("save pledge: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.pledge", "request", strconv.FormatInt(id, 10), map[string]string{"amount": p.Amount.String(), "period": string(p.Period), "cost_centre": p.CostCentre})
	})
	return p, err
}

// WithdrawPledge removes m's pledge while the request is open.
func (s *Service) WithdrawPledge(ctx context.Context, m Member, id int64) error {
	return s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		r, err := requestByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.State.Open() {
			return errs.E(errs.Conflict, "This request is %s; pledges can no longer change.", r.State.Label())
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM pledges WHERE request_id = ? AND user_id = ?"), id, m.UserID); err != nil {
			return fmt.Errorf("withdraw pledge: %w", err)
		}
		return audit.Append(ctx, tx, s.now(), m.actor(), "request.pledge_withdraw", "request", strconv.FormatInt(id, 10), nil)
	})
}

// PledgeRow is a stored pledge with who made it.
type PledgeRow struct {
	Pledge
	UserID int64
	Name   string
}

func pledgesOf(ctx context.Context, q sqlx.ExtContext, id int64) ([]PledgeRow, error) {
	var rows []struct {
		UserID   int64  `db:"user_id"`
		Name     string `db:"name"`
		Centre   string `db:"cost_centre"`
		Minor    int64  `db:"amount_minor"`
		Currency string `db:"currency"`
		Period   string `db:"period"`
		Seats    int    `db:"seats"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT p.user_id, COALESCE(NULLIF(u.name, ''), u.email) AS name, p.cost_centre, p.amount_minor, p.currency, p.period, p.seats
		FROM pledges p JOIN users u ON u.id = p.user_id WHERE p.request_id = ? ORDER BY p.updated_at`), id)
	if err != nil {
		return nil, fmt.Errorf("list pledges: %w", err)
	}
	out := make([]PledgeRow, len(rows))
	for i, r := range rows {
		out[i] = PledgeRow{UserID: r.UserID, Name: r.Name, Pledge: Pledge{CostCentre: r.Centre, Amount: Money{Minor: r.Minor, Currency: r.Currency}, Period: Period(r.Period), Seats: r.Seats}}
	}
	return out, nil
}

// Funding sums a request's pledges per currency (yearly) and the share of its estimate they
// cover, with the supporters' count, for the request page and the demand score.
type Funding struct {
	Totals     []CurrencyTotal
	Percent    int
	Comparable bool
	Supporters int
	Pledges    []PledgeRow
}

// FundingOf computes a request's funding.
func (s *Service) FundingOf(ctx context.Context, id int64) (Funding, error) {
	r, err := s.Request(ctx, id)
	if err != nil {
		return Funding{}, err
	}
	rows, err := pledgesOf(ctx, s.db, id)
	if err != nil {
		return Funding{}, err
	}
	f := Funding{Pledges: rows}
	ps := make([]Pledge, len(rows))
	for i, p := range rows {
		ps[i] = p.Pledge
	}
	if f.Totals, err = PledgeTotals(ps); err != nil {
		return Funding{}, err
	}
	if r.EstimateMinor != nil {
		f.Percent, f.Comparable = FundedPercent(f.Totals, Money{Minor: *r.EstimateMinor, Currency: r.EstimateCurrency})
	}
	if err := s.db.GetContext(ctx, &f.Supporters, s.db.Rebind("SELECT COUNT(*) FROM supporters WHERE request_id = ?"), id); err != nil {
		return Funding{}, fmt.Errorf("count supporters: %w", err)
	}
	return f, nil
}

// UsageCounter counts the people already signing in to an app (from discovery), for demand.
type UsageCounter interface {
	ActiveUsers(ctx context.Context, appID *int64, name string) (int, error)
}

// SetUsageCounter lets demand count the people discovery sees using the app already.
func (s *Service) SetUsageCounter(u UsageCounter) { s.usage = u }

// Demand is a request's demand score: its supporters, the share of its estimate pledged, and
// the people already signing in to the app.
func (s *Service) Demand(ctx context.Context, r Request, supporters int) (int, error) {
	f, err := s.FundingOf(ctx, r.ID)
	if err != nil {
		return 0, err
	}
	active := 0
	if s.usage != nil {
		if active, err = s.usage.ActiveUsers(ctx, r.AppID, r.AppName); err != nil {
			return 0, err
		}
	}
	return DemandScore(supporters, f.Percent, active), nil
}
