package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A purchase that crosses a tier threshold upgrades at once and puts the
// member in the review index on the cycle end; the review there (with no
// qualifying points left) drops one tier and takes the member out of it.
func TestTierUpgradeAndReviewThroughTheIndex(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.svc.Program
	p.Tiers = loyalty.Tiers{Window: loyalty.WindowRolling12, Levels: []loyalty.TierLevel{{ID: "bronze", Name: "Bronze"},
		{ID: "silver", Name: "Silver", Threshold: 100, Multiplier: 2000}}}
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.clock.now = at
	for i, minor := range []int64{6000, 3000} {
		if _, err := f.svc.Accrue(ctx, f.purchase("m-tier", []string{"a", "b"}[i], minor, at)); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := f.store.Account(ctx, "m-tier")
	if room := f.svc.Program.TierHeadroom(a, f.svc.Program.Today(at)); a.Tier != "" || room != 10 {
		t.Fatalf("90 qualifying points: got tier %q headroom %d, want base and headroom 10", a.Tier, room)
	}
	res, err := f.svc.Accrue(ctx, f.purchase("m-tier", "c", 2000, at))
	if err != nil {
		t.Fatal(err)
	}
	a, _ = f.store.Account(ctx, "m-tier")
	if a.Tier != "silver" || res.Entry.Tier != "silver" || a.TierReviewOn != "2027-03-10" {
		t.Fatalf("crossing 100: got tier %q (entry %q), review %s; want silver, review 2027-03-10", a.Tier, res.Entry.Tier, a.TierReviewOn)
	}
	// Silver earns double from now on, through the planned path the room
	// condition sends it to.
	res, _ = f.svc.Accrue(ctx, f.purchase("m-tier", "d", 1000, at))
	if res.Entry.Delta != 20 {
		t.Errorf("silver purchase of 10 EUR: got %d points, want 20", res.Entry.Delta)
	}
	ids, _, err := f.store.ReviewAccounts(ctx, "2027-03-10", dynamo.DueShard("m-tier"), "", 10)
	if err != nil || len(ids) != 1 || ids[0].MemberID != "m-tier" {
		t.Fatalf("review index on 2027-03-10: got %v (%v), want [m-tier]", ids, err)
	}
	f.clock.now = time.Date(2027, 3, 10, 2, 0, 0, 0, time.UTC)
	for run := 0; run < 2; run++ { // a rerun the same day replays
		rev, ok, err := f.svc.ReviewTier(ctx, "m-tier", "2027-03-10")
		if err != nil || !ok || rev.Replayed != (run == 1) || rev.Entry.Tier != "bronze" {
			t.Fatalf("review run %d: got %+v ok=%v err=%v, want a drop to bronze (replayed on the rerun)", run, rev.Entry, ok, err)
		}
	}
	a, _ = f.store.Account(ctx, "m-tier")
	if a.Tier != "" || a.TierReviewOn != "" {
		t.Errorf("after review: got tier %q review %q, want base with no review", a.Tier, a.TierReviewOn)
	}
	ids, _, _ = f.store.ReviewAccounts(ctx, "2027-03-10", dynamo.DueShard("m-tier"), "", 10)
	if len(ids) != 0 {
		t.Errorf("review index after the review: got %v, want empty", ids)
	}
	if c := f.store.Consumed(); c.Scans != 0 {
		t.Errorf("scans: got %d, want 0", c.Scans)
	}
	f.audit(t)
}
