package ingest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A partner event of an erased member, the same one delivered again or a
// new one, credits nothing and is acknowledged as a rejection member_erased
// that keeps nothing of the member: no body, no member or event id.
func TestEventsOfAnErasedMemberAreRejectedWithoutThem(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	const member = "member-erased-0042"
	body := func(event string) string {
		return `{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":"` + event +
			`","memberRef":"` + member + `","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":1250}`
	}
	if failed := f.handle(t, batch(message("m-1", body("ev-1"), 1))); len(failed) != 0 {
		t.Fatalf("first delivery: got failures %v, want none", failed)
	}
	if got := f.balance(t, member); got != 12 {
		t.Fatalf("balance after the purchase: got %d, want 12", got)
	}
	if _, err := f.store.EraseMember(ctx, member, clockAt); err != nil {
		t.Fatal(err)
	}
	if failed := f.handle(t, batch(message("m-2", body("ev-1"), 1), message("m-3", body("ev-2"), 1))); len(failed) != 0 {
		t.Fatalf("deliveries after the erasure: got failures %v, want both acknowledged", failed)
	}
	for _, id := range []string{"m-2", "m-3"} {
		r := f.rejection(t, id)
		if r.Reason != loyalty.RejectMemberErased || r.Body != "" || r.MemberID != "" || r.EventID != "" ||
			strings.Contains(r.Message, member) || r.PartnerID != "demo-coffee-berlin" {
			t.Errorf("rejection %s: got %+v, want member_erased from demo-coffee-berlin without body, ids or the member in its message", id, r)
		}
	}
	if _, err := f.store.Account(ctx, member); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("erased member's account after the deliveries: got %v, want not found (nothing credited)", err)
	}
	if er, err := f.store.ErasureStatus(ctx, member); err != nil || er.Entries != 1 || er.Balance != 12 {
		t.Errorf("receipt after the deliveries: got %+v (%v), want the first: 1 entry, balance 12", er, err)
	}
}
