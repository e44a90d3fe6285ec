package requests

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pavedhq/paved/internal/errs"
)

// Currency is an ISO 4217 currency and its minor-unit exponent: the number of decimals an
// amount in it has.
type Currency struct {
	Code     string
	Exponent int
	Name     string
}

// currencies are the currencies Paved accepts, with the exponents of ISO 4217 (not the
// decimals people use day to day: HUF and TWD have 2 in the standard).
var currencies = []Currency{
	{"EUR", 2, "Euro"},
	{"USD", 2, "US dollar"},
	{"GBP", 2, "Pound sterling"},
	{"CHF", 2, "Swiss franc"},
	{"JPY", 0, "Japanese yen"},
	{"SEK", 2, "Swedish krona"},
	{"NOK", 2, "Norwegian krone"},
	{"DKK", 2, "Danish krone"},
	{"ISK", 0, "Icelandic króna"},
	{"PLN", 2, "Polish złoty"},
	{"CZK", 2, "Czech koruna"},
	{"HUF", 2, "Hungarian forint"},
	{"RON", 2, "Romanian leu"},
	{"RSD", 2, "Serbian dinar"},
	{"UAH", 2, "Ukrainian hryvnia"},
	{"TRY", 2, "Turkish lira"},
	{"CAD", 2, "Canadian dollar"},
	{"MXN", 2, "Mexican peso"},
	{"BRL", 2, "Brazilian real"},
	{"ARS", 2, "Argentine peso"},
	{"CLP", 0, "Chilean peso"},
	{"COP", 2, "Colombian peso"},
	{"PEN", 2, "Peruvian sol"},
	{"AUD", 2, "Australian dollar"},
	{"NZD", 2, "New Zealand dollar"},
	{"SGD", 2, "Singapore dollar"},
	{"HKD", 2, "Hong Kong dollar"},
	{"CNY", 2, "Chinese yuan"},
	{"TWD", 2, "New Taiwan dollar"},
	{"KRW", 0, "South Korean won"},
	{"INR", 2, "Indian rupee"},
	{"PKR", 2, "Pakistani rupee"},
	{"IDR", 2, "Indonesian rupiah"},
	{"MYR", 2, "Malaysian ringgit"},
	{"THB", 2, "Thai baht"},
	{"PHP", 2, "Philippine peso"},
	{"VND", 0, "Vietnamese đồng"},
	{"ILS", 2, "Israeli new shekel"},
	{"AED", 2, "UAE dirham"},
	{"SAR", 2, "Saudi riyal"},
	{"QAR", 2, "Qatari riyal"},
	{"KWD", 3, "Kuwaiti dinar"},
	{"BHD", 3, "Bahraini dinar"},
	{"OMR", 3, "Omani rial"},
	{"JOD", 3, "Jordanian dinar"},
	{"EGP", 2, "Egyptian pound"},
	{"ZAR", 2, "South African rand"},
	{"NGN", 2, "Nigerian naira"},
	{"KES", 2, "Kenyan shilling"},
}

// Currencies lists the currencies Paved accepts, most used first, for forms.
func Currencies() []Currency { return slices.Clone(currencies) }

// CurrencyExponent is the number of decimals of an ISO 4217 code, and whether Paved knows it.
func CurrencyExponent(code string) (int, bool) {
	for _, c := range currencies {
		if c.Code == code {
			return c.Exponent, true
		}
	}
	return 0, false
}

// Money is an amount in minor units of a currency (cents for EUR, yen for JPY, fils for KWD).
// There are no floats anywhere in money.
type Money struct {
	Minor    int64
	Currency string // ISO 4217, upper case
}

// String writes the amount with its decimals and code: "1,200.50 EUR", "1,500 JPY".
func (m Money) String() string {
	exp, _ := CurrencyExponent(m.Currency)
	sign, n := "", m.Minor
	if n < 0 {
		sign = "-"
	}
	u := uint64(n)
	if n < 0 {
		u = uint64(-(n + 1)) + 1 // math.MinInt64 has no positive int64
	}
	digits := strconv.FormatUint(u, 10)
	for len(digits) <= exp {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-exp], digits[len(digits)-exp:]
	var b strings.Builder
	b.WriteString(sign)
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if exp > 0 {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	b.WriteByte(' ')
	b.WriteString(m.Currency)
	return b.String()
}

var groupedRe = regexp.MustCompile(`^[0-9]{1,3}(,[0-9]{3})+$`)

// ParseAmount reads an amount as a person types it ("1200", "1,200.50", "12.5") in currency,
// respecting the currency's decimals: JPY takes none, EUR two, KWD three. Extra decimals are
// accepted only when they are zeros ("1500.00" JPY). Commas may only group thousands, so the
// European "12,50" is refused rather than read as 1,250. Field errors are on "amount" and
// "currency".
func ParseAmount(s, currency string) (Money, error) {
	f := errs.Fields{}
	code := strings.ToUpper(strings.TrimSpace(currency))
	exp, known := CurrencyExponent(code)
	switch {
	case code == "":
		f.Add("currency", "Choose a currency.")
	case !known:
		f.Add("currency", "Use a three-letter ISO 4217 currency code Paved knows, such as EUR or USD.")
	}
	minor, msg := parseMinor(strings.TrimSpace(s), code, exp, known)
	if msg != "" {
		f.Add("amount", msg)
	}
	if err := f.Err(); err != nil {
		return Money{}, err
	}
	return Money{Minor: minor, Currency: code}, nil
}

// parseMinor reads s into minor units of a currency with exp decimals; when the currency is
// not known it checks the form of s only. It returns a message for the person on failure.
func parseMinor(s, code string, exp int, known bool) (int64, string) {
	if s == "" {
		return 0, "Enter an amount."
	}
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "\u2212") {
		return 0, "Enter an amount of zero or more."
	}
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Contains(whole, ",") {
		if !groupedRe.MatchString(whole) {
			return 0, "Use a point for decimals and commas only between thousands, such as 1,200.50."
		}
		whole = strings.ReplaceAll(whole, ",", "")
	}
	if !allDigits(whole) || whole == "" || !allDigits(frac) {
		return 0, "Enter an amount such as 1200 or 1,200.50."
	}
	if !known {
		return 0, ""
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			if exp == 0 {
				return 0, fmt.Sprintf("%s amounts have no decimals.", code)
			}
			return 0, fmt.Sprintf("%s amounts have at most %d decimals.", code, exp)
		}
		frac = frac[:exp]
	}
	frac += strings.Repeat("0", exp-len(frac))
	var n int64
	for _, r := range whole + frac {
		d := int64(r - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, "That amount is too large."
		}
		n = n*10 + d
	}
	return n, ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
