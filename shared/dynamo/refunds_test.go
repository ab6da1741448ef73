package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func (f fixture) refund(member, event, orig string, amount int64, lines ...loyalty.RefundLine) loyalty.Refund {
	r := loyalty.Refund{Key: loyalty.RefundKey("shop1", event), MemberID: loyalty.MemberID(member),
		OriginalKey: loyalty.PurchaseKey("shop1", orig), Ref: "shop1:" + event, Lines: lines,
		OccurredAt: f.clock.Now(), Actor: "partner:shop1"}
	if amount > 0 {
		r.Amount = &loyalty.Money{Minor: amount, Currency: "EUR"}
	}
	return r
}

func TestPurchaseLinesAndRefundStateAreStored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.purchase("m-lines", "e1", 3000, f.clock.Now())
	p.Lines = []loyalty.Line{{ID: "1", SKU: "ESP", Category: "coffee", Quantity: 2, Minor: 1000}, {ID: "2", SKU: "BEANS", Category: "retail", Quantity: 1, Minor: 2000}}
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	res, err := f.svc.Refund(ctx, f.refund("m-lines", "r1", "e1", 0, loyalty.RefundLine{ID: "1", Quantity: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Entry.Delta != -5 { // 30 * 500/3000
		t.Errorf("first refund: got delta %d, want -5", res.Entry.Delta)
	}
	orig, err := f.store.Entry(ctx, "m-lines", loyalty.PurchaseKey("shop1", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(orig.Lines) != 2 || orig.Lines[1] != p.Lines[1] {
		t.Errorf("stored lines: got %+v, want %+v", orig.Lines, p.Lines)
	}
	if orig.Refund == nil || orig.Refund.Seq != 1 || orig.Refund.Minor != 500 || orig.Refund.Points != 5 || orig.Refund.Lines["1"] != 1 || orig.Reversed != 5 {
		t.Errorf("stored refund state: got %+v reversed %d, want seq 1, 500 minor, 5 points, line 1 x1, reversed 5", orig.Refund, orig.Reversed)
	}
	// The same line again, under another refund event, takes nothing more
	// than the one item left; a third time nothing at all.
	res, err = f.svc.Refund(ctx, f.refund("m-lines", "r2", "e1", 0, loyalty.RefundLine{ID: "1", Quantity: 2}))
	if err != nil || res.Entry.Delta != -5 {
		t.Errorf("second refund of line 1: got %d, %v; want -5", res.Entry.Delta, err)
	}
	res, err = f.svc.Refund(ctx, f.refund("m-lines", "r3", "e1", 0, loyalty.RefundLine{ID: "1", Quantity: 2}))
	if err != nil || res.Entry.Delta != 0 || res.Replayed {
		t.Errorf("third refund of line 1: got %d replayed=%v, %v; want 0, a new entry", res.Entry.Delta, res.Replayed, err)
	}
	res, err = f.svc.Refund(ctx, f.refund("m-lines", "r3", "e1", 0, loyalty.RefundLine{ID: "1", Quantity: 2}))
	if err != nil || !res.Replayed {
		t.Errorf("redelivered third refund: got replayed=%v, %v; want a replay", res.Replayed, err)
	}
	if got := f.balance(t, "m-lines"); got != 20 {
		t.Errorf("balance: got %d, want 20", got)
	}
	f.audit(t)
}

// TestConcurrentRefundsOfOneLineCountItOnce sends 20 refund events of the
// same line at once: the refund state's condition lets one take the points.
func TestConcurrentRefundsOfOneLineCountItOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.purchase("m-race", "e1", 10_000, f.clock.Now())
	p.Lines = []loyalty.Line{{ID: "a", Quantity: 1, Minor: 4000}, {ID: "b", Quantity: 1, Minor: 6000}}
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	deltas := make([]loyalty.Points, 20)
	for i := range 20 {
		wg.Go(func() {
			res, err := f.svc.Refund(ctx, f.refund("m-race", fmt.Sprintf("r%d", i), "e1", 0, loyalty.RefundLine{ID: "a", Quantity: 1}))
			if err != nil {
				t.Errorf("refund %d: %v", i, err)
			}
			deltas[i] = res.Entry.Delta
		})
	}
	wg.Wait()
	var taking int
	var total loyalty.Points
	for _, d := range deltas {
		if d != 0 {
			taking++
		}
		total += d
	}
	if taking != 1 || total != -40 {
		t.Errorf("got %d refunds taking %d points in total, want 1 taking -40", taking, total)
	}
	if got := f.balance(t, "m-race"); got != 60 {
		t.Errorf("balance: got %d, want 60", got)
	}
	f.audit(t)
}

func TestConcurrentAmountRefundsNeverTakeMoreThanEarned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Accrue(ctx, f.purchase("m-amt", "e1", 10_000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if _, err := f.svc.Refund(ctx, f.refund("m-amt", fmt.Sprintf("r%d", i), "e1", 1000)); err != nil {
				t.Errorf("refund %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := f.balance(t, "m-amt"); got != 0 {
		t.Errorf("balance after refunds of 120 EUR of a 100 EUR purchase: got %d, want 0", got)
	}
	orig, err := f.store.Entry(ctx, "m-amt", loyalty.PurchaseKey("shop1", "e1"))
	if err != nil {
		t.Fatal(err)
	}
	if orig.Refund.Minor != 10_000 || orig.Reversed != 100 || orig.Refund.Seq != 10 {
		t.Errorf("refund state: got %+v reversed %d, want 10000 minor in 10 refunds, reversed 100", orig.Refund, orig.Reversed)
	}
	f.audit(t)
}

func TestRefundOfUnknownPurchaseWritesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.svc.Refund(ctx, f.refund("m-early", "r1", "never", 500))
	if got := loyalty.ErrorCode(err); got != loyalty.CodeNotFound {
		t.Fatalf("got %q (%v), want %q", got, err, loyalty.CodeNotFound)
	}
	if _, err := f.store.Account(ctx, "m-early"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("account: got %v, want none", err)
	}
}
