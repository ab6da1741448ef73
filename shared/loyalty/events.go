package loyalty

import (
	"context"
	"time"
)

// EventSource is the source of every domain event the engine publishes.
const EventSource = "loyalty"

// Domain event types. The suffix is the schema version: a consumer that
// reads points.expired.v1 keeps working when a v2 appears next to it. The
// schemas live in events/domain/<type>.schema.json.
const (
	EventPointsExpired    = "points.expired.v1"
	EventPointsExpiring   = "reminder.points_expiring.v1"
	EventRewardExpiring   = "reminder.reward_expiring.v1"
	EventRewardAffordable = "reminder.reward_affordable.v1"
	EventClassChanged     = "member.class_changed.v1"
	EventWinBackOffered   = "winback.offered.v1"
	EventRefereeBonus     = "referral.referee_bonus.v1"
	EventReferrerBonus    = "referral.referrer_bonus.v1"
	EventReferralClawback = "referral.clawed_back.v1"
	EventFeedbackBonus    = "feedback.bonus.v1"
)

// DomainEvent is one fact published to the event bus. ID is derived from the
// member and the occasion, so a re-published event carries the same id and
// consumers can drop the copy.
type DomainEvent struct {
	ID         string
	Type       string // one of the Event* constants
	MemberID   MemberID
	ProgramID  string
	OccurredAt time.Time
	// Detail is the type-specific part of the event, marshalled as JSON
	// next to the envelope fields (eventId, memberId, programId, occurredAt).
	Detail map[string]any
}

// Publisher sends domain events to whoever subscribes: EventBridge in AWS,
// a local file in the local stack. Publish returns nil only when every event
// was accepted; it may have published some of them when it fails, so callers
// publish again (same ids) rather than drop.
type Publisher interface {
	Publish(ctx context.Context, events []DomainEvent) error
}

// Body is the JSON object published as the event's detail: the envelope
// fields followed by the type-specific ones.
func (e DomainEvent) Body() map[string]any {
	b := make(map[string]any, len(e.Detail)+4)
	for k, v := range e.Detail {
		b[k] = v
	}
	b["eventId"] = e.ID
	b["memberId"] = string(e.MemberID)
	b["programId"] = e.ProgramID
	b["occurredAt"] = e.OccurredAt.UTC().Format(time.RFC3339)
	return b
}
