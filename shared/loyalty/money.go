package loyalty

import "fmt"

// Points is an amount of loyalty points. Balances and deltas are whole points.
type Points int64

// MaxPoints bounds any single movement so that sums never overflow.
const MaxPoints Points = 1_000_000_000_000

// Money is an amount in minor units (cents) of an ISO 4217 currency.
type Money struct {
	Minor    int64  `json:"amountMinor"`
	Currency string `json:"currency"`
}

func (m Money) String() string { return fmt.Sprintf("%d %s (minor)", m.Minor, m.Currency) }

// MaxMinor bounds a purchase amount: 10^13 minor units is a hundred billion
// in a two-decimal currency, far above any real basket.
const MaxMinor int64 = 10_000_000_000_000

// minorDigits lists the ISO 4217 currencies the engine accepts with their
// number of minor-unit digits.
var minorDigits = map[string]int{
	"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
	"HUF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SGD": 2, "HKD": 2, "MXN": 2, "BRL": 2, "INR": 2,
	"ZAR": 2, "CNY": 2, "TRY": 2, "ILS": 2, "AED": 2, "SAR": 2, "THB": 2, "MYR": 2, "PHP": 2,
	"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}

// MinorDigits returns the number of minor-unit digits of an ISO currency.
func MinorDigits(currency string) (int, bool) {
	d, ok := minorDigits[currency]
	return d, ok
}

// ValidateMoney checks an amount that must be positive (or zero when
// allowZero) in a known currency.
func ValidateMoney(field string, m Money, allowZero bool) error {
	if _, ok := minorDigits[m.Currency]; !ok {
		return Invalid(field+".currency", "unknown ISO 4217 currency %q", m.Currency)
	}
	if m.Minor < 0 || (m.Minor == 0 && !allowZero) {
		return Invalid(field+".amountMinor", "amount must be positive, got %d", m.Minor)
	}
	if m.Minor > MaxMinor {
		return Invalid(field+".amountMinor", "amount %d is above the limit %d", m.Minor, MaxMinor)
	}
	return nil
}

// Rounding says how a fractional number of points becomes whole points.
type Rounding string

const (
	RoundDown   Rounding = "down"    // toward zero: 9.99 -> 9
	RoundHalfUp Rounding = "half_up" // nearest, halves up: 9.5 -> 10
	RoundUp     Rounding = "up"      // away from zero: 9.01 -> 10
)
