package localstack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// tillPurchase is the coffee shop's purchase.completed version 2, naming
// the member by kind.
func tillPurchase(event string, kind loyalty.RefKind, ref string, minor int) map[string]any {
	return map[string]any{"type": "purchase.completed", "version": 2, "partnerId": "demo-coffee-berlin", "eventId": event,
		"member": map[string]any{"kind": string(kind), "ref": ref}, "occurredAt": time.Now().Add(-time.Minute).Format(time.RFC3339),
		"currency": "EUR", "amountMinor": minor}
}

// rejected waits for the coffee shop's rejection of event and returns its
// reason.
func rejected(tb testing.TB, event string) loyalty.RejectReason {
	tb.Helper()
	var reason loyalty.RejectReason
	waitFor(tb, "the rejection of "+event, func() bool {
		rs, err := stack.Store.Rejections(context.Background(), loyalty.RejectionFilter{PartnerID: "demo-coffee-berlin"})
		if err != nil {
			tb.Fatal(err)
		}
		for _, r := range rs {
			if r.EventID == event {
				reason = r.Reason
				return true
			}
		}
		return false
	})
	return reason
}

// A till's day through the real binaries: the member's app shows a card
// number and a code; the till sends purchases naming the member by card,
// by the QR code and by its short form, the same code once more, and,
// after the member reported the card lost, the old number: every purchase
// that may earns, the others are recorded with their reasons.
func TestTillThroughTheQueue(t *testing.T) {
	const member = "e2e-till"
	tok := token(t, member)
	r := call(t, "GET", "/v1/me", tok, nil, "")
	card, _ := r.body["card"].(map[string]any)
	if r.status != 200 || card == nil {
		t.Fatalf("GET /v1/me: got %d %s, want the member's card", r.status, r.raw)
	}
	barcode := card["barcode"].(string)
	code := call(t, "POST", "/v1/me/codes", tok, nil, "")
	short := call(t, "POST", "/v1/me/codes", tok, nil, "")
	if code.status != 201 || short.status != 201 || strings.Contains(code.raw, member) {
		t.Fatalf("codes: got %d %s and %d %s, want 201 and no member id", code.status, code.raw, short.status, short.raw)
	}
	send(t, tillPurchase("till-card-1", loyalty.RefCard, card["number"].(string), 500))
	send(t, tillPurchase("till-qr-1", loyalty.RefCode, code.body["qr"].(string), 300))
	send(t, tillPurchase("till-short-1", loyalty.RefCode, short.body["short"].(string), 200))
	waitFor(t, "three purchases: 5 + 3 + 2 points", func() bool { return balance(t, member) >= 10 })
	send(t, tillPurchase("till-qr-again", loyalty.RefCode, code.body["qr"].(string), 900))
	if got := rejected(t, "till-qr-again"); got != loyalty.RejectCodeUsed {
		t.Errorf("the code used a second time: got %s, want code_used", got)
	}

	lost := call(t, "POST", "/v1/me/card/replacement", tok, nil, `{"lostNumber":"`+barcode+`"}`)
	if lost.status != 200 || lost.body["number"] == card["number"] {
		t.Fatalf("replacement: got %d %s, want a new card", lost.status, lost.raw)
	}
	send(t, tillPurchase("till-lost-card", loyalty.RefCard, barcode, 5000))
	if got := rejected(t, "till-lost-card"); got != loyalty.RejectCardBlocked {
		t.Errorf("the lost card: got %s, want card_blocked", got)
	}
	before := balance(t, member)
	send(t, tillPurchase("till-new-card", loyalty.RefCard, lost.body["barcode"].(string), 700))
	waitFor(t, "the new card's purchase", func() bool { return balance(t, member) >= before+7 })
	if r := adminCall(t, "GET", "/admin/members/"+member+"/audit", "", nil); r.status != 200 || r.body["consistent"] != true {
		t.Errorf("audit: got %d %s, want consistent", r.status, r.raw)
	}
}

// A printed card earns before anyone owns it: ops make a batch, the till
// sends a purchase on a card nobody claimed, and the member who claims it
// in the app takes its points.
func TestPrintedCardEarnsThenIsClaimed(t *testing.T) {
	const member = "e2e-claim"
	r := adminCall(t, "POST", "/admin/card-batches", `{"count":2}`, nil)
	cards, _ := r.body["cards"].([]any)
	if r.status != 201 || len(cards) != 2 {
		t.Fatalf("batch: got %d %s, want 2 cards", r.status, r.raw)
	}
	card := cards[0].(map[string]any)
	send(t, tillPurchase("printed-1", loyalty.RefCard, card["printed"].(string), 800))
	anon := string(loyalty.AnonymousMember(loyalty.CardNumber(card["number"].(string))))
	waitFor(t, "the unclaimed card's purchase", func() bool {
		a, err := stack.Store.Account(context.Background(), loyalty.MemberID(anon))
		return err == nil && a.Balance >= 8
	})
	claim := call(t, "POST", "/v1/me/card/claim", token(t, member), nil,
		`{"number":"`+card["number"].(string)+`","claimSecret":"`+card["claimSecret"].(string)+`"}`)
	if claim.status != 200 || claim.body["points"].(float64) < 8 || claim.body["entries"] != 1.0 {
		t.Fatalf("claim: got %d %s, want the card's points and its one purchase", claim.status, claim.raw)
	}
	if got := balance(t, member); got < 8 {
		t.Errorf("balance after the claim: got %v, want the card's points", got)
	}
}
