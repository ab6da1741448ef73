package loyalty

import (
	"strings"
	"time"
)

// unstamp applies the stamp cards' refund policy to a refund that leaves the
// purchase fully refunded: the purchase's stamp comes off the current card,
// and a reward its stamp completed is revoked when the card says
// revoke_reward and the reward is still unused. Partial refunds keep the
// stamp: the member still bought something that qualified.
func (prog *Program) unstamp(c *Change, orig Entry, redemption func(id string) (Redemption, error), now time.Time) error {
	if len(orig.Stamps) == 0 || c.Original == nil || c.Original.Refund == nil {
		return nil
	}
	st := c.Original.Refund
	if !(st.Minor >= orig.Spend.Minor || (len(orig.Lines) > 0 && allRefunded(orig.Lines, st.Lines))) {
		return nil
	}
	a := &c.Account
	var notes []string
	for _, m := range orig.Stamps {
		var card *StampCard
		for i := range prog.StampCards {
			if prog.StampCards[i].ID == m.Card {
				card = &prog.StampCards[i]
			}
		}
		if m.RedemptionID == "" {
			if a.Stamps[m.Card] > 0 {
				a.Stamps = cloneMap(a.Stamps)
				a.Stamps[m.Card]--
				notes = append(notes, "stamp removed from "+m.Card)
			}
			continue
		}
		if card == nil || card.OnRefund != StampRefundRevoke || c.Redemption != nil {
			notes = append(notes, "reward "+m.RedemptionID+" of "+m.Card+" kept")
			continue
		}
		red, err := redemption(m.RedemptionID)
		if err != nil {
			return err
		}
		if red.State != RedemptionIssued {
			notes = append(notes, "reward "+red.ID+" already "+string(red.State))
			continue
		}
		revoked := red
		revoked.State, revoked.ChangedAt = RedemptionCancelled, now
		c.Redemption, c.RedemptionStateBefore = &revoked, RedemptionIssued
		notes = append(notes, "reward "+red.ID+" of "+m.Card+" revoked")
	}
	if len(notes) > 0 {
		c.Entry.Reason += "; " + strings.Join(notes, "; ")
	}
	return nil
}
