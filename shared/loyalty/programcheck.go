package loyalty

import (
	"fmt"
	"strings"
)

// validateRules checks everything beyond the base rate. Each message names
// the field by its path in the file (promotions[2].hours.from) and says what
// is wrong, so a reviewer can fix the file without reading code.
func (p *Program) validateRules() error {
	if p.Version != 1 {
		return Invalid("version", "must be 1 (the program file format this build reads), got %d", p.Version)
	}
	for _, name := range sortedKeys(p.Earn.Categories) {
		if err := checkLineRule("earn.categories."+name, name, p.Earn.Categories[name]); err != nil {
			return err
		}
	}
	for _, name := range sortedKeys(p.Earn.SKUs) {
		if err := checkLineRule("earn.skus."+name, name, p.Earn.SKUs[name]); err != nil {
			return err
		}
	}
	rewards := map[string]bool{}
	for i, r := range p.Rewards {
		f := fmt.Sprintf("rewards[%d]", i)
		if err := r.Validate(); err != nil {
			var e *Error
			if asErr(err, &e) {
				return Invalid(f+"."+e.Field, "%s", e.Message)
			}
			return err
		}
		if rewards[r.ID] {
			return Invalid(f+".id", "reward %q is listed twice", r.ID)
		}
		if r.Value != nil && r.Value.Currency != p.Currency {
			return Invalid(f+".value.currency", "reward %q is valued in %s, the program's currency is %s", r.ID, r.Value.Currency, p.Currency)
		}
		rewards[r.ID] = true
	}
	seen := map[string]bool{}
	for i, pr := range p.Promotions {
		f := fmt.Sprintf("promotions[%d]", i)
		if err := ValidateKey(f+".id", pr.ID); err != nil {
			return err
		}
		if seen[pr.ID] {
			return Invalid(f+".id", "promotion %q is listed twice", pr.ID)
		}
		seen[pr.ID] = true
		if strings.TrimSpace(pr.Name) == "" {
			return Invalid(f+".name", "promotion %q needs a name", pr.ID)
		}
		if _, err := ParseDate(string(pr.From)); err != nil {
			return Invalid(f+".from", "%v", err)
		}
		if pr.Until != "" {
			if _, err := ParseDate(string(pr.Until)); err != nil {
				return Invalid(f+".until", "%v", err)
			}
			if pr.Until < pr.From {
				return Invalid(f+".until", "ends (%s) before it starts (%s)", pr.Until, pr.From)
			}
		}
		for j, d := range pr.Days {
			if _, ok := weekdays[d]; !ok {
				return Invalid(fmt.Sprintf("%s.days[%d]", f, j), "%q is not one of MON TUE WED THU FRI SAT SUN", d)
			}
		}
		if pr.Hours != nil {
			if !validHHMM(pr.Hours.From) {
				return Invalid(f+".hours.from", "%q is not a local time HH:MM", pr.Hours.From)
			}
			if !validHHMM(pr.Hours.Until) && pr.Hours.Until != "24:00" {
				return Invalid(f+".hours.until", "%q is not a local time HH:MM", pr.Hours.Until)
			}
			if pr.Hours.Until <= pr.Hours.From {
				return Invalid(f+".hours.until", "the window must end after it starts (%s-%s)", pr.Hours.From, pr.Hours.Until)
			}
		}
		if pr.Multiplier == BadMultiplier {
			return Invalid(f+".multiplier", "must be a non-negative decimal with at most 3 decimals")
		}
		if (pr.Multiplier == 0 || pr.Multiplier == One) && pr.BonusPoints == 0 {
			return Invalid(f, "promotion %q gives nothing: set a multiplier above 1 or bonusPoints", pr.ID)
		}
		if pr.Multiplier > 100*One {
			return Invalid(f+".multiplier", "%s is above the limit of 100", pr.Multiplier)
		}
		if pr.BonusPoints < 0 || pr.BonusPoints > 1_000_000 {
			return Invalid(f+".bonusPoints", "must be between 0 and 1000000, got %d", pr.BonusPoints)
		}
		if pr.BudgetPoints < 0 || pr.BudgetPoints > MaxPoints {
			return Invalid(f+".budgetPoints", "must be between 1 and %d (0: no budget), got %d", MaxPoints, pr.BudgetPoints)
		}
		if pr.LimitPerMember < 0 {
			return Invalid(f+".limitPerMember", "must not be negative, got %d", pr.LimitPerMember)
		}
		if pr.MinSpendMinor < 0 {
			return Invalid(f+".minSpendMinor", "must not be negative, got %d", pr.MinSpendMinor)
		}
	}
	if len(p.Tiers.Levels) > 0 {
		if p.Tiers.Window != WindowRolling12 && p.Tiers.Window != WindowCalendarYr {
			return Invalid("tiers.window", "must be %q or %q, got %q", WindowRolling12, WindowCalendarYr, p.Tiers.Window)
		}
		ids := map[string]bool{}
		for i, l := range p.Tiers.Levels {
			f := fmt.Sprintf("tiers.levels[%d]", i)
			if err := ValidateKey(f+".id", l.ID); err != nil {
				return err
			}
			if ids[l.ID] {
				return Invalid(f+".id", "tier %q is listed twice", l.ID)
			}
			ids[l.ID] = true
			if i == 0 && l.Threshold != 0 {
				return Invalid(f+".threshold", "the first tier is the base tier: its threshold must be 0, got %d", l.Threshold)
			}
			if i > 0 && l.Threshold <= p.Tiers.Levels[i-1].Threshold {
				return Invalid(f+".threshold", "thresholds must increase: %d is not above %d", l.Threshold, p.Tiers.Levels[i-1].Threshold)
			}
			if l.Multiplier == BadMultiplier {
				return Invalid(f+".multiplier", "must be a non-negative decimal with at most 3 decimals")
			}
			if l.Multiplier > 10*One {
				return Invalid(f+".multiplier", "%s is above the limit of 10", l.Multiplier)
			}
		}
	}
	cards := map[string]bool{}
	for i, c := range p.StampCards {
		f := fmt.Sprintf("stampCards[%d]", i)
		if err := ValidateKey(f+".id", c.ID); err != nil {
			return err
		}
		if cards[c.ID] {
			return Invalid(f+".id", "stamp card %q is listed twice", c.ID)
		}
		cards[c.ID] = true
		if c.Stamps < 1 || c.Stamps > 100 {
			return Invalid(f+".stamps", "must be between 1 and 100, got %d", c.Stamps)
		}
		if !rewards[c.RewardID] {
			return Invalid(f+".rewardId", "reward %q is not in the program's rewards", c.RewardID)
		}
		if c.OnRefund != StampRefundRemove && c.OnRefund != StampRefundRevoke {
			return Invalid(f+".onRefund", "must be %q or %q, got %q", StampRefundRemove, StampRefundRevoke, c.OnRefund)
		}
	}
	if r := p.Referral; r != nil {
		if r.ReferrerBonus < 0 || r.RefereeBonus < 0 || r.ReferrerBonus+r.RefereeBonus == 0 {
			return Invalid("referral", "referrerBonus and refereeBonus must not be negative, and not both 0")
		}
		if r.MonthlyCap < 1 {
			return Invalid("referral.monthlyCapPerReferrer", "must be at least 1, got %d", r.MonthlyCap)
		}
		if r.OnRefund != "" && r.OnRefund != ReferralClawBack && r.OnRefund != ReferralKeep {
			return Invalid("referral.onRefund", "must be %q or %q, got %q", ReferralClawBack, ReferralKeep, r.OnRefund)
		}
	}
	if fb := p.Feedback; fb != nil {
		if fb.BonusPoints < 0 || fb.BonusPoints > 10_000 {
			return Invalid("feedback.bonusPoints", "must be between 0 and 10000, got %d", fb.BonusPoints)
		}
		if fb.MaxCommentLength < 1 || fb.MaxCommentLength > 5000 {
			return Invalid("feedback.maxCommentLength", "must be between 1 and 5000, got %d", fb.MaxCommentLength)
		}
	}
	return nil
}

func checkLineRule(field, name string, r LineRule) error {
	if name == "" {
		return Invalid(field, "an empty name matches nothing")
	}
	if r.Multiplier == BadMultiplier {
		return Invalid(field+".multiplier", "must be a non-negative decimal with at most 3 decimals")
	}
	if r.Exclude && r.Multiplier != 0 {
		return Invalid(field, "%q is excluded and has a multiplier: choose one", name)
	}
	if !r.Exclude && r.Multiplier == 0 {
		return Invalid(field+".multiplier", "%q needs a multiplier (or exclude: true)", name)
	}
	if r.Multiplier > 100*One {
		return Invalid(field+".multiplier", "%s is above the limit of 100", r.Multiplier)
	}
	return nil
}

func validHHMM(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	h, m := s[:2], s[3:]
	return h >= "00" && h <= "23" && m >= "00" && m <= "59" && isDigits(h) && isDigits(m)
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
