package loyalty

import (
	"context"
	"fmt"
	"time"
)

// keyWinBack prefixes the ledger key of a win-back bonus: "w:<last active day>",
// one per lapse.
const keyWinBack = "w:"

// ExpiryKey is the ledger key of the expiry of day: one per member and day.
func ExpiryKey(day Date) string { return keyExpiry + string(day) }

// SnapshotStore is a Store that can write an expiry planned from a copy of
// the account's lots (the one a DueItem carries, possibly older than the
// account) without reading the account first, together with the
// notification that tells the member.
type SnapshotStore interface {
	// ExpireFromSnapshot writes c, planned from snapshot, and note (when
	// not nil) in one transaction that holds only while the account still
	// has exactly the snapshot's lots and the expiring lots still hold what
	// the snapshot says. applied is false, with nothing written, when the
	// account moved on. A replay of op.Key returns the first result (and
	// the first run's notification stays as it was).
	ExpireFromSnapshot(ctx context.Context, op Op, snapshot []Lot, c Change, note *Notification) (res Result, applied bool, err error)
}

// ExpireDueFrom expires the member's due lots like ExpireDue, and stores the
// notification tell makes of the expiry entry in the same transaction, so a
// member is never expired untold however a run ends. It plans from
// snapshot, the lots the job found with the member; when that copy is out of
// date (or nil) it reads the account (read reports it) and plans again.
// ok is false when nothing was due. Without Snapshots wired it is
// ExpireDue, and the caller tells the member itself.
func (s *Service) ExpireDueFrom(ctx context.Context, member MemberID, snapshot []Lot, today Date, tell func(Entry) Notification) (res Result, ok, read bool, err error) {
	ss := s.Snapshots
	if ss == nil {
		res, ok, err = s.ExpireDue(ctx, member, today)
		return res, ok, true, err
	}
	key := ExpiryKey(today)
	op := Op{Member: member, Key: key, Fingerprint: Fingerprint("expiry", member, today)}
	for attempt := 0; attempt < 5; attempt++ {
		if snapshot == nil || attempt > 0 {
			acct, err := s.Store.Account(ctx, member)
			if ErrorCode(err) == CodeNotFound {
				return Result{}, false, read, nil
			}
			if err != nil {
				return Result{}, false, read, fmt.Errorf("expire lots of member %s on %s: %w", member, today, err)
			}
			snapshot, read = acct.Lots, true
		}
		acct := Account{MemberID: member, Lots: append([]Lot(nil), snapshot...)}
		acct.Balance = acct.LotTotal()
		c, due := PlanExpiry(acct, s.Program, key, today, s.Clock.Now())
		if !due {
			if read {
				return Result{}, false, read, nil
			}
			continue // the copy says nothing is due: ask the account
		}
		c.Entry.Fingerprint = op.Fingerprint
		var note *Notification
		if tell != nil {
			n := tell(c.Entry)
			note = &n
		}
		res, applied, err := ss.ExpireFromSnapshot(ctx, op, snapshot, c, note)
		if err != nil {
			return Result{}, false, read, fmt.Errorf("expire lots of member %s on %s: %w", member, today, err)
		}
		if applied {
			return res, true, read, nil
		}
	}
	return Result{}, false, read, Transient(nil, "the account of member %s keeps changing, expire it later", member)
}

// OfferWinBack credits the program's win-back bonus to a lapsed member once
// per lapse; lastActive, the member's last day of activity, names the lapse.
// The bonus is not member activity: the member stays lapsed until they come
// back. Errors: CodeNotFound (no account), CodeInvalid (no win-back policy),
// CodeIdempotencyReuse, CodeUnavailable.
func (s *Service) OfferWinBack(ctx context.Context, member MemberID, lastActive Date) (Result, error) {
	w := s.Program.EngagementRules().WinBack
	ad := Adjustment{Key: keyWinBack + string(lastActive), MemberID: member, Points: w.Points, Reason: w.Reason, Actor: "job:win-back"}
	if err := ad.Validate(); err != nil {
		return Result{}, err
	}
	now := s.Clock.Now()
	plan := func(acct Account, exists bool) (Change, error) {
		if !exists {
			return Change{}, Errorf(CodeNotFound, "member %s is not enrolled", member)
		}
		c, err := PlanAdjustment(acct, s.Program, ad, now)
		if err != nil {
			return Change{}, err
		}
		c.Account.LastActivity = acct.LastActivity
		return c, nil
	}
	res, err := s.Store.Apply(ctx, Op{Member: member, Key: ad.Key, Plan: plan,
		Fingerprint: Fingerprint("winback", member, lastActive, w.Points)})
	if err != nil {
		return Result{}, fmt.Errorf("win-back offer for member %s (lapsed since %s): %w", member, lastActive, err)
	}
	return res, nil
}

// DueItem is one thing a scheduled job found due on a day: a member, an
// issued reward by its end day, or a notification still to publish.
type DueItem struct {
	MemberID MemberID
	// RedemptionID is set for an issued reward found by its end day.
	RedemptionID string
	// NotificationID is set for a notification whose event is still to be
	// published (the outbox).
	NotificationID string
	// Lots is, for a member due for expiry, a copy of the lots as they
	// were when the member became due (it may be older than the account:
	// SnapshotStore checks it); nil when there is none.
	Lots []Lot
}

// Checkpoint is how far one run of a job got through one scope of its work
// (a day and shard, named by the store): done, or the cursor to go on from.
type Checkpoint struct {
	Scope     string
	Done      bool
	Cursor    string
	Processed int
	UpdatedAt time.Time
}

// MemberClass is the customer class recorded on a member and what it was
// given on.
type MemberClass struct {
	Class      string       `json:"class"`
	Since      Date         `json:"since"`
	Metrics    ClassMetrics `json:"metrics"`
	ReviewedOn Date         `json:"reviewedOn"`
	// WinBackFor is the last active day of the lapse the win-back offer was
	// made for ("" when none was).
	WinBackFor Date `json:"winBackFor,omitempty"`
}
