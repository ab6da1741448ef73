package loyalty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// NotificationKind says what a notification tells the member.
type NotificationKind string

const (
	NotePointsExpiring   NotificationKind = "points_expiring"
	NoteRewardExpiring   NotificationKind = "reward_expiring"
	NoteRewardAffordable NotificationKind = "reward_affordable"
	NotePointsExpired    NotificationKind = "points_expired"
	NoteClassChanged     NotificationKind = "class_changed"
	NoteWinBackOffered   NotificationKind = "winback_offered"
	NoteTierChanged      NotificationKind = "tier_changed"
	// The balance changes outside the jobs (balancenotes.go).
	NoteRefereeBonus     NotificationKind = "referee_bonus"
	NoteReferrerBonus    NotificationKind = "referrer_bonus"
	NoteReferralClawback NotificationKind = "referral_clawback"
	NoteFeedbackBonus    NotificationKind = "feedback_bonus"
)

// eventOf is the domain event each kind of notification is published as.
var eventOf = map[NotificationKind]string{
	NotePointsExpiring:   EventPointsExpiring,
	NoteRewardExpiring:   EventRewardExpiring,
	NoteRewardAffordable: EventRewardAffordable,
	NotePointsExpired:    EventPointsExpired,
	NoteClassChanged:     EventClassChanged,
	NoteWinBackOffered:   EventWinBackOffered,
	NoteTierChanged:      EventTierChanged,
	NoteRefereeBonus:     EventRefereeBonus,
	NoteReferrerBonus:    EventReferrerBonus,
	NoteReferralClawback: EventReferralClawback,
	NoteFeedbackBonus:    EventFeedbackBonus,
}

// EventType is the domain event type a kind of notification is published as.
func (k NotificationKind) EventType() string { return eventOf[k] }

// Notification is one message in a member's inbox. ID names the occasion
// ("expiring-2026-04-30", "reward-<redemption id>") and is unique per member:
// storing a notification whose ID exists changes nothing, which is what
// makes every reminder go out once per occasion however often a job runs.
type Notification struct {
	ID        string           `json:"id"`
	MemberID  MemberID         `json:"-"`
	Kind      NotificationKind `json:"kind"`
	Title     string           `json:"title"`
	Data      map[string]any   `json:"data"`
	CreatedAt time.Time        `json:"createdAt"`
	ReadAt    *time.Time       `json:"readAt"`
	ExpiresAt time.Time        `json:"expiresAt"` // the inbox drops it after this
	// Published is set once the event bus accepted the notification's event.
	Published bool `json:"-"`
}

// NewNotification builds a notification of kind for member about occasion;
// the program's inbox policy sets how long the member keeps it.
func NewNotification(prog *Program, member MemberID, kind NotificationKind, occasion, title string, data map[string]any, now time.Time) Notification {
	if data == nil {
		data = map[string]any{}
	}
	return Notification{ID: string(kind.short()) + "-" + occasion, MemberID: member, Kind: kind, Title: title, Data: data,
		CreatedAt: now.UTC(), ExpiresAt: now.UTC().AddDate(0, 0, prog.EngagementRules().Inbox.KeepDays)}
}

func (k NotificationKind) short() string {
	switch k {
	case NotePointsExpiring:
		return "expiring"
	case NoteRewardExpiring:
		return "reward"
	case NoteRewardAffordable:
		return "affordable"
	case NotePointsExpired:
		return "expired"
	case NoteClassChanged:
		return "class"
	case NoteWinBackOffered:
		return "winback"
	case NoteTierChanged:
		return "tier"
	case NoteRefereeBonus:
		return "referee"
	case NoteReferrerBonus:
		return "referrer"
	case NoteReferralClawback:
		return "clawback"
	case NoteFeedbackBonus:
		return "feedback"
	}
	return string(k)
}

// Event is the domain event of a notification. Its id depends only on the
// member and the notification id, so publishing again repeats the same event.
func (n Notification) Event(programID string) DomainEvent {
	sum := sha256.Sum256([]byte(string(n.MemberID) + "\x00" + n.ID))
	detail := make(map[string]any, len(n.Data)+1)
	for k, v := range n.Data {
		detail[k] = v
	}
	detail["notificationId"] = n.ID
	return DomainEvent{ID: hex.EncodeToString(sum[:16]), Type: n.Kind.EventType(), MemberID: n.MemberID,
		ProgramID: programID, OccurredAt: n.CreatedAt, Detail: detail}
}

// Inbox is the storage port of members' notifications.
type Inbox interface {
	// Deliver stores n unless the member already has a notification with
	// n.ID. It returns the stored notification (the earlier one on a repeat)
	// and whether this call stored it.
	Deliver(ctx context.Context, n Notification) (stored Notification, created bool, err error)
	// MarkPublished records that the event of the member's notification id
	// was accepted by the event bus.
	MarkPublished(ctx context.Context, member MemberID, id string) error
}

// Notifier stores notifications in members' inboxes and publishes each as
// a domain event, once per occasion.
type Notifier struct {
	Inbox     Inbox
	Publisher Publisher
	Program   *Program
}

// NotifyResult counts what Notify did.
type NotifyResult struct {
	Stored    int // new notifications
	Repeated  int // occasions already in the inbox
	Published int // events published (new ones and earlier ones not yet published)
}

// Notify stores every notification, then publishes the events of those whose
// event was never accepted (new ones, and earlier ones a failed run left
// unpublished), then marks them published. A crash between publishing and
// marking publishes that event again on the next run, with the same id.
// Errors: CodeUnavailable and whatever the inbox or the publisher return.
func (nt *Notifier) Notify(ctx context.Context, ns []Notification) (NotifyResult, error) {
	pending, res, err := nt.Store(ctx, ns)
	if err != nil {
		return res, err
	}
	res.Published, err = nt.Publish(ctx, pending)
	return res, err
}

// Store puts every notification in its member's inbox and returns those
// whose event is still to be published.
func (nt *Notifier) Store(ctx context.Context, ns []Notification) (pending []Notification, res NotifyResult, err error) {
	for _, n := range ns {
		stored, created, err := nt.Inbox.Deliver(ctx, n)
		if err != nil {
			return pending, res, fmt.Errorf("deliver %s to member %s: %w", n.ID, n.MemberID, err)
		}
		if created {
			res.Stored++
		} else {
			res.Repeated++
		}
		if !stored.Published {
			pending = append(pending, stored)
		}
	}
	return pending, res, nil
}

// Publish publishes the events of stored notifications and marks them
// published; it returns how many it published.
func (nt *Notifier) Publish(ctx context.Context, pending []Notification) (int, error) {
	if len(pending) == 0 {
		return 0, nil
	}
	events := make([]DomainEvent, len(pending))
	for i, n := range pending {
		events[i] = n.Event(nt.Program.ID)
	}
	if err := nt.Publisher.Publish(ctx, events); err != nil {
		return 0, fmt.Errorf("publish %d events: %w", len(events), err)
	}
	for _, n := range pending {
		if err := nt.Inbox.MarkPublished(ctx, n.MemberID, n.ID); err != nil {
			return len(events), fmt.Errorf("mark %s of member %s published: %w", n.ID, n.MemberID, err)
		}
	}
	return len(events), nil
}
