package requests

import (
	"fmt"
	"math"
)

// pledgeCeilingDollars is the most a pledge to one app may come to in a year, in US dollars or
// the like: far above what any organisation spends on one SaaS app, so it only stops typing
// mistakes and nonsense (a pledge of 10^17 yen) from swamping the funding totals.
const pledgeCeilingDollars = 100_000_000

// unitsPerDollar is, per currency, a generous round figure of how many of its units make about
// one US dollar: an order of magnitude, rounded up so no real pledge is refused. Currencies
// missing here count one unit per dollar.
var unitsPerDollar = map[string]int64{
	"SEK": 20, "NOK": 20, "DKK": 20, "ISK": 200, "PLN": 5, "CZK": 50, "HUF": 500, "RON": 5,
	"RSD": 200, "UAH": 50, "TRY": 100, "MXN": 20, "BRL": 10, "ARS": 5000, "CLP": 1000,
	"COP": 5000, "PEN": 5, "HKD": 10, "CNY": 10, "TWD": 50, "KRW": 2000, "INR": 100, "PKR": 500,
	"IDR": 20000, "MYR": 5, "THB": 50, "PHP": 100, "VND": 50000, "ILS": 5, "AED": 5, "SAR": 5,
	"QAR": 5, "EGP": 100, "ZAR": 20, "NGN": 5000, "KES": 200, "JPY": 200,
}

// PledgeCeiling is the largest yearly amount a pledge may come to in currency code.
func PledgeCeiling(code string) Money {
	exp, _ := CurrencyExponent(code)
	units := int64(pledgeCeilingDollars)
	if f, ok := unitsPerDollar[code]; ok {
		units *= f
	}
	minor := units
	for range exp {
		if minor > math.MaxInt64/10 {
			return Money{Minor: math.MaxInt64, Currency: code}
		}
		minor *= 10
	}
	return Money{Minor: minor, Currency: code}
}

// checkPlausible refuses a pledge whose yearly amount is over its currency's ceiling.
func (p Pledge) checkPlausible() string {
	y, err := p.Yearly()
	if err != nil {
		return "That amount is too large."
	}
	if c := PledgeCeiling(y.Currency); y.Minor > c.Minor {
		return fmt.Sprintf("That is more than any one app plausibly costs: pledge at most %s a year.", c)
	}
	return ""
}
