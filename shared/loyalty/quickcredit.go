package loyalty

import (
	"slices"
	"time"
)

// QuickCredit describes a purchase credit whose outcome is known without
// the member's account, as long as the account is in a state the
// description names: then the full planner (PlanEarning) writes exactly
// Entry and changes the account exactly as Apply does. A store may write it
// without reading the account, checking Holds in the write itself; when the
// account is not in that state (a tier would be reached, a deficit is
// paid back, ...) the store plans as usual. A stamp card's last stamp and a
// promotion past its limit per member have quick forms of their own
// (With), for a store that knows the counts; such a store computes the one
// form it needs from a QuickBasis. The property test in quickcredit_test.go
// holds every form against the planner.
type QuickCredit struct {
	// Entry is the ledger entry the planner writes (without Fingerprint).
	Entry Entry

	// What must hold of the account (Holds):
	//   - it exists, with no deficit and no debt, no pending referral bonus;
	//   - its tier is Tier;
	//   - its oldest lot expires between OldestFrom and Entry.Lots[0].Expires
	//     (the credit does not change which lot is oldest, and the oldest
	//     lot is not yet due for expiry);
	//   - TierHeadroom is more than Qualifying (the credit reaches no tier);
	//   - each counter of Stamps and Uses is below its Limit before the
	//     credit, which raises it by one (no card fills, no promotion
	//     passes its limit per member);
	//   - each counter of Reached is at least its Limit (a promotion whose
	//     limit per member is reached gives nothing and counts nothing);
	//   - each counter of Filling is exactly its Limit (the card's last
	//     stamp: the credit empties the card and issues Issued).
	Tier       string
	OldestFrom Date
	Qualifying Points // qualifying points the credit adds to Month
	Month      string // the program-local month "2006-01" of the purchase
	Stamps     []Counter
	Uses       []Counter
	Reached    []Counter
	Filling    []Counter
	Issued     []Redemption // the rewards of the Filling cards, to put as new

	prog     *Program
	purchase Purchase
	now      time.Time
}

// Counter is a count per member: a stamp card's stamps (Account.Stamps) or
// a promotion's uses (Account.PromoUses), and the bound Holds checks it by.
type Counter struct {
	ID    string
	Limit int
}

// QuickCredit returns the quick form of the credit of p, and false when the
// purchase's outcome always depends on the account beyond what a
// QuickCredit can name: a member cap on purchases (what was earned today),
// a promotion with a budget, a stamp card of one stamp, a credit that is not
// a single new lot.
func (prog *Program) QuickCredit(p Purchase, now time.Time) (QuickCredit, bool, error) {
	return prog.quickCredit(p, now, "", nil, nil)
}

// WithLimitsReached is the quick form of the same credit on an account
// where the promotions ids (of q.Uses) have reached their limit per member.
func (q QuickCredit) WithLimitsReached(ids []string) (QuickCredit, bool, error) {
	return q.prog.quickCredit(q.purchase, q.now, q.Tier, ids, nil)
}

// With is the quick form of the same credit on an account where the
// promotions reached have reached their limit per member and the stamp
// cards filling hold all their stamps but one.
func (q QuickCredit) With(reached, filling []string) (QuickCredit, bool, error) {
	return q.prog.quickCredit(q.purchase, q.now, q.Tier, reached, filling)
}

// OnTier is the quick form of the same credit, with the same limits
// reached and cards filling, on an account of tier (a level's id, "" for
// the base level): the tier's multiplier applies and Tier names it. false
// when tier is no level above the base.
func (q QuickCredit) OnTier(tier string) (QuickCredit, bool, error) {
	if tier != "" && q.prog.levelIndex(tier) == 0 {
		return QuickCredit{}, false, nil
	}
	return q.prog.quickCredit(q.purchase, q.now, tier, counterIDs(q.Reached), counterIDs(q.Filling))
}

// Form is the quick form of the same credit on an account of tier whose
// promotions reached have reached their limit per member and whose cards
// filling hold all their stamps but one (OnTier, then With).
func (q QuickCredit) Form(tier string, reached, filling []string) (QuickCredit, bool, error) {
	if tier != "" && q.prog.levelIndex(tier) == 0 {
		return QuickCredit{}, false, nil
	}
	return q.prog.quickCredit(q.purchase, q.now, tier, reached, filling)
}

// QuickBasis is what a store needs to choose the quick form of a purchase's
// credit before computing one: the counters a form can name. Computing a
// form (Form) runs the earning rules and the planner; a store that knows
// the member's tier and counts computes the one form they say, not the
// base tier's first and then that one.
type QuickBasis struct {
	// Cards are the stamp cards the purchase stamps, each with its stamps
	// but one as Limit (QuickCredit.Stamps and Filling).
	Cards []Counter
	// Limited are the promotions limited per member the purchase uses
	// while their limit is not reached, each with its limit (QuickCredit.Uses
	// and Reached). Which promotions apply does not depend on the tier.
	Limited []Counter

	prog     *Program
	purchase Purchase
	now      time.Time
	base     Earning // the purchase's earnings on the base tier with no limit reached
}

// QuickBasis returns the basis of the purchase's quick forms, and false
// when the purchase's outcome always depends on the account beyond what a
// QuickCredit can name (QuickCredit says which).
func (prog *Program) QuickBasis(p Purchase, now time.Time) (QuickBasis, bool, error) {
	if _, capped := prog.memberCaps(SourcePurchases); capped {
		return QuickBasis{}, false, nil
	}
	earn, err := prog.Earnings(p, "", nil)
	if err != nil {
		return QuickBasis{}, false, err
	}
	b := QuickBasis{prog: prog, purchase: p, now: now, base: earn}
	for _, id := range earn.Promotions {
		pr, ok := prog.promotion(id)
		if !ok || pr.BudgetPoints > 0 {
			return QuickBasis{}, false, nil
		}
		if pr.LimitPerMember > 0 {
			b.Limited = append(b.Limited, Counter{ID: id, Limit: pr.LimitPerMember})
		}
	}
	for _, card := range prog.StampCardsFor(p) {
		if card.Stamps <= 1 {
			return QuickBasis{}, false, nil
		}
		b.Cards = append(b.Cards, Counter{ID: card.ID, Limit: card.Stamps - 1})
	}
	return b, true, nil
}

// Form is the quick form of the purchase's credit on an account of tier
// (a level's id, "" for the base level) whose promotions reached (of
// Limited) have reached their limit per member and whose cards filling (of
// Cards) hold all their stamps but one; false when there is none.
func (b QuickBasis) Form(tier string, reached, filling []string) (QuickCredit, bool, error) {
	if tier != "" && b.prog.levelIndex(tier) == 0 {
		return QuickCredit{}, false, nil
	}
	return b.prog.quickCreditFrom(b.purchase, b.now, tier, reached, filling, &b.base)
}

// FormOn is the form for an account of tier with these promotion uses and
// stamp counts: the promotions of Limited at their limit reached, the cards
// of Cards at their last stamp filling (Form).
func (b QuickBasis) FormOn(tier string, uses, stamps map[string]int) (QuickCredit, bool, error) {
	var reached, filling []string
	for _, c := range b.Limited {
		if uses[c.ID] >= c.Limit {
			reached = append(reached, c.ID)
		}
	}
	for _, c := range b.Cards {
		if stamps[c.ID] == c.Limit {
			filling = append(filling, c.ID)
		}
	}
	return b.Form(tier, reached, filling)
}

// Headroom is the account's TierHeadroom on the program's day of at.
func (b QuickBasis) Headroom(acct Account, at time.Time) Points {
	return b.prog.TierHeadroom(acct, b.prog.Today(at))
}

func counterIDs(cs []Counter) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func (prog *Program) quickCredit(p Purchase, now time.Time, tier string, reached, filling []string) (QuickCredit, bool, error) {
	return prog.quickCreditFrom(p, now, tier, reached, filling, nil)
}

// quickCreditFrom is quickCredit with the purchase's earnings on the base
// tier with no limit reached, when base is set (tier "" and reached empty
// only: the earnings it would compute).
func (prog *Program) quickCreditFrom(p Purchase, now time.Time, tier string, reached, filling []string, base *Earning) (QuickCredit, bool, error) {
	if _, capped := prog.memberCaps(SourcePurchases); capped {
		return QuickCredit{}, false, nil
	}
	q := QuickCredit{prog: prog, purchase: p, now: now, Tier: tier, OldestFrom: prog.Today(now).AddDays(-1), Month: prog.monthOf(p.OccurredAt)}
	var uses map[string]int
	for _, id := range reached {
		if pr, ok := prog.promotion(id); ok && pr.LimitPerMember > 0 {
			if uses == nil {
				uses = map[string]int{}
			}
			uses[id] = pr.LimitPerMember
			q.Reached = append(q.Reached, Counter{ID: id, Limit: pr.LimitPerMember})
		}
	}
	var earn Earning
	if base != nil && tier == "" && len(reached) == 0 {
		earn = Earning{Points: base.Points, Rules: slices.Clone(base.Rules), Promotions: slices.Clone(base.Promotions)}
	} else {
		var err error
		if earn, err = prog.Earnings(p, tier, uses); err != nil { // no other promotion used yet
			return QuickCredit{}, false, err
		}
	}
	q.Qualifying = earn.Points
	for _, id := range earn.Promotions {
		pr, ok := prog.promotion(id)
		if !ok || pr.BudgetPoints > 0 {
			return QuickCredit{}, false, nil
		}
		if pr.LimitPerMember > 0 {
			q.Uses = append(q.Uses, Counter{ID: id, Limit: pr.LimitPerMember})
		}
	}
	var stamps map[string]int
	for _, card := range prog.StampCardsFor(p) {
		if card.Stamps <= 1 {
			return QuickCredit{}, false, nil
		}
		c := Counter{ID: card.ID, Limit: card.Stamps - 1}
		if !contains(filling, card.ID) {
			q.Stamps = append(q.Stamps, c)
			continue
		}
		if stamps == nil {
			stamps = map[string]int{}
		}
		stamps[card.ID] = c.Limit
		q.Filling = append(q.Filling, c)
	}
	// The planner on the smallest account in that state: the tier, one
	// point in a lot older than any credit's, no stamps but on the cards
	// filling, no uses but the limits reached.
	plain := Account{MemberID: p.MemberID, CreatedAt: now, Version: 1, Balance: 1, Tier: tier,
		Lots: []Lot{{Expires: "0000-01-01", Points: 1}}, PromoUses: uses, Stamps: stamps}
	c, err := planEarning(plain, prog, p, earn, now)
	if err != nil {
		return QuickCredit{}, false, err
	}
	e := c.Entry
	if len(e.Lots) != 1 || e.Lots[0].Points != e.Delta || e.DeficitDelta != 0 || e.DebtDelta != 0 ||
		len(c.Issued) != len(q.Filling) || c.Referral != nil || len(c.Budgets) > 0 || e.Earned != e.Delta {
		return QuickCredit{}, false, nil
	}
	q.Issued = c.Issued
	e.Tier = "" // an upgrade on the plain account: the real one must have the headroom instead
	q.Entry = e
	return q, true, nil
}

// Lot is the lot the credit fills.
func (q QuickCredit) Lot() Lot { return q.Entry.Lots[0] }

// Holds reports whether acct is in the state q names at now.
func (q QuickCredit) Holds(acct Account, exists bool, now time.Time) bool {
	if !exists || acct.Deficit != 0 || acct.Debt != 0 || acct.ReferredBy != "" || acct.Tier != q.Tier {
		return false
	}
	oldest := acct.NextExpiry()
	if oldest == "" || oldest > q.Lot().Expires || oldest < q.OldestFrom {
		return false
	}
	if q.Headroom(acct, now) <= q.Qualifying {
		return false
	}
	for _, c := range q.Stamps {
		if acct.Stamps[c.ID] >= c.Limit {
			return false
		}
	}
	for _, c := range q.Uses {
		if acct.PromoUses[c.ID] >= c.Limit {
			return false
		}
	}
	for _, c := range q.Reached {
		if acct.PromoUses[c.ID] < c.Limit {
			return false
		}
	}
	for _, c := range q.Filling {
		if acct.Stamps[c.ID] != c.Limit {
			return false
		}
	}
	return true
}

// Apply returns acct after the credit; acct must satisfy Holds. Months no
// tier window counts stay as they were (the planner drops them), and the
// version is the store's to raise.
func (q QuickCredit) Apply(acct Account) Account {
	a := acct.Clone()
	e := q.Entry
	a.Balance += e.Delta
	a.Lifetime += e.Earned
	a.addLot(q.Lot().Expires, q.Lot().Points)
	if a.Qualifying == nil {
		a.Qualifying = map[string]Points{}
	}
	a.Qualifying[q.Month] += q.Qualifying
	for _, c := range q.Stamps {
		if a.Stamps == nil {
			a.Stamps = map[string]int{}
		}
		a.Stamps[c.ID]++
	}
	for _, c := range q.Uses {
		if a.PromoUses == nil {
			a.PromoUses = map[string]int{}
		}
		a.PromoUses[c.ID]++
	}
	for _, c := range q.Filling {
		a.Stamps[c.ID] = 0
	}
	a.LastActivity = e.At
	return a
}

// Headroom is the account's TierHeadroom on the program's day of at.
func (q QuickCredit) Headroom(acct Account, at time.Time) Points {
	return q.prog.TierHeadroom(acct, q.prog.Today(at))
}

// TierHeadroom is how many qualifying points the account can still gain in
// the window of day today without reaching its next tier: NoRoom on the top
// tier or without tiers. Credits lower it by their qualifying points; it
// rises only as months leave the window, and it changes with the tier, so a
// value computed at an earlier write on the same tier, less what was
// credited since, is never too large.
func (p *Program) TierHeadroom(a Account, today Date) Points {
	i := p.levelIndex(a.Tier)
	if len(p.Tiers.Levels) == 0 || i+1 >= len(p.Tiers.Levels) {
		return NoRoom
	}
	return p.Tiers.Levels[i+1].Threshold - p.QualifyingPoints(a, today)
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
