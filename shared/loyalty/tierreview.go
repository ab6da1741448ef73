package loyalty

import (
	"context"
	"errors"
	"fmt"
)

// EventTierChanged is published when a member's tier changes.
const EventTierChanged = "member.tier_changed.v1"

// keyTierReview prefixes the ledger key of a tier review: "t:<day>".
const keyTierReview = "t:"

var errNoReviewDue = Errorf(CodeConflict, "no tier review is due")

// ReviewTier runs the member's cycle-end tier review (PlanTierReview) once
// per day: a rerun the same day replays. ok is false when no review is due.
// The entry moves no points; its Tier says where the member went, "" when
// the tier was kept.
func (s *Service) ReviewTier(ctx context.Context, member MemberID, today Date) (Result, bool, error) {
	now := s.Clock.Now()
	key := keyTierReview + string(today)
	plan := func(acct Account, exists bool) (Change, error) {
		if !exists {
			return Change{}, errNoReviewDue
		}
		c, ok := PlanTierReview(acct, s.Program, key, today, now)
		if !ok {
			return Change{}, errNoReviewDue
		}
		return c, nil
	}
	res, err := s.Store.Apply(ctx, Op{Member: member, Key: key, Plan: plan, Fingerprint: Fingerprint("tier-review", member, today)})
	if errors.Is(err, errNoReviewDue) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("review the tier of member %s on %s: %w", member, today, err)
	}
	return res, true, nil
}
