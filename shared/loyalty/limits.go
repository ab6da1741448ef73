package loyalty

import (
	"fmt"
	"math/big"
	"strings"
	"time"
)

// LimitSource is where credited points come from, for the per-member caps.
type LimitSource string

// The sources a cap can name.
const (
	SourcePurchases   LimitSource = "purchases"   // partner purchases (promotions, tier multipliers, stamps' points included)
	SourceAdjustments LimitSource = "adjustments" // ops' positive adjustments
	SourceReferrals   LimitSource = "referrals"   // referrer and referee bonuses
	SourceFeedback    LimitSource = "feedback"    // feedback bonuses
)

var limitSources = []LimitSource{SourcePurchases, SourceAdjustments, SourceReferrals, SourceFeedback}

// Excess policies: what a credit beyond a cap gets.
const (
	ExcessRefuse = "refuse" // the whole credit is refused (CodeLimitExceeded), nothing changes
	ExcessCap    = "cap"    // the credit is cut to what the cap leaves; the entry records what it would have earned
)

// PeriodCaps are the most points a member may get from one source in one
// program-local day and one calendar month; 0 is no cap.
type PeriodCaps struct {
	Day   Points `json:"day,omitempty"`
	Month Points `json:"month,omitempty"`
}

// Limits bound what one member can earn, per source and period. They are
// checked on the member's account in the credit's own transaction, so they
// hold under any concurrency: two purchases at once cannot both take the
// last points of a day's cap.
type Limits struct {
	OnExcess  string                     `json:"onExcess"`
	PerMember map[LimitSource]PeriodCaps `json:"perMember,omitempty"`
}

func (p *Program) validateLimits() error {
	for i, pt := range p.Partners {
		if pt.MaxPurchaseMinor < 0 || pt.MaxPurchaseMinor > MaxMinor {
			return Invalid(fmt.Sprintf("partners[%d].maxPurchaseMinor", i), "must be between 1 and %d (0 or absent: no maximum), got %d", MaxMinor, pt.MaxPurchaseMinor)
		}
	}
	l := p.Limits
	if l == nil {
		for i, pt := range p.Partners {
			if pt.MaxPurchaseMinor > 0 {
				return Invalid(fmt.Sprintf("partners[%d].maxPurchaseMinor", i), "needs limits.onExcess to say whether a larger purchase is refused or capped")
			}
		}
		return nil
	}
	if l.OnExcess != ExcessRefuse && l.OnExcess != ExcessCap {
		return Invalid("limits.onExcess", "must be %q or %q, got %q", ExcessRefuse, ExcessCap, l.OnExcess)
	}
	for src, caps := range l.PerMember {
		field := "limits.perMember." + string(src)
		known := false
		for _, s := range limitSources {
			known = known || s == src
		}
		if !known {
			return Invalid(field, "unknown source %q; the sources are purchases, adjustments, referrals, feedback", src)
		}
		if caps.Day < 0 || caps.Day > MaxPoints || caps.Month < 0 || caps.Month > MaxPoints {
			return Invalid(field, "caps must be between 1 and %d points (0: none), got day %d, month %d", MaxPoints, caps.Day, caps.Month)
		}
		if caps.Day == 0 && caps.Month == 0 {
			return Invalid(field, "names neither a day nor a month cap")
		}
		if caps.Day > 0 && caps.Month > 0 && caps.Month < caps.Day {
			return Invalid(field+".month", "the month cap %d is below the day cap %d", caps.Month, caps.Day)
		}
	}
	return nil
}

// memberCaps is the caps of a source, and whether there are any.
func (p *Program) memberCaps(src LimitSource) (PeriodCaps, bool) {
	if p.Limits == nil {
		return PeriodCaps{}, false
	}
	c, ok := p.Limits.PerMember[src]
	return c, ok && (c.Day > 0 || c.Month > 0)
}

// limitKeys are the account's counters of a source for the day and month
// of at: "purchases/d2026-03-10", "purchases/m2026-03".
func (p *Program) limitKeys(src LimitSource, at time.Time) (day, month string) {
	d := p.Today(at)
	return string(src) + "/d" + string(d), string(src) + "/m" + string(d)[:7]
}

// capCredit bounds a credit of want points from src at time at by the
// member's caps, counts what it allows on the account, and forgets counters
// of earlier periods. Errors: CodeLimitExceeded when the program refuses an
// excess.
func (p *Program) capCredit(a *Account, src LimitSource, want Points, at time.Time) (Points, error) {
	caps, ok := p.memberCaps(src)
	if !ok || want <= 0 {
		return want, nil
	}
	dayKey, monthKey := p.limitKeys(src, at)
	p.pruneLimits(a, at)
	room := want
	if caps.Day > 0 {
		room = min(room, caps.Day-a.Earned[dayKey])
	}
	if caps.Month > 0 {
		room = min(room, caps.Month-a.Earned[monthKey])
	}
	room = max(room, 0)
	if room < want && p.Limits.OnExcess == ExcessRefuse {
		return 0, Errorf(CodeLimitExceeded, "%d points from %s would pass the member's cap (day %d, month %d; %d left)", want, src, caps.Day, caps.Month, room)
	}
	if a.Earned == nil {
		a.Earned = map[string]Points{}
	}
	if caps.Day > 0 {
		a.Earned[dayKey] += room
	}
	if caps.Month > 0 {
		a.Earned[monthKey] += room
	}
	return room, nil
}

// pruneLimits drops the counters of days and months before at's, so the
// account holds at most two counters per source.
func (p *Program) pruneLimits(a *Account, at time.Time) {
	if len(a.Earned) == 0 {
		return
	}
	today := string(p.Today(at))
	for k := range a.Earned {
		_, period, _ := strings.Cut(k, "/")
		switch {
		case strings.HasPrefix(period, "d") && period[1:] == today:
		case strings.HasPrefix(period, "m") && period[1:] == today[:7]:
		default:
			delete(a.Earned, k)
		}
	}
}

// capBonus bounds a bonus (a referral or feedback bonus) by the member's
// caps. The act the bonus rewards happens anyway: an excess the program
// refuses gives no bonus at all, one it caps gives what the cap leaves.
// It returns the bonus to credit.
func (p *Program) capBonus(a *Account, src LimitSource, want Points, at time.Time) Points {
	got, err := p.capCredit(a, src, want, at)
	if err != nil {
		return 0 // refused: capCredit counted nothing
	}
	return got
}

// capPurchaseAmount applies the partner's maximum purchase amount to what a
// purchase earns: above it the purchase is refused, or earns in proportion
// to the maximum (rounded down), as limits.onExcess says.
func (p *Program) capPurchaseAmount(pur Purchase, points Points) (Points, error) {
	partner := partnerOfKey(pur.Key)
	maxMinor := p.partnerMaxMinor(partner)
	if maxMinor <= 0 || pur.Spend.Minor <= maxMinor {
		return points, nil
	}
	if p.Limits.OnExcess == ExcessRefuse {
		return 0, Errorf(CodeLimitExceeded, "a purchase of %d minor units is above partner %s's maximum of %d", pur.Spend.Minor, partner, maxMinor)
	}
	scaled := new(big.Int).Mul(big.NewInt(int64(points)), big.NewInt(maxMinor))
	scaled.Quo(scaled, big.NewInt(pur.Spend.Minor))
	return Points(scaled.Int64()), nil
}

// capRule is the rule line of a capped credit: the points the cap took away.
func capRule(src LimitSource, cut Points) RuleResult {
	return RuleResult{Rule: "limit:" + string(src), Points: -cut}
}

// partnerMaxMinor is the largest purchase partner may report (0: none).
func (p *Program) partnerMaxMinor(partner string) int64 {
	if pt, ok := p.Partner(partner); ok {
		return pt.MaxPurchaseMinor
	}
	return 0
}

// partnerOfKey is the partner of a purchase's ledger key (PurchaseKey).
func partnerOfKey(key string) string {
	rest, ok := strings.CutPrefix(key, keyPurchase)
	if !ok {
		return ""
	}
	partner, _, _ := strings.Cut(rest, ":")
	return partner
}
