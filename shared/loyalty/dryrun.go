package loyalty

import (
	"context"
	"fmt"
)

// DryRun is what a purchase would do, computed by the same planning as an
// accrual (PlanEarning) and written nowhere.
type DryRun struct {
	Points        Points       `json:"points"`        // what the purchase would earn, bonuses included
	BalanceChange Points       `json:"balanceChange"` // less than points when earnings first pay back a deficit
	Rules         []RuleResult `json:"rules"`         // why: each rule's share, in the order they apply
	Tier          string       `json:"tier"`          // the tier whose multiplier applied
	TierAfter     string       `json:"tierAfter,omitempty"`
	Stamps        []StampMark  `json:"stamps"`        // stamp cards the purchase would stamp
	RewardsIssued []string     `json:"rewardsIssued"` // rewards of cards it would fill
	ReferralPaid  bool         `json:"referralPaid"`  // it is the member's first qualifying purchase after a referral
	MemberKnown   bool         `json:"memberKnown"`
	// AlreadyRecorded: the member's ledger holds this purchase; delivering
	// it again would replay the first result and earn nothing more.
	AlreadyRecorded bool `json:"alreadyRecorded"`
}

// DryRunPurchase answers "what would this purchase earn, and why?" for the
// member's current account (tier, promotion uses, stamp cards, a pending
// referral), or for a new member when p.MemberID is empty or unknown. A
// non-empty tier replaces the member's tier. p.Key may be empty.
//
// Errors: CodeInvalid (the purchase, or an unknown tier), CodeUnavailable.
func (s *Service) DryRunPurchase(ctx context.Context, p Purchase, tier string) (DryRun, error) {
	now := s.Clock.Now()
	check := p
	if check.MemberID == "" {
		check.MemberID = "dry-run"
	}
	if check.Key == "" {
		check.Key = "dry-run"
	}
	if err := check.Validate(now); err != nil {
		return DryRun{}, err
	}
	var out DryRun
	acct := NewAccount(check.MemberID, now)
	if p.MemberID != "" {
		a, err := s.Store.Account(ctx, p.MemberID)
		switch {
		case err == nil:
			acct, out.MemberKnown = a, true
		case ErrorCode(err) != CodeNotFound:
			return DryRun{}, err
		}
		if out.MemberKnown && p.Key != "" {
			_, err := s.Store.Entry(ctx, p.MemberID, p.Key)
			switch {
			case err == nil:
				out.AlreadyRecorded = true
			case ErrorCode(err) != CodeNotFound:
				return DryRun{}, err
			}
		}
	}
	if tier != "" {
		if _, ok := s.Program.TierLevel(tier); !ok {
			return DryRun{}, Invalid("tier", "the program has no tier %q", tier)
		}
		acct.Tier = tier
	}
	if lvl, ok := s.Program.TierLevel(acct.Tier); ok {
		out.Tier = lvl.ID
	}
	c, err := PlanEarning(acct, s.Program, check, now)
	if err != nil {
		return DryRun{}, fmt.Errorf("dry run of a purchase: %w", err)
	}
	out.Points, out.BalanceChange, out.Rules, out.TierAfter = c.Entry.Earned, c.Entry.Delta, c.Entry.Rules, c.Entry.Tier
	out.Stamps, out.RewardsIssued = c.Entry.Stamps, []string{}
	if out.Rules == nil {
		out.Rules = []RuleResult{}
	}
	if out.Stamps == nil {
		out.Stamps = []StampMark{}
	}
	for _, red := range c.Issued {
		out.RewardsIssued = append(out.RewardsIssued, red.RewardID)
	}
	for i := range out.Stamps {
		out.Stamps[i].RedemptionID = "" // an id of nothing: the dry run issues no reward
	}
	out.ReferralPaid = c.Referral != nil
	return out, nil
}
