package loyalty

// StampCard is "buy N, get one free": each qualifying purchase adds a stamp;
// the purchase that fills the card issues its reward (a redemption that
// costs no points) and the card starts again.
type StampCard struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Stamps        int      `json:"stamps"` // stamps that fill the card
	SKUs          []string `json:"skus,omitempty"`
	Categories    []string `json:"categories,omitempty"` // no SKUs or categories: every purchase
	MinSpendMinor int64    `json:"minSpendMinor,omitempty"`
	RewardID      string   `json:"rewardId"` // a reward of the catalog
	// OnRefund: "remove_stamp" takes the purchase's stamp back (from a full
	// card it leaves the issued reward alone); "revoke_reward" also cancels
	// the reward the stamp completed, if it is still unused.
	OnRefund string `json:"onRefund"`
}

const (
	StampRefundRemove = "remove_stamp"
	StampRefundRevoke = "revoke_reward"
)

// qualifies reports whether a purchase earns a stamp on the card.
func (c *StampCard) qualifies(pur Purchase) bool {
	if pur.Spend.Minor < c.MinSpendMinor {
		return false
	}
	if len(c.SKUs) == 0 && len(c.Categories) == 0 {
		return true
	}
	for _, l := range pur.Lines {
		for _, s := range c.SKUs {
			if s == l.SKU && s != "" {
				return true
			}
		}
		for _, cat := range c.Categories {
			if cat == l.Category && cat != "" {
				return true
			}
		}
	}
	return false
}

// StampCardsFor lists the cards a purchase earns a stamp on.
func (p *Program) StampCardsFor(pur Purchase) []StampCard {
	var out []StampCard
	for _, c := range p.StampCards {
		if c.qualifies(pur) {
			out = append(out, c)
		}
	}
	return out
}

// Referral is the referral program: both members earn a bonus on the
// referee's first qualifying purchase, once; a referrer's bonuses are capped
// per calendar month.
type Referral struct {
	ReferrerBonus Points `json:"referrerBonus"`
	RefereeBonus  Points `json:"refereeBonus"`
	MonthlyCap    int    `json:"monthlyCapPerReferrer"`
	MinSpendMinor int64  `json:"minSpendMinor,omitempty"`
	// OnRefund says what a refund of the referee's first purchase does to
	// the referrer's bonus once the purchase no longer qualifies (refunded
	// in full, or below MinSpendMinor): "claw_back" (the default) takes it
	// back, "keep" leaves it. The referee's own bonus is part of that
	// purchase's points, so the refund takes it back with them.
	OnRefund string `json:"onRefund,omitempty"`
}

// Referral refund policies.
const (
	ReferralClawBack = "claw_back"
	ReferralKeep     = "keep"
)

// Feedback is the feedback program: a rating and a comment on one of the
// member's purchases, at most once per purchase, with an optional bonus.
type Feedback struct {
	BonusPoints      Points `json:"bonusPoints"`
	MaxCommentLength int    `json:"maxCommentLength"`
}
