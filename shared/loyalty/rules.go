package loyalty

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Multiplier is a decimal factor such as "1.5", held in thousandths so that
// every computation stays in integers: 1000 is x1.
type Multiplier int64

// One is the neutral multiplier.
const One Multiplier = 1000

// BadMultiplier marks a multiplier the file spelled wrong; validation
// reports it with its field, which the JSON decoder cannot.
const BadMultiplier Multiplier = -1

// UnmarshalJSON accepts a JSON string or number with at most three decimals;
// anything else becomes BadMultiplier for Validate to report.
func (m *Multiplier) UnmarshalJSON(b []byte) error {
	*m = parseMultiplier(strings.Trim(string(b), `"`))
	return nil
}

func parseMultiplier(s string) Multiplier {
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 3 || whole == "" || !isDigits(whole) || !isDigits(frac) || len(whole) > 6 {
		return BadMultiplier
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt((frac + "00")[:3], 10, 64)
	}
	return Multiplier(w*1000 + f)
}

// MarshalJSON writes the multiplier as a decimal string.
func (m Multiplier) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

func (m Multiplier) String() string {
	s := fmt.Sprintf("%d.%03d", m/1000, m%1000)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// LineRule changes what one SKU or category earns.
type LineRule struct {
	Multiplier Multiplier `json:"multiplier,omitempty"` // 0 means unchanged (x1)
	Exclude    bool       `json:"exclude,omitempty"`    // earns nothing (gift cards, tobacco, deposits)
}

// Promotion adds points to purchases in a local time window.
type Promotion struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	From           Date        `json:"from"`            // first local day, inclusive
	Until          Date        `json:"until,omitempty"` // last local day, inclusive; "" open-ended
	Days           []string    `json:"days,omitempty"`  // MON..SUN; empty: every day
	Hours          *HourWindow `json:"hours,omitempty"` // local hours; nil: all day
	Categories     []string    `json:"categories,omitempty"`
	SKUs           []string    `json:"skus,omitempty"`
	Multiplier     Multiplier  `json:"multiplier,omitempty"`  // x2 doubles the eligible points
	BonusPoints    Points      `json:"bonusPoints,omitempty"` // a fixed bonus per purchase
	MinSpendMinor  int64       `json:"minSpendMinor,omitempty"`
	LimitPerMember int         `json:"limitPerMember,omitempty"` // 0: unlimited
	// BudgetPoints is the most points the promotion gives across all
	// members (0: no budget). A purchase it cannot pay in full earns
	// without it: the promotion has ended for everyone.
	BudgetPoints Points `json:"budgetPoints,omitempty"`
}

// HourWindow is [From, Until) in local "HH:MM".
type HourWindow struct {
	From  string `json:"from"`
	Until string `json:"until"`
}

// Tiers are the program's levels; Levels[0] is the base tier (threshold 0).
type Tiers struct {
	Window string      `json:"window"` // "rolling_12_months" or "calendar_year"
	Levels []TierLevel `json:"levels"`
}

// TierLevel is one tier.
type TierLevel struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Threshold  Points     `json:"threshold"` // qualifying points in the window to reach it
	Multiplier Multiplier `json:"multiplier,omitempty"`
}

const (
	WindowRolling12  = "rolling_12_months"
	WindowCalendarYr = "calendar_year"
)

// Earning is what a purchase earns and why.
type Earning struct {
	Points     Points
	Rules      []RuleResult
	Promotions []string // promotions that applied, for their per-member limits
}

var weekdays = map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday, "WED": time.Wednesday,
	"THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}

// lineRule is the rule of one line: the SKU's rule wins over the category's.
func (p *Program) lineRule(l Line) (rule string, r LineRule, ok bool) {
	if r, ok := p.Earn.SKUs[l.SKU]; ok && l.SKU != "" {
		return "sku:" + l.SKU, r, true
	}
	if r, ok := p.Earn.Categories[l.Category]; ok && l.Category != "" {
		return "category:" + l.Category, r, true
	}
	return "", LineRule{}, false
}

// pointsInt64 is points in int64 arithmetic, for the common case where no
// product overflows (ok false: use big integers). It rounds as points does:
// Go's division truncates toward zero like big.Int's QuoRem, and a negative
// amount is never rounded away from zero (its remainder is not positive).
// TestPointsInt64AgreesWithBig holds the two together.
func (p *Program) pointsInt64(amount int64, factors []Multiplier) (Points, bool) {
	mul := func(a, b int64) (int64, bool) { // a, b >= 0
		hi, lo := bits.Mul64(uint64(a), uint64(b))
		return int64(lo), hi == 0 && lo <= math.MaxInt64
	}
	if amount == math.MinInt64 || p.Earn.Points < 0 || p.Earn.PerMinor <= 0 {
		return 0, false
	}
	negAmount := amount < 0
	if negAmount {
		amount = -amount
	}
	num, ok := mul(amount, p.Earn.Points)
	den := p.Earn.PerMinor
	neg := false
	for _, f := range factors {
		if f == math.MinInt64 {
			return 0, false
		}
		if f < 0 {
			neg = !neg
			f = -f
		}
		var ok1, ok2 bool
		num, ok1 = mul(num, int64(f))
		den, ok2 = mul(den, 1000)
		ok = ok && ok1 && ok2
	}
	if !ok || den > math.MaxInt64/2 {
		return 0, false
	}
	q, r := num/den, num%den
	if !negAmount {
		switch p.Earn.Rounding {
		case RoundUp:
			if r > 0 {
				q++
			}
		case RoundHalfUp:
			if 2*r >= den {
				q++
			}
		}
	}
	if negAmount {
		q = -q
	}
	if q > int64(MaxPoints) {
		q = int64(MaxPoints) + 1 // saturate as points does
	}
	v := Points(q)
	if neg {
		v = -v
	}
	return v, true
}

// points converts amount (minor units) times the given multipliers (each in
// thousandths) into points at the program's rate, rounded once as the
// program says. Exact: integers, no floats (int64 unless a product
// overflows, then big integers).
func (p *Program) points(amount int64, factors ...Multiplier) Points {
	if v, ok := p.pointsInt64(amount, factors); ok {
		return v
	}
	return p.pointsBig(amount, factors)
}

// pointsBig is points in big integers: any amount and factors.
func (p *Program) pointsBig(amount int64, factors []Multiplier) Points {
	num := big.NewInt(amount)
	num.Mul(num, big.NewInt(p.Earn.Points))
	den := big.NewInt(p.Earn.PerMinor)
	neg := false
	for _, f := range factors {
		if f < 0 {
			neg = !neg
			f = -f
		}
		num.Mul(num, big.NewInt(int64(f)))
		den.Mul(den, big.NewInt(1000))
	}
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	switch p.Earn.Rounding {
	case RoundUp:
		if r.Sign() > 0 {
			q.Add(q, big.NewInt(1))
		}
	case RoundHalfUp:
		if r.Mul(r, big.NewInt(2)).Cmp(den) >= 0 {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() || q.Int64() > int64(MaxPoints) {
		q.SetInt64(int64(MaxPoints) + 1) // saturate: callers refuse anything above MaxPoints
	}
	v := Points(q.Int64())
	if neg {
		v = -v
	}
	return v
}

// purchaseLines are the lines that earn: the purchase's lines, plus the
// part of the spend no line covers (shipping, service) as a line of its own.
func purchaseLines(pur Purchase) []Line {
	lines := append([]Line(nil), pur.Lines...)
	var sum int64
	for _, l := range lines {
		sum += l.Minor
	}
	if rest := pur.Spend.Minor - sum; rest > 0 {
		lines = append(lines, Line{ID: "rest", Minor: rest})
	}
	return lines
}

// Earnings computes what a purchase earns for a member of tier, who has used
// each promotion uses[id] times. Each rule's share is rounded on its own,
// in this order, and listed in Rules:
//
//  1. base: the rate on every line that is not excluded;
//  2. sku:X / category:Y: the extra (or less) of a line multiplier;
//  3. promo:P: a promotion's multiplier on its eligible lines, and its bonus;
//  4. tier:T: the tier multiplier on steps 1 and 2.
//
// The total never goes below zero.
func (p *Program) Earnings(pur Purchase, tier string, uses map[string]int) (Earning, error) {
	return p.earnings(pur, tier, uses, nil)
}

// earnings is Earnings without the promotions whose budget is spent.
func (p *Program) earnings(pur Purchase, tier string, uses map[string]int, spent map[string]bool) (Earning, error) {
	if pur.Spend.Currency != p.Currency {
		return Earning{}, Invalid("currency", "program %s earns in %s, not %s", p.ID, p.Currency, pur.Spend.Currency)
	}
	var e Earning
	add := func(rule string, pts Points) {
		if pts == 0 {
			return
		}
		for i := range e.Rules {
			if e.Rules[i].Rule == rule {
				e.Rules[i].Points += pts
				return
			}
		}
		e.Rules = append(e.Rules, RuleResult{Rule: rule, Points: pts})
	}
	lines := purchaseLines(pur)
	type weighted struct {
		line Line
		mult Multiplier
	}
	var eligible []weighted
	var base int64
	for _, l := range lines {
		mult := One
		name, r, ok := p.lineRule(l)
		if ok && r.Exclude {
			continue
		}
		if ok && r.Multiplier != 0 {
			mult = r.Multiplier
		}
		base += l.Minor
		eligible = append(eligible, weighted{l, mult})
		if mult != One {
			add(name, p.points(l.Minor, mult-One))
		}
	}
	e.Rules = append([]RuleResult{{Rule: "base", Points: p.points(base)}}, e.Rules...)

	local := pur.OccurredAt.In(p.Location())
	for _, promo := range p.Promotions {
		if !promo.activeAt(local) || pur.Spend.Minor < promo.MinSpendMinor {
			continue
		}
		if promo.LimitPerMember > 0 && uses[promo.ID] >= promo.LimitPerMember {
			continue
		}
		if spent[promo.ID] {
			continue
		}
		applied := false
		if promo.Multiplier != 0 && promo.Multiplier != One {
			var pts Points
			for _, w := range eligible {
				if promo.covers(w.line) {
					pts += p.points(w.line.Minor, w.mult, promo.Multiplier-One)
					applied = true
				}
			}
			add("promo:"+promo.ID, pts)
		}
		covered := false
		for _, w := range eligible {
			covered = covered || promo.covers(w.line)
		}
		if promo.BonusPoints != 0 && covered {
			add("promo:"+promo.ID, promo.BonusPoints)
			applied = true
		}
		if applied {
			e.Promotions = append(e.Promotions, promo.ID)
		}
	}
	if lvl, ok := p.TierLevel(tier); ok && lvl.Multiplier != 0 && lvl.Multiplier != One {
		var pts Points
		for _, w := range eligible {
			pts += p.points(w.line.Minor, w.mult, lvl.Multiplier-One)
		}
		add("tier:"+lvl.ID, pts)
	}
	for _, r := range e.Rules {
		e.Points += r.Points
	}
	if e.Points < 0 {
		e.Points = 0
	}
	if e.Points > MaxPoints {
		return Earning{}, Invalid("amountMinor", "the purchase earns more points than the limit")
	}
	return e, nil
}

func (pr *Promotion) activeAt(local time.Time) bool {
	day := Date(local.Format(dateLayout))
	if day < pr.From || (pr.Until != "" && day > pr.Until) {
		return false
	}
	if len(pr.Days) > 0 {
		ok := false
		for _, d := range pr.Days {
			ok = ok || weekdays[d] == local.Weekday()
		}
		if !ok {
			return false
		}
	}
	if pr.Hours != nil {
		hm := local.Format("15:04")
		if hm < pr.Hours.From || hm >= pr.Hours.Until {
			return false
		}
	}
	return true
}

// covers reports whether the promotion applies to a line (no filter: all).
func (pr *Promotion) covers(l Line) bool {
	if len(pr.Categories) == 0 && len(pr.SKUs) == 0 {
		return true
	}
	for _, c := range pr.Categories {
		if c == l.Category && c != "" {
			return true
		}
	}
	for _, s := range pr.SKUs {
		if s == l.SKU && s != "" {
			return true
		}
	}
	return false
}

// TierLevel returns the level with id; "" is the base level.
func (p *Program) TierLevel(id string) (TierLevel, bool) {
	if len(p.Tiers.Levels) == 0 {
		return TierLevel{}, false
	}
	if id == "" {
		return p.Tiers.Levels[0], true
	}
	for _, l := range p.Tiers.Levels {
		if l.ID == id {
			return l, true
		}
	}
	return TierLevel{}, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
