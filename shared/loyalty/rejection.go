package loyalty

import (
	"strings"
	"time"
)

// RejectReason says why a queue message was refused for good. The codes are
// part of the ops interface (dashboards, the replay tool) and never change.
type RejectReason string

const (
	RejectMalformedJSON    RejectReason = "malformed_json"         // the body is not one JSON value
	RejectSchemaViolation  RejectReason = "schema_violation"       // the event does not match its JSON Schema
	RejectUnsupported      RejectReason = "unsupported_event"      // no schema for the event's type or version
	RejectUnknownPartner   RejectReason = "unknown_partner"        // the program file does not list the partner
	RejectPartnerMismatch  RejectReason = "partner_mismatch"       // the body names another partner than the queue it arrived on
	RejectUnknownSource    RejectReason = "unknown_source"         // it arrived on a queue that belongs to no partner
	RejectInvalidEvent     RejectReason = "invalid_event"          // valid JSON, but the program refuses it (currency, date, lines)
	RejectIdempotencyReuse RejectReason = "idempotency_key_reused" // the partner reused an event id for another event
	RejectConflict         RejectReason = "conflict"               // the event contradicts the ledger (e.g. refund of a non-purchase)
	RejectPurchaseNotFound RejectReason = "purchase_not_found"     // a refund whose purchase did not arrive while it waited
	RejectLimitExceeded    RejectReason = "limit_exceeded"         // a cap of the program refuses it (per purchase, per member and period)
	RejectMemberErased     RejectReason = "member_erased"          // the member was erased; the record keeps nothing of them (no body, no ids)
)

// RejectionState is where a rejection is in ops' hands.
type RejectionState string

const (
	RejectionOpen     RejectionState = "open"     // recorded, nobody acted yet
	RejectionReplayed RejectionState = "replayed" // its body (or a fixed one) was sent to the queue again
)

// Rejection is a queue message the engine refused for good, recorded with
// its full body and the reason, so that ops can list it, fix it and replay
// it. A message is recorded before it is acknowledged: never dropped silently.
type Rejection struct {
	MessageID    string         `json:"messageId"`
	Source       string         `json:"source"` // the queue's ARN
	Body         string         `json:"body"`
	Reason       RejectReason   `json:"reason"`
	Message      string         `json:"message"` // what exactly is wrong, for people
	PartnerID    string         `json:"partnerId,omitempty"`
	EventType    string         `json:"eventType,omitempty"`
	EventID      string         `json:"eventId,omitempty"`
	MemberID     MemberID       `json:"memberId,omitempty"`
	SentAt       time.Time      `json:"sentAt,omitzero"`
	FirstSeen    time.Time      `json:"firstSeen"`
	LastSeen     time.Time      `json:"lastSeen"`
	ReceiveCount int            `json:"receiveCount"`
	State        RejectionState `json:"state"`
	ReplayedAt   time.Time      `json:"replayedAt,omitzero"`
	ReplayedAs   string         `json:"replayedAs,omitempty"` // message id of the re-driven message
	ReplayedBy   string         `json:"replayedBy,omitempty"`
}

// RejectionFilter narrows a listing of rejections; zero fields match all.
type RejectionFilter struct {
	State     RejectionState
	Reason    RejectReason
	PartnerID string
	Since     time.Time // first seen at or after
	MemberID  MemberID  // naming the member, by its member id or in its body
}

// Match reports whether r passes the filter.
func (f RejectionFilter) Match(r Rejection) bool {
	return (f.State == "" || r.State == f.State) && (f.Reason == "" || r.Reason == f.Reason) &&
		(f.PartnerID == "" || r.PartnerID == f.PartnerID) && (f.Since.IsZero() || !r.FirstSeen.Before(f.Since)) &&
		(f.MemberID == "" || r.Names(f.MemberID))
}

// Names reports whether the rejection names the member: as its member id,
// or as a JSON string anywhere in its body (a body that did not decode may
// still carry the id). Member ids hold no character JSON escapes, so the
// quoted id is exactly how a body spells it.
func (r Rejection) Names(id MemberID) bool {
	return r.MemberID == id || strings.Contains(r.Body, `"`+string(id)+`"`)
}
