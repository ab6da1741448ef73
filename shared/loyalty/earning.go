package loyalty

import (
	"fmt"
	"time"
)

// PlanEarning plans a purchase on the member's account with every rule of
// the program: earn rules and promotions (Earnings), the tier multiplier and
// an upgrade the purchase earns at once, the stamps it earns (issuing the
// card's reward when one fills) and a pending referral bonus.
func PlanEarning(acct Account, prog *Program, p Purchase, now time.Time) (Change, error) {
	return planEarningWithout(acct, prog, p, nil, now)
}

// planEarningWithout is PlanEarning without the promotions whose budget is
// spent.
func planEarningWithout(acct Account, prog *Program, p Purchase, spent map[string]bool, now time.Time) (Change, error) {
	earn, err := prog.earnings(p, acct.Tier, acct.PromoUses, spent)
	if err != nil {
		return Change{}, err
	}
	return planEarning(acct, prog, p, earn, now)
}

// planEarning is PlanEarning with what the purchase earns on acct already
// computed.
func planEarning(acct Account, prog *Program, p Purchase, earn Earning, now time.Time) (Change, error) {
	// The caps: the partner's largest purchase, then the member's points
	// from purchases per day and month (limits.go).
	uncapped := earn.Points
	want, err := prog.capPurchaseAmount(p, earn.Points)
	if err != nil {
		return Change{}, err
	}
	counted := acct.Clone()
	allowed, err := prog.capCredit(&counted, SourcePurchases, want, now)
	if err != nil {
		return Change{}, err
	}
	if allowed < uncapped {
		earn.Rules = append(append([]RuleResult(nil), earn.Rules...), capRule(SourcePurchases, uncapped-allowed))
		earn.Points = allowed
	}
	c, err := PlanAccrual(acct, prog, p, earn.Points, earn.Rules, now)
	if err != nil {
		return Change{}, err
	}
	a := &c.Account
	a.Earned = counted.Earned
	if allowed < uncapped {
		c.Entry.Uncapped = uncapped
	}
	today := prog.Today(now)
	for _, id := range earn.Promotions {
		pr, ok := prog.promotion(id)
		if ok && pr.LimitPerMember > 0 { // uses count only where a limit reads them
			if a.PromoUses == nil {
				a.PromoUses = map[string]int{}
			}
			a.PromoUses[id]++
		}
		if ok && pr.BudgetPoints > 0 {
			// What the promotion gives, before any member cap: the budget
			// errs on the side of paying less.
			for _, r := range earn.Rules {
				if r.Rule == "promo:"+id && r.Points > 0 {
					c.Budgets = append(c.Budgets, BudgetUse{Promotion: id, Points: r.Points, Budget: pr.BudgetPoints})
				}
			}
		}
	}
	if a.Qualifying == nil {
		a.Qualifying = map[string]Points{}
	}
	a.Qualifying[prog.monthOf(p.OccurredAt)] += earn.Points
	prog.upgrade(a, &c.Entry, today)

	for _, card := range prog.StampCardsFor(p) {
		if a.Stamps == nil {
			a.Stamps = map[string]int{}
		}
		a.Stamps[card.ID]++
		mark := StampMark{Card: card.ID}
		if a.Stamps[card.ID] >= card.Stamps {
			a.Stamps[card.ID] = 0
			red, err := issueCardReward(prog, card, p.MemberID, p.Key, now)
			if err != nil {
				return Change{}, err
			}
			mark.RedemptionID = red.ID
			c.Issued = append(c.Issued, red)
		}
		c.Entry.Stamps = append(c.Entry.Stamps, mark)
	}
	prog.planReferralPayout(&c, acct, p, now)
	return c, nil
}

// issueCardReward is the reward a full stamp card gives: a redemption that
// costs no points, with an id derived from the purchase so a replay issues
// nothing new.
func issueCardReward(prog *Program, card StampCard, member MemberID, purchaseKey string, now time.Time) (Redemption, error) {
	var reward *Reward
	for i := range prog.Rewards {
		if prog.Rewards[i].ID == card.RewardID {
			reward = &prog.Rewards[i]
		}
	}
	if reward == nil {
		return Redemption{}, fmt.Errorf("stamp card %s: reward %s is not in the program", card.ID, card.RewardID)
	}
	id, code := rewardCode(member, "stamp:"+card.ID+":"+purchaseKey)
	red := Redemption{ID: id, MemberID: member, RewardID: reward.ID, RewardName: reward.Name, Cost: 0, Code: code,
		State: RedemptionIssued, IssuedAt: now, ChangedAt: now, EntryKey: purchaseKey, Source: "stamp_card:" + card.ID}
	if reward.ValidDays > 0 {
		red.ValidUntil = prog.Today(now).AddDays(reward.ValidDays)
	}
	return red, nil
}

// promotion returns the program's promotion id.
func (prog *Program) promotion(id string) (Promotion, bool) {
	for _, pr := range prog.Promotions {
		if pr.ID == id {
			return pr, true
		}
	}
	return Promotion{}, false
}
