package ingest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// tillFixture is a handler whose service has the card store, a code sealer
// and a clock the test moves.
func tillFixture(t *testing.T, configure ...func(*loyalty.Program)) (fixture, *loyalty.Service, *storecontract.Clock) {
	t.Helper()
	clock := storecontract.NewClock(clockAt)
	var svc *loyalty.Service
	f := newFixture(t, nil, func(c *ingest.Config) {
		prog := *c.Service.Program
		prog.Partners = append([]loyalty.Partner(nil), prog.Partners...)
		for _, fn := range configure {
			fn(&prog)
		}
		st := c.Rejections.(*dynamo.Store)
		svc = storecontract.TillService(t, st, &prog, clock, storecontract.CodeSecret)
		c.Service = svc
	})
	return f, svc, clock
}

// v2Purchase is a purchase.completed version 2 of the coffee shop naming
// its member by kind.
func v2Purchase(event string, kind loyalty.RefKind, ref string, minor int) string {
	return `{"type":"purchase.completed","version":2,"partnerId":"demo-coffee-berlin","eventId":"` + event +
		`","member":{"kind":"` + string(kind) + `","ref":"` + ref + `"},"occurredAt":"2026-03-13T08:30:00Z","currency":"EUR","amountMinor":` +
		itoa(minor) + `}`
}

func itoa(n int) string {
	var b []byte
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

func (f fixture) wantRejected(tb testing.TB, messageID string, reason loyalty.RejectReason) loyalty.Rejection {
	tb.Helper()
	r := f.rejection(tb, messageID)
	if r.Reason != reason || r.Message == "" {
		tb.Errorf("rejection of %s: got %s (%s), want %s with a message", messageID, r.Reason, r.Message, reason)
	}
	return r
}

// The samples' card: a purchase and a refund by card number, then the card
// is lost: the old number is refused, the new one earns, the balance keeps
// every point, and the lost card's purchase can still be refunded.
func TestPurchaseByCardAndCardReplacedAfterLoss(t *testing.T) {
	f, svc, _ := tillFixture(t)
	ctx := context.Background()
	old := loyalty.Card{Number: "6280440213370014", Member: "member-0001", State: loyalty.CardActive, IssuedAt: clockAt}
	if err := f.store.IssueCard(ctx, old); err != nil {
		t.Fatal(err)
	}
	body := string(readFile(t, partnerDir+"/samples/purchase.completed/till-card.json"))
	if failed := f.handle(t, batch(message("card-1", body, 1))); len(failed) != 0 {
		t.Fatalf("purchase by card: got failures %v", failed)
	}
	if got := f.balance(t, "member-0001"); got != 12 {
		t.Fatalf("balance after the card purchase: got %d, want 12", got)
	}
	next, err := svc.ReplaceCard(ctx, "member-0001", old.Number)
	if err != nil {
		t.Fatal(err)
	}
	if failed := f.handle(t, batch(
		message("lost-1", v2Purchase("pos-7-000300", loyalty.RefCard, old.Number.Printable(), 5000), 1),
		message("new-1", v2Purchase("pos-7-000301", loyalty.RefCard, string(next.Number), 800), 1),
	)); len(failed) != 0 {
		t.Fatalf("purchases after the replacement: got failures %v", failed)
	}
	r := f.wantRejected(t, "lost-1", loyalty.RejectCardBlocked)
	if r.MemberID != "" || strings.Contains(r.Message, "member-0001") {
		t.Errorf("rejection of the lost card: got member %q message %q, want no member id", r.MemberID, r.Message)
	}
	if got := f.balance(t, "member-0001"); got != 20 {
		t.Errorf("balance: got %d, want 20 (12 on the lost card, 8 on the new one)", got)
	}
	refund := string(readFile(t, partnerDir+"/samples/purchase.refunded/till-card-refund.json"))
	if failed := f.handle(t, batch(message("refund-1", refund, 1))); len(failed) != 0 {
		t.Fatalf("refund on the lost card: got failures %v", failed)
	}
	if got := f.balance(t, "member-0001"); got != 11 {
		t.Errorf("balance after refunding the beans (9 points) of the lost card's purchase: got %d, want 11", got)
	}
	if failed := f.handle(t, batch(message("unknown-1", v2Purchase("pos-7-000302", loyalty.RefCard, "6280440213370022", 800), 1))); len(failed) != 0 {
		t.Fatalf("unknown card: got failures %v", failed)
	}
	f.wantRejected(t, "unknown-1", loyalty.RejectCardUnknown)
	f.audit(t)
}

// One code shown to two tills at once: both messages arrive in one batch
// and run concurrently; exactly one purchase is credited, the other is a
// recorded code_used, and a redelivery of the one that got it replays.
func TestCodeUsedByTwoTillsAtOnceCreditsOnce(t *testing.T) {
	f, svc, _ := tillFixture(t)
	ctx := context.Background()
	for round := range 3 {
		code, err := svc.IssueCode(ctx, "member-0001")
		if err != nil {
			t.Fatal(err)
		}
		a, b := "qr-"+itoa(round), "short-"+itoa(round)
		msgs := []events.SQSMessage{
			message(a, v2Purchase("till-a-"+itoa(round), loyalty.RefCode, code.QR, 1500), 1),
			message(b, v2Purchase("till-b-"+itoa(round), loyalty.RefCode, code.Short, 1500), 1),
		}
		if failed := f.handle(t, batch(msgs...)); len(failed) != 0 {
			t.Fatalf("round %d: got failures %v", round, failed)
		}
		rejected := 0
		for _, id := range []string{a, b} {
			if r, err := f.store.Rejection(ctx, id); err == nil {
				rejected++
				if r.Reason != loyalty.RejectCodeUsed {
					t.Errorf("round %d, %s: got rejection %s (%s), want code_used", round, id, r.Reason, r.Message)
				}
			}
		}
		if rejected != 1 {
			t.Errorf("round %d: got %d rejections, want exactly 1", round, rejected)
		}
		if got, want := f.balance(t, "member-0001"), loyalty.Points(15*(round+1)); got != want {
			t.Errorf("round %d: balance got %d, want %d (one purchase a code)", round, got, want)
		}
		if failed := f.handle(t, batch(msgs...)); len(failed) != 0 {
			t.Fatalf("round %d, redelivery: got failures %v", round, failed)
		}
		if got, want := f.balance(t, "member-0001"), loyalty.Points(15*(round+1)); got != want {
			t.Errorf("round %d, after the redelivery: balance got %d, want %d", round, got, want)
		}
	}
	f.audit(t)
}

// An expired code, in either form, and a forged QR code (the sample, which
// no secret of ours sealed, and a tampered one) are recorded rejections with
// their own reasons; nothing is credited.
func TestExpiredAndForgedCodesAreRejectedWithTheirReasons(t *testing.T) {
	f, svc, clock := tillFixture(t)
	ctx := context.Background()
	code, err := svc.IssueCode(ctx, "member-0001")
	if err != nil {
		t.Fatal(err)
	}
	forged := string(readFile(t, partnerDir+"/samples/purchase.completed/till-code-qr.json"))
	tampered := code.QR[:len(code.QR)-4] + "AAAA"
	if failed := f.handle(t, batch(message("forged-1", forged, 1),
		message("forged-2", v2Purchase("pos-7-000400", loyalty.RefCode, tampered, 900), 1))); len(failed) != 0 {
		t.Fatalf("forged codes: got failures %v", failed)
	}
	f.wantRejected(t, "forged-1", loyalty.RejectCodeForged)
	f.wantRejected(t, "forged-2", loyalty.RejectCodeForged)
	clock.Advance(2*time.Minute + time.Second)
	if failed := f.handle(t, batch(message("expired-qr", v2Purchase("pos-7-000401", loyalty.RefCode, code.QR, 900), 1),
		message("expired-short", v2Purchase("pos-7-000402", loyalty.RefCode, code.Short, 900), 1))); len(failed) != 0 {
		t.Fatalf("expired codes: got failures %v", failed)
	}
	f.wantRejected(t, "expired-qr", loyalty.RejectCodeExpired)
	f.wantRejected(t, "expired-short", loyalty.RejectCodeExpired)
	if got := f.balance(t, "member-0001"); got != 0 {
		t.Errorf("balance: got %d, want 0", got)
	}
}

// A till the program does not allow member ids: its version 1 message (a
// member id in memberRef) is refused as member_ref_not_allowed, and the
// same member by card earns.
func TestMemberIDFromATillIsRefused(t *testing.T) {
	f, svc, _ := tillFixture(t, func(p *loyalty.Program) {
		for i := range p.Partners {
			if p.Partners[i].ID == "demo-coffee-berlin" {
				p.Partners[i].MemberIDs = false
			}
		}
	})
	ctx := context.Background()
	body := string(readFile(t, partnerDir+"/samples/purchase.completed/coffee-with-lines.json"))
	card, err := svc.MemberCard(ctx, "member-0001")
	if err != nil {
		t.Fatal(err)
	}
	if failed := f.handle(t, batch(message("v1", body, 1),
		message("v2", v2Purchase("pos-7-000500", loyalty.RefCard, string(card.Number), 2450), 1))); len(failed) != 0 {
		t.Fatalf("got failures %v", failed)
	}
	f.wantRejected(t, "v1", loyalty.RejectRefNotAllowed)
	if _, err := f.store.Rejection(ctx, "v2"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("the purchase by card: got rejection %v, want it applied", err)
	}
	if got := f.balance(t, "member-0001"); got != 24 {
		t.Errorf("balance: got %d, want 24 (the card purchase only)", got)
	}
}
