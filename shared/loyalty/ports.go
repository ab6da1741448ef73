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
	// EraseMember deletes every item about the member after recording the
	// anonymised totals (Erasure). Errors: CodeNotFound for an unknown member.
	EraseMember(ctx context.Context, id MemberID, now time.Time) (Erasure, error)
}

// Erasure is the receipt of a member's erasure: the anonymised totals kept
// for the program's accounts, under a random id that links to nobody.
type Erasure struct {
	AnonymousID string    `json:"anonymousId"`
	Entries     int       `json:"entries"`
	Balance     Points    `json:"balance"`
	Lifetime    Points    `json:"lifetimePoints"`
	ErasedAt    time.Time `json:"erasedAt"`
}

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

// Erase erases a member (see Eraser). Errors: CodeNotFound, CodeInvalid,
// CodeInternal when no eraser is wired.
func (s *Service) Erase(ctx context.Context, id MemberID) (Erasure, error) {
	if err := ValidateMemberID("memberId", id); err != nil {
		return Erasure{}, err
	}
	if s.Erasures == nil {
		return Erasure{}, &Error{Code: CodeInternal, Message: "internal error", Err: errNotWired("eraser")}
	}
	return s.Erasures.EraseMember(ctx, id, s.Clock.Now())
}

type errNotWired string

func (e errNotWired) Error() string { return "the service has no " + string(e) + " wired" }
