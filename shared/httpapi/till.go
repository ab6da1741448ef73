package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// CardView is the member's card as the app shows it (GET /v1/me, POST
// /v1/me/card/replacement): the number to print, the barcode's digits and
// where it stands. It never carries the member id.
type CardView struct {
	Number    string            `json:"number"`  // grouped by four, as printed
	Barcode   string            `json:"barcode"` // the 16 digits, for a Code 128 or QR barcode
	State     loyalty.CardState `json:"state"`
	IssuedAt  time.Time         `json:"issuedAt"`
	BlockedAt time.Time         `json:"blockedAt,omitzero"`
}

func cardView(c loyalty.Card) *CardView {
	return &CardView{Number: c.Number.Printable(), Barcode: string(c.Number), State: c.State, IssuedAt: c.IssuedAt, BlockedAt: c.BlockedAt}
}

// card is the member's card for GET /v1/me, issued on the first call; nil
// when the service has no card store wired.
func (m *MemberAPI) card(ctx context.Context, id loyalty.MemberID) (*CardView, error) {
	if m.svc.Cards == nil {
		return nil, nil
	}
	c, err := m.svc.MemberCard(ctx, id)
	if err != nil {
		return nil, err
	}
	return cardView(c), nil
}

// createCode answers 201 with a rotating code for one purchase: its QR
// payload, its short form and when it expires.
func (m *MemberAPI) createCode(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	if _, err := m.account(ctx, id); err != nil {
		return 0, nil, err
	}
	code, err := m.svc.IssueCode(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, code, nil
}

// replaceCard blocks the card the member lost and answers 200 with the new
// one; sending the same lost number again answers the same new card.
func (m *MemberAPI) replaceCard(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		LostNumber string `json:"lostNumber"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	lost, err := loyalty.ParseCardNumber("lostNumber", body.LostNumber)
	if err != nil {
		return 0, nil, err
	}
	if _, err := m.account(ctx, id); err != nil {
		return 0, nil, err
	}
	c, err := m.svc.ReplaceCard(ctx, id, lost)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, cardView(c), nil
}

// claimCard gives the caller the printed card whose number and claim
// secret they typed: its points, lots and history join their account.
func (m *MemberAPI) claimCard(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		Number      string `json:"number"`
		ClaimSecret string `json:"claimSecret"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if body.ClaimSecret == "" || len(body.ClaimSecret) > 40 {
		return 0, nil, loyalty.Invalid("claimSecret", "the claim secret under the card's scratch field is required")
	}
	c, err := m.svc.ClaimCard(ctx, id, body.Number, body.ClaimSecret)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ClaimView{Card: cardView(c.Card), Points: c.Points, Entries: c.Entries, History: c.History}, nil
}

// ClaimView is the answer of POST /v1/me/card/claim.
type ClaimView struct {
	Card    *CardView      `json:"card"`
	Points  loyalty.Points `json:"points"`  // what the card brought (0 on a retry)
	Entries int            `json:"entries"` // its purchases this call moved into the member's activity
	History string         `json:"history"` // done, or moving: the same claim again moves the rest
}

// createCardBatch answers 201 with a batch of printed cards and their
// claim secrets, shown this once.
func (a *AdminAPI) createCardBatch(ctx context.Context, r *request) (int, any, error) {
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		Count int `json:"count"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	cards, err := a.svc.GenerateCards(ctx, body.Count)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"cards": cards}, nil
}
