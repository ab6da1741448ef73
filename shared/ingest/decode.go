package ingest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Event is a decoded partner message: exactly one of Purchase and Refund.
type Event struct {
	Type      string
	PartnerID string
	EventID   string
	MemberID  loyalty.MemberID
	Purchase  *loyalty.Purchase
	Refund    *loyalty.Refund
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
	doc, err := partner.DecodeJSON(body)
	if err != nil {
		return Event{}, &DecodeError{Reason: loyalty.RejectMalformedJSON, Message: "the body is not one JSON value: " + err.Error()}
	}
	ev := identity(doc)
	if err := partner.Validate(doc); err != nil {
		var (
			ve *partner.ViolationError
			ue *partner.UnsupportedError
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
	switch ev.Type {
	case partner.TypePurchaseCompleted:
		var m partner.PurchaseCompleted
		if err := json.Unmarshal(body, &m); err != nil {
			return ev, &DecodeError{Reason: loyalty.RejectSchemaViolation, Message: err.Error()}
		}
		p := &loyalty.Purchase{Key: loyalty.PurchaseKey(m.PartnerID, m.EventID), MemberID: loyalty.MemberID(m.MemberRef),
			Ref: m.PartnerID + ":" + m.EventID, Spend: loyalty.Money{Minor: m.AmountMinor, Currency: m.Currency},
			OccurredAt: m.OccurredAt, Actor: "partner:" + m.PartnerID}
		if len(m.Lines) > 0 {
			p.Lines = make([]loyalty.Line, len(m.Lines))
			seen := make(map[string]bool, len(m.Lines))
			for i, l := range m.Lines {
				if seen[l.LineID] {
					return ev, &DecodeError{Reason: loyalty.RejectInvalidEvent, Message: fmt.Sprintf("at \"/lines/%d/lineId\": line %q appears twice; line ids are unique within a purchase", i, l.LineID)}
				}
				seen[l.LineID] = true
				p.Lines[i] = loyalty.Line{ID: l.LineID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Minor: l.AmountMinor}
			}
		}
		ev.Purchase = p
	case partner.TypePurchaseRefunded:
		var m partner.PurchaseRefunded
		if err := json.Unmarshal(body, &m); err != nil {
			return ev, &DecodeError{Reason: loyalty.RejectSchemaViolation, Message: err.Error()}
		}
		r := &loyalty.Refund{Key: loyalty.RefundKey(m.PartnerID, m.EventID), MemberID: loyalty.MemberID(m.MemberRef),
			OriginalKey: loyalty.PurchaseKey(m.PartnerID, m.OriginalEventID), Ref: m.PartnerID + ":" + m.EventID,
			OccurredAt: m.OccurredAt, Actor: "partner:" + m.PartnerID}
		if m.AmountMinor != nil {
			r.Amount = &loyalty.Money{Minor: *m.AmountMinor, Currency: m.Currency}
		}
		if len(m.Lines) > 0 {
			r.Lines = make([]loyalty.RefundLine, len(m.Lines))
			seen := make(map[string]bool, len(m.Lines))
			for i, l := range m.Lines {
				if seen[l.LineID] {
					return ev, &DecodeError{Reason: loyalty.RejectInvalidEvent, Message: fmt.Sprintf("at \"/lines/%d/lineId\": line %q appears twice; name each refunded line once", i, l.LineID)}
				}
				seen[l.LineID] = true
				r.Lines[i] = loyalty.RefundLine{ID: l.LineID, Quantity: l.Quantity}
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
	str := func(k string) string {
		s, _ := obj[k].(string)
		if len(s) > 128 {
			s = s[:128]
		}
		return s
	}
	return Event{Type: str("type"), PartnerID: str("partnerId"), EventID: str("eventId"), MemberID: loyalty.MemberID(str("memberRef"))}
}
