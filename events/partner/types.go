package partner

import "time"

// Line is a line item of a purchase.
type Line struct {
	LineID      string `json:"lineId"`
	SKU         string `json:"sku"`
	Category    string `json:"category"`
	Quantity    int64  `json:"quantity"`
	AmountMinor int64  `json:"amountMinor"` // the whole line, not one item
}

// PurchaseCompleted is a purchase.completed event, version 1.
type PurchaseCompleted struct {
	Type        string    `json:"type"`
	Version     int64     `json:"version"`
	PartnerID   string    `json:"partnerId"`
	EventID     string    `json:"eventId"`
	MemberRef   string    `json:"memberRef"`
	OccurredAt  time.Time `json:"occurredAt"`
	Currency    string    `json:"currency"`
	AmountMinor int64     `json:"amountMinor"`
	Lines       []Line    `json:"lines,omitempty"`
}

// RefundLine names a refunded line of the original purchase and how many of
// its items were refunded.
type RefundLine struct {
	LineID   string `json:"lineId"`
	Quantity int64  `json:"quantity"`
}

// PurchaseRefunded is a purchase.refunded event, version 1: exactly one of
// AmountMinor and Lines is set.
type PurchaseRefunded struct {
	Type            string       `json:"type"`
	Version         int64        `json:"version"`
	PartnerID       string       `json:"partnerId"`
	EventID         string       `json:"eventId"`
	MemberRef       string       `json:"memberRef"`
	OccurredAt      time.Time    `json:"occurredAt"`
	OriginalEventID string       `json:"originalEventId"`
	Currency        string       `json:"currency"`
	AmountMinor     *int64       `json:"amountMinor,omitempty"`
	Lines           []RefundLine `json:"lines,omitempty"`
}

// Member names the member of a version 2 event by kind: "card" (the card
// number), "code" (a rotating code's QR payload or short form) or
// "memberId" (only partners the program file allows).
type Member struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
}

// PurchaseCompletedV2 is a purchase.completed event, version 2: version 1
// with Member instead of MemberRef.
type PurchaseCompletedV2 struct {
	Type        string    `json:"type"`
	Version     int64     `json:"version"`
	PartnerID   string    `json:"partnerId"`
	EventID     string    `json:"eventId"`
	Member      Member    `json:"member"`
	OccurredAt  time.Time `json:"occurredAt"`
	Currency    string    `json:"currency"`
	AmountMinor int64     `json:"amountMinor"`
	Lines       []Line    `json:"lines,omitempty"`
}
