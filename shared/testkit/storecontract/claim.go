package storecontract

import (
	"fmt"
	"sync"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// testClaimRacingPurchases: a printed card earns before anyone owns it;
// while its new owner claims it, 32 purchases on it arrive at once. Every
// purchase is credited once, to the anonymous account before the claim
// and moved with it, or to the member after; the member ends with every
// point, a clean audit, the card's history, and the anonymous account is
// gone. Every purchase delivered again is a replay.
func testClaimRacingPurchases(t *testing.T, f *fixture) { claimRacing(t, f, 4) }

// testLongClaimRacingPurchases is the same with a card used 150 times
// before its claim: its history moves in pages while the 32 purchases race.
func testLongClaimRacingPurchases(t *testing.T, f *fixture) { claimRacing(t, f, 150) }

func claimRacing(t *testing.T, f *fixture, before int) {
	f.till()
	printed, err := f.svc.GenerateCards(ctx, 2)
	if err != nil || len(printed) != 2 || printed[0].Number == printed[1].Number || printed[0].ClaimSecret == "" {
		t.Fatalf("batch: got %+v, %v, want two cards with claim secrets", printed, err)
	}
	card := printed[0]
	const racing = 32
	f.cardPurchases(t, card, "early", before)
	anon := string(loyalty.AnonymousMember(card.Number))
	if got := f.balance(t, anon); got != loyalty.Points(before*10) {
		t.Fatalf("the unclaimed card's balance: got %d, want %d", got, before*10)
	}
	f.accrue(t, "m1", "own-1", 500) // the member has points of their own

	// Three kinds of purchase race the claim: 16 resolve the card and
	// write while the claim runs; 16 resolved the card before the claim
	// (to its anonymous account), of which 8 write while it runs and 8
	// only after it committed: those the claim overtook.
	stale, _, err := f.resolve(loyalty.RefCard, string(card.Number))
	if err != nil || stale != loyalty.MemberID(anon) {
		t.Fatalf("the card before the claim: got %q, %v, want %s", stale, err, anon)
	}
	errs := make([]error, racing)
	var claim loyalty.CardClaim
	var claimErr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racing * 3 / 4 {
		wg.Go(func() {
			<-start
			if i < racing/2 {
				_, errs[i] = f.tillPurchase(loyalty.RefCard, string(card.Number), fmt.Sprintf("race-%d", i), 1000)
			} else {
				_, errs[i] = f.accrueResolved(stale, "", loyalty.RefCard, string(card.Number), fmt.Sprintf("race-%d", i), 1000)
			}
		})
	}
	wg.Go(func() {
		<-start
		claim, claimErr = claimUntilDone(f, "m1", card)
	})
	close(start)
	wg.Wait()
	for i := racing * 3 / 4; i < racing; i++ {
		_, errs[i] = f.accrueResolved(stale, "", loyalty.RefCard, string(card.Number), fmt.Sprintf("race-%d", i), 1000)
	}
	if claimErr != nil {
		t.Fatalf("claim: %v", claimErr)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("purchase %d during the claim: %v", i, err)
		}
	}
	if claim.Card.Member != "m1" || claim.Card.State != loyalty.CardActive || claim.Entries < before || claim.History != loyalty.ClaimDone {
		t.Errorf("claim: got %+v, want the card active for m1 with at least the %d purchases before it, its history done", claim, before)
	}
	t.Logf("the claim moved %d entries (%d purchases before it, %d racing it)", claim.Entries, before, racing)
	want := loyalty.Points(5 + (before+racing)*10)
	if got := f.balance(t, "m1"); got != want {
		t.Errorf("m1's balance: got %d, want %d (5 of their own, 10 for each of %d card purchases)", got, want, before+racing)
	}
	if got := len(f.ledger(t, "m1")); got != 1+before+racing {
		t.Errorf("m1's ledger: got %d entries, want %d (the card's history joined)", got, 1+before+racing)
	}
	f.audit(t, "m1")
	if _, err := f.st.Account(ctx, loyalty.MemberID(anon)); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("the anonymous account after the claim: got %v, want none", err)
	}
	for i := range before {
		if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("early-%d", i), 1000); err != nil || !res.Replayed {
			t.Errorf("early purchase %d again: got %+v, %v, want a replay", i, res, err)
		}
	}
	for i := range racing {
		if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("race-%d", i), 1000); err != nil || !res.Replayed {
			t.Errorf("racing purchase %d again: got %+v, %v, want a replay", i, res, err)
		}
	}
	if got := f.balance(t, "m1"); got != want {
		t.Errorf("m1's balance after the redeliveries: got %d, want %d", got, want)
	}
	if again, err := f.svc.ClaimCard(ctx, "m1", card.Printed, card.ClaimSecret); err != nil || again.Card.Member != "m1" ||
		again.History != loyalty.ClaimDone || again.Entries != 0 {
		t.Errorf("the claim retried: got %+v, %v, want the card again, its history done, nothing moved", again, err)
	}
	_, err = f.svc.ClaimCard(ctx, "m2", card.Printed, card.ClaimSecret)
	wantCode(t, "claiming another member's card", err, loyalty.CodeConflict)
	_, err = f.svc.ClaimCard(ctx, "m2", printed[1].Printed, "WRONG-SECRET")
	wantCode(t, "a wrong claim secret", err, loyalty.CodeNotFound)
	if c, err := f.st.CardByNumber(ctx, printed[1].Number); err != nil || c.State != loyalty.CardUnclaimed {
		t.Errorf("the other card after a wrong secret: got %+v, %v, want it unclaimed", c, err)
	}
}

// cardPurchases makes n purchases of 10 points on the card, 8 at a time.
func (f *fixture) cardPurchases(t *testing.T, card loyalty.PrintedCard, prefix string, n int) {
	t.Helper()
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("%s-%d", prefix, i), 1000)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("purchase %s-%d on the unclaimed card: %v", prefix, i, err)
		}
	}
}

// testClaimLongHistory: a card used 300 times before its owner signs up
// (more than one transaction holds) is claimed whole: every point in the
// claim's transaction, every entry (in one call on a quiet machine, over
// as many as loyalty.ClaimBudget takes on a busy one), a clean audit,
// nothing left behind.
func testClaimLongHistory(t *testing.T, f *fixture) {
	f.till()
	printed, err := f.svc.GenerateCards(ctx, 1)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	card := printed[0]
	const n = 300
	f.cardPurchases(t, card, "p", n)
	f.accrue(t, "m1", "own-1", 500)
	claim, err := claimUntilDone(f, "m1", card)
	if err != nil || claim.History != loyalty.ClaimDone || claim.Entries != n || claim.Points != n*10 {
		t.Fatalf("claim: got %+v, %v, want %d entries and %d points moved, history done", claim, err, n, n*10)
	}
	if got := f.balance(t, "m1"); got != 5+n*10 {
		t.Errorf("m1's balance: got %d, want %d", got, 5+n*10)
	}
	if got := len(f.ledger(t, "m1")); got != 1+n {
		t.Errorf("m1's ledger: got %d entries, want %d", got, 1+n)
	}
	if got := len(f.ledger(t, string(loyalty.AnonymousMember(card.Number)))); got != 0 {
		t.Errorf("entries left under the card's anonymous id: got %d, want 0", got)
	}
	f.audit(t, "m1")
	if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, "after", 1000); err != nil || res.Replayed {
		t.Fatalf("a purchase after the claim: got %+v, %v", res, err)
	}
	if got := f.balance(t, "m1"); got != 5+(n+1)*10 {
		t.Errorf("m1's balance after a purchase: got %d, want %d", got, 5+(n+1)*10)
	}
	f.audit(t, "m1")
}

// testClaimInterruptedResumes: a claim whose call stopped after k pages of
// its history (k = 0, 1, 2; the process died, or the budget ran out) leaves
// the card the member's, the points in their account and the audit clean
// with the rest still moving; the same claim again answers 200 and
// finishes; once more it moves nothing.
func testClaimInterruptedResumes(t *testing.T, f *fixture) {
	f.till()
	const n = 120 // three pages
	for k := range 3 {
		member := fmt.Sprintf("m%d", k+1)
		printed, err := f.svc.GenerateCards(ctx, 1)
		if err != nil {
			t.Fatalf("batch: %v", err)
		}
		card := printed[0]
		f.cardPurchases(t, card, fmt.Sprintf("k%d", k), n)
		c, err := f.st.CardByNumber(ctx, card.Number)
		if err != nil {
			t.Fatalf("card: %v", err)
		}
		now := f.clock.Now()
		claim, err := f.st.ClaimCard(ctx, c, loyalty.MemberID(member), now, func(mine loyalty.Account, exists bool, anon loyalty.Account) loyalty.Account {
			return loyalty.MergeAccounts(mine, exists, anon, f.svc.Program, loyalty.MemberID(member), now)
		})
		if err != nil || claim.History != loyalty.ClaimMoving || claim.Points != n*10 {
			t.Fatalf("k=%d: the claim's transaction: got %+v, %v, want %d points, history moving", k, claim, err, n*10)
		}
		moved, done, err := f.st.MoveClaimHistory(ctx, claim.Card, k)
		if err != nil || done || moved > k*48 || (k > 0 && moved == 0) {
			t.Fatalf("k=%d: %d pages: got %d moved, done %v, %v, want some, not done", k, k, moved, done, err)
		}
		if got := f.balance(t, member); got != n*10 {
			t.Errorf("k=%d: %s's balance mid-claim: got %d, want %d", k, member, got, n*10)
		}
		if got := len(f.ledger(t, member)); got != moved {
			t.Errorf("k=%d: %s's ledger mid-claim: got %d, want the %d moved", k, member, got, moved)
		}
		f.audit(t, member) // the entries not yet moved count as the member's
		// A till sends every purchase again while the history moves (an SQS
		// redelivery, a retry): each is a replay, whichever partition holds
		// its entry now, and nothing is credited twice.
		for i := range n {
			if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("k%d-%d", k, i), 1000); err != nil || !res.Replayed {
				t.Fatalf("k=%d: purchase %d again mid-claim: got %+v, %v, want a replay", k, i, res, err)
			}
		}
		if got := f.balance(t, member); got != n*10 {
			t.Errorf("k=%d: %s's balance after the purchases came again mid-claim: got %d, want %d", k, member, got, n*10)
		}
		if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("k%d-mid", k), 1000); err != nil || res.Replayed {
			t.Errorf("k=%d: a purchase mid-claim: got %+v, %v", k, res, err)
		}
		f.audit(t, member)
		again, err := claimUntilDone(f, loyalty.MemberID(member), card)
		if err != nil || again.History != loyalty.ClaimDone || again.Entries != n-moved {
			t.Fatalf("k=%d: the claim again: got %+v, %v, want the other %d entries moved, done", k, again, err, n-moved)
		}
		if got := len(f.ledger(t, member)); got != n+1 {
			t.Errorf("k=%d: %s's ledger: got %d, want %d", k, member, got, n+1)
		}
		if got := f.balance(t, member); got != (n+1)*10 {
			t.Errorf("k=%d: %s's balance: got %d, want %d", k, member, got, (n+1)*10)
		}
		f.audit(t, member)
		if once, err := f.svc.ClaimCard(ctx, loyalty.MemberID(member), card.Printed, card.ClaimSecret); err != nil || once.History != loyalty.ClaimDone || once.Entries != 0 {
			t.Errorf("k=%d: the claim once more: got %+v, %v, want nothing moved, done", k, once, err)
		}
		for i := range n {
			if res, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("k%d-%d", k, i), 1000); err != nil || !res.Replayed {
				t.Fatalf("k=%d: purchase %d again: got %+v, %v, want a replay", k, i, res, err)
			}
		}
	}
}

// claimUntilDone claims card for member as the app does: again while the
// answer says the card's history is still moving (one call moves it for at
// most loyalty.ClaimBudget, and a busy machine moves fewer pages in it),
// at most 20 calls. It returns the first answer with the entries of every
// call summed and the last call's history state.
func claimUntilDone(f *fixture, member loyalty.MemberID, card loyalty.PrintedCard) (loyalty.CardClaim, error) {
	claim, err := f.svc.ClaimCard(ctx, member, card.Printed, card.ClaimSecret)
	for calls := 1; err == nil && claim.History == loyalty.ClaimMoving && calls < 20; calls++ {
		var more loyalty.CardClaim
		if more, err = f.svc.ClaimCard(ctx, member, card.Printed, card.ClaimSecret); err == nil {
			claim.Entries += more.Entries
			claim.History = more.History
		}
	}
	return claim, err
}

// testErasureMidClaim: a member who claimed a card of 120 purchases is
// erased while its history still moves (one page moved, the rest still
// under the card's anonymous id), once after that page and once racing a
// call that moves the rest. The erasure takes all of it: the receipt counts
// every entry once, nothing is left under the anonymous id or the member's,
// the card is gone; moving the history after the erasure puts nothing under
// the erased id, and the claim again finds no card.
func testErasureMidClaim(t *testing.T, f *fixture) {
	f.till()
	const n = 120
	for k, racing := range []bool{false, true} {
		member := loyalty.MemberID(fmt.Sprintf("m%d", k+1))
		printed, err := f.svc.GenerateCards(ctx, 1)
		if err != nil {
			t.Fatalf("batch: %v", err)
		}
		card := printed[0]
		anon := string(loyalty.AnonymousMember(card.Number))
		f.cardPurchases(t, card, fmt.Sprintf("k%d", k), n)
		f.accrue(t, string(member), fmt.Sprintf("own-%d", k), 500)
		c, err := f.st.CardByNumber(ctx, card.Number)
		if err != nil {
			t.Fatalf("card: %v", err)
		}
		now := f.clock.Now()
		claim, err := f.st.ClaimCard(ctx, c, member, now, func(mine loyalty.Account, exists bool, a loyalty.Account) loyalty.Account {
			return loyalty.MergeAccounts(mine, exists, a, f.svc.Program, member, now)
		})
		if err != nil || claim.History != loyalty.ClaimMoving {
			t.Fatalf("racing=%v: the claim's transaction: got %+v, %v, want its history moving", racing, claim, err)
		}
		if moved, done, err := f.st.MoveClaimHistory(ctx, claim.Card, 1); err != nil || done || moved == 0 {
			t.Fatalf("racing=%v: one page: got %d moved, done %v, %v", racing, moved, done, err)
		}
		var er loyalty.Erasure
		if racing {
			var moveErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, _, moveErr = f.st.MoveClaimHistory(ctx, claim.Card, 10) })
			wg.Go(func() { er, err = f.svc.Erase(ctx, member) })
			wg.Wait()
			if moveErr != nil && loyalty.ErrorCode(moveErr) != loyalty.CodeMemberErased {
				t.Errorf("racing: the move racing the erasure: %v, want none or %s", moveErr, loyalty.CodeMemberErased)
			}
		} else {
			er, err = f.svc.Erase(ctx, member)
		}
		if err != nil || er.State != loyalty.ErasureDone || er.Entries != n+1 || er.Deleted.Ledger != n+1 {
			t.Fatalf("racing=%v: erasure: got %+v, %v, want done with %d entries (the member's own and the card's, moved or not)", racing, er, err, n+1)
		}
		after := func(when string) {
			t.Helper()
			for _, id := range []string{anon, string(member)} {
				if got := len(f.ledger(t, id)); got != 0 {
					t.Errorf("racing=%v: %s: %d entries left under %s, want none", racing, when, got, id)
				}
			}
			if _, err := f.st.Account(ctx, member); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
				t.Errorf("racing=%v: %s: the member's account: got %v, want none", racing, when, err)
			}
			if _, err := f.st.CardByNumber(ctx, card.Number); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
				t.Errorf("racing=%v: %s: the card: got %v, want not found", racing, when, err)
			}
		}
		after("after the erasure")
		if moved, _, err := f.st.MoveClaimHistory(ctx, claim.Card, 10); moved != 0 || (err != nil && loyalty.ErrorCode(err) != loyalty.CodeMemberErased) {
			t.Errorf("racing=%v: moving the history after the erasure: got %d moved, %v, want nothing moved", racing, moved, err)
		}
		after("after a move")
		_, err = f.svc.ClaimCard(ctx, member, card.Printed, card.ClaimSecret)
		wantCode(t, "the claim again after the erasure", err, loyalty.CodeNotFound)
	}
}
