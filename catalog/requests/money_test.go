package requests

import (
	"math"
	"strings"
	"testing"

	"github.com/pavedhq/paved/internal/errs"
)

func TestCurrencies(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Currencies() {
		if len(c.Code) != 3 || strings.ToUpper(c.Code) != c.Code || c.Name == "" || seen[c.Code] {
			t.Errorf("bad or repeated currency %+v", c)
		}
		if c.Exponent != 0 && c.Exponent != 2 && c.Exponent != 3 {
			t.Errorf("%s has exponent %d", c.Code, c.Exponent)
		}
		seen[c.Code] = true
	}
	for _, code := range strings.Fields("EUR USD GBP CHF JPY SEK NOK DKK PLN CZK HUF CAD AUD NZD SGD HKD INR CNY BRL MXN ZAR KRW ILS AED SAR TRY") {
		if !seen[code] {
			t.Errorf("%s is missing", code)
		}
	}
	for code, want := range map[string]int{"EUR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "HUF": 2} {
		if got, ok := CurrencyExponent(code); !ok || got != want {
			t.Errorf("CurrencyExponent(%s) = %d, %v; want %d", code, got, ok, want)
		}
	}
	if _, ok := CurrencyExponent("eur"); ok {
		t.Error("codes are upper case")
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             Money
		bad              map[string]string // field → part of its message
	}{
		{"12.50", "EUR", Money{1250, "EUR"}, nil},
		{"12.5", "EUR", Money{1250, "EUR"}, nil},
		{" 12 ", " eur ", Money{1200, "EUR"}, nil},
		{"12.", "EUR", Money{1200, "EUR"}, nil},
		{"0", "USD", Money{0, "USD"}, nil},
		{"0.05", "USD", Money{5, "USD"}, nil},
		{"1,200.50", "GBP", Money{120050, "GBP"}, nil},
		{"1,234,567", "CHF", Money{123456700, "CHF"}, nil},
		{"1500", "JPY", Money{1500, "JPY"}, nil},
		{"1,500", "JPY", Money{1500, "JPY"}, nil},
		{"1500.00", "JPY", Money{1500, "JPY"}, nil},
		{"25000", "KRW", Money{25000, "KRW"}, nil},
		{"1.234", "KWD", Money{1234, "KWD"}, nil},
		{"1.5", "KWD", Money{1500, "KWD"}, nil},
		{"92233720368547758.07", "EUR", Money{math.MaxInt64, "EUR"}, nil},
		{"1500.5", "JPY", Money{}, map[string]string{"amount": "JPY amounts have no decimals"}},
		{"12.505", "EUR", Money{}, map[string]string{"amount": "at most 2 decimals"}},
		{"1.2345", "KWD", Money{}, map[string]string{"amount": "at most 3 decimals"}},
		{"-5", "EUR", Money{}, map[string]string{"amount": "zero or more"}},
		{"−5", "EUR", Money{}, map[string]string{"amount": "zero or more"}},
		{"", "EUR", Money{}, map[string]string{"amount": "Enter an amount"}},
		{"abc", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"1e5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{".5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"+5", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"1.2.3", "EUR", Money{}, map[string]string{"amount": "such as"}},
		{"12,50", "EUR", Money{}, map[string]string{"amount": "commas only between thousands"}},
		{"1,2000", "EUR", Money{}, map[string]string{"amount": "commas only between thousands"}},
		{"92233720368547758.08", "EUR", Money{}, map[string]string{"amount": "too large"}},
		{"99999999999999999999", "JPY", Money{}, map[string]string{"amount": "too large"}},
		{"12", "XYZ", Money{}, map[string]string{"currency": "ISO 4217"}},
		{"12", "", Money{}, map[string]string{"currency": "Choose a currency"}},
		{"12", "euro", Money{}, map[string]string{"currency": "ISO 4217"}},
		{"-5", "XYZ", Money{}, map[string]string{"amount": "zero or more", "currency": "ISO 4217"}},
		{"12.505", "XYZ", Money{}, map[string]string{"currency": "ISO 4217"}},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.amount, tt.currency)
		if tt.bad == nil {
			if err != nil || got != tt.want {
				t.Errorf("ParseAmount(%q, %q) = %+v, %v; want %+v", tt.amount, tt.currency, got, err, tt.want)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Code != errs.Invalid || len(e.Fields) != len(tt.bad) {
			t.Errorf("ParseAmount(%q, %q) = %+v, %v; want field errors on %v", tt.amount, tt.currency, got, err, tt.bad)
			continue
		}
		for field, part := range tt.bad {
			if !strings.Contains(e.Fields[field], part) {
				t.Errorf("ParseAmount(%q, %q): %s = %q, want it to say %q", tt.amount, tt.currency, field, e.Fields[field], part)
			}
		}
	}
}

func TestMoneyString(t *testing.T) {
	for m, want := range map[Money]string{
		{120050, "EUR"}:           "1,200.50 EUR",
		{5, "EUR"}:                "0.05 EUR",
		{100, "USD"}:              "1.00 USD",
		{1234567, "EUR"}:          "12,345.67 EUR",
		{1500, "JPY"}:             "1,500 JPY",
		{0, "JPY"}:                "0 JPY",
		{1234, "KWD"}:             "1.234 KWD",
		{-1250, "EUR"}:            "-12.50 EUR",
		{math.MinInt64, "JPY"}:    "-9,223,372,036,854,775,808 JPY",
		{math.MaxInt64, "EUR"}:    "92,233,720,368,547,758.07 EUR",
		{123456, "XXX"}:           "123,456 XXX",
		{999, "GBP"}:              "9.99 GBP",
		{100000000, "KRW"}:        "100,000,000 KRW",
		{12, "BHD"}:               "0.012 BHD",
		{1_000_000_000, "USD"}:    "10,000,000.00 USD",
		{1_000_000_000, "ISK"}:    "1,000,000,000 ISK",
		{60000, "CHF"}:            "600.00 CHF",
		{999_999_999_99, "SEK"}:   "999,999,999.99 SEK",
		{1_000_000_000_00, "NOK"}: "1,000,000,000.00 NOK",
	} {
		if got := m.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", m, got, want)
		}
	}
}
