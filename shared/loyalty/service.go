package loyalty

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Op is one idempotent change to one member, handed to the store.
type Op struct {
	Member      MemberID
	Key         string // ledger key; an entry with this key is the op's result forever
	Fingerprint string // what makes a retry the same request
	// Plan computes the change from the member's current account. exists is
	// false for a member the store has never seen. The store may call Plan
	// again after a concurrent write.
	Plan func(acct Account, exists bool) (Change, error)
	// Quick, when set, is the basis of the op's quick forms
	// (quickcredit.go): a form is what Plan does on an account in the state
	// it names; a store may write one without reading the account, and
	// must plan when the account is not in that state.
	Quick *QuickBasis
	// Reward names a catalog reward Plan needs. A store that reads it in
	// the request that reads the account hands it to Fetched before the
	// first Plan; otherwise Plan reads it through Store.Reward.
	Reward  string
	Fetched func(Reward)
	// Code, when set, is a rotating code the op spends: the store marks it
	// used in the op's own transaction, and fails with CodeUsed (a
	// *RefError) when another op spent it first.
	Code string
	// Redelivered tells that the op may well have run before (its message
	// was delivered before). A store whose write without a read costs more
	// when it meets a spent key than a read does (a cancelled transaction)
	// may look for the key's entry first; the answer is the same either way.
	Redelivered bool
}

// Result is the outcome of an op: the ledger entry written by the first
// delivery, and whether this call was a replay that changed nothing.
type Result struct {
	Entry    Entry
	Replayed bool
}

// Store is the storage port. Implementations write each Change in one
// transaction: the entry only if its key is new, the account only if it did
// not change since it was read.
type Store interface {
	// Apply runs op. A replay of op.Key with the same fingerprint returns the
	// first entry; with another fingerprint it fails with CodeIdempotencyReuse.
	// Errors: whatever Plan returns, CodeIdempotencyReuse, CodeMemberErased
	// (the member was erased: nothing is planned or written), CodeUnavailable.
	Apply(ctx context.Context, op Op) (Result, error)
	// Account returns the member's account; CodeNotFound if there is none.
	Account(ctx context.Context, id MemberID) (Account, error)
	// Entry returns one ledger entry; CodeNotFound if there is none.
	Entry(ctx context.Context, id MemberID, key string) (Entry, error)
	// Redemption returns one redemption; CodeNotFound if there is none.
	Redemption(ctx context.Context, id MemberID, redemptionID string) (Redemption, error)
	// Reward returns a catalog item; CodeNotFound if there is none.
	Reward(ctx context.Context, id string) (Reward, error)
	// Enrol creates the member's account if it does not exist yet and returns
	// it. Errors: CodeMemberErased, CodeUnavailable.
	Enrol(ctx context.Context, id MemberID, now time.Time) (Account, error)
}

// Service carries out the loyalty operations against its ports. Store is
// required; the others are wired by the functions that use them (ports.go).
type Service struct {
	Store Store
	// Referrals keeps referral codes and links; nil: referral operations
	// fail as internal errors.
	Referrals ReferralStore
	// Snapshots writes an expiry planned from the copy of the lots a due
	// member comes with (DueItem.Lots); nil: the expiry reads the account
	// first.
	Snapshots SnapshotStore
	// Catalog, Erasures and ErasureLog serve the ops doors.
	Catalog    Catalog
	Erasures   Eraser
	ErasureLog ErasureLog
	// Cards keeps card numbers and short codes; Codes seals and opens the
	// QR codes (till.go). nil: the till operations fail as internal errors.
	Cards CardStore
	Codes *CodeSealer
	// Inbox gets the notification of each balance change made outside the
	// jobs (referral bonuses and their clawback, feedback bonuses:
	// balancenotes.go); the jobs publish them from the outbox. nil: no
	// notification (tools that rebuild history).
	Inbox   Inbox
	Program *Program
	Clock   Clock
}

// Ledger key prefixes keep operations of different kinds from colliding on
// a member's keys.
const (
	keyPurchase   = "p:"
	keyRedemption = "r:"
	keyCancel     = "c:"
	keyReversal   = "x:"
	keyAdjustment = "a:"
	keyExpiry     = "e:"
)

// PurchaseKey is the ledger key of a partner's purchase event.
func PurchaseKey(partner, eventID string) string { return keyPurchase + partner + ":" + eventID }

// Accrue credits the points a purchase earns, exactly once per Key.
// Errors: CodeInvalid, CodeIdempotencyReuse, CodeUnavailable.
func (s *Service) Accrue(ctx context.Context, p Purchase) (Result, error) {
	now := s.Clock.Now()
	if err := p.Validate(now); err != nil {
		return Result{}, err
	}
	spent := map[string]bool{} // promotions the store found without budget for this purchase
	var payout *ReferralPayout // the referral payout of the last plan: the one written, unless replayed
	plan := func(acct Account, exists bool) (Change, error) {
		c, err := planEarningWithout(acct, s.Program, p, spent, now)
		if err == nil && c.Referral != nil {
			c.Referral, err = s.planReferrer(ctx, c.Referral, now)
		}
		payout = c.Referral
		return c, err
	}
	op := Op{Member: p.MemberID, Key: p.Key, Plan: plan, Code: p.Code, Redelivered: p.Redelivered,
		Fingerprint: Fingerprint("accrual", holder(p.MemberID, p.Holder), p.Ref, p.Spend, p.OccurredAt.UTC(), p.Lines)}
	if b, ok, err := s.Program.QuickBasis(p, now); err != nil {
		return Result{}, err
	} else if ok {
		op.Quick = &b
	}
	if prior, ok, err := s.creditedBeforeClaim(ctx, p); err != nil {
		return Result{}, fmt.Errorf("accrue %s for member %s: %w", p.Key, p.MemberID, err)
	} else if ok {
		if prior.Fingerprint != op.Fingerprint {
			return Result{}, Errorf(CodeIdempotencyReuse, "key %s was already used for a different request", p.Key)
		}
		return Result{Entry: prior, Replayed: true}, nil
	}
	res, err := s.Store.Apply(ctx, op)
	for range s.Program.Promotions {
		var be *BudgetSpentError
		if !errors.As(err, &be) || spent[be.Promotion] {
			break
		}
		spent[be.Promotion] = true
		res, err = s.Store.Apply(ctx, op)
	}
	if err != nil {
		return Result{}, fmt.Errorf("accrue %s for member %s: %w", p.Key, p.MemberID, err)
	}
	if err := s.tellReferral(ctx, res, payout); err != nil {
		return Result{}, fmt.Errorf("accrue %s for member %s: tell the referral payout: %w", p.Key, p.MemberID, err)
	}
	return res, nil
}

// creditedBeforeClaim finds the entry of a purchase on a printed card that
// was credited to the card's anonymous account before its owner claimed it
// and that the claim has not moved to the owner yet (the claim moves the
// history in pages, claim.go): the purchase sent again is a replay, not a
// new credit. An entry is in one partition or the other at every moment (a
// page moves it in one transaction), so this read and the store's own
// replay check between them see it. Only purchases naming a printed card
// that now has an owner pay the read.
func (s *Service) creditedBeforeClaim(ctx context.Context, p Purchase) (Entry, bool, error) {
	anon := MemberID(p.Holder)
	if !p.Printed || p.Holder == "" || anon == p.MemberID || !IsAnonymous(anon) {
		return Entry{}, false, nil
	}
	e, err := s.Store.Entry(ctx, anon, p.Key)
	switch {
	case ErrorCode(err) == CodeNotFound:
		return Entry{}, false, nil
	case err != nil:
		return Entry{}, false, err
	}
	return e, true, nil
}

// Redeem spends a reward's cost and issues it. key is the client's
// Idempotency-Key. Errors: CodeNotFound (reward), CodeConflict (inactive),
// CodeInsufficientPoints, CodeIdempotencyReuse, CodeUnavailable.
func (s *Service) Redeem(ctx context.Context, member MemberID, key, rewardID string) (Redemption, Result, error) {
	if err := ValidateKey("Idempotency-Key", key); err != nil {
		return Redemption{}, Result{}, err
	}
	if err := ValidateKey("rewardId", rewardID); err != nil {
		return Redemption{}, Result{}, err
	}
	now := s.Clock.Now()
	ledgerKey := keyRedemption + key
	fp := Fingerprint("redemption", member, rewardID)
	var (
		reward  Reward
		planned *Redemption // the redemption of the last plan: the one written, unless replayed
	)
	plan := func(acct Account, exists bool) (Change, error) {
		if reward.ID == "" {
			r, err := s.Store.Reward(ctx, rewardID)
			if err != nil {
				return Change{}, err
			}
			reward = r
		}
		c, err := PlanRedemption(acct, s.Program, member, ledgerKey, reward, now)
		planned = c.Redemption
		return c, err
	}
	fetched := func(r Reward) { reward = r }
	res, err := s.Store.Apply(ctx, Op{Member: member, Key: ledgerKey, Fingerprint: fp, Plan: plan, Reward: rewardID, Fetched: fetched})
	if err != nil {
		return Redemption{}, Result{}, fmt.Errorf("redeem %s for member %s: %w", rewardID, member, err)
	}
	if !res.Replayed && planned != nil && planned.ID == res.Entry.RedemptionID {
		return *planned, res, nil // what was just written: no read back
	}
	red, err := s.Store.Redemption(ctx, member, res.Entry.RedemptionID)
	if err != nil {
		return Redemption{}, Result{}, fmt.Errorf("read redemption %s of member %s: %w", res.Entry.RedemptionID, member, err)
	}
	return red, res, nil
}

// CancelRedemption returns an unused reward's points. Cancelling twice
// returns the first result. Errors: CodeNotFound, CodeConflict (used).
func (s *Service) CancelRedemption(ctx context.Context, member MemberID, redemptionID string) (Redemption, Result, error) {
	if err := ValidateKey("redemptionId", redemptionID); err != nil {
		return Redemption{}, Result{}, err
	}
	now := s.Clock.Now()
	key := keyCancel + redemptionID
	plan := func(acct Account, exists bool) (Change, error) {
		red, err := s.Store.Redemption(ctx, member, redemptionID)
		if err != nil {
			return Change{}, err
		}
		return PlanCancelRedemption(acct, s.Program, red, key, now)
	}
	fp := Fingerprint("cancel", member, redemptionID)
	res, err := s.Store.Apply(ctx, Op{Member: member, Key: key, Fingerprint: fp, Plan: plan})
	if ErrorCode(err) == CodeConflict {
		// A concurrent duplicate cancel won the race: this call planned
		// before it committed and re-planned after, when the redemption
		// was already cancelled. Its entry is this call's result too.
		if first, ferr := s.Store.Entry(ctx, member, key); ferr == nil && first.Fingerprint == fp {
			res, err = Result{Entry: first, Replayed: true}, nil
		}
	}
	if err != nil {
		return Redemption{}, Result{}, fmt.Errorf("cancel redemption %s of member %s: %w", redemptionID, member, err)
	}
	red, err := s.Store.Redemption(ctx, member, redemptionID)
	if err != nil {
		return Redemption{}, Result{}, fmt.Errorf("read redemption %s of member %s: %w", redemptionID, member, err)
	}
	return red, res, nil
}

// Reverse claws back points of an earlier credit, e.g. for a refund.
// Errors: CodeNotFound (original), CodeConflict (not a credit), CodeInvalid.
func (s *Service) Reverse(ctx context.Context, r Reversal) (Result, error) {
	if err := ValidateMemberID("memberId", r.MemberID); err != nil {
		return Result{}, err
	}
	if err := ValidateKey("key", r.Key); err != nil {
		return Result{}, err
	}
	now := s.Clock.Now()
	key := keyReversal + r.Key
	plan := func(acct Account, exists bool) (Change, error) {
		orig, err := s.Store.Entry(ctx, r.MemberID, r.OriginalKey)
		if err != nil {
			return Change{}, err
		}
		rr := r
		rr.Key = key
		return PlanReversal(acct, s.Program, orig, rr, now)
	}
	res, err := s.Store.Apply(ctx, Op{Member: r.MemberID, Key: key, Plan: plan,
		Fingerprint: Fingerprint("reversal", r.MemberID, r.OriginalKey, r.Points)})
	if err != nil {
		return Result{}, fmt.Errorf("reverse %s of member %s: %w", r.OriginalKey, r.MemberID, err)
	}
	return res, nil
}

// Adjust credits or debits points for ops, with a reason.
// Errors: CodeInvalid, CodeInsufficientPoints, CodeIdempotencyReuse.
func (s *Service) Adjust(ctx context.Context, ad Adjustment) (Result, error) {
	if err := ad.Validate(); err != nil {
		return Result{}, err
	}
	now := s.Clock.Now()
	ad.Key = keyAdjustment + ad.Key
	plan := func(acct Account, exists bool) (Change, error) { return PlanAdjustment(acct, s.Program, ad, now) }
	res, err := s.Store.Apply(ctx, Op{Member: ad.MemberID, Key: ad.Key, Plan: plan,
		Fingerprint: Fingerprint("adjustment", ad.MemberID, ad.Points, ad.Reason)})
	if err != nil {
		return Result{}, fmt.Errorf("adjust member %s by %d: %w", ad.MemberID, ad.Points, err)
	}
	return res, nil
}

// errNothingDue makes Apply write nothing when no lot is due.
var errNothingDue = Errorf(CodeConflict, "nothing is due")

// ExpireDue expires the member's lots whose last day is before today, once
// per day: a second run the same day replays. ok is false when nothing was due.
func (s *Service) ExpireDue(ctx context.Context, member MemberID, today Date) (Result, bool, error) {
	now := s.Clock.Now()
	key := keyExpiry + string(today)
	plan := func(acct Account, exists bool) (Change, error) {
		c, ok := PlanExpiry(acct, s.Program, key, today, now)
		if !ok {
			return Change{}, errNothingDue
		}
		return c, nil
	}
	res, err := s.Store.Apply(ctx, Op{Member: member, Key: key, Plan: plan, Fingerprint: Fingerprint("expiry", member, today)})
	if errors.Is(err, errNothingDue) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("expire lots of member %s on %s: %w", member, today, err)
	}
	return res, true, nil
}
