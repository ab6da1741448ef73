package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// dueHits reads every page of one day of the due index.
func dueHits(tb testing.TB, st *dynamo.Store, day loyalty.Date) map[loyalty.MemberID]loyalty.DueItem {
	tb.Helper()
	out := map[loyalty.MemberID]loyalty.DueItem{}
	for shard := range dynamo.DueShards {
		cursor := ""
		for {
			hits, next, err := st.DueAccounts(context.Background(), day, shard, cursor, 2)
			if err != nil {
				tb.Fatalf("due accounts %s/%d: %v", day, shard, err)
			}
			for _, h := range hits {
				out[h.MemberID] = h
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return out
}

// The due index hands over a copy of the lots; the expiry is written from it
// without reading the account while only later lots moved, and falls back to
// a read once a credit opened a new lot.
func TestExpiryFromTheIndexCopy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	march := f.clock.Now() // 2026-03-10: lots expire 2027-03-31, due 2027-04-01
	for i, m := range []string{"m-fresh", "m-same-lot", "m-new-lot"} {
		if _, err := f.svc.Accrue(ctx, f.purchase(m, "first", 5_000+int64(i), march)); err != nil {
			t.Fatal(err)
		}
	}
	// Later lots (a plain, blind credit) leave the copy usable; a credit
	// into the expiring lot or a new lot does not.
	f.clock.Advance(30 * 24 * time.Hour) // 2026-04-09
	if _, err := f.svc.Accrue(ctx, f.purchase("m-same-lot", "late", 700, march)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Accrue(ctx, f.purchase("m-new-lot", "april", 900, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	hits := dueHits(t, f.store, "2027-04-01")
	if len(hits) != 3 || len(hits["m-fresh"].Lots) != 1 || hits["m-fresh"].Lots[0] != (loyalty.Lot{Expires: "2027-03-31", Points: 50}) {
		t.Fatalf("due 2027-04-01: got %v, want 3 members with their lot copies", hits)
	}

	f.clock.now = time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC)
	today := f.svc.Program.Today(f.clock.Now())
	for _, c := range []struct {
		member   string
		wantRead bool
		balance  loyalty.Points
	}{
		{"m-fresh", false, 0},
		{"m-same-lot", true, 0}, // the late credit went into the expiring lot
		{"m-new-lot", true, 9},  // a lot opened since the copy: read, then expire
	} {
		before := f.store.Consumed()
		res, ok, read, err := f.svc.ExpireDueFrom(ctx, loyalty.MemberID(c.member), hits[loyalty.MemberID(c.member)].Lots, today, nil)
		after := f.store.Consumed()
		if err != nil || !ok {
			t.Fatalf("%s: got ok=%v err=%v, want an expiry", c.member, ok, err)
		}
		if read != c.wantRead || (after.ItemsRead-before.ItemsRead > 0) != c.wantRead {
			t.Errorf("%s: got read=%v (%d items read), want read=%v", c.member, read, after.ItemsRead-before.ItemsRead, c.wantRead)
		}
		if got := f.balance(t, c.member); got != c.balance || res.Entry.Delta >= 0 {
			t.Errorf("%s: got balance %d (delta %d), want %d after the expiry", c.member, got, res.Entry.Delta, c.balance)
		}
		// A second run the same day replays.
		again, ok, _, err := f.svc.ExpireDueFrom(ctx, loyalty.MemberID(c.member), hits[loyalty.MemberID(c.member)].Lots, today, nil)
		if err != nil || (ok && !again.Replayed) {
			t.Errorf("%s second run: got ok=%v replayed=%v err=%v, want a replay or nothing due", c.member, ok, again.Replayed, err)
		}
	}
	if left := dueHits(t, f.store, "2027-04-01"); len(left) != 0 {
		t.Errorf("due 2027-04-01 after the run: got %d members, want none", len(left))
	}
	if next := dueHits(t, f.store, "2027-05-01"); len(next) != 1 || next["m-new-lot"].Lots[0].Points != 9 {
		t.Errorf("due 2027-05-01: got %v, want m-new-lot with its April lot", next)
	}
	f.audit(t)
}

// A member's first credit of a week moves them in the activity index; the
// others of the week rewrite the same key.
func TestActivityIndexByWeek(t *testing.T) {
	units := &billedClient{Client: db}
	f := newFixtureOn(t, units)
	ctx := context.Background()
	at := f.clock.Now() // Tue 2026-03-10, ISO week 2026-W11
	if _, err := f.svc.Accrue(ctx, f.purchase("m-act", "1", 1000, at)); err != nil {
		t.Fatal(err)
	}
	c0 := f.store.Consumed()
	units.take()
	f.clock.Advance(24 * time.Hour)
	if _, err := f.svc.Accrue(ctx, f.purchase("m-act", "2", 1000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	c1 := f.store.Consumed()
	sameTable, sameIndexes := units.take()
	f.clock.Advance(7 * 24 * time.Hour) // next week
	if _, err := f.svc.Accrue(ctx, f.purchase("m-act", "3", 1000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	c2 := f.store.Consumed()
	_, nextIndexes := units.take()
	t.Logf("write units: accrual in the same week %.1f (read %.1f; table %.1f, indexes %v), first accrual of the next week %.1f (read %.1f; indexes %v)",
		c1.Write-c0.Write, c1.Read-c0.Read, sameTable, sameIndexes, c2.Write-c1.Write, c2.Read-c1.Read, nextIndexes)
	if sameTable > 4 || sameIndexes[dynamo.IndexActivity] != 0 {
		t.Errorf("same-week accrual: got %.1f table write units and %.1f on the activity index, want <= 4 and none", sameTable, sameIndexes[dynamo.IndexActivity])
	}
	if nextIndexes[dynamo.IndexActivity] <= 0 {
		t.Errorf("first accrual of the next week: got no write on the activity index, want the move")
	}
	shard := dynamo.DueShard("m-act")
	for week, want := range map[string]int{"2026-W11": 0, "2026-W12": 1} {
		hits, _, err := f.store.ActiveInWeek(ctx, week, shard, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != want {
			t.Errorf("active in %s: got %d members, want %d", week, len(hits), want)
		}
	}
}

// An issued reward with an end day is in the due index under that day until
// it is used or cancelled.
func TestRewardsEndingByDay(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "coffee", 10) // valid 30 days
	if _, err := f.svc.Accrue(ctx, f.purchase("m-rw", "1", 5000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	red, _, err := f.svc.Redeem(ctx, "m-rw", "k1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	end := red.ValidUntil
	shard := dynamo.DueShard("m-rw")
	hits, _, err := f.store.RewardsEnding(ctx, end, shard, "", 0)
	if err != nil || len(hits) != 1 || hits[0].RedemptionID != red.ID {
		t.Fatalf("rewards ending %s: got %v (%v), want redemption %s", end, hits, err, red.ID)
	}
	if _, _, err := f.svc.CancelRedemption(ctx, "m-rw", red.ID); err != nil {
		t.Fatal(err)
	}
	if hits, _, _ := f.store.RewardsEnding(ctx, end, shard, "", 0); len(hits) != 0 {
		t.Errorf("after cancel: got %d rewards ending %s, want none", len(hits), end)
	}
}

func TestCheckpointsAndRecords(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	for i, cp := range []loyalty.Checkpoint{{Scope: "DUE#2026-03-10#00", Done: true, Processed: 3, UpdatedAt: now},
		{Scope: "DUE#2026-03-10#01", Cursor: "abc", Processed: 100, UpdatedAt: now}} {
		if err := f.store.SaveCheckpoint(ctx, "expire-points", "2026-03-10", cp); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}
	cps, err := f.store.Checkpoints(ctx, "expire-points", "2026-03-10")
	if err != nil || len(cps) != 2 || !cps["DUE#2026-03-10#00"].Done || cps["DUE#2026-03-10#01"].Cursor != "abc" {
		t.Errorf("checkpoints: got %v (%v), want one done and one at cursor abc", cps, err)
	}
	if other, _ := f.store.Checkpoints(ctx, "expire-points", "2026-03-11"); len(other) != 0 {
		t.Errorf("another run's checkpoints: got %d, want none", len(other))
	}

	cls := loyalty.MemberClass{Class: "loyal", Since: "2026-03-10", ReviewedOn: "2026-03-10",
		Metrics: loyalty.ClassMetrics{RecencyDays: 3, Purchases: 4, SpendMinor: 1234, LastActive: "2026-03-07"}}
	if err := f.store.PutMemberClass(ctx, "m-cls", cls); err != nil {
		t.Fatal(err)
	}
	got, ok, err := f.store.MemberClass(ctx, "m-cls")
	if err != nil || !ok || got != cls {
		t.Errorf("class: got %+v ok=%v (%v), want %+v", got, ok, err, cls)
	}
	if _, ok, _ := f.store.MemberClass(ctx, "m-none"); ok {
		t.Errorf("class of an unknown member: got one, want none")
	}
	if err := f.store.PutAffordSeen(ctx, "m-cls", 42, "2026-03-10"); err != nil {
		t.Fatal(err)
	}
	seen, err := f.store.AffordSeen(ctx, []loyalty.MemberID{"m-cls", "m-none"})
	if err != nil || len(seen) != 1 || seen["m-cls"] != 42 {
		t.Errorf("affordability: got %v (%v), want m-cls at 42", seen, err)
	}
}

// Seed writes members the way the store does: the audit agrees and the
// indexes find them.
func TestSeed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	var accounts []loyalty.Account
	var entries []loyalty.Entry
	for i := range 60 {
		id := loyalty.MemberID(fmt.Sprintf("seed-%02d", i))
		a := loyalty.NewAccount(id, now)
		a.Balance, a.Lifetime, a.Lots, a.DueOn = 10, 10, []loyalty.Lot{{Expires: "2026-03-31", Points: 10}}, "2026-04-01"
		accounts = append(accounts, a)
		entries = append(entries, loyalty.Entry{MemberID: id, Key: "p:seed:" + string(id), Kind: loyalty.KindAccrual, Delta: 10,
			Earned: 10, At: now, Lots: []loyalty.Lot{{Expires: "2026-03-31", Points: 10}}})
	}
	if err := f.store.Seed(ctx, accounts, entries); err != nil {
		t.Fatal(err)
	}
	if got := len(dueHits(t, f.store, "2026-04-01")); got != 60 {
		t.Errorf("due 2026-04-01: got %d members, want 60", got)
	}
	if rep := f.audit(t); rep.Members != 60 {
		t.Errorf("audit: got %d members, want 60", rep.Members)
	}
}
