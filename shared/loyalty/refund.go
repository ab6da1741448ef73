package loyalty

import (
	"context"
	"fmt"
	"math/bits"
	"time"
)

// Line is a line item of a purchase. Purchases keep their lines on their
// ledger entry, so that a refund by line knows what the line cost.
type Line struct {
	ID       string `json:"lineId"`
	SKU      string `json:"sku,omitempty"`
	Category string `json:"category,omitempty"`
	Quantity int64  `json:"quantity"`
	Minor    int64  `json:"amountMinor"` // the whole line, in minor units of the purchase's currency
}

// MaxLines bounds the lines of one purchase or refund.
const MaxLines = 100

// maxQuantity bounds a line's quantity so that amount*quantity never overflows.
const maxQuantity = 100_000

func validateLines(lines []Line) error {
	if len(lines) > MaxLines {
		return Invalid("lines", "at most %d lines, got %d", MaxLines, len(lines))
	}
	seen := make(map[string]bool, len(lines))
	for i, l := range lines {
		field := fmt.Sprintf("lines[%d]", i)
		if err := ValidateKey(field+".lineId", l.ID); err != nil {
			return err
		}
		if seen[l.ID] {
			return Invalid(field+".lineId", "line %q appears twice; line ids are unique within a purchase", l.ID)
		}
		seen[l.ID] = true
		if l.Quantity < 1 || l.Quantity > maxQuantity {
			return Invalid(field+".quantity", "quantity must be between 1 and %d, got %d", maxQuantity, l.Quantity)
		}
		if l.Minor < 0 || l.Minor > MaxMinor {
			return Invalid(field+".amountMinor", "amount must be between 0 and %d, got %d", MaxMinor, l.Minor)
		}
	}
	return nil
}

// RefundState is what refunds took back from a purchase. On the purchase's
// ledger entry it is the running total, changed in the same transaction as
// each refund; on a refund's entry it is what that refund took.
type RefundState struct {
	Seq    int64            `json:"seq,omitempty"`   // refunds that changed the purchase's state: the store's optimistic lock
	Minor  int64            `json:"amountMinor"`     // refunded amount, at most the purchase's
	Points Points           `json:"points"`          // points clawed back by refunds
	Lines  map[string]int64 `json:"lines,omitempty"` // refunded quantity by line id
}

func (s *RefundState) clone() RefundState {
	if s == nil {
		return RefundState{Lines: map[string]int64{}}
	}
	c := *s
	c.Lines = make(map[string]int64, len(s.Lines))
	for k, v := range s.Lines {
		c.Lines[k] = v
	}
	return c
}

// RefundLine names a refunded line of the purchase and how many of its items.
type RefundLine struct {
	ID       string `json:"lineId"`
	Quantity int64  `json:"quantity"`
}

// Refund is a partner's refund of (part of) an earlier purchase: by amount
// or by lines, exactly one of the two.
type Refund struct {
	Key         string // ledger key of the refund: RefundKey(partner, event id)
	MemberID    MemberID
	OriginalKey string // ledger key of the purchase: PurchaseKey(partner, its event id)
	Ref         string // the partner's reference of the refund
	Amount      *Money
	Lines       []RefundLine
	OccurredAt  time.Time
	Actor       string
	Holder      string // as Purchase.Holder
}

// RefundKey is the ledger key of a partner's refund event. It lives beside
// the reversal keys, so a refund and a purchase never share a key.
func RefundKey(partner, eventID string) string { return keyReversal + "f:" + partner + ":" + eventID }

// Validate checks a refund before the purchase is read.
func (r *Refund) Validate(now time.Time) error {
	if err := ValidateMemberID("memberId", r.MemberID); err != nil {
		return err
	}
	if r.Key == "" || len(r.Key) > 200 {
		return Invalid("key", "a refund key of 1 to 200 characters is required")
	}
	if r.OriginalKey == "" || len(r.OriginalKey) > 200 {
		return Invalid("originalEventId", "the purchase to refund is required")
	}
	if r.OccurredAt.IsZero() {
		return Invalid("occurredAt", "occurredAt is required")
	}
	if r.OccurredAt.After(now.Add(24 * time.Hour)) {
		return Invalid("occurredAt", "occurredAt %s is in the future", r.OccurredAt.Format(time.RFC3339))
	}
	switch {
	case r.Amount != nil && len(r.Lines) > 0:
		return Invalid("lines", "a refund gives an amount or lines, not both")
	case r.Amount != nil:
		return ValidateMoney("amount", *r.Amount, false)
	case len(r.Lines) == 0:
		return Invalid("amountMinor", "a refund gives an amount or lines")
	case len(r.Lines) > MaxLines:
		return Invalid("lines", "at most %d lines, got %d", MaxLines, len(r.Lines))
	}
	seen := make(map[string]bool, len(r.Lines))
	for i, l := range r.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if err := ValidateKey(field+".lineId", l.ID); err != nil {
			return err
		}
		if seen[l.ID] {
			return Invalid(field+".lineId", "line %q appears twice; name each refunded line once", l.ID)
		}
		seen[l.ID] = true
		if l.Quantity < 1 || l.Quantity > maxQuantity {
			return Invalid(field+".quantity", "quantity must be between 1 and %d, got %d", maxQuantity, l.Quantity)
		}
	}
	return nil
}

// Refund claws back the points a purchase minted, in proportion to what was
// refunded, once per refund Key. A refund of lines (or an amount) already
// refunded takes nothing more; what was already spent follows the program's
// refund policy (see PlanRefund).
//
// Errors: CodeInvalid; CodeNotFound when the purchase is not recorded, which
// for a partner's refund can mean "not yet": the caller may wait and retry;
// CodeConflict (the original is not a purchase); CodeIdempotencyReuse;
// CodeUnavailable.
func (s *Service) Refund(ctx context.Context, r Refund) (Result, error) {
	now := s.Clock.Now()
	if err := r.Validate(now); err != nil {
		return Result{}, err
	}
	plan := func(acct Account, exists bool) (Change, error) {
		orig, err := s.Store.Entry(ctx, r.MemberID, r.OriginalKey)
		if ErrorCode(err) == CodeNotFound {
			return Change{}, &Error{Code: CodeNotFound, Field: "originalEventId",
				Message: fmt.Sprintf("purchase %s of member %s is not recorded", r.OriginalKey, r.MemberID), Err: err}
		}
		if err != nil {
			return Change{}, err
		}
		c, err := PlanRefund(acct, s.Program, orig, r, now)
		if err != nil {
			return Change{}, err
		}
		lookup := func(id string) (Redemption, error) { return s.Store.Redemption(ctx, r.MemberID, id) }
		return c, s.Program.unstamp(&c, orig, lookup, now)
	}
	op := Op{Member: r.MemberID, Key: r.Key, Plan: plan,
		Fingerprint: Fingerprint("refund", holder(r.MemberID, r.Holder), r.OriginalKey, r.Amount, r.Lines, r.OccurredAt.UTC())}
	res, err := s.Store.Apply(ctx, op)
	if err != nil {
		return Result{}, fmt.Errorf("refund %s of member %s: %w", r.OriginalKey, r.MemberID, err)
	}
	// A replay runs this too: the clawback is idempotent by its key, so a
	// redelivered refund finishes a clawback an interrupted one began.
	if err := s.clawBackReferral(ctx, r); err != nil {
		return Result{}, fmt.Errorf("refund %s of member %s: take back the referral bonus: %w", r.OriginalKey, r.MemberID, err)
	}
	return res, nil
}

// clawBackReferral takes back the referrer's bonus when the refunded
// purchase was the one that paid the referral and no longer qualifies
// (refunded in full, or below the programme's minimum spend), as the
// programme's onRefund says. It is a reversal keyed by the referee, so it
// happens once however many refunds follow.
func (s *Service) clawBackReferral(ctx context.Context, r Refund) error {
	ref := s.Program.Referral
	if ref == nil || ref.OnRefund == ReferralKeep || s.Referrals == nil {
		return nil
	}
	purchase, err := s.Store.Entry(ctx, r.MemberID, r.OriginalKey)
	if err != nil {
		return err
	}
	paidReferral := false
	for _, rule := range purchase.Rules {
		paidReferral = paidReferral || rule.Rule == "referral:referee"
	}
	if !paidReferral || purchase.Spend == nil || purchase.Refund == nil {
		return nil
	}
	if left := purchase.Spend.Minor - purchase.Refund.Minor; left > 0 && left >= ref.MinSpendMinor {
		return nil // still a qualifying purchase
	}
	link, ok, err := s.Referrals.Referral(ctx, r.MemberID)
	if err != nil || !ok {
		return err
	}
	bonusKey := referralEntryKey(r.MemberID)
	bonus, err := s.Store.Entry(ctx, link.Referrer, bonusKey)
	if ErrorCode(err) == CodeNotFound {
		return nil // capped, or the referrer is gone: nothing was paid
	}
	if err != nil {
		return err
	}
	rev, err := s.Reverse(ctx, Reversal{Key: "referral:" + string(r.MemberID), MemberID: link.Referrer, OriginalKey: bonusKey,
		Points: bonus.Earned, Reason: "the referred member's first purchase was refunded", Actor: "referral"})
	if ErrorCode(err) == CodeIdempotencyReuse {
		return nil
	}
	if err != nil {
		return err
	}
	return s.tellClawback(ctx, link.Referrer, r.MemberID, rev.Entry)
}

// PlanRefund computes a refund of the purchase orig.
//
// What was refunded is tracked on the purchase's entry (orig.Refund): the
// refunded amount, and per line the refunded quantity. A refund by lines
// refunds each line's share of its amount (quantity-proportional) up to the
// quantity bought; a refund by amount refunds up to what is left of the
// purchase. Lines or amounts already refunded count for nothing, so a second
// refund of the same lines takes no points.
//
// The points to claw back follow the cumulative refunded amount R of the
// purchase's amount A: in total Earned*R/A, rounded half up, and all of
// Earned once everything (the whole amount, or every line) is refunded. This
// refund takes that total less what earlier refunds took, so partial refunds
// always add up to exactly what the purchase minted. PlanReversal then takes
// the points from the purchase's own lot first, then the oldest lots, and
// what is left (already spent) as a deficit or as debt per the program.
func PlanRefund(acct Account, prog *Program, orig Entry, r Refund, now time.Time) (Change, error) {
	if orig.Kind != KindAccrual || orig.Spend == nil {
		return Change{}, Errorf(CodeConflict, "entry %s is not a purchase and cannot be refunded", orig.Key)
	}
	total := orig.Spend.Minor
	state := orig.Refund.clone()
	this := RefundState{}
	linesChanged := false
	if r.Amount != nil {
		if r.Amount.Currency != orig.Spend.Currency {
			return Change{}, Invalid("currency", "purchase %s was paid in %s, the refund is in %s", orig.Key, orig.Spend.Currency, r.Amount.Currency)
		}
		this.Minor = min(r.Amount.Minor, total-state.Minor)
	} else {
		if len(orig.Lines) == 0 {
			return Change{}, Invalid("lines", "purchase %s has no lines; refund it by amount", orig.Key)
		}
		bought := make(map[string]Line, len(orig.Lines))
		for _, l := range orig.Lines {
			bought[l.ID] = l
		}
		this.Lines = map[string]int64{}
		for _, rl := range r.Lines {
			l, ok := bought[rl.ID]
			if !ok {
				return Change{}, Invalid("lines", "line %q is not a line of purchase %s", rl.ID, orig.Key)
			}
			done := state.Lines[rl.ID]
			q := min(rl.Quantity, l.Quantity-done)
			if q <= 0 {
				continue
			}
			this.Minor += lineShare(l, done+q) - lineShare(l, done)
			this.Lines[rl.ID] = q
			state.Lines[rl.ID] = done + q
			linesChanged = true
		}
		this.Minor = min(this.Minor, total-state.Minor)
	}
	if this.Minor <= 0 && !linesChanged {
		return noopRefund(acct, orig, r, now), nil
	}
	state.Minor += this.Minor
	full := state.Minor >= total || (len(orig.Lines) > 0 && allRefunded(orig.Lines, state.Lines))
	target := orig.Earned
	if !full {
		target = proportion(orig.Earned, state.Minor, total)
	}
	n := max(0, min(target-state.Points, orig.Earned-orig.Reversed))
	state.Points += n
	state.Seq++
	this.Points = n

	c, err := PlanReversal(acct, prog, orig, Reversal{Key: r.Key, MemberID: r.MemberID, OriginalKey: orig.Key,
		Points: n, Reason: "refund", Actor: r.Actor}, now)
	if err != nil {
		return Change{}, err
	}
	if len(this.Lines) == 0 {
		this.Lines = nil
	}
	c.Entry.Refund = &this
	c.Original.Refund = &state
	return c, nil
}

// noopRefund records a refund that takes nothing (everything it names was
// refunded already), so a redelivery replays it; the balance does not move.
func noopRefund(acct Account, orig Entry, r Refund, now time.Time) Change {
	e := Entry{MemberID: r.MemberID, Key: r.Key, Kind: KindReversal, At: now, Ref: orig.Key,
		Reason: "refund: already refunded", Actor: r.Actor, Refund: &RefundState{}}
	return Change{Entry: e, Account: acct.Clone()}
}

// lineShare is the amount of q items of line l: exact for the whole line,
// rounded down for a part, so that parts add up to the whole.
func lineShare(l Line, q int64) int64 {
	if q >= l.Quantity {
		return l.Minor
	}
	return l.Minor * q / l.Quantity
}

func allRefunded(lines []Line, refunded map[string]int64) bool {
	for _, l := range lines {
		if refunded[l.ID] < l.Quantity {
			return false
		}
	}
	return true
}

// proportion is earned*part/whole rounded half up, for 0 <= part <= whole;
// the 128-bit product never overflows.
func proportion(earned Points, part, whole int64) Points {
	if whole <= 0 || earned <= 0 || part <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(earned), uint64(part))
	q, rem := bits.Div64(hi, lo, uint64(whole))
	if rem >= uint64(whole)-rem {
		q++
	}
	return Points(q)
}
