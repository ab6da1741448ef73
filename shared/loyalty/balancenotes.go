package loyalty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Every balance change tells the member and publishes its domain event. The
// jobs do so for what they change (expiry, win-back); the changes made by a
// purchase, a refund or a member's feedback are told here: a referral's
// bonuses (the referee's, the referrer's or why the referrer got none), the
// clawback of the referrer's bonus, and the bonus for feedback.
//
// The notification goes to the inbox after the credit, under an id derived
// from the occasion, so delivering it again stores nothing. An operation
// that failed between the two is retried by its caller (the queue
// redelivers, the client sends again) and its replay delivers what the first
// run did not. The functions that credit these points may not publish to the
// event bus: the notification waits in the outbox until the next job run
// publishes its event (jobs.outboxScopes), once.

// occasionOf names an occasion by a hash of what identifies it, so that
// notification ids hold no ledger key or member id.
func occasionOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:12])
}

// deliver stores the notifications; a repeat of an occasion stores nothing,
// and an erased member gets nothing.
func (s *Service) deliver(ctx context.Context, ns []Notification) error {
	for _, n := range ns {
		if _, _, err := s.Inbox.Deliver(ctx, n); err != nil {
			return fmt.Errorf("deliver %s to member %s: %w", n.ID, n.MemberID, err)
		}
	}
	return nil
}

// refereeBonus is what a purchase's entry paid as the referee's bonus.
func refereeBonus(e Entry) Points {
	var p Points
	for _, r := range e.Rules {
		if r.Rule == "referral:referee" {
			p += r.Points
		}
	}
	return p
}

// tellReferral notifies a purchase's referral payout: planned is the payout
// of the plan written (nil when it paid no referral or the referrer is no
// member); a replay finds the payout in the referral records instead. Only a
// purchase whose entry paid the referee's bonus is looked at on a replay, so
// an ordinary purchase reads and writes nothing more.
func (s *Service) tellReferral(ctx context.Context, res Result, planned *ReferralPayout) error {
	if s.Inbox == nil {
		return nil
	}
	pay := planned
	if res.Replayed {
		var err error
		if pay, err = s.settledPayout(ctx, res.Entry); err != nil {
			return err
		}
	}
	now := s.Clock.Now()
	var ns []Notification
	if pts := refereeBonus(res.Entry); pts > 0 {
		ns = append(ns, NewNotification(s.Program, res.Entry.MemberID, NoteRefereeBonus, occasionOf("referee", res.Entry.Key),
			fmt.Sprintf("Welcome: %d bonus points for joining with a referral", pts),
			map[string]any{"points": int64(pts), "purchaseId": res.Entry.Key}, now))
	}
	if n, ok := s.referrerNote(pay, now); ok {
		ns = append(ns, n)
	}
	return s.deliver(ctx, ns)
}

// referrerNote tells the referrer what a referee's first purchase brought
// them: the bonus, or that the month's cap was reached. A referrer paid
// nothing (no bonus in the programme) is told nothing.
func (s *Service) referrerNote(pay *ReferralPayout, now time.Time) (Notification, bool) {
	if pay == nil || pay.Referee.Referrer == "" || pay.Referee.Referrer == ErasedMember {
		return Notification{}, false
	}
	var pts Points
	data := map[string]any{"state": string(ReferralPaid), "month": pay.Month, "monthlyCap": int64(pay.Cap)}
	title := "A member you referred made their first purchase"
	switch {
	case pay.Capped:
		data["state"] = string(ReferralCapped)
		title += fmt.Sprintf(": this month's %d referral bonuses are all paid", pay.Cap)
	case pay.Entry != nil && pay.Entry.Earned > 0:
		pts = pay.Entry.Earned
		data["entryKey"] = pay.Entry.Key
		title = fmt.Sprintf("%d bonus points for your referral", pts)
	default:
		return Notification{}, false
	}
	data["points"] = int64(pts)
	occasion := strings.TrimPrefix(referralEntryKey(pay.Referee.Member), keyReferral)
	return NewNotification(s.Program, pay.Referee.Referrer, NoteReferrerBonus, occasion, title, data, now), true
}

// settledPayout rebuilds, for a replayed purchase, the referral payout it
// wrote: from the referrer's record of the referee and the referrer's bonus
// entry. nil when the purchase paid no referral.
func (s *Service) settledPayout(ctx context.Context, purchase Entry) (*ReferralPayout, error) {
	if refereeBonus(purchase) == 0 || s.Referrals == nil {
		return nil, nil
	}
	link, ok, err := s.Referrals.Referral(ctx, purchase.MemberID)
	if err != nil || !ok || link.Referrer == ErasedMember {
		return nil, err
	}
	referees, err := s.Referrals.Referees(ctx, link.Referrer)
	if err != nil {
		return nil, err
	}
	for _, r := range referees {
		if r.Member != purchase.MemberID || r.PurchaseKey != purchase.Key || r.State == ReferralPending {
			continue
		}
		pay := &ReferralPayout{Referee: r, Month: s.Program.monthOf(r.SettledAt), Capped: r.State == ReferralCapped}
		if s.Program.Referral != nil {
			pay.Cap = s.Program.Referral.MonthlyCap
		}
		if !pay.Capped {
			bonus, err := s.Store.Entry(ctx, link.Referrer, referralEntryKey(purchase.MemberID))
			switch {
			case err == nil:
				pay.Entry = &bonus
			case ErrorCode(err) != CodeNotFound:
				return nil, err
			}
		}
		return pay, nil
	}
	return nil, nil // the referrer was erased meanwhile: their records are gone
}

// tellClawback notifies the referrer of the reversal rev that took back
// their bonus for referee.
func (s *Service) tellClawback(ctx context.Context, referrer, referee MemberID, rev Entry) error {
	if s.Inbox == nil {
		return nil
	}
	pts := -rev.Delta + rev.DeficitDelta + rev.DebtDelta
	if pts <= 0 {
		return nil
	}
	bonusKey := referralEntryKey(referee)
	n := NewNotification(s.Program, referrer, NoteReferralClawback, strings.TrimPrefix(bonusKey, keyReferral),
		fmt.Sprintf("%d referral bonus points were taken back: the purchase was refunded", pts),
		map[string]any{"points": int64(pts), "bonusEntryKey": bonusKey}, s.Clock.Now())
	return s.deliver(ctx, []Notification{n})
}

// tellFeedbackBonus notifies the bonus a member's feedback earned, if any.
func (s *Service) tellFeedbackBonus(ctx context.Context, r FeedbackRequest, res Result) error {
	if s.Inbox == nil || res.Entry.Earned <= 0 {
		return nil
	}
	n := NewNotification(s.Program, r.MemberID, NoteFeedbackBonus, occasionOf("feedback", res.Entry.Key),
		fmt.Sprintf("Thank you for your feedback: %d bonus points", res.Entry.Earned),
		map[string]any{"points": int64(res.Entry.Earned), "rating": int64(r.Rating), "purchaseId": res.Entry.Ref, "entryKey": res.Entry.Key},
		s.Clock.Now())
	return s.deliver(ctx, []Notification{n})
}
