package httpapi_test

import (
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// testSealer seals the tests' rotating codes.
func testSealer(tb testing.TB) *loyalty.CodeSealer {
	tb.Helper()
	s, err := loyalty.NewCodeSealer([]byte("httpapi-test-code-secret-0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// The member's side of the till: GET /v1/me shows a card number (the same
// on every call), POST /v1/me/codes gives a new code each time, and a lost
// card is replaced once, a retry answering the same new card.
func TestCardAndCodesOfTheMember(t *testing.T) {
	a := newAPIs(t)
	status, me := a.call(t, sample(t, "member/get-me.json"))
	if status != 200 {
		t.Fatalf("GET /v1/me: got %d %v", status, me)
	}
	card, _ := me["card"].(map[string]any)
	number, _ := card["number"].(string)
	barcode, _ := card["barcode"].(string)
	if len(number) != 19 || strings.ReplaceAll(number, " ", "") != barcode || card["state"] != "active" {
		t.Fatalf("card: got %v, want a printed 16-digit number, its barcode, active", card)
	}
	if strings.Contains(barcode, "sample-member-1") {
		t.Errorf("card %s shows the member id", barcode)
	}
	if _, again := a.call(t, sample(t, "member/get-me.json")); again["card"].(map[string]any)["number"] != number {
		t.Errorf("card on the second call: got %v, want %s", again["card"], number)
	}

	create := sample(t, "member/create-code.json")
	status, c1 := a.call(t, create)
	_, c2 := a.call(t, create)
	if status != 201 || c1["qr"] == c2["qr"] || c1["short"] == c2["short"] || !strings.HasPrefix(c1["qr"].(string), "LFC1.") {
		t.Errorf("codes: got %d %v and %v, want 201 and two different codes", status, c1, c2)
	}
	if strings.Contains(c1["qr"].(string), "sample-member-1") {
		t.Errorf("the QR payload %s shows the member id", c1["qr"])
	}
	status, body := a.call(t, withQuery(create, "kind", "qr"))
	if status != 400 || body["code"] != "invalid_request" {
		t.Errorf("a code with a query parameter: got %d %v, want 400 invalid_request", status, body)
	}

	replace := sample(t, "member/replace-card.json")
	status, body = a.call(t, replace)
	if status != 409 || body["code"] != "conflict" {
		t.Errorf("replacing a number that is not the member's: got %d %v, want 409 conflict", status, body)
	}
	status, body = a.call(t, withBody(replace, `{"lostNumber":"1234 5678 9012 3456"}`))
	if status != 400 || body["field"] != "lostNumber" {
		t.Errorf("a mistyped number: got %d %v, want 400 on lostNumber", status, body)
	}
	status, next := a.call(t, withBody(replace, `{"lostNumber":"`+number+`"}`))
	if status != 200 || next["number"] == number || next["state"] != "active" {
		t.Fatalf("replacement: got %d %v, want 200 and a new active card", status, next)
	}
	if status, again := a.call(t, withBody(replace, `{"lostNumber":"`+barcode+`"}`)); status != 200 || again["number"] != next["number"] {
		t.Errorf("the replacement retried: got %d %v, want 200 and %v", status, again, next["number"])
	}
	if _, me := a.call(t, sample(t, "member/get-me.json")); me["card"].(map[string]any)["number"] != next["number"] {
		t.Errorf("GET /v1/me after the replacement: got %v, want the new card %v", me["card"], next["number"])
	}
}

// Printed cards: ops make a batch, a member claims one with its secret (a
// retry answers 200 again), another member cannot, and wrong numbers or
// secrets read the same.
func TestCardBatchAndClaim(t *testing.T) {
	a := newAPIs(t)
	batch := sample(t, "admin/create-card-batch.json")
	status, body := a.call(t, batch)
	cards, _ := body["cards"].([]any)
	if status != 201 || len(cards) != 3 {
		t.Fatalf("batch: got %d %v, want 201 and 3 cards", status, body)
	}
	if status, body := a.call(t, withBody(batch, `{"count":0}`)); status != 400 || body["field"] != "count" {
		t.Errorf("an empty batch: got %d %v, want 400 on count", status, body)
	}
	first := cards[0].(map[string]any)
	claimBody := `{"number":"` + first["printed"].(string) + `","claimSecret":"` + first["claimSecret"].(string) + `"}`
	claim := sample(t, "member/claim-card.json")
	if status, body := a.call(t, claim); status != 404 || body["code"] != "not_found" {
		t.Errorf("the sample's card, never printed here: got %d %v, want 404", status, body)
	}
	status, got := a.call(t, withBody(claim, claimBody))
	if status != 200 || got["card"].(map[string]any)["barcode"] != first["number"] || got["points"] != 0.0 {
		t.Fatalf("claim: got %d %v, want 200, the card, no points yet", status, got)
	}
	if status, _ := a.call(t, withBody(claim, claimBody)); status != 200 {
		t.Errorf("the claim again: got %d, want 200", status)
	}
	if status, body := a.call(t, asMember(withBody(claim, claimBody), "sample-member-2")); status != 409 || body["code"] != "conflict" {
		t.Errorf("another member's claim: got %d %v, want 409 conflict", status, body)
	}
	if status, body := a.call(t, withBody(claim, `{"number":"`+first["printed"].(string)+`"}`)); status != 400 || body["field"] != "claimSecret" {
		t.Errorf("no secret: got %d %v, want 400 on claimSecret", status, body)
	}
	// The claim retires the card's anonymous account: an operator who looks
	// it up sees its mark (state merged), as openapi.json declares it.
	anon := "card:" + first["number"].(string)
	status, view := a.call(t, withRawPath(sample(t, "admin/get-member.json"), "/admin/members/"+anon))
	if er, _ := view["erasure"].(map[string]any); status != 200 || er["state"] != "merged" || view["memberId"] != anon {
		t.Errorf("the admin view of %s: got %d %v, want 200 and its erasure in state merged", anon, status, view)
	}
}
