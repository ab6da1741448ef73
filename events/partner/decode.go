package partner

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Event is a decoded partner message, mapped to the domain: exactly one of
// Purchase and Refund. Decode is shared by the queue (shared/ingest) and the
// admin API, so a purchase or refund means the same through either door.
//
// Member names the member as the message does: a member id (version 1's
// memberRef, or version 2's member of kind memberId), a card number or a
// rotating code (version 2). MemberID, and the Purchase's or Refund's
// member, are set only when the message names a member id; the ingest
// resolves the other kinds (loyalty.Service.ResolveMember) and sets them.
type Event struct {
	Type      string
	PartnerID string
	EventID   string
	MemberID  loyalty.MemberID
	Member    loyalty.MemberRef
	Purchase  *loyalty.Purchase
	Refund    *loyalty.Refund
}

// SetMember sets the member the message's reference resolved to, and the
// rotating code a purchase spends.
func (ev *Event) SetMember(id loyalty.MemberID, code string) {
	ev.MemberID = id
	holder := ""
	if ev.Member.Kind == loyalty.RefCard {
		if n, err := loyalty.ParseCardNumber("member", ev.Member.Value); err == nil {
			holder = string(loyalty.AnonymousMember(n))
		}
	}
	if ev.Purchase != nil {
		ev.Purchase.MemberID, ev.Purchase.Code, ev.Purchase.Holder = id, code, holder
	}
	if ev.Refund != nil {
		ev.Refund.MemberID, ev.Refund.Holder = id, holder
	}
}

// DecodeError says a message can never be processed, and why.
type DecodeError struct {
	Reason  loyalty.RejectReason
	Message string
}

func (e *DecodeError) Error() string { return string(e.Reason) + ": " + e.Message }

// Decode turns a message body into an Event. The body must be one JSON
// object matching the schema of its type and version; beyond the schema,
// line ids must be unique. On error the Event still carries whatever
// identity (type, partner, event, member) could be read, for the rejection
// record, and the error is a *DecodeError.
func Decode(body []byte) (Event, error) {
	doc, err := DecodeJSON(body)
	if err != nil {
		return Event{}, &DecodeError{Reason: loyalty.RejectMalformedJSON, Message: "the body is not one JSON value: " + err.Error()}
	}
	ev := identity(doc)
	if err := Validate(doc); err != nil {
		var (
			ve *ViolationError
			ue *UnsupportedError
		)
		switch {
		case errors.As(err, &ue):
			return ev, &DecodeError{Reason: loyalty.RejectUnsupported, Message: ue.Error()}
		case errors.As(err, &ve):
			return ev, &DecodeError{Reason: loyalty.RejectSchemaViolation, Message: ve.Error()}
		default:
			return ev, fmt.Errorf("validate message: %w", err) // the embedded schemas are broken: a bug
		}
	}
	// The schema guarantees the shapes read below; the document is mapped
	// by hand rather than parsed a second time.
	obj := doc.(map[string]any)
	at, err := time.Parse(time.RFC3339Nano, str(obj, "occurredAt"))
	if err != nil {
		return ev, &DecodeError{Reason: loyalty.RejectSchemaViolation, Message: "at \"/occurredAt\": " + err.Error()}
	}
	partnerID, eventID := ev.PartnerID, ev.EventID
	switch ev.Type {
	case TypePurchaseCompleted:
		p := &loyalty.Purchase{Key: loyalty.PurchaseKey(partnerID, eventID), MemberID: ev.MemberID, Ref: partnerID + ":" + eventID,
			Spend: loyalty.Money{Minor: num(obj, "amountMinor"), Currency: str(obj, "currency")}, OccurredAt: at, Actor: "partner:" + partnerID}
		if lines, _ := obj["lines"].([]any); len(lines) > 0 {
			p.Lines = make([]loyalty.Line, len(lines))
			for i, v := range lines {
				l, _ := v.(map[string]any)
				p.Lines[i] = loyalty.Line{ID: str(l, "lineId"), SKU: str(l, "sku"), Category: str(l, "category"), Quantity: num(l, "quantity"), Minor: num(l, "amountMinor")}
				for _, prev := range p.Lines[:i] {
					if prev.ID == p.Lines[i].ID {
						return ev, &DecodeError{Reason: loyalty.RejectInvalidEvent, Message: fmt.Sprintf("at \"/lines/%d/lineId\": line %q appears twice; line ids are unique within a purchase", i, prev.ID)}
					}
				}
			}
		}
		ev.Purchase = p
	case TypePurchaseRefunded:
		r := &loyalty.Refund{Key: loyalty.RefundKey(partnerID, eventID), MemberID: ev.MemberID,
			OriginalKey: loyalty.PurchaseKey(partnerID, str(obj, "originalEventId")), Ref: partnerID + ":" + eventID,
			OccurredAt: at, Actor: "partner:" + partnerID}
		if _, ok := obj["amountMinor"]; ok {
			r.Amount = &loyalty.Money{Minor: num(obj, "amountMinor"), Currency: str(obj, "currency")}
		}
		if lines, _ := obj["lines"].([]any); len(lines) > 0 {
			r.Lines = make([]loyalty.RefundLine, len(lines))
			for i, v := range lines {
				l, _ := v.(map[string]any)
				r.Lines[i] = loyalty.RefundLine{ID: str(l, "lineId"), Quantity: num(l, "quantity")}
				for _, prev := range r.Lines[:i] {
					if prev.ID == r.Lines[i].ID {
						return ev, &DecodeError{Reason: loyalty.RejectInvalidEvent, Message: fmt.Sprintf("at \"/lines/%d/lineId\": line %q appears twice; name each refunded line once", i, prev.ID)}
					}
				}
			}
		}
		ev.Refund = r
	default:
		// Validate knows only the types above.
		return ev, &DecodeError{Reason: loyalty.RejectUnsupported, Message: fmt.Sprintf("event type %q is not supported", ev.Type)}
	}
	return ev, nil
}

// identity reads what names an event, as far as the document has it, for
// logs and rejection records of events that fail validation.
func identity(doc any) Event {
	obj, _ := doc.(map[string]any)
	short := func(k string) string {
		s := str(obj, k)
		if len(s) > 128 {
			s = s[:128]
		}
		return s
	}
	ev := Event{Type: short("type"), PartnerID: short("partnerId"), EventID: short("eventId"), MemberID: loyalty.MemberID(short("memberRef"))}
	if ev.MemberID != "" {
		ev.Member = loyalty.MemberRef{Kind: loyalty.RefMemberID, Value: string(ev.MemberID)}
	}
	if m, ok := obj["member"].(map[string]any); ok {
		kind, ref := loyalty.RefKind(str(m, "kind")), str(m, "ref")
		if len(ref) > 400 {
			ref = ref[:400]
		}
		ev.Member = loyalty.MemberRef{Kind: kind, Value: ref}
		if kind == loyalty.RefMemberID && len(ref) <= 128 {
			ev.MemberID = loyalty.MemberID(ref)
		}
	}
	return ev
}

// str is obj[k] if it is a string, else "".
func str(obj map[string]any, k string) string {
	s, _ := obj[k].(string)
	return s
}

// num is obj[k] if it is an integer (the schema checked it is), else 0.
func num(obj map[string]any, k string) int64 {
	n, _ := obj[k].(json.Number)
	i, _ := strconv.ParseInt(string(n), 10, 64)
	return i
}

// DecodeParts is Decode for the admin API (httpapi.PartnerDecoder): the
// message's type, partner, how it names the member and exactly one of
// purchase and refund, or a *loyalty.Error with CodeInvalid naming the
// reason for a message that can never be processed. The member is set on
// the purchase or refund only when the message names a member id; setMember
// sets the one the reference resolved to, as Event.SetMember does.
func DecodeParts(body []byte) (typ, partnerID string, ref loyalty.MemberRef, p *loyalty.Purchase, r *loyalty.Refund,
	setMember func(id loyalty.MemberID, code string), err error) {
	ev, err := Decode(body)
	var de *DecodeError
	if errors.As(err, &de) {
		return ev.Type, ev.PartnerID, ev.Member, nil, nil, nil, &loyalty.Error{Code: loyalty.CodeInvalid, Field: string(de.Reason), Message: de.Message}
	}
	if err != nil {
		return ev.Type, ev.PartnerID, ev.Member, nil, nil, nil, err
	}
	return ev.Type, ev.PartnerID, ev.Member, ev.Purchase, ev.Refund, ev.SetMember, nil
}
