package loyalty

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// Backtests replay past purchases against a program to see what it would
// have issued. Each member's account is simulated in memory from nothing, in
// the order the purchases occurred, with the same planning as an accrual
// (PlanEarning): promotion limits, tier upgrades and stamp cards play out as
// they would have. Not simulated: refunds, expiry, tier reviews at cycle
// end, referral and feedback bonuses, adjustments and redemptions.

// BacktestRun is what one program would have issued for a list of purchases.
type BacktestRun struct {
	Program       string            `json:"program"`
	Points        Points            `json:"points"`
	Rules         map[string]Points `json:"rules"`         // points by rule: base, sku:X, promo:P, tier:T
	RewardsIssued map[string]int    `json:"rewardsIssued"` // stamp card rewards by reward id
	TierUpgrades  int               `json:"tierUpgrades"`
}

// BacktestReport compares a candidate program with the current one.
type BacktestReport struct {
	Purchases  int         `json:"purchases"`  // distinct purchases replayed
	Duplicates int         `json:"duplicates"` // repeated deliveries, which replay and earn nothing
	Members    int         `json:"members"`
	Current    BacktestRun `json:"current"`
	Candidate  BacktestRun `json:"candidate"`
}

// Backtest replays purchases under both programs. A purchase either program
// refuses (another currency, an absurd amount) fails the backtest with its key.
func Backtest(current, candidate *Program, purchases []Purchase) (BacktestReport, error) {
	ordered := make([]Purchase, 0, len(purchases))
	seen := map[string]bool{}
	members := map[MemberID]bool{}
	var rep BacktestReport
	for _, p := range purchases {
		id := string(p.MemberID) + "\x00" + p.Key
		if seen[id] {
			rep.Duplicates++
			continue
		}
		seen[id] = true
		members[p.MemberID] = true
		ordered = append(ordered, p)
	}
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].OccurredAt.Before(ordered[j].OccurredAt) })
	rep.Purchases, rep.Members = len(ordered), len(members)
	var err error
	if rep.Current, err = replay(current, ordered); err != nil {
		return BacktestReport{}, fmt.Errorf("current program %s: %w", current.ID, err)
	}
	if rep.Candidate, err = replay(candidate, ordered); err != nil {
		return BacktestReport{}, fmt.Errorf("candidate program %s: %w", candidate.ID, err)
	}
	return rep, nil
}

func replay(prog *Program, purchases []Purchase) (BacktestRun, error) {
	run := BacktestRun{Program: prog.ID, Rules: map[string]Points{}, RewardsIssued: map[string]int{}}
	accounts := map[MemberID]Account{}
	for _, p := range purchases {
		if err := p.Validate(p.OccurredAt); err != nil {
			return BacktestRun{}, fmt.Errorf("purchase %s: %w", p.Key, err)
		}
		acct, ok := accounts[p.MemberID]
		if !ok {
			acct = NewAccount(p.MemberID, p.OccurredAt)
		}
		c, err := PlanEarning(acct, prog, p, p.OccurredAt)
		if err != nil {
			return BacktestRun{}, fmt.Errorf("purchase %s: %w", p.Key, err)
		}
		accounts[p.MemberID] = c.Account
		run.Points += c.Entry.Earned
		for _, r := range c.Entry.Rules {
			run.Rules[r.Rule] += r.Points
		}
		for _, red := range c.Issued {
			run.RewardsIssued[red.RewardID]++
		}
		if c.Entry.Tier != "" {
			run.TierUpgrades++
		}
	}
	return run, nil
}

// PointValue is what one point is worth, exactly: minor units of Currency
// per point, as a fraction.
type PointValue struct {
	Currency string
	minor    *big.Rat
}

// ParsePointValue reads a value per point in major units, such as "0.01"
// (one cent) or "0.0075", with at most 6 decimals.
func ParsePointValue(s, currency string) (PointValue, error) {
	digits, ok := MinorDigits(currency)
	if !ok {
		return PointValue{}, Invalid("currency", "unknown ISO 4217 currency %q", currency)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || !isDigits(whole) || !isDigits(frac) || len(frac) > 6 {
		return PointValue{}, Invalid("pointValue", "a value per point is a decimal such as 0.01 with at most 6 decimals, got %q", s)
	}
	v, ok := new(big.Rat).SetString(whole + "." + frac + "0")
	if !ok {
		return PointValue{}, Invalid("pointValue", "a value per point is a decimal such as 0.01, got %q", s)
	}
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))
	return PointValue{Currency: currency, minor: v.Mul(v, scale)}, nil
}

// Of is the value of n points, rounded half up to a minor unit.
func (v PointValue) Of(n Points) Money {
	if v.minor == nil {
		return Money{Currency: v.Currency}
	}
	x := new(big.Rat).Mul(v.minor, new(big.Rat).SetInt64(int64(n)))
	num, den := new(big.Int).Set(x.Num()), x.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Mul(r, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	m := q.Int64()
	if neg {
		m = -m
	}
	return Money{Minor: m, Currency: v.Currency}
}

// FormatMoney writes an amount in major units: 1234 EUR minor is "12.34 EUR".
func FormatMoney(m Money) string {
	digits, _ := MinorDigits(m.Currency)
	sign, n := "", m.Minor
	if n < 0 {
		sign, n = "-", -n
	}
	s := fmt.Sprintf("%0*d", digits+1, n)
	if digits > 0 {
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	return sign + s + " " + m.Currency
}
