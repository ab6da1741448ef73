package httpapi_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The admin API takes the partner queue's messages with the same contract
// and keys: a purchase and a partial refund by lines, each counted once.
func TestPartnerEventsServerToServer(t *testing.T) {
	a := newMemAPIs(t)
	purchase, err := os.ReadFile(filepath.Join("..", "..", "events", "partner", "samples", "purchase.completed", "coffee-with-lines.json"))
	if err != nil {
		t.Fatal(err)
	}
	refund := sample(t, "admin/record-partner-event.json") // refunds line 3 (10.00 of 24.50)
	send := func(body string) (int, map[string]any) {
		ev := sample(t, "admin/record-partner-event.json")
		ev.Body = body
		return a.call(t, ev)
	}
	// The refund first: its purchase is not there yet.
	if status, body := a.call(t, refund); status != 404 || body["code"] != "not_found" {
		t.Errorf("refund before its purchase: got %d %v, want 404 not_found", status, body)
	}
	for i := range 2 {
		status, body := send(string(purchase))
		if status != 200 || body["entry"].(map[string]any)["points"] != 24.0 || body["replayed"] != (i == 1) {
			t.Fatalf("purchase delivery %d: got %d %v, want 24 points, replayed=%v", i, status, body, i == 1)
		}
	}
	for i := range 2 {
		status, body := a.call(t, refund)
		if status != 200 || body["entry"].(map[string]any)["points"] != -10.0 || body["replayed"] != (i == 1) {
			t.Fatalf("refund delivery %d: got %d %v, want -10 points (24 x 1000/2450, half up), replayed=%v", i, status, body, i == 1)
		}
	}
	if bal := a.balance(t, "member-0001"); bal != 14 {
		t.Errorf("balance: got %d, want 14", bal)
	}
	for name, c := range map[string]struct {
		body, code string
		status     int
	}{
		"unknown partner":   {strings.Replace(string(purchase), `"demo-coffee-berlin"`, `"stranger"`, 1), "invalid_request", 400},
		"schema violation":  {strings.Replace(string(purchase), `"amountMinor": 2450`, `"amountMinor": -1`, 1), "invalid_request", 400},
		"not JSON":          {`{"type":`, "invalid_request", 400},
		"unsupported type":  {strings.Replace(string(purchase), `"purchase.completed"`, `"purchase.voided"`, 1), "invalid_request", 400},
		"same id, new body": {strings.Replace(string(purchase), `"amountMinor": 2450`, `"amountMinor": 2451`, 1), "idempotency_key_reused", 409},
	} {
		if status, body := send(c.body); status != c.status || body["code"] != c.code {
			t.Errorf("%s: got %d %v, want %d %s", name, status, body, c.status, c.code)
		}
	}
}

func (a memAPIs) balance(tb testing.TB, member string) int64 {
	tb.Helper()
	acct, err := a.store.Account(tb.Context(), loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("account %s: %v", member, err)
	}
	return int64(acct.Balance)
}

// The customer class the weekly job records is visible to the member.
func TestMeShowsTheCustomerClass(t *testing.T) {
	a := newMemAPIs(t)
	_, before := a.call(t, sample(t, "member/get-me.json"))
	if before["class"] != nil {
		t.Errorf("before any classification: got class %v, want null", before["class"])
	}
	if err := a.store.PutMemberClass(t.Context(), "sample-member-1", loyalty.MemberClass{Class: "loyal", Since: "2026-11-23", ReviewedOn: "2026-11-23"}); err != nil {
		t.Fatal(err)
	}
	_, after := a.call(t, sample(t, "member/get-me.json"))
	if c, _ := after["class"].(map[string]any); c["class"] != "loyal" || c["since"] != "2026-11-23" {
		t.Errorf("after classification: got class %v, want loyal since 2026-11-23", after["class"])
	}
}

// POST /admin/purchases takes only a partner the program lists, and no
// partner id that could collide in a ledger key ("a:b" + "c" is the key of
// "a" + "b:c"); nothing is credited for a refused one.
func TestAdminPurchaseChecksThePartner(t *testing.T) {
	a := newMemAPIs(t)
	for name, partner := range map[string]string{"unlisted": "stranger", "colon": "shop-berlin-01:x", "empty": ""} {
		ev := sample(t, "admin/record-purchase.json")
		ev.Body = `{"partnerId":"` + partner + `","eventId":"pos-1","memberId":"member-0009","occurredAt":"2026-11-24T09:10:00+01:00","amount":{"amountMinor":2550,"currency":"EUR"}}`
		status, body := a.call(t, ev)
		if status != 400 || body["code"] != "invalid_request" || body["field"] != "partnerId" {
			t.Errorf("%s partner %q: got %d %v, want 400 invalid_request on partnerId", name, partner, status, body)
		}
	}
	if _, err := a.store.Account(t.Context(), "member-0009"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("member-0009 after the refused purchases: got %v, want no account", err)
	}
	ev := sample(t, "admin/record-purchase.json")
	ev.Body = `{"partnerId":"shop-berlin-01","eventId":"pos-1","memberId":"member-0009","occurredAt":"2026-11-24T09:10:00+01:00","amount":{"amountMinor":2550,"currency":"EUR"}}`
	if status, body := a.call(t, ev); status != 200 {
		t.Errorf("listed partner: got %d %v, want 200", status, body)
	}
}

// The admin door takes version 2 messages as the queue does: the member by
// card number, rotating code (QR payload or short form) or member id, and
// the queue's rejections as 400 naming the reason; a printed card nobody
// claimed earns into its anonymous account, and after its claim into its
// owner's. Each kind is sent as a till sends it (spaces in a card number).
func TestPartnerEventsVersion2ByKind(t *testing.T) {
	a := newMemAPIs(t)
	at := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	n := 0
	send := func(typ, partnerID, kind, ref, extra string) (int, map[string]any) {
		n++
		ev := sample(t, "admin/record-partner-event.json")
		ev.Body = fmt.Sprintf(`{"type":%q,"version":2,"partnerId":%q,"eventId":"v2-%d","member":{"kind":%q,"ref":%q},"occurredAt":%q,"currency":"EUR"%s}`,
			typ, partnerID, n, kind, ref, at, extra)
		return a.call(t, ev)
	}
	buy := func(partnerID, kind, ref string) (int, map[string]any) {
		return send("purchase.completed", partnerID, kind, ref, `,"amountMinor":1250`)
	}
	wantPoints := func(what string, status int, body map[string]any, points float64) {
		t.Helper()
		if status != 200 || body["entry"].(map[string]any)["points"] != points || body["replayed"] != false {
			t.Errorf("%s: got %d %v, want 200 and %v points", what, status, body, points)
		}
	}
	wantRefused := func(what string, status int, body map[string]any, reason loyalty.RejectReason) {
		t.Helper()
		if status != 400 || body["code"] != "invalid_request" || body["field"] != string(reason) {
			t.Errorf("%s: got %d %v, want 400 invalid_request on %s", what, status, body, reason)
		}
	}

	_, me := a.call(t, sample(t, "member/get-me.json"))
	card := me["card"].(map[string]any)["number"].(string) // printed: 4 groups of 4
	status, body := buy("demo-coffee-berlin", "card", card)
	wantPoints("by card", status, body, 12)
	status, body = send("purchase.refunded", "demo-coffee-berlin", "card", card, fmt.Sprintf(`,"originalEventId":"v2-%d","amountMinor":1250`, n))
	wantPoints("a refund by card", status, body, -12)
	unknown, err := loyalty.NewCardNumber(nil)
	if err != nil {
		t.Fatal(err)
	}
	status, body = buy("demo-coffee-berlin", "card", string(unknown))
	wantRefused("an unknown card", status, body, loyalty.RejectCardUnknown)

	create := sample(t, "member/create-code.json")
	_, code := a.call(t, create)
	status, body = buy("demo-coffee-berlin", "code", code["qr"].(string))
	wantPoints("by QR payload", status, body, 12)
	status, body = buy("demo-coffee-berlin", "code", code["qr"].(string))
	wantRefused("the QR payload again", status, body, loyalty.RejectCodeUsed)
	qr := code["qr"].(string)
	forged := qr[:len(qr)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(qr, "AA")]
	status, body = buy("demo-coffee-berlin", "code", forged)
	wantRefused("a forged QR payload", status, body, loyalty.RejectCodeForged)
	_, code = a.call(t, create)
	status, body = buy("demo-coffee-berlin", "code", code["short"].(string))
	wantPoints("by short form", status, body, 12)
	status, body = buy("demo-coffee-berlin", "code", "0000000000")
	wantRefused("an unknown short form", status, body, loyalty.RejectCodeUnknown)

	status, body = buy("demo-coffee-berlin", "memberId", "sample-member-1")
	wantPoints("by member id from a partner allowed them", status, body, 12)
	status, body = buy("shop-berlin-01", "memberId", "sample-member-1")
	wantRefused("by member id from a partner not allowed them", status, body, loyalty.RejectRefNotAllowed)
	if bal := a.balance(t, "sample-member-1"); bal != 36 {
		t.Errorf("sample-member-1's balance: got %d, want 36 (four purchases of 12, one refunded; nothing for the refused)", bal)
	}

	ev := sample(t, "admin/create-card-batch.json")
	ev.Body = `{"count":1}`
	status, batch := a.call(t, ev)
	if status != 201 {
		t.Fatalf("card batch: got %d %v", status, batch)
	}
	printed := batch["cards"].([]any)[0].(map[string]any)
	status, body = buy("demo-coffee-berlin", "card", printed["printed"].(string))
	wantPoints("by a printed card nobody claimed", status, body, 12)
	anon := string(loyalty.AnonymousMember(loyalty.CardNumber(printed["number"].(string))))
	if bal := a.balance(t, anon); bal != 12 {
		t.Errorf("the printed card's balance: got %d, want 12", bal)
	}
	claim := withBody(asMember(sample(t, "member/claim-card.json"), "sample-member-2"),
		`{"number":"`+printed["printed"].(string)+`","claimSecret":"`+printed["claimSecret"].(string)+`"}`)
	if status, got := a.call(t, claim); status != 200 || got["history"] != "done" || got["entries"] != 1.0 {
		t.Fatalf("claim: got %d %v, want 200, one entry moved, history done", status, got)
	}
	status, body = buy("demo-coffee-berlin", "card", printed["number"].(string))
	wantPoints("by the printed card after its claim", status, body, 12)
	if bal := a.balance(t, "sample-member-2"); bal != 24 {
		t.Errorf("sample-member-2's balance: got %d, want 24", bal)
	}
}
