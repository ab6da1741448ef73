package loyalty

import (
	"sort"
	"time"
)

// MemberID identifies a member: the `sub` of their verified token, or the
// reference a partner sends.
type MemberID string

// ValidateMemberID checks the shape of a member id.
func ValidateMemberID(field string, id MemberID) error {
	if !validToken(string(id), 128) {
		return Invalid(field, "member id must be 1-128 characters of A-Z a-z 0-9 . _ - : @")
	}
	return nil
}

// ValidateKey checks the shape of an idempotency key or an external id.
func ValidateKey(field, key string) error {
	if !validToken(key, 128) {
		return Invalid(field, "must be 1-128 characters of A-Z a-z 0-9 . _ - : @")
	}
	return nil
}

func validToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == ':' || c == '@':
		default:
			return false
		}
	}
	return true
}

// Lot is a group of points that expire on the same day. Accruals with the
// same expiry day share a lot; the ledger entry of each accrual records which
// lot it filled, so refunds take back from the right one.
type Lot struct {
	Expires Date   `json:"expires"`
	Points  Points `json:"points"`
}

// Account is a member's balance and lots. Version is the store's optimistic
// lock: 0 means the account is not stored yet.
type Account struct {
	MemberID     MemberID
	Balance      Points
	Lifetime     Points // points earned, net of reversals; tiers read it
	Lots         []Lot  // remaining points by expiry day, oldest first, none empty
	Deficit      Points // refunded points not covered by lots (negative-balance policy)
	Debt         Points // refunded points not taken (debt policy); not in Balance
	Tier         string
	DueOn        Date              // the day the expiry job must look at this account; "" when nothing can expire
	TierReviewOn Date              // the day the tier job reviews the tier ("" on the base tier)
	Qualifying   map[string]Points // qualifying points by month "2026-11", for tiers
	Stamps       map[string]int    // stamp card id -> stamps on the current card
	PromoUses    map[string]int    // promotion id -> times it applied (for per-member limits)
	Earned       map[string]Points // points credited per source and period ("purchases/d2026-03-10"), for the caps (limits.go)
	// ReferredBy is the referrer while the referral bonus is still to be paid
	// on this member's first qualifying purchase; "" otherwise.
	ReferredBy   MemberID
	CreatedAt    time.Time
	LastActivity time.Time
	Version      int64
}

// NewAccount is the account of a member who just enrolled.
func NewAccount(id MemberID, now time.Time) Account {
	return Account{MemberID: id, CreatedAt: now, LastActivity: now}
}

// NextExpiry is the expiry day of the oldest lot, "" without lots.
func (a *Account) NextExpiry() Date {
	if len(a.Lots) == 0 {
		return ""
	}
	return a.Lots[0].Expires
}

// LotTotal is the sum of the lots' points.
func (a *Account) LotTotal() Points {
	var t Points
	for _, l := range a.Lots {
		t += l.Points
	}
	return t
}

// Clone returns a deep copy, so mutations never alias the caller's lots.
func (a Account) Clone() Account {
	a.Lots = append([]Lot(nil), a.Lots...)
	a.Qualifying = cloneMap(a.Qualifying)
	a.Stamps = cloneMap(a.Stamps)
	a.PromoUses = cloneMap(a.PromoUses)
	a.Earned = cloneMap(a.Earned)
	return a
}

func cloneMap[V any](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (a *Account) addLot(exp Date, n Points) {
	i := sort.Search(len(a.Lots), func(i int) bool { return a.Lots[i].Expires >= exp })
	if i < len(a.Lots) && a.Lots[i].Expires == exp {
		a.Lots[i].Points += n
		return
	}
	a.Lots = append(a.Lots, Lot{})
	copy(a.Lots[i+1:], a.Lots[i:])
	a.Lots[i] = Lot{Expires: exp, Points: n}
}

// takeFrom removes up to n points from the lot expiring on exp and returns
// how many it took.
func (a *Account) takeFrom(e *Entry, exp Date, n Points) Points {
	for i := range a.Lots {
		if a.Lots[i].Expires != exp {
			continue
		}
		t := min(n, a.Lots[i].Points)
		a.Lots[i].Points -= t
		if t > 0 {
			e.Lots = append(e.Lots, Lot{Expires: exp, Points: -t})
		}
		if a.Lots[i].Points == 0 {
			a.Lots = append(a.Lots[:i], a.Lots[i+1:]...)
		}
		return t
	}
	return 0
}

// takeOldest removes up to n points, oldest expiry first, and returns how
// many it took.
func (a *Account) takeOldest(e *Entry, n Points) Points {
	var taken Points
	for n > 0 && len(a.Lots) > 0 {
		t := a.takeFrom(e, a.Lots[0].Expires, n)
		taken += t
		n -= t
	}
	return taken
}

// credit adds n points expiring on exp. Earnings first pay back a deficit
// (which raises the balance) and then debt (which does not).
func (a *Account) credit(e *Entry, n Points, exp Date) {
	if r := min(n, a.Deficit); r > 0 {
		a.Deficit -= r
		e.DeficitDelta -= r
		n -= r
	}
	if d := min(n, a.Debt); d > 0 {
		a.Debt -= d
		e.DebtDelta -= d
		n -= d
	}
	if n > 0 {
		a.addLot(exp, n)
		e.Lots = append(e.Lots, Lot{Expires: exp, Points: n})
	}
}

// settle recomputes the derived fields after a movement and sets the entry's
// balance delta from the before/after balance.
func (a *Account) settle(e *Entry, before Points, today Date) {
	a.Balance = a.LotTotal() - a.Deficit
	e.Delta = a.Balance - before
	a.LastActivity = e.At
	a.refreshDue(today)
}

// refreshDue sets DueOn to the day after the oldest lot's expiry, never
// earlier than today (a lot put back after its day is due at once).
func (a *Account) refreshDue(today Date) {
	exp := a.NextExpiry()
	if exp == "" || exp == NoExpiry {
		a.DueOn = ""
		return
	}
	due := exp.AddDays(1)
	if today != "" && due < today {
		due = today
	}
	a.DueOn = due
}
