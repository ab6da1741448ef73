package loyalty

import (
	"context"
	"time"
)

// The ports beyond Store: each is a small interface of what one part of the
// service needs, wired by each function's main (a function wires only the
// ones it uses). Every implementation carries a compile-time assertion,
// like `var _ loyalty.Catalog = (*Store)(nil)`; nothing discovers a
// capability at run time.

// Catalog keeps the rewards catalog ops manage.
type Catalog interface {
	// PutReward creates or replaces a catalog item.
	PutReward(ctx context.Context, r Reward) error
}

// Eraser removes a member's personal data.
type Eraser interface {
	// EraseMember erases the member: it marks the erasure first, then
	// deletes every item about the member page by page (also other members'
	// records naming them, which are rewritten to name ErasedMember), then
	// records the anonymised totals and marks the erasure done. It is
	// resumable: a call interrupted anywhere (a fault, a timeout) leaves the
	// erasure in progress and the next call continues it; a call that runs
	// short of time (its context's deadline) stops between pages and returns
	// the erasure in progress; a call after completion returns the first
	// receipt. From the mark on, the member's id takes no more changes: every
	// operation on it fails with CodeMemberErased, so idempotency keys the
	// member spent stay spent without keeping anything of them.
	// Errors: CodeNotFound for a member the store holds nothing of,
	// CodeUnavailable (call again: it continues).
	EraseMember(ctx context.Context, id MemberID, now time.Time) (Erasure, error)
}

// ErasureLog tells ops where a member's erasure stands.
type ErasureLog interface {
	// ErasureStatus returns the member's erasure: in progress with what was
	// deleted so far, or done with its receipt. Errors: CodeNotFound when no
	// erasure of the member was started, CodeUnavailable.
	ErasureStatus(ctx context.Context, id MemberID) (Erasure, error)
}

// ErasureState is where a member's erasure stands.
type ErasureState string

const (
	ErasureInProgress ErasureState = "in_progress" // marked; calling the erasure again continues it
	ErasureDone       ErasureState = "done"        // nothing of the member is left but the anonymised totals
	// ErasureMerged marks a printed card's anonymous account that a claim
	// moved to the member who claimed the card (claim.go): the id takes no
	// more changes, and there are no totals to keep under another id.
	ErasureMerged ErasureState = "merged"
)

// Erasure is the receipt of a member's erasure: the anonymised totals kept
// for the program's accounts, under a random id that links to nobody, and
// what was deleted. While the erasure is in progress it says how far it got.
type Erasure struct {
	AnonymousID string       `json:"anonymousId"`
	State       ErasureState `json:"state"`
	Entries     int          `json:"entries"` // ledger entries erased
	Balance     Points       `json:"balance"`
	Lifetime    Points       `json:"lifetimePoints"`
	RequestedAt time.Time    `json:"requestedAt"`        // when the erasure was marked
	ErasedAt    time.Time    `json:"erasedAt,omitzero"`  // when it completed; absent while in progress
	Deleted     ErasedItems  `json:"deleted"`            // items deleted so far
	Rewritten   int          `json:"rewrittenReferrals"` // other members' referral records that named the member, now naming nobody
}

// ErasedItems counts the items an erasure deleted, by what they were.
type ErasedItems struct {
	Account       int `json:"account"`
	Ledger        int `json:"ledger"`
	Redemptions   int `json:"redemptions"`
	Notifications int `json:"notifications"`
	Feedback      int `json:"feedback"`   // the member's feedback and its copies in the day listings
	Referrals     int `json:"referrals"`  // code, who referred them, whom they referred, monthly counters, the referrer's record of them
	Rejections    int `json:"rejections"` // recorded queue messages that named the member
	Other         int `json:"other"`      // customer class, reminder state and anything else of the member
}

// ErasedMember stands in for an erased member where another member's record
// named them (who referred a member). It is no valid member id, so it names
// nobody and no account can have it.
const ErasedMember MemberID = "(erased)"

// Enrol creates the member's account on their first contact and returns it;
// an existing account is returned as it is. Errors: CodeInvalid (member id),
// CodeUnavailable.
func (s *Service) Enrol(ctx context.Context, id MemberID) (Account, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return Account{}, err
	}
	a, err := s.Store.Account(ctx, id)
	if ErrorCode(err) != CodeNotFound {
		return a, err
	}
	return s.Store.Enrol(ctx, id, s.Clock.Now())
}

// PutReward validates a catalog item and stores it. Errors: CodeInvalid,
// CodeInternal when no catalog is wired.
func (s *Service) PutReward(ctx context.Context, r Reward) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if s.Catalog == nil {
		return &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("catalog")}
	}
	return s.Catalog.PutReward(ctx, r)
}

// Erase erases a member, or continues or completes an erasure begun
// before (see Eraser); the returned erasure is done, or in progress when the
// call ran short of time. Errors: CodeNotFound, CodeInvalid, CodeUnavailable
// (call again), CodeInternal when no eraser is wired.
func (s *Service) Erase(ctx context.Context, id MemberID) (Erasure, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return Erasure{}, err
	}
	if s.Erasures == nil {
		return Erasure{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("eraser")}
	}
	return s.Erasures.EraseMember(ctx, id, s.Clock.Now())
}

// ErasureStatus returns where the member's erasure stands (see ErasureLog).
// Errors: CodeNotFound (no erasure), CodeInvalid, CodeUnavailable,
// CodeInternal when no erasure log is wired.
func (s *Service) ErasureStatus(ctx context.Context, id MemberID) (Erasure, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return Erasure{}, err
	}
	if s.ErasureLog == nil {
		return Erasure{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("erasure log")}
	}
	return s.ErasureLog.ErasureStatus(ctx, id)
}

type errNotWired string

func (e errNotWired) Error() string { return "the service has no " + string(e) + " wired" }
