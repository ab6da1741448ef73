package loyalty

import (
	"strings"
	"time"
)

// Change is what one operation does to one member: a new ledger entry, the
// new account state and, for some operations, a redemption or an earlier
// entry that changes with it. The store writes it in one transaction.
type Change struct {
	Entry                  Entry
	Account                Account
	Redemption             *Redemption // put as given; RedemptionIsNew says whether it must not exist yet
	RedemptionIsNew        bool
	RedemptionStateBefore  RedemptionState // condition when updating an existing redemption
	Issued                 []Redemption    // rewards issued at no cost (a filled stamp card); must not exist yet
	Original               *Entry          // earlier entry whose Reversed changed
	OriginalReversedBefore Points
	Referral               *ReferralPayout   // a referee's first qualifying purchase: the referrer's side (referral.go)
	Feedback               *PurchaseFeedback // feedback written with its bonus entry, once per purchase (feedback.go)
	// Budgets are the points promotions with a budget give in this change;
	// the store writes the change only while each budget has room for them.
	Budgets []BudgetUse
}

// BudgetUse is what a change takes from a promotion's budget.
type BudgetUse struct {
	Promotion string
	Points    Points
	Budget    Points
}

// BudgetSpentError is the store's answer to a change a promotion's budget
// has no room for; the service plans the purchase again without it.
type BudgetSpentError struct{ Promotion string }

func (e *BudgetSpentError) Error() string {
	return "the budget of promotion " + e.Promotion + " is spent"
}

// Purchase is a completed purchase to earn points on.
type Purchase struct {
	Key        string // ledger key, unique per member: the partner and its event id
	MemberID   MemberID
	Ref        string // the partner's reference of the purchase
	Spend      Money
	OccurredAt time.Time
	Actor      string
	Lines      []Line // optional line items, kept on the entry for refunds by line
	// Code is the rotating code the purchase was made with (till.go): it
	// pays for this purchase only, marked used in the purchase's own write.
	Code string
	// Holder is who the partner named when it is a card ("card:<number>"):
	// the fingerprint takes it instead of MemberID, so a purchase on a
	// printed card is the same request before and after its claim moved
	// it to the new owner (claim.go).
	Holder string
	// Printed tells that Holder is a printed card (Resolved.Printed): only
	// then may the purchase have been credited to the card's anonymous
	// account before a claim, which Accrue reads first (creditedBeforeClaim).
	Printed bool
	// Redelivered tells that the purchase's message was delivered before
	// (a queue's receive count above one): it may well be credited
	// already, so the store may look for its entry before it writes
	// (Op.Redelivered).
	Redelivered bool
}

// holder is who the fingerprint of a purchase or refund names.
func holder(member MemberID, h string) any {
	if h != "" {
		return h
	}
	return member
}

// Validate checks a purchase before any points are computed.
func (p *Purchase) Validate(now time.Time) error {
	if err := ValidateMemberID("memberId", p.MemberID); err != nil {
		return err
	}
	if err := ValidateKey("key", p.Key); err != nil {
		return err
	}
	if err := ValidateMoney("spend", p.Spend, true); err != nil {
		return err
	}
	if p.OccurredAt.IsZero() {
		return Invalid("occurredAt", "occurredAt is required")
	}
	if p.OccurredAt.After(now.Add(24 * time.Hour)) {
		return Invalid("occurredAt", "occurredAt %s is in the future", p.OccurredAt.Format(time.RFC3339))
	}
	return validateLines(p.Lines)
}

// PlanAccrual credits the points a purchase earns as a lot expiring per the
// program's policy.
func PlanAccrual(acct Account, prog *Program, p Purchase, earned Points, rules []RuleResult, now time.Time) (Change, error) {
	a := acct.Clone()
	if a.Version == 0 && a.CreatedAt.IsZero() {
		a = NewAccount(p.MemberID, now)
	}
	spend := p.Spend
	e := Entry{MemberID: p.MemberID, Key: p.Key, Kind: KindAccrual, At: now, Ref: p.Ref, Actor: p.Actor,
		Spend: &spend, Earned: earned, Rules: rules, Lines: p.Lines}
	before := a.Balance
	a.credit(&e, earned, prog.LotExpiry(p.OccurredAt))
	a.Lifetime += earned
	a.settle(&e, before, prog.Today(now))
	return Change{Entry: e, Account: a}, nil
}

// PlanRedemption spends a reward's cost, oldest-expiring lots first, and
// issues the reward with its code. It fails with CodeInsufficientPoints and
// changes nothing when the balance does not cover the cost.
func PlanRedemption(acct Account, prog *Program, member MemberID, key string, r Reward, now time.Time) (Change, error) {
	if !r.Active {
		return Change{}, Errorf(CodeConflict, "reward %s is not available", r.ID)
	}
	if acct.Balance < r.Cost {
		return Change{}, Errorf(CodeInsufficientPoints, "reward %s costs %d points, the balance is %d", r.ID, r.Cost, acct.Balance)
	}
	a := acct.Clone()
	e := Entry{MemberID: member, Key: key, Kind: KindRedemption, At: now, Ref: r.ID, Actor: "member"}
	before := a.Balance
	a.takeOldest(&e, r.Cost)
	a.settle(&e, before, prog.Today(now))
	id, code := rewardCode(member, key)
	e.RedemptionID = id
	red := &Redemption{ID: id, MemberID: member, RewardID: r.ID, RewardName: r.Name, Cost: r.Cost, Code: code,
		State: RedemptionIssued, IssuedAt: now, ChangedAt: now, EntryKey: key, Lots: append([]Lot(nil), e.Lots...)}
	if r.ValidDays > 0 {
		red.ValidUntil = prog.Today(now).AddDays(r.ValidDays)
	}
	return Change{Entry: e, Account: a, Redemption: red, RedemptionIsNew: true}, nil
}

// PlanCancelRedemption gives an unused reward's points back to the lots they
// came from (a lot whose day has passed is due for expiry at once).
func PlanCancelRedemption(acct Account, prog *Program, red Redemption, key string, now time.Time) (Change, error) {
	if red.State != RedemptionIssued {
		return Change{}, Errorf(CodeConflict, "redemption %s is %s and cannot be cancelled", red.ID, red.State)
	}
	a := acct.Clone()
	e := Entry{MemberID: red.MemberID, Key: key, Kind: KindRedemptionCancel, At: now, Ref: red.ID, Actor: "member", RedemptionID: red.ID}
	before := a.Balance
	for _, l := range red.Lots {
		a.credit(&e, -l.Points, l.Expires)
	}
	a.settle(&e, before, prog.Today(now))
	updated := red
	updated.State = RedemptionCancelled
	updated.ChangedAt = now
	return Change{Entry: e, Account: a, Redemption: &updated, RedemptionStateBefore: RedemptionIssued}, nil
}

// Reversal takes back points an earlier credit (accrual or adjustment) gave.
type Reversal struct {
	Key         string
	MemberID    MemberID
	OriginalKey string
	Points      Points // how many of the original's points to take back
	Reason      string
	Actor       string
}

// PlanReversal claws back up to Points of the original credit, never more
// than it earned minus what earlier reversals took. Points come from the
// original's own lot first, then from the oldest lots; what is left follows
// the program's refund policy.
func PlanReversal(acct Account, prog *Program, orig Entry, r Reversal, now time.Time) (Change, error) {
	credit := orig.Kind == KindAccrual || orig.Kind == KindReferralBonus || (orig.Kind == KindAdjustment && orig.Earned > 0)
	if !credit {
		return Change{}, Errorf(CodeConflict, "entry %s is a %s and cannot be reversed", orig.Key, orig.Kind)
	}
	if r.Points < 0 {
		return Change{}, Invalid("points", "points to reverse must not be negative")
	}
	n := min(r.Points, orig.Earned-orig.Reversed)
	a := acct.Clone()
	e := Entry{MemberID: r.MemberID, Key: r.Key, Kind: KindReversal, At: now, Ref: orig.Key, Reason: r.Reason, Actor: r.Actor}
	before := a.Balance
	var taken Points
	for _, l := range orig.Lots {
		if l.Points > 0 && taken < n {
			taken += a.takeFrom(&e, l.Expires, n-taken)
		}
	}
	taken += a.takeOldest(&e, n-taken)
	if rest := n - taken; rest > 0 {
		if prog.Refund == RefundNegative {
			a.Deficit += rest
			e.DeficitDelta += rest
		} else {
			a.Debt += rest
			e.DebtDelta += rest
		}
	}
	a.Lifetime -= n
	a.settle(&e, before, prog.Today(now))
	o := orig
	o.Reversed += n
	return Change{Entry: e, Account: a, Original: &o, OriginalReversedBefore: orig.Reversed}, nil
}

// Adjustment is an ops correction with a mandatory reason.
type Adjustment struct {
	Key      string
	MemberID MemberID
	Points   Points // positive credits a lot, negative debits oldest lots first
	Reason   string
	Actor    string
}

// Validate checks an adjustment request.
func (ad *Adjustment) Validate() error {
	if err := ValidateMemberID("memberId", ad.MemberID); err != nil {
		return err
	}
	if err := ValidateKey("key", ad.Key); err != nil {
		return err
	}
	if ad.Points == 0 || ad.Points > MaxPoints || ad.Points < -MaxPoints {
		return Invalid("points", "points must be non-zero and within +-%d", MaxPoints)
	}
	if r := strings.TrimSpace(ad.Reason); len(r) < 3 || len(r) > 500 {
		return Invalid("reason", "a reason of 3 to 500 characters is required")
	}
	return nil
}

// PlanAdjustment credits or debits points. A debit never takes the balance
// below zero: it fails with CodeInsufficientPoints instead.
func PlanAdjustment(acct Account, prog *Program, ad Adjustment, now time.Time) (Change, error) {
	a := acct.Clone()
	if a.Version == 0 && a.CreatedAt.IsZero() {
		a = NewAccount(ad.MemberID, now)
	}
	e := Entry{MemberID: ad.MemberID, Key: ad.Key, Kind: KindAdjustment, At: now, Reason: ad.Reason, Actor: ad.Actor}
	before := a.Balance
	if ad.Points > 0 {
		points, err := prog.capCredit(&a, SourceAdjustments, ad.Points, now)
		if err != nil {
			return Change{}, err
		}
		if points < ad.Points {
			e.Uncapped = ad.Points
			e.Rules = []RuleResult{{Rule: "adjustment", Points: ad.Points}, capRule(SourceAdjustments, ad.Points-points)}
		}
		a.credit(&e, points, prog.LotExpiry(now))
		a.Lifetime += points
		e.Earned = points
	} else {
		if a.Balance < -ad.Points {
			return Change{}, Errorf(CodeInsufficientPoints, "cannot debit %d points, the balance is %d", -ad.Points, a.Balance)
		}
		a.takeOldest(&e, -ad.Points)
	}
	a.settle(&e, before, prog.Today(now))
	return Change{Entry: e, Account: a}, nil
}

// PlanExpiry removes every lot whose last day is before today, as one entry.
// ok is false when nothing is due; Change.Account then only has DueOn fixed.
func PlanExpiry(acct Account, prog *Program, key string, today Date, now time.Time) (c Change, ok bool) {
	a := acct.Clone()
	e := Entry{MemberID: a.MemberID, Key: key, Kind: KindExpiry, At: now, Reason: "expired before " + string(today), Actor: "job:expire-points"}
	before := a.Balance
	for len(a.Lots) > 0 && a.Lots[0].Expires < today {
		a.takeFrom(&e, a.Lots[0].Expires, a.Lots[0].Points)
	}
	lastActivity := a.LastActivity
	a.settle(&e, before, today)
	a.LastActivity = lastActivity // expiry is not member activity
	return Change{Entry: e, Account: a}, len(e.Lots) > 0
}
