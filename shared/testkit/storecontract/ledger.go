package storecontract

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// One purchase delivered 50 times at once is credited once; every delivery
// answers the same entry. Half of them come as the queue's redeliveries
// (Purchase.Redelivered), which a store may answer from a read.
func testAccrualOnce(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	p := Purchase("m-50", "evt-1", 12_345, f.clock.Now()) // 123.45 EUR: 123 points
	results := make([]loyalty.Result, 50)
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		q := p
		q.Redelivered = i%2 == 1
		wg.Go(func() { results[i], errs[i] = f.svc.Accrue(ctx, q) })
	}
	wg.Wait()
	firsts := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if !results[i].Replayed {
			firsts++
		}
		if e := results[i].Entry; e.Delta != 123 || e.Key != p.Key {
			t.Errorf("delivery %d: got entry %s with delta %d, want %s with 123", i, e.Key, e.Delta, p.Key)
		}
	}
	if firsts != 1 {
		t.Errorf("first deliveries: got %d, want 1", firsts)
	}
	if got := f.balance(t, "m-50"); got != 123 {
		t.Errorf("balance: got %d, want 123", got)
	}
	if got := len(f.ledger(t, "m-50")); got != 1 {
		t.Errorf("ledger entries: got %d, want 1", got)
	}
	f.audit(t, "m-50")
}

// A replay a year later, after the account moved on, returns the first
// entry and changes nothing: ledger keys are spent forever.
func testReplayMuchLater(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "mug", 30, 0)
	p := Purchase("m-late", "evt-1", 5_000, f.clock.Now())
	first, err := f.svc.Accrue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	red, _, err := f.svc.Redeem(ctx, "m-late", "k-1", "mug")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(400 * 24 * time.Hour)
	f.accrue(t, "m-late", "evt-2", 2_000)
	before := f.account(t, "m-late")

	again, err := f.svc.Accrue(ctx, p)
	if err != nil {
		t.Fatalf("replay 400 days later: %v", err)
	}
	if !again.Replayed || again.Entry.Key != first.Entry.Key || again.Entry.Delta != first.Entry.Delta ||
		!again.Entry.At.Equal(first.Entry.At) || lotsOf(again.Entry.Lots) != lotsOf(first.Entry.Lots) {
		t.Errorf("replay 400 days later: got replayed=%v %s delta %d at %s lots %v, want the first entry %s delta %d at %s lots %v",
			again.Replayed, again.Entry.Key, again.Entry.Delta, again.Entry.At, again.Entry.Lots,
			first.Entry.Key, first.Entry.Delta, first.Entry.At, first.Entry.Lots)
	}
	red2, res2, err := f.svc.Redeem(ctx, "m-late", "k-1", "mug")
	if err != nil {
		t.Fatalf("redemption replayed 400 days later: %v", err)
	}
	if !res2.Replayed || red2.ID != red.ID || red2.Code != red.Code || !red2.IssuedAt.Equal(red.IssuedAt) {
		t.Errorf("redemption replayed 400 days later: got replayed=%v id %s code %s issued %s, want id %s code %s issued %s",
			res2.Replayed, red2.ID, red2.Code, red2.IssuedAt, red.ID, red.Code, red.IssuedAt)
	}
	after := f.account(t, "m-late")
	if after.Balance != before.Balance || after.Version != before.Version {
		t.Errorf("account after the replays: got balance %d version %d, want %d and %d (unchanged)",
			after.Balance, after.Version, before.Balance, before.Version)
	}
	if got := len(f.ledger(t, "m-late")); got != 3 {
		t.Errorf("ledger entries: got %d, want 3", got)
	}
	f.audit(t, "m-late")
}

// The same key with another request is idempotency_key_reused, for every
// kind of operation, and changes nothing.
func testKeyReuse(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "a", 1, 0)
	f.putReward(t, "b", 2, 0)
	p := Purchase("m-reuse", "evt-1", 1_000, f.clock.Now())
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Redeem(ctx, "m-reuse", "k-1", "a"); err != nil {
		t.Fatal(err)
	}
	adj := loyalty.Adjustment{Key: "fix-1", MemberID: "m-reuse", Points: 5, Reason: "goodwill", Actor: "ops:test"}
	if _, err := f.svc.Adjust(ctx, adj); err != nil {
		t.Fatal(err)
	}
	before := f.account(t, "m-reuse")
	other := p
	other.Spend.Minor = 9_000
	_, err := f.svc.Accrue(ctx, other)
	wantCode(t, "purchase event again with another amount", err, loyalty.CodeIdempotencyReuse)
	_, _, err = f.svc.Redeem(ctx, "m-reuse", "k-1", "b")
	wantCode(t, "Idempotency-Key again for another reward", err, loyalty.CodeIdempotencyReuse)
	adj.Points = 50
	_, err = f.svc.Adjust(ctx, adj)
	wantCode(t, "adjustment key again with other points", err, loyalty.CodeIdempotencyReuse)
	after := f.account(t, "m-reuse")
	if after.Balance != before.Balance || after.Version != before.Version || before.Balance != 10-1+5 {
		t.Errorf("account: got balance %d version %d, want %d (10 - 1 + 5) at version %d", after.Balance, after.Version, 14, before.Version)
	}
}

// 100 redemptions of 10 points at once on 95 points: exactly 9 succeed.
func testNoOverspend(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 10, 30)
	f.accrue(t, "m-95", "evt-95", 9_500)
	var (
		wg                    sync.WaitGroup
		mu                    sync.Mutex
		ok, insufficient, bad int
		ids                   = map[string]bool{}
	)
	for i := range 100 {
		wg.Go(func() {
			red, _, err := f.svc.Redeem(ctx, "m-95", fmt.Sprintf("key-%03d", i), "coffee")
			mu.Lock()
			defer mu.Unlock()
			switch loyalty.ErrorCode(err) {
			case "":
				ok++
				ids[red.ID] = true
			case loyalty.CodeInsufficientPoints:
				insufficient++
			default:
				bad++
				t.Errorf("redemption %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if ok != 9 || insufficient != 91 || bad != 0 || len(ids) != 9 {
		t.Errorf("got %d successes (%d distinct), %d insufficient, %d other; want 9 (9), 91, 0", ok, len(ids), insufficient, bad)
	}
	if got := f.balance(t, "m-95"); got != 5 {
		t.Errorf("balance: got %d, want 5", got)
	}
	reds, err := f.st.Redemptions(ctx, "m-95")
	if err != nil || len(reds) != 9 {
		t.Errorf("redemptions stored: got %d (%v), want 9", len(reds), err)
	}
	f.audit(t, "m-95")
}

// One redemption (one Idempotency-Key) sent 20 times at once spends once,
// and every call answers the first redemption.
func testConcurrentDuplicates(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 30, 30)
	f.accrue(t, "m-dup", "evt-1", 5_000)
	const n = 20
	reds := make([]loyalty.Redemption, n)
	results := make([]loyalty.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { reds[i], results[i], errs[i] = f.svc.Redeem(ctx, "m-dup", "k-1", "coffee") })
	}
	wg.Wait()
	firsts, ids := 0, map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Errorf("redemption %d: got %v, want the first redemption", i, errs[i])
			continue
		}
		if !results[i].Replayed {
			firsts++
		}
		ids[reds[i].ID+" "+reds[i].Code] = true
		if results[i].Entry.Delta != -30 || reds[i].State != loyalty.RedemptionIssued {
			t.Errorf("redemption %d: got delta %d state %s, want -30 and issued", i, results[i].Entry.Delta, reds[i].State)
		}
	}
	if firsts != 1 || len(ids) != 1 {
		t.Errorf("redemptions that wrote: got %d with %d distinct codes, want 1 with 1", firsts, len(ids))
	}
	if got := f.balance(t, "m-dup"); got != 20 {
		t.Errorf("balance: got %d, want 20", got)
	}
	if reds, err := f.st.Redemptions(ctx, "m-dup"); err != nil || len(reds) != 1 {
		t.Errorf("redemptions stored: got %d (%v), want 1", len(reds), err)
	}
	f.audit(t, "m-dup")
}

// Cancelling one redemption 20 times at once gives the points back once,
// and every call answers the first cancellation.
func testConcurrentCancels(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 30, 30)
	f.accrue(t, "m-cancel", "evt-1", 5_000)
	red, _, err := f.svc.Redeem(ctx, "m-cancel", "k-1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	reds := make([]loyalty.Redemption, n)
	results := make([]loyalty.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { reds[i], results[i], errs[i] = f.svc.CancelRedemption(ctx, "m-cancel", red.ID) })
	}
	wg.Wait()
	firsts := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("cancel %d: got %v, want the first cancellation", i, errs[i])
			continue
		}
		if !results[i].Replayed {
			firsts++
		}
		if reds[i].State != loyalty.RedemptionCancelled || results[i].Entry.Delta != 30 || results[i].Entry.Key != "c:"+red.ID {
			t.Errorf("cancel %d: got state %s entry %s delta %d, want cancelled, c:%s and 30", i, reds[i].State, results[i].Entry.Key, results[i].Entry.Delta, red.ID)
		}
	}
	if firsts != 1 {
		t.Errorf("cancellations that wrote: got %d, want 1", firsts)
	}
	if got := f.balance(t, "m-cancel"); got != 50 {
		t.Errorf("balance: got %d, want 50", got)
	}
	f.audit(t, "m-cancel")
}

// adjustOp is an op that plans an adjustment with the domain, calling
// before on every plan with the account the store handed over.
func adjustOp(prog *loyalty.Program, now time.Time, member loyalty.MemberID, key string, points loyalty.Points, before func(acct loyalty.Account)) loyalty.Op {
	ad := loyalty.Adjustment{Key: key, MemberID: member, Points: points, Reason: "contract test", Actor: "ops:contract"}
	return loyalty.Op{Member: member, Key: key, Fingerprint: loyalty.Fingerprint("contract", member, key, points),
		Plan: func(acct loyalty.Account, exists bool) (loyalty.Change, error) {
			if before != nil {
				before(acct)
			}
			return loyalty.PlanAdjustment(acct, prog, ad, now)
		}}
}

// A change planned on an account another write moved is not written: the
// store plans again on the new account, and both writes count.
func testVersionConflict(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.accrue(t, "m-race", "evt-1", 10_000)
	var seen []loyalty.Account
	op := adjustOp(f.svc.Program, f.clock.Now(), "m-race", "a:debit", -30, func(acct loyalty.Account) {
		seen = append(seen, acct)
		if len(seen) == 1 { // another write lands between the read and the write
			if _, err := f.svc.Adjust(ctx, loyalty.Adjustment{Key: "credit", MemberID: "m-race", Points: 50, Reason: "concurrent credit"}); err != nil {
				t.Errorf("concurrent credit: %v", err)
			}
		}
	})
	res, err := f.st.Apply(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("plans: got %d, want 2 (the first planned on a stale account)", len(seen))
	}
	if seen[0].Balance != 100 || seen[1].Balance != 150 || seen[1].Version <= seen[0].Version {
		t.Errorf("accounts planned on: got balance %d (version %d) then %d (version %d), want 100 then 150 at a later version",
			seen[0].Balance, seen[0].Version, seen[1].Balance, seen[1].Version)
	}
	if res.Replayed || res.Entry.Delta != -30 {
		t.Errorf("result: got replayed=%v delta %d, want a new entry of -30", res.Replayed, res.Entry.Delta)
	}
	if got := f.balance(t, "m-race"); got != 120 {
		t.Errorf("balance: got %d, want 120 (100 + 50 - 30)", got)
	}
	f.audit(t, "m-race")
}

// An account that moves under every plan makes Apply give up after a
// bounded number of plans with unavailable (retry later), writing nothing
// of its own; so does an ended context.
func testContention(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.accrue(t, "m-busy", "evt-1", 1_000)
	plans := 0
	op := adjustOp(f.svc.Program, f.clock.Now(), "m-busy", "a:never", -5, func(loyalty.Account) {
		plans++
		if _, err := f.svc.Adjust(ctx, loyalty.Adjustment{Key: fmt.Sprintf("credit-%d", plans), MemberID: "m-busy", Points: 1, Reason: "concurrent credit"}); err != nil {
			t.Errorf("concurrent credit %d: %v", plans, err)
		}
	})
	_, err := f.st.Apply(ctx, op)
	wantCode(t, "apply under constant contention", err, loyalty.CodeUnavailable)
	if plans < 2 || plans > 100 {
		t.Errorf("plans: got %d, want between 2 and 100", plans)
	}
	if _, err := f.st.Entry(ctx, "m-busy", "a:never"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("entry of the op that gave up: got %v, want not_found", err)
	}
	if got := f.balance(t, "m-busy"); got != 10+loyalty.Points(plans) {
		t.Errorf("balance: got %d, want %d (10 + one per concurrent credit)", got, 10+plans)
	}

	ended, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.st.Apply(ended, adjustOp(f.svc.Program, f.clock.Now(), "m-busy", "a:late", 5, nil))
	wantCode(t, "apply on an ended context", err, loyalty.CodeUnavailable)
	if _, err := f.st.Entry(ctx, "m-busy", "a:late"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("entry of the op on an ended context: got %v, want not_found", err)
	}
	f.audit(t, "m-busy")
}

// One Apply writes the entry, the account and every item of the change
// together (a redemption and its index entry, the reward a full stamp card
// issues, the purchase a refund updates), or nothing when the plan fails.
func testAtomicChange(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 20, 30)
	f.putReward(t, "bike", 500, 0)
	coffee := []loyalty.Line{{ID: "1", SKU: "ESP", Category: "coffee", Quantity: 1, Minor: 3_000}}
	f.accrue(t, "m-all", "c1", 3_000, coffee...)
	second := f.accrue(t, "m-all", "c2", 3_000, coffee...) // fills the card: issues a free coffee
	if len(second.Entry.Stamps) != 1 || second.Entry.Stamps[0].RedemptionID == "" {
		t.Fatalf("second coffee: got stamps %+v, want one that issued a reward", second.Entry.Stamps)
	}
	issued, err := f.st.Redemption(ctx, "m-all", second.Entry.Stamps[0].RedemptionID)
	if err != nil || issued.Source != "stamp_card:coffee-card" || issued.State != loyalty.RedemptionIssued || issued.Cost != 0 {
		t.Errorf("reward of the full card: got %+v (%v), want an issued stamp_card:coffee-card reward of 0 points", issued, err)
	}

	before := f.account(t, "m-all")
	red, res, err := f.svc.Redeem(ctx, "m-all", "k-1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	after := f.account(t, "m-all")
	stored, err := f.st.Redemption(ctx, "m-all", red.ID)
	if err != nil || stored.State != loyalty.RedemptionIssued || stored.Cost != 20 || stored.Code != red.Code {
		t.Errorf("stored redemption: got %+v (%v), want issued, 20 points, code %s", stored, err, red.Code)
	}
	if e, err := f.st.Entry(ctx, "m-all", res.Entry.Key); err != nil || e.Delta != -20 || e.RedemptionID != red.ID {
		t.Errorf("redemption entry: got %+v (%v), want -20 for %s", e, err, red.ID)
	}
	if after.Balance != before.Balance-20 || after.Version != before.Version+1 {
		t.Errorf("account: got balance %d version %d, want %d at version %d", after.Balance, after.Version, before.Balance-20, before.Version+1)
	}
	if !hasHit(t, f.st.RewardsEnding, red.ValidUntil, "m-all", func(h loyalty.DueItem) bool { return h.RedemptionID == red.ID }) {
		t.Errorf("rewards ending %s: got no %s, want it with the redemption", red.ValidUntil, red.ID)
	}

	// A plan that fails writes nothing, and the account keeps its version.
	_, _, err = f.svc.Redeem(ctx, "m-all", "k-2", "bike")
	wantCode(t, "redemption above the balance", err, loyalty.CodeInsufficientPoints)
	boom := errors.New("plan failed")
	_, err = f.st.Apply(ctx, loyalty.Op{Member: "m-all", Key: "a:boom", Fingerprint: "x",
		Plan: func(loyalty.Account, bool) (loyalty.Change, error) { return loyalty.Change{}, boom }})
	if !errors.Is(err, boom) {
		t.Errorf("apply of a failing plan: got %v, want the plan's error", err)
	}
	for _, key := range []string{"r:k-2", "a:boom"} {
		if _, err := f.st.Entry(ctx, "m-all", key); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
			t.Errorf("entry %s of a failed plan: got %v, want not_found", key, err)
		}
	}
	if a := f.account(t, "m-all"); a.Version != after.Version || a.Balance != after.Balance {
		t.Errorf("account after failed plans: got balance %d version %d, want %d at version %d", a.Balance, a.Version, after.Balance, after.Version)
	}
	if reds, _ := f.st.Redemptions(ctx, "m-all"); len(reds) != 2 {
		t.Errorf("redemptions: got %d, want 2 (the card's and the coffee)", len(reds))
	}
	_, err = f.svc.Refund(ctx, RefundOf("m-early", "r-1", "never", 500, f.clock.Now()))
	wantCode(t, "refund of a purchase never recorded", err, loyalty.CodeNotFound)
	if _, err := f.st.Account(ctx, "m-early"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("account of a member whose only op failed: got %v, want not_found", err)
	}

	// Cancelling takes the reward out of the index with the points back.
	if _, _, err := f.svc.CancelRedemption(ctx, "m-all", red.ID); err != nil {
		t.Fatal(err)
	}
	if hasHit(t, f.st.RewardsEnding, red.ValidUntil, "m-all", func(h loyalty.DueItem) bool { return h.RedemptionID == red.ID }) {
		t.Errorf("rewards ending %s after the cancellation: got %s, want it gone", red.ValidUntil, red.ID)
	}
	// A full refund of the second coffee claws its points back, marks the
	// purchase refunded and revokes the reward its stamp issued, at once.
	res, err = f.svc.Refund(ctx, RefundOf("m-all", "r-2", "c2", 3_000, f.clock.Now()))
	if err != nil || res.Entry.Delta != -30 {
		t.Fatalf("refund of the second coffee: got delta %d (%v), want -30", res.Entry.Delta, err)
	}
	orig, err := f.st.Entry(ctx, "m-all", second.Entry.Key)
	if err != nil || orig.Reversed != 30 || orig.Refund == nil || orig.Refund.Minor != 3_000 || orig.Refund.Seq != 1 {
		t.Errorf("refunded purchase: got reversed %d refund %+v (%v), want 30 and 3000 in one refund", orig.Reversed, orig.Refund, err)
	}
	if r, err := f.st.Redemption(ctx, "m-all", issued.ID); err != nil || r.State != loyalty.RedemptionCancelled {
		t.Errorf("the card's reward after the refund: got %s (%v), want cancelled", r.State, err)
	}
	if got := f.balance(t, "m-all"); got != 30 {
		t.Errorf("balance: got %d, want 30 (60 - 30 refunded)", got)
	}
	f.audit(t, "m-all")
}

// Refunds of one purchase at once never take more than it minted: 20 refunds
// of the same line take it once, 12 refunds of 10 EUR of a 100 EUR purchase
// take its 100 points.
func testConcurrentRefunds(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.accrue(t, "m-lines", "e1", 10_000, loyalty.Line{ID: "a", Quantity: 1, Minor: 4_000}, loyalty.Line{ID: "b", Quantity: 1, Minor: 6_000})
	f.accrue(t, "m-amount", "e1", 10_000)
	f.accrue(t, "m-free", "e1", 4_000, loyalty.Line{ID: "a", Quantity: 1, Minor: 4_000}, loyalty.Line{ID: "free", Quantity: 2, Minor: 0})
	var wg sync.WaitGroup
	deltas := make([]loyalty.Points, 20)
	for i := range 20 {
		wg.Go(func() {
			res, err := f.svc.Refund(ctx, RefundOf("m-lines", fmt.Sprintf("r%d", i), "e1", 0, f.clock.Now(), loyalty.RefundLine{ID: "a", Quantity: 1}))
			if err != nil {
				t.Errorf("refund %d of line a: %v", i, err)
			}
			deltas[i] = res.Entry.Delta
		})
	}
	for i := range 12 {
		wg.Go(func() {
			if _, err := f.svc.Refund(ctx, RefundOf("m-amount", fmt.Sprintf("r%d", i), "e1", 1_000, f.clock.Now())); err != nil {
				t.Errorf("refund %d of 10 EUR: %v", i, err)
			}
		})
	}
	// A line that earned nothing moves no points: only the purchase's refund
	// state tells two refunds of its items apart.
	for i := range 10 {
		wg.Go(func() {
			if _, err := f.svc.Refund(ctx, RefundOf("m-free", fmt.Sprintf("r%d", i), "e1", 0, f.clock.Now(), loyalty.RefundLine{ID: "free", Quantity: 1})); err != nil {
				t.Errorf("refund %d of a free item: %v", i, err)
			}
		})
	}
	wg.Wait()
	taking, total := 0, loyalty.Points(0)
	for _, d := range deltas {
		if d != 0 {
			taking++
		}
		total += d
	}
	if taking != 1 || total != -40 {
		t.Errorf("refunds of line a: got %d taking %d points in total, want 1 taking -40", taking, total)
	}
	if got := f.balance(t, "m-lines"); got != 60 {
		t.Errorf("balance after line a: got %d, want 60", got)
	}
	if got := f.balance(t, "m-amount"); got != 0 {
		t.Errorf("balance after 120 EUR refunded of 100 EUR: got %d, want 0", got)
	}
	orig, err := f.st.Entry(ctx, "m-amount", loyalty.PurchaseKey("shop1", "e1"))
	if err != nil || orig.Refund == nil || orig.Refund.Minor != 10_000 || orig.Reversed != 100 || orig.Refund.Seq != 10 {
		t.Errorf("refund state: got %+v reversed %d (%v), want 10000 minor in 10 refunds, reversed 100", orig.Refund, orig.Reversed, err)
	}
	free, err := f.st.Entry(ctx, "m-free", loyalty.PurchaseKey("shop1", "e1"))
	if err != nil || free.Refund == nil || free.Refund.Lines["free"] != 2 || free.Refund.Seq != 2 {
		t.Errorf("refund state of the free line: got %+v (%v), want its 2 items refunded in 2 refunds", free.Refund, err)
	}
	took := 0
	for _, e := range f.ledger(t, "m-free") {
		if e.Kind == loyalty.KindReversal && e.Refund != nil {
			took += int(e.Refund.Lines["free"])
		}
	}
	if took != 2 {
		t.Errorf("free items the refunds took: got %d, want 2", took)
	}
	f.audit(t, "m-lines", "m-amount", "m-free")
}

// After a concurrent mix of every kind of operation over months and the
// expiry of what was due, every member's balance is the sum of the ledger
// and the sum of the (unexpired) lots less the deficit, and the audit agrees.
func testBalanceLedgerLots(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "r5", 5, 0)
	f.putReward(t, "r20", 20, 0)
	rng := rand.New(rand.NewPCG(7, 42))
	members := make([]string, 8)
	for i := range members {
		members[i] = fmt.Sprintf("mix-%d", i)
	}
	type op struct {
		kind, n int
		member  string
		month   time.Month
		orig    int // the purchase a refund refunds: an earlier one of the member
	}
	ops := make([]op, 240)
	bought := map[string][]int{}
	for i := range ops {
		o := op{kind: rng.IntN(10), n: i, member: members[rng.IntN(len(members))], month: time.Month(1 + i*3/len(ops)), orig: -1}
		if o.kind < 5 {
			bought[o.member] = append(bought[o.member], i)
		} else if o.kind >= 8 && len(bought[o.member]) > 0 {
			o.orig = bought[o.member][rng.IntN(len(bought[o.member]))]
		}
		ops[i] = o
	}
	months := []time.Month{1, 2, 3} // purchases of three months: lots expiring end of Jan, Feb and Mar 2027
	for _, month := range months {
		f.clock.Set(time.Date(2026, month, 15, 10, 0, 0, 0, time.UTC))
		var wg sync.WaitGroup
		work := make(chan op)
		for range 6 {
			wg.Go(func() {
				for o := range work {
					var err error
					switch {
					case o.kind < 5:
						_, err = f.svc.Accrue(ctx, Purchase(o.member, fmt.Sprintf("e%d", o.n), int64(100+o.n*37%4_000), f.clock.Now()))
					case o.kind < 7:
						_, _, err = f.svc.Redeem(ctx, loyalty.MemberID(o.member), fmt.Sprintf("k%d", o.n), []string{"r5", "r20"}[o.kind-5])
					case o.kind == 7:
						_, err = f.svc.Adjust(ctx, loyalty.Adjustment{Key: fmt.Sprintf("adj%d", o.n), MemberID: loyalty.MemberID(o.member),
							Points: loyalty.Points(o.n%7 - 3 + 10*(o.n%2)), Reason: "contract mix"})
					default: // a partial refund of an earlier purchase (not_found while it is not processed yet)
						_, err = f.svc.Refund(ctx, RefundOf(o.member, fmt.Sprintf("f%d", o.n), fmt.Sprintf("e%d", o.orig), 700, f.clock.Now()))
					}
					switch loyalty.ErrorCode(err) {
					case "", loyalty.CodeInsufficientPoints, loyalty.CodeNotFound, loyalty.CodeInvalid:
					default:
						t.Errorf("op %d (kind %d) of %s: %v", o.n, o.kind, o.member, err)
					}
				}
			})
		}
		for _, o := range ops {
			if o.month == month {
				work <- o
			}
		}
		close(work)
		wg.Wait()
	}
	// The January lots are due on 2027-02-01: expire them as the job does.
	f.clock.Set(time.Date(2027, 2, 1, 1, 0, 0, 0, time.UTC))
	today := f.svc.Program.Today(f.clock.Now())
	expired := 0
	for shard := range dueShards {
		for _, h := range allHits(t, f.st.DueAccounts, today, shard, 3) {
			_, ok, _, err := f.svc.ExpireDueFrom(ctx, h.MemberID, h.Lots, today, nil)
			if err != nil {
				t.Fatalf("expire %s: %v", h.MemberID, err)
			}
			if ok {
				expired++
			}
		}
	}
	if expired == 0 {
		t.Errorf("members expired on %s: got 0, want some (every member bought in January)", today)
	}
	for _, m := range members {
		a, err := f.st.Account(ctx, loyalty.MemberID(m))
		if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var ledgerSum loyalty.Points
		for _, e := range f.ledger(t, m) {
			ledgerSum += e.Delta
		}
		if ledgerSum != a.Balance {
			t.Errorf("%s: got balance %d, ledger sum %d; want them equal", m, a.Balance, ledgerSum)
		}
		var lotSum loyalty.Points
		for _, l := range a.Lots {
			lotSum += l.Points
			if l.Expires < today {
				t.Errorf("%s: got lot %s (%d points) after the expiry of %s, want only unexpired lots", m, l.Expires, l.Points, today)
			}
		}
		if lotSum-a.Deficit != a.Balance || (a.Balance < 0 && a.Deficit == 0) {
			t.Errorf("%s: got balance %d, lots %d, deficit %d; want balance = lots - deficit", m, a.Balance, lotSum, a.Deficit)
		}
		f.audit(t, m)
	}
}

// Reads of what does not exist are not_found; absence that is an answer
// (no class yet, no referrer) is no error.
func testNotFound(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.accrue(t, "m-here", "evt-1", 1_000)
	now := f.clock.Now()
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"account of an unknown member", func() error { _, err := f.st.Account(ctx, "nobody"); return err }},
		{"entry of an unknown member", func() error { _, err := f.st.Entry(ctx, "nobody", "p:x"); return err }},
		{"unknown entry of a member", func() error { _, err := f.st.Entry(ctx, "m-here", "p:shop1:nope"); return err }},
		{"unknown redemption", func() error { _, err := f.st.Redemption(ctx, "m-here", "nope"); return err }},
		{"unknown reward", func() error { _, err := f.st.Reward(ctx, "nope"); return err }},
		{"unknown notification", func() error { _, err := f.st.Notification(ctx, "m-here", "nope"); return err }},
		{"mark an unknown notification read", func() error { _, err := f.st.MarkNotificationRead(ctx, "m-here", "nope", now); return err }},
		{"unknown rejection", func() error { _, err := f.st.Rejection(ctx, "nope"); return err }},
		{"replay of an unknown rejection", func() error { return f.st.MarkRejectionReplayed(ctx, "nope", "m2", "ops:test", now) }},
		{"unknown referral code", func() error { _, err := f.st.CodeOwner(ctx, "ZZZZZZZZZZ"); return err }},
		{"audit of an unknown member", func() error { _, err := f.st.AuditMember(ctx, "nobody"); return err }},
		{"erasure of an unknown member", func() error { _, err := f.st.EraseMember(ctx, "nobody", now); return err }},
	} {
		wantCode(t, c.what, c.call(), loyalty.CodeNotFound)
	}

	if _, ok, err := f.st.Referral(ctx, "m-here"); ok || err != nil {
		t.Errorf("referral of an unreferred member: got ok=%v (%v), want none", ok, err)
	}
	if _, ok, err := f.st.MemberClass(ctx, "m-here"); ok || err != nil {
		t.Errorf("class never recorded: got ok=%v (%v), want none", ok, err)
	}
	if m, err := f.st.ReferralMonth(ctx, "m-here", "2026-03"); err != nil || m.Paid != 0 || m.Capped != 0 || m.Month != "2026-03" {
		t.Errorf("referral month never counted: got %+v (%v), want 2026-03 at zero", m, err)
	}
	if got, err := f.st.HasEntries(ctx, "nobody", "p:"); got || err != nil {
		t.Errorf("entries of an unknown member: got %v (%v), want false", got, err)
	}
	accts, err := f.st.Accounts(ctx, []loyalty.MemberID{"m-here", "nobody"})
	if _, missing := accts["nobody"]; err != nil || len(accts) != 1 || missing {
		t.Errorf("accounts of a member and a stranger: got %d (%v), want the member's only", len(accts), err)
	}
	if seen, err := f.st.AffordSeen(ctx, []loyalty.MemberID{"nobody"}); err != nil || len(seen) != 0 {
		t.Errorf("affordability never recorded: got %v (%v), want none", seen, err)
	}
	for what, n := range map[string]func() (int, error){
		"ledger":      func() (int, error) { l, err := f.st.Ledger(ctx, "nobody"); return len(l), err },
		"redemptions": func() (int, error) { l, err := f.st.Redemptions(ctx, "nobody"); return len(l), err },
		"referees":    func() (int, error) { l, err := f.st.Referees(ctx, "nobody"); return len(l), err },
		"feedback":    func() (int, error) { l, err := f.st.MemberFeedback(ctx, "nobody"); return len(l), err },
		"rejections":  func() (int, error) { l, err := f.st.Rejections(ctx, loyalty.RejectionFilter{}); return len(l), err },
		"checkpoints": func() (int, error) {
			l, err := f.st.Checkpoints(ctx, "expire-points", "2026-03-10")
			return len(l), err
		},
		"notifications": func() (int, error) { l, _, err := f.st.Notifications(ctx, "nobody", "", 10, now); return len(l), err },
		"activity": func() (int, error) {
			l, next, err := f.st.Activity(ctx, "nobody", "", 10)
			if next != "" {
				return -1, fmt.Errorf("got cursor %q on an empty list, want none", next)
			}
			return len(l), err
		},
	} {
		if got, err := n(); got != 0 || err != nil {
			t.Errorf("%s of nobody: got %d (%v), want none and no error", what, got, err)
		}
	}
}

// Enrol creates an account once, at version 1; later and concurrent
// enrolments return it as it is.
func testEnrol(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	t0 := f.clock.Now()
	a, err := f.st.Enrol(ctx, "m-new", t0)
	if err != nil || a.Version != 1 || a.Balance != 0 || !a.CreatedAt.Equal(t0) {
		t.Fatalf("first enrolment: got version %d balance %d created %s (%v), want 1, 0, %s", a.Version, a.Balance, a.CreatedAt, err, t0)
	}
	again, err := f.st.Enrol(ctx, "m-new", t0.Add(time.Hour))
	if err != nil || !again.CreatedAt.Equal(t0) || again.Version != 1 {
		t.Errorf("second enrolment: got created %s version %d (%v), want the first account (%s, 1)", again.CreatedAt, again.Version, err, t0)
	}
	f.accrue(t, "m-new", "evt-1", 4_200)
	before := f.account(t, "m-new")
	after, err := f.st.Enrol(ctx, "m-new", t0.Add(2*time.Hour))
	if err != nil || after.Balance != 42 || after.Version != before.Version {
		t.Errorf("enrolment after a purchase: got balance %d version %d (%v), want 42 at version %d", after.Balance, after.Version, err, before.Version)
	}

	created := make([]time.Time, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			a, err := f.st.Enrol(ctx, "m-rush", t0.Add(time.Duration(i)*time.Second))
			if err != nil {
				t.Errorf("enrolment %d: %v", i, err)
			}
			created[i] = a.CreatedAt
		})
	}
	wg.Wait()
	stored := f.account(t, "m-rush")
	for i, c := range created {
		if !c.Equal(stored.CreatedAt) {
			t.Errorf("concurrent enrolment %d: got created %s, want the one stored (%s)", i, c, stored.CreatedAt)
		}
	}
	if stored.Version != 1 {
		t.Errorf("account after 20 enrolments: got version %d, want 1", stored.Version)
	}
}

// Lists come in a fixed order: the ledger oldest first, activity and
// redemptions newest first, the catalog by id; activity pages with an
// opaque cursor, and a cursor the store did not hand out is invalid.
func testLists(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	for _, id := range []string{"zeta", "alpha", "mid"} {
		f.putReward(t, id, 1, 0)
	}
	var keys []string
	for i := range 5 {
		f.clock.Advance(time.Minute)
		keys = append(keys, f.accrue(t, "m-list", fmt.Sprintf("e%d", i), 1_000).Entry.Key)
	}
	var redIDs []string
	for i, reward := range []string{"zeta", "alpha", "mid"} {
		f.clock.Advance(time.Minute)
		red, res, err := f.svc.Redeem(ctx, "m-list", fmt.Sprintf("k%d", i), reward)
		if err != nil {
			t.Fatal(err)
		}
		keys, redIDs = append(keys, res.Entry.Key), append(redIDs, red.ID)
	}
	var ledger []string
	for _, e := range f.ledger(t, "m-list") {
		ledger = append(ledger, e.Key)
	}
	if fmt.Sprint(ledger) != fmt.Sprint(keys) {
		t.Errorf("ledger: got %v, want oldest first %v", ledger, keys)
	}
	var newest []string
	for i := len(keys) - 1; i >= 0; i-- {
		newest = append(newest, keys[i])
	}
	var got []string
	cursor, pages := "", 0
	for {
		page, next, err := f.st.Activity(ctx, "m-list", cursor, 3)
		if err != nil {
			t.Fatalf("activity page %d: %v", pages, err)
		}
		if len(page) > 3 {
			t.Fatalf("activity page %d: got %d entries, want at most 3", pages, len(page))
		}
		for _, e := range page {
			got = append(got, e.Key)
		}
		pages++
		if next == "" || pages > 10 {
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(newest) || pages != 3 {
		t.Errorf("activity in pages of 3: got %v in %d pages, want %v in 3", got, pages, newest)
	}
	_, _, err := f.st.Activity(ctx, "m-list", "not-a-cursor", 3)
	wantCode(t, "activity with a made-up cursor", err, loyalty.CodeInvalid)

	reds, err := f.st.Redemptions(ctx, "m-list")
	if err != nil {
		t.Fatal(err)
	}
	var gotReds []string
	for _, r := range reds {
		gotReds = append(gotReds, r.ID)
	}
	if want := []string{redIDs[2], redIDs[1], redIDs[0]}; fmt.Sprint(gotReds) != fmt.Sprint(want) {
		t.Errorf("redemptions: got %v, want newest first %v", gotReds, want)
	}
	rewards, err := f.st.Rewards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rewards {
		ids = append(ids, r.ID)
	}
	if fmt.Sprint(ids) != "[alpha mid zeta]" {
		t.Errorf("catalog: got %v, want [alpha mid zeta]", ids)
	}
}

// A promotion's budget holds across members buying at once: 8 purchases
// that each qualify for 50 points of a 120-point budget pay it twice; the
// others earn without it; a redelivery answers what the first delivery got.
func testBudget(t *testing.T, f *fixture) {
	f.with(BudgetProgramJSON)
	const n = 8
	results := make([]loyalty.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := f.svc.Accrue(ctx, Purchase(fmt.Sprintf("buyer-%d", i), "e1", 1_000, f.clock.Now()))
			if err != nil {
				t.Errorf("purchase %d: %v", i, err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	paid, total := 0, loyalty.Points(0)
	for i, res := range results {
		switch res.Entry.Delta {
		case 60:
			paid++
		case 10:
		default:
			t.Errorf("purchase %d: got %d points, want 10, or 60 with the launch bonus", i, res.Entry.Delta)
		}
		total += f.balance(t, fmt.Sprintf("buyer-%d", i))
	}
	if paid != 2 || total != n*10+100 {
		t.Errorf("launch bonuses: got %d paid and %d points in all, want 2 and %d (the 120-point budget pays 50 twice)", paid, total, n*10+100)
	}
	for i, first := range results {
		again, err := f.svc.Accrue(ctx, Purchase(fmt.Sprintf("buyer-%d", i), "e1", 1_000, f.clock.Now()))
		if err != nil || !again.Replayed || again.Entry.Delta != first.Entry.Delta {
			t.Errorf("redelivery %d after the budget is spent: got replayed=%v %d (%v), want the first delivery's %d", i, again.Replayed, again.Entry.Delta, err, first.Entry.Delta)
		}
		f.audit(t, fmt.Sprintf("buyer-%d", i))
	}
}
