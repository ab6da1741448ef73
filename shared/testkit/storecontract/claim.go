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
func testClaimRacingPurchases(t *testing.T, f *fixture) {
	f.till()
	printed, err := f.svc.GenerateCards(ctx, 2)
	if err != nil || len(printed) != 2 || printed[0].Number == printed[1].Number || printed[0].ClaimSecret == "" {
		t.Fatalf("batch: got %+v, %v, want two cards with claim secrets", printed, err)
	}
	card := printed[0]
	const before, racing = 4, 32
	for i := range before {
		if _, err := f.tillPurchase(loyalty.RefCard, card.Printed, fmt.Sprintf("early-%d", i), 1000); err != nil {
			t.Fatalf("purchase %d before the claim: %v", i, err)
		}
	}
	anon := string(loyalty.AnonymousMember(card.Number))
	if got := f.balance(t, anon); got != before*10 {
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
		claim, claimErr = f.svc.ClaimCard(ctx, "m1", card.Printed, card.ClaimSecret)
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
	if claim.Card.Member != "m1" || claim.Card.State != loyalty.CardActive || claim.Entries < before {
		t.Errorf("claim: got %+v, want the card active for m1 with at least the %d purchases before it", claim, before)
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
	if again, err := f.svc.ClaimCard(ctx, "m1", card.Printed, card.ClaimSecret); err != nil || again.Card.Member != "m1" {
		t.Errorf("the claim retried: got %+v, %v, want the card again", again, err)
	}
	_, err = f.svc.ClaimCard(ctx, "m2", card.Printed, card.ClaimSecret)
	wantCode(t, "claiming another member's card", err, loyalty.CodeConflict)
	_, err = f.svc.ClaimCard(ctx, "m2", printed[1].Printed, "WRONG-SECRET")
	wantCode(t, "a wrong claim secret", err, loyalty.CodeNotFound)
	if c, err := f.st.CardByNumber(ctx, printed[1].Number); err != nil || c.State != loyalty.CardUnclaimed {
		t.Errorf("the other card after a wrong secret: got %+v, %v, want it unclaimed", c, err)
	}
}
