package loyalty

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Referrals: every member has a code; a new member enrols with another's
// code before their first purchase and at most once; the referee's first
// qualifying purchase pays both bonuses, once, in the purchase's own
// transaction: the referee's on the purchase's entry (rule referral:referee),
// the referrer's as an entry of their own unless their monthly cap is
// reached, in which case the referrer's record of the referee says why.

// ReferralState is where one referral stands, as the referrer's record of
// the referee says.
type ReferralState string

const (
	ReferralPending ReferralState = "pending" // the referee has not made a qualifying purchase yet
	ReferralPaid    ReferralState = "paid"    // both bonuses were paid
	ReferralCapped  ReferralState = "capped"  // the referee was paid; the referrer's monthly cap was reached
)

// Referee is one referral: a member who enrolled with another member's code.
type Referee struct {
	Referrer    MemberID
	Member      MemberID // the referee
	Code        string
	EnrolledAt  time.Time
	State       ReferralState
	SettledAt   time.Time // when the first qualifying purchase paid out
	PurchaseKey string    // that purchase's ledger key
	Reason      string    // why the referrer was not paid
}

// ReferralMonth counts a referrer's settled referrals in one calendar month
// (program timezone): Paid against the cap, Capped beyond it.
type ReferralMonth struct {
	Month  string // "2026-11"
	Paid   int
	Capped int
}

// ReferralPayout is the referrer's side of a referee's first qualifying
// purchase. PlanEarning fills Referee and Month; the service completes it
// from the referrer's state (planReferrer) and the store writes it in the
// purchase's transaction: the referrer's entry and account (Account.Version
// is the version read: the write is conditioned on it), the month's counter
// (Paid must still be PaidBefore < Cap when paying) and the referee record.
type ReferralPayout struct {
	Referee    Referee
	Month      string
	Cap        int
	PaidBefore int
	Capped     bool
	Entry      *Entry   // the referrer's bonus entry; nil when nothing is paid to them
	Account    *Account // the referrer's account after the bonus; set with Entry
}

// ReferralStore is the storage of referrals. A Store that keeps referrals
// implements it beside the Store port; the Service finds it on its Store.
type ReferralStore interface {
	// CodeOwner returns the member a referral code belongs to; CodeNotFound
	// if no member holds it.
	CodeOwner(ctx context.Context, code string) (MemberID, error)
	// ClaimCode makes code member's as of at, unless another member holds
	// it (ok false). Claiming one's own code again is a no-op.
	ClaimCode(ctx context.Context, code string, member MemberID, at time.Time) (ok bool, err error)
	// Referral returns who referred member, kept for good (also after the
	// payout); ok is false when nobody did.
	Referral(ctx context.Context, member MemberID) (Referee, bool, error)
	// Referees lists the members enrolled with referrer's code.
	Referees(ctx context.Context, referrer MemberID) ([]Referee, error)
	// ReferralMonth returns a referrer's counters of one month (zero when none).
	ReferralMonth(ctx context.Context, referrer MemberID, month string) (ReferralMonth, error)
	// HasEntries reports whether member's ledger holds an entry whose key
	// starts with keyPrefix.
	HasEntries(ctx context.Context, member MemberID, keyPrefix string) (bool, error)
	// EnrolReferral writes a referral in one transaction: the referee's
	// account, still at version acctVersion and without a pending referrer,
	// gets ReferredBy; the referee's permanent record and the referrer's
	// record of the referee are put only if new; chainEnd, the last member
	// of the referrer's chain of referrers, must still have no referrer; the
	// referrer must not have been erased.
	// Errors: CodeConflict when a condition failed (read again and retry),
	// CodeUnavailable.
	EnrolReferral(ctx context.Context, ref Referee, acctVersion int64, chainEnd MemberID) error
}

// referralCodeLen is the length of a referral code: 10 Crockford base32
// characters, 50 bits, so that codes derived for millions of members
// rarely collide (a collision moves to the next derivation).
const referralCodeLen = 10

var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// referralCode derives a member's code. It is stable (no storage needed to
// know it) and reveals nothing about the member id; attempt moves to the next
// candidate when another member already holds one.
func referralCode(member MemberID, attempt int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("referral-code\x00%s\x00%d", member, attempt)))
	return crockford.EncodeToString(sum[:])[:referralCodeLen]
}

// NormalizeReferralCode reads a code as a person may type it: any case,
// dashes and spaces ignored, O for 0 and I or L for 1.
func NormalizeReferralCode(s string) (string, error) {
	r := strings.NewReplacer("-", "", " ", "", "O", "0", "I", "1", "L", "1")
	code := r.Replace(strings.ToUpper(strings.TrimSpace(s)))
	if len(code) != referralCodeLen {
		return "", Invalid("code", "a referral code has %d letters and digits", referralCodeLen)
	}
	for _, c := range []byte(code) {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(c)) {
			return "", Invalid("code", "a referral code has %d letters and digits", referralCodeLen)
		}
	}
	return code, nil
}

// referralEntryKey is the ledger key of a referrer's bonus for one referee:
// unique per referee (a member is referred once), and without the referee's
// id, which the referrer sees in their activity.
func referralEntryKey(referee MemberID) string {
	sum := sha256.Sum256([]byte("referee\x00" + string(referee)))
	return keyReferral + hex.EncodeToString(sum[:12])
}

// keyReferral prefixes a referrer's bonus entries (see service.go's keys).
const keyReferral = "ref:"

// planReferralPayout pays the referee's bonus on their first qualifying
// purchase (the rule referral:referee on the purchase's entry), clears the
// pending referral and asks for the referrer's side in c.Referral. Purchases
// below the minimum spend leave the referral pending. Without a referral
// programme a pending referral waits (the programme may come back).
func (prog *Program) planReferralPayout(c *Change, acct Account, p Purchase, now time.Time) {
	ref := prog.Referral
	if acct.ReferredBy == "" || ref == nil || p.Spend.Minor < ref.MinSpendMinor {
		return
	}
	a, e := &c.Account, &c.Entry
	a.ReferredBy = ""
	if bonus := prog.capBonus(a, SourceReferrals, ref.RefereeBonus, now); bonus > 0 {
		delta, before := e.Delta, a.Balance
		a.credit(e, bonus, prog.LotExpiry(p.OccurredAt))
		a.Lifetime += bonus
		e.Earned += bonus
		e.Rules = append(e.Rules, RuleResult{Rule: "referral:referee", Points: bonus})
		a.settle(e, before, prog.Today(now))
		e.Delta += delta
	}
	c.Referral = &ReferralPayout{Month: prog.monthOf(now), Cap: ref.MonthlyCap,
		Referee: Referee{Referrer: acct.ReferredBy, Member: p.MemberID, PurchaseKey: p.Key, SettledAt: now}}
}

// PlanReferrerBonus completes a payout from the referrer's account and the
// month's counter: under the cap it credits the referrer's bonus as an entry
// of its own; at the cap it pays nothing and records why.
func PlanReferrerBonus(referrer Account, prog *Program, pay ReferralPayout, month ReferralMonth, now time.Time) ReferralPayout {
	pay.PaidBefore = month.Paid
	pay.Referee.State = ReferralPaid
	if month.Paid >= pay.Cap {
		pay.Capped = true
		pay.Referee.State = ReferralCapped
		pay.Referee.Reason = fmt.Sprintf("the referrer's cap of %d referral bonuses in %s was reached", pay.Cap, pay.Month)
		return pay
	}
	var bonus Points
	if prog.Referral != nil {
		bonus = prog.Referral.ReferrerBonus
	}
	if bonus <= 0 {
		return pay
	}
	a := referrer.Clone()
	offered := bonus
	bonus = prog.capBonus(&a, SourceReferrals, bonus, now)
	e := Entry{MemberID: a.MemberID, Key: referralEntryKey(pay.Referee.Member), Kind: KindReferralBonus, At: now,
		Ref: "referral", Reason: "a member you referred made their first purchase", Actor: "referral",
		Earned: bonus, Rules: []RuleResult{{Rule: "referral:referrer", Points: bonus}}}
	if bonus < offered {
		e.Uncapped = offered
		e.Rules = []RuleResult{{Rule: "referral:referrer", Points: offered}, capRule(SourceReferrals, offered-bonus)}
	}
	before := a.Balance
	a.credit(&e, bonus, prog.LotExpiry(now))
	a.Lifetime += bonus
	a.settle(&e, before, prog.Today(now))
	e.Fingerprint = Fingerprint("referral", a.MemberID, pay.Referee.Member)
	pay.Entry, pay.Account = &e, &a
	return pay
}

// referrals returns the referral storage wired into the service.
func (s *Service) referrals() (ReferralStore, error) {
	if s.Referrals == nil {
		return nil, errNotWired("referral store")
	}
	return s.Referrals, nil
}

// planReferrer completes the referrer's side of a payout. A referrer who is
// no longer a member (erased) gets nothing and nothing is written for them.
func (s *Service) planReferrer(ctx context.Context, pay *ReferralPayout, now time.Time) (*ReferralPayout, error) {
	if pay.Referee.Referrer == ErasedMember {
		return nil, nil // the erasure rewrote the referral to name nobody
	}
	rs, err := s.referrals()
	if err != nil {
		return nil, err
	}
	referrer, err := s.Store.Account(ctx, pay.Referee.Referrer)
	if ErrorCode(err) == CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	month, err := rs.ReferralMonth(ctx, pay.Referee.Referrer, pay.Month)
	if err != nil {
		return nil, err
	}
	prior, ok, err := rs.Referral(ctx, pay.Referee.Member)
	if err != nil {
		return nil, err
	}
	if ok {
		pay.Referee.Code, pay.Referee.EnrolledAt = prior.Code, prior.EnrolledAt
	}
	done := PlanReferrerBonus(referrer, s.Program, *pay, month, now)
	return &done, nil
}

// ReferralStatus is what a member sees of the referral programme: their
// code, what their referrals brought this month against the cap, and
// whether they were referred themselves (the referrer is not named).
type ReferralStatus struct {
	Code             string `json:"code"`
	Referees         int    `json:"referees"`         // members enrolled with the code
	Pending          int    `json:"pending"`          // of them, still before their first qualifying purchase
	BonusesThisMonth int    `json:"bonusesThisMonth"` // referrer bonuses paid this month
	CappedThisMonth  int    `json:"cappedThisMonth"`  // referrals settled this month beyond the cap
	MonthlyCap       int    `json:"monthlyCap"`
	ReferrerBonus    Points `json:"referrerBonus"`
	RefereeBonus     Points `json:"refereeBonus"`
	MinSpend         Money  `json:"minSpend"` // what the referee's first purchase must reach
	Referred         bool   `json:"referred"` // the member enrolled with a code
	BonusPending     bool   `json:"bonusPending"`
}

// maxCodeAttempts bounds the derivations tried for a member's code.
const maxCodeAttempts = 8

// ReferralCode returns the member's code, claiming it on first use.
// Errors: CodeUnavailable.
func (s *Service) ReferralCode(ctx context.Context, member MemberID) (string, error) {
	rs, err := s.referrals()
	if err != nil {
		return "", err
	}
	for attempt := range maxCodeAttempts {
		code := referralCode(member, attempt)
		owner, err := rs.CodeOwner(ctx, code)
		switch {
		case err == nil && owner == member:
			return code, nil
		case err == nil:
			continue // another member's: the next derivation
		case ErrorCode(err) != CodeNotFound:
			return "", err
		}
		ok, err := rs.ClaimCode(ctx, code, member, s.Clock.Now())
		if err != nil {
			return "", err
		}
		if ok {
			return code, nil
		}
	}
	return "", fmt.Errorf("no free referral code for member %s after %d attempts", member, maxCodeAttempts)
}

// ReferralStatus tells the member their code and referral counts. The
// member's account must exist. Errors: CodeNotFound, CodeUnavailable.
func (s *Service) ReferralStatus(ctx context.Context, member MemberID) (ReferralStatus, error) {
	rs, err := s.referrals()
	if err != nil {
		return ReferralStatus{}, err
	}
	acct, err := s.Store.Account(ctx, member)
	if err != nil {
		return ReferralStatus{}, err
	}
	code, err := s.ReferralCode(ctx, member)
	if err != nil {
		return ReferralStatus{}, err
	}
	st := ReferralStatus{Code: code, BonusPending: acct.ReferredBy != "", MinSpend: Money{Currency: s.Program.Currency}}
	if ref := s.Program.Referral; ref != nil {
		st.MonthlyCap, st.ReferrerBonus, st.RefereeBonus, st.MinSpend.Minor = ref.MonthlyCap, ref.ReferrerBonus, ref.RefereeBonus, ref.MinSpendMinor
	}
	referees, err := rs.Referees(ctx, member)
	if err != nil {
		return ReferralStatus{}, err
	}
	st.Referees = len(referees)
	for _, r := range referees {
		if r.State == ReferralPending {
			st.Pending++
		}
	}
	month, err := rs.ReferralMonth(ctx, member, s.Program.monthOf(s.Clock.Now()))
	if err != nil {
		return ReferralStatus{}, err
	}
	st.BonusesThisMonth, st.CappedThisMonth = month.Paid, month.Capped
	_, st.Referred, err = rs.Referral(ctx, member)
	if err != nil {
		return ReferralStatus{}, err
	}
	return st, nil
}

// maxReferralChain bounds the walk up a chain of referrers when looking for
// a loop; chains are rarely more than a few members long.
const maxReferralChain = 64

// EnrolReferral enrols member as referred by the owner of code. It is
// allowed once, before the member's first purchase. Enrolling again with
// the code already used returns the status with created false.
//
// Errors: CodeInvalid (malformed code), CodeNotFound (unknown code),
// CodeSelfReferral, CodeReferralLoop (the code's owner was referred, directly
// or through others, by the member), CodeAlreadyReferred (by another code),
// CodeAlreadyPurchased, CodeConflict (the programme has no referrals),
// CodeUnavailable.
func (s *Service) EnrolReferral(ctx context.Context, member MemberID, rawCode string) (st ReferralStatus, created bool, err error) {
	rs, err := s.referrals()
	if err != nil {
		return ReferralStatus{}, false, err
	}
	if s.Program.Referral == nil {
		return ReferralStatus{}, false, Errorf(CodeConflict, "the programme has no referrals")
	}
	code, err := NormalizeReferralCode(rawCode)
	if err != nil {
		return ReferralStatus{}, false, err
	}
	for attempt := 0; ; attempt++ {
		created, err = s.enrolOnce(ctx, rs, member, code)
		if ErrorCode(err) != CodeConflict || attempt >= 4 {
			break
		}
	}
	if ErrorCode(err) == CodeConflict {
		return ReferralStatus{}, false, Transient(err, "the account is busy, retry later")
	}
	if err != nil {
		return ReferralStatus{}, false, fmt.Errorf("enrol member %s with referral code %s: %w", member, code, err)
	}
	st, err = s.ReferralStatus(ctx, member)
	return st, created, err
}

func (s *Service) enrolOnce(ctx context.Context, rs ReferralStore, member MemberID, code string) (bool, error) {
	acct, err := s.Store.Account(ctx, member)
	if ErrorCode(err) == CodeNotFound {
		acct, err = s.Store.Enrol(ctx, member, s.Clock.Now())
	}
	if err != nil {
		return false, err
	}
	owner, err := rs.CodeOwner(ctx, code)
	if ErrorCode(err) == CodeNotFound {
		return false, &Error{Code: CodeNotFound, Field: "code", Message: fmt.Sprintf("no member has the referral code %s", code)}
	}
	if err != nil {
		return false, err
	}
	if owner == member {
		return false, &Error{Code: CodeSelfReferral, Field: "code", Message: "a member cannot use their own referral code"}
	}
	if prior, ok, err := rs.Referral(ctx, member); err != nil {
		return false, err
	} else if ok && prior.Referrer == owner {
		return false, nil // the same enrolment again: nothing to do
	} else if ok || acct.ReferredBy != "" {
		return false, &Error{Code: CodeAlreadyReferred, Field: "code", Message: "the member was already referred with another code"}
	}
	// Walk up the owner's chain of referrers: meeting the member would close
	// a loop. The chain's end must still have no referrer when the enrolment
	// is written, so that two enrolments at once cannot close a loop either.
	// A chain longer than the walk is accepted unchecked.
	end := owner
	for hops := 0; ; hops++ {
		if hops == maxReferralChain {
			end = ""
			break
		}
		up, ok, err := rs.Referral(ctx, end)
		if err != nil {
			return false, err
		}
		if !ok {
			break
		}
		if up.Referrer == member {
			return false, &Error{Code: CodeReferralLoop, Field: "code", Message: "the code's owner was referred by this member: referrals cannot go round in a loop"}
		}
		end = up.Referrer
	}
	if bought, err := rs.HasEntries(ctx, member, keyPurchase); err != nil {
		return false, err
	} else if bought {
		return false, &Error{Code: CodeAlreadyPurchased, Field: "code", Message: "a referral code can only be used before the first purchase"}
	}
	ref := Referee{Referrer: owner, Member: member, Code: code, EnrolledAt: s.Clock.Now(), State: ReferralPending}
	if err := rs.EnrolReferral(ctx, ref, acct.Version, end); err != nil {
		return false, err
	}
	return true, nil
}
