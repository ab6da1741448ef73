package loyalty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Program holds the rules of one loyalty program. It is loaded from the
// reviewed program file and validated before any function serves a request.
type Program struct {
	ID       string       `json:"id"`
	Currency string       `json:"currency"`
	Timezone string       `json:"timezone"`
	Earn     EarnRate     `json:"earn"`
	Expiry   ExpiryPolicy `json:"expiry"`
	Refund   RefundPolicy `json:"refund"`
	Partners []Partner    `json:"partners,omitempty"` // who may send purchase events (partners.go)
	// Rules beyond the base rate (rules.go, cards.go); validated in programcheck.go.
	Version    int            `json:"version"`
	Promotions []Promotion    `json:"promotions,omitempty"`
	Tiers      Tiers          `json:"tiers,omitempty"`
	StampCards []StampCard    `json:"stampCards,omitempty"`
	Referral   *Referral      `json:"referral,omitempty"`
	Feedback   *Feedback      `json:"feedback,omitempty"`
	Rewards    []Reward       `json:"rewards,omitempty"`    // the catalog the stack seeds; ops manage it after
	Engagement *Engagement    `json:"engagement,omitempty"` // reminders, classes, win-back, inbox (engagement.go)
	Limits     *Limits        `json:"limits,omitempty"`     // per-member caps per source and period (limits.go)
	Texts      *Locales       `json:"locales,omitempty"`    // the texts in the members' languages (texts.go)
	Till       *Till          `json:"till,omitempty"`       // rotating codes at the till (till.go)
	loc        *time.Location // loaded from Timezone by Validate
}

// EarnRate awards Points for every PerMinor minor units spent, rounded as
// Rounding says: {Points: 1, PerMinor: 100} is one point per euro.
type EarnRate struct {
	Points     int64               `json:"points"`
	PerMinor   int64               `json:"perMinor"`
	Rounding   Rounding            `json:"rounding"`
	Categories map[string]LineRule `json:"categories,omitempty"` // by line category
	SKUs       map[string]LineRule `json:"skus,omitempty"`       // by SKU; wins over the category
}

// ExpiryPolicy: a lot earned on day D expires Months months later (0: never),
// at the end of that month when EndOfMonth is set, in the program timezone.
type ExpiryPolicy struct {
	Months     int  `json:"months"`
	EndOfMonth bool `json:"endOfMonth"`
}

// RefundPolicy says what a refund does when the points it claws back were
// already spent.
type RefundPolicy string

const (
	// RefundNegative lets the balance go below zero; later earnings pay it back.
	RefundNegative RefundPolicy = "negative_balance"
	// RefundDebt takes what is left and records the rest as debt, repaid
	// from later earnings; the balance never goes below zero.
	RefundDebt RefundPolicy = "record_debt"
)

// Validate checks the program and loads its timezone. Messages name the field.
func (p *Program) Validate() error {
	if p.ID == "" {
		return Invalid("id", "program id is required")
	}
	if _, ok := MinorDigits(p.Currency); !ok {
		return Invalid("currency", "unknown ISO 4217 currency %q", p.Currency)
	}
	loc, err := time.LoadLocation(p.Timezone)
	if err != nil || p.Timezone == "" {
		return Invalid("timezone", "unknown IANA timezone %q", p.Timezone)
	}
	p.loc = loc
	if p.Earn.Points < 0 || p.Earn.Points > 1_000_000 {
		return Invalid("earn.points", "must be between 0 and 1000000, got %d", p.Earn.Points)
	}
	if p.Earn.PerMinor <= 0 || p.Earn.PerMinor > 1_000_000_000 {
		return Invalid("earn.perMinor", "must be between 1 and 1000000000, got %d", p.Earn.PerMinor)
	}
	switch p.Earn.Rounding {
	case RoundDown, RoundHalfUp, RoundUp:
	default:
		return Invalid("earn.rounding", "must be one of down, half_up, up; got %q", p.Earn.Rounding)
	}
	if p.Expiry.Months < 0 || p.Expiry.Months > 120 {
		return Invalid("expiry.months", "must be between 0 (never) and 120, got %d", p.Expiry.Months)
	}
	switch p.Refund {
	case RefundNegative, RefundDebt:
	default:
		return Invalid("refund", "must be %q or %q, got %q", RefundNegative, RefundDebt, p.Refund)
	}
	if err := p.validatePartners(); err != nil {
		return err
	}
	if err := p.validateLimits(); err != nil {
		return err
	}
	if err := p.validateTill(); err != nil {
		return err
	}
	if err := p.validateRules(); err != nil {
		return err
	}
	if err := p.validateEngagement(); err != nil {
		return err
	}
	return p.validateLocales()
}

// Location is the program's timezone (UTC before Validate).
func (p *Program) Location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// Today is the calendar day of t in the program's timezone.
func (p *Program) Today(t time.Time) Date { return DateOf(t, p.Location()) }

// LotExpiry is the last day on which points earned at t are valid.
func (p *Program) LotExpiry(earned time.Time) Date {
	if p.Expiry.Months == 0 {
		return NoExpiry
	}
	d := DateOf(earned, p.Location()).AddMonths(p.Expiry.Months)
	if p.Expiry.EndOfMonth {
		d = d.EndOfMonth()
	}
	return d
}

// BasePoints converts a spend into points at the program's earn rate.
func (p *Program) BasePoints(spend Money) (Points, error) {
	if spend.Currency != p.Currency {
		return 0, Invalid("currency", "program %s earns in %s, not %s", p.ID, p.Currency, spend.Currency)
	}
	v := p.points(spend.Minor)
	if v > MaxPoints {
		return 0, Invalid("amountMinor", "amount %d earns more points than the limit", spend.Minor)
	}
	return v, nil
}

// String names the program for logs.
func (p *Program) String() string {
	return fmt.Sprintf("program %s (%s, %s)", p.ID, p.Currency, p.Timezone)
}

// ParseProgram decodes a program file strictly (unknown fields are errors)
// and validates it; messages name the file and the field, as in
// "program.json: partners[1].id: partner \"x\" is listed twice".
func ParseProgram(name string, b []byte) (*Program, error) {
	var p Program
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: more than one JSON value", name)
	}
	if err := p.Validate(); err != nil {
		var le *Error
		if errors.As(err, &le) && le.Field != "" {
			return nil, fmt.Errorf("%s: %s: %s", name, le.Field, le.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &p, nil
}
