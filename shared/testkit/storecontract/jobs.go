package storecontract

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// dueShards and dueShard are how the sparse indexes shard a day: 16 shards
// by FNV-1a of the member id (dynamo.DueShards, dynamo.DueShard). Every
// store shards alike, so that the jobs' shard ranges mean the same on all.
const dueShards = table.Shards

func dueShard(id loyalty.MemberID) int { return table.Shard(string(id)) }

// pageFunc is one of the index reads.
type pageFunc func(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)

// allHits reads every page of one day and shard, limit hits a page; it fails
// on a page above the limit, a repeated hit and a cursor that never ends.
func allHits(tb testing.TB, page pageFunc, day loyalty.Date, shard, limit int) []loyalty.DueItem {
	tb.Helper()
	var out []loyalty.DueItem
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		hits, next, err := page(ctx, day, shard, cursor, limit)
		if err != nil {
			tb.Fatalf("index %s/%d page %d: %v", day, shard, pages, err)
		}
		if limit > 0 && len(hits) > limit {
			tb.Fatalf("index %s/%d page %d: got %d hits, want at most %d", day, shard, pages, len(hits), limit)
		}
		for _, h := range hits {
			id := string(h.MemberID) + "/" + h.RedemptionID + "/" + h.NotificationID
			if seen[id] {
				tb.Errorf("index %s/%d: got %s twice, want every hit once", day, shard, id)
			}
			seen[id] = true
			out = append(out, h)
		}
		if next == "" {
			return out
		}
		if pages > 1000 {
			tb.Fatalf("index %s/%d: got a cursor after 1000 pages, want an end", day, shard)
		}
		cursor = next
	}
}

// hasHit reports whether member's shard of the index on day holds a hit of
// member that ok accepts.
func hasHit(tb testing.TB, page pageFunc, day loyalty.Date, member loyalty.MemberID, ok func(loyalty.DueItem) bool) bool {
	tb.Helper()
	for _, h := range allHits(tb, page, day, dueShard(member), 0) {
		if h.MemberID == member && ok(h) {
			return true
		}
	}
	return false
}

func anyHit(loyalty.DueItem) bool { return true }

// shardsWith lists the shards of the index on day that hold member.
func shardsWith(tb testing.TB, page pageFunc, day loyalty.Date, member loyalty.MemberID) []int {
	tb.Helper()
	var out []int
	for shard := range dueShards {
		for _, h := range allHits(tb, page, day, shard, 0) {
			if h.MemberID == member {
				out = append(out, shard)
				break
			}
		}
	}
	return out
}

// membersOfShard returns n member ids of prefix that share a shard, and one
// that does not.
func membersOfShard(prefix string, n int) (same []loyalty.MemberID, other loyalty.MemberID) {
	for i := 0; len(same) < n || other == ""; i++ {
		id := loyalty.MemberID(fmt.Sprintf("%s-%d", prefix, i))
		switch {
		case len(same) == 0 || dueShard(id) == dueShard(same[0]):
			if len(same) < n {
				same = append(same, id)
			}
		case other == "":
			other = id
		}
	}
	return same, other
}

func memberIDs(hits []loyalty.DueItem) []loyalty.MemberID {
	var out []loyalty.MemberID
	for _, h := range hits {
		out = append(out, h.MemberID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// The due index files an account with lots under the day after its oldest
// lot's last day, in the member's shard, with a copy of the lots; it pages
// with opaque cursors; once the expiry ran, it files the member under the
// next lot's day or not at all.
func testDueIndex(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	same, other := membersOfShard("due", 3)
	shard := dueShard(same[0])
	for i, m := range append(append([]loyalty.MemberID(nil), same...), other) {
		f.accrue(t, string(m), "march", 5_000+int64(i)*100) // 50, 51, 52, 53 points, last day 2027-03-31
	}
	f.clock.Advance(30 * 24 * time.Hour)       // 2026-04-09
	f.accrue(t, string(same[2]), "april", 900) // a later lot: last day 2027-04-30

	day := loyalty.Date("2027-04-01")
	for _, limit := range []int{0, 1, 2, 3, 10} {
		hits := allHits(t, f.st.DueAccounts, day, shard, limit)
		if got := memberIDs(hits); fmt.Sprint(got) != fmt.Sprint(same) {
			t.Errorf("due %s, shard %d, pages of %d: got %v, want %v", day, shard, limit, got, same)
		}
	}
	hits := map[loyalty.MemberID]loyalty.DueItem{}
	for _, h := range allHits(t, f.st.DueAccounts, day, shard, 0) {
		hits[h.MemberID] = h
	}
	for i, m := range same[:2] {
		want := []loyalty.Lot{{Expires: "2027-03-31", Points: loyalty.Points(50 + i)}}
		if lotsOf(hits[m].Lots) != lotsOf(want) {
			t.Errorf("%s's copy of the lots: got %v, want %v", m, hits[m].Lots, want)
		}
	}
	// The copy is of the last planned write: it holds the due lot either way.
	if lots := hits[same[2]].Lots; len(lots) == 0 || lots[0] != (loyalty.Lot{Expires: "2027-03-31", Points: 52}) {
		t.Errorf("%s's copy of the lots: got %v, want the due lot 2027-03-31 of 52 first", same[2], lots)
	}
	if got := shardsWith(t, f.st.DueAccounts, day, same[0]); fmt.Sprint(got) != fmt.Sprint([]int{shard}) {
		t.Errorf("shards holding %s on %s: got %v, want [%d]", same[0], day, got, shard)
	}
	if got := shardsWith(t, f.st.DueAccounts, day, other); fmt.Sprint(got) != fmt.Sprint([]int{dueShard(other)}) {
		t.Errorf("shards holding %s on %s: got %v, want [%d]", other, day, got, dueShard(other))
	}
	if hasHit(t, f.st.DueAccounts, "2027-03-31", same[0], anyHit) {
		t.Errorf("due 2027-03-31: got %s, want it filed under 2027-04-01 only", same[0])
	}

	// The expiry job's day: every due member expires once, told in the same write.
	f.clock.Set(time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC))
	today := f.svc.Program.Today(f.clock.Now())
	tell := func(e loyalty.Entry) loyalty.Notification {
		return loyalty.NewNotification(f.svc.Program, e.MemberID, loyalty.NotePointsExpired, string(today), "points expired",
			map[string]any{"points": int64(-e.Delta)}, e.At)
	}
	for run := range 2 {
		for _, m := range same {
			res, ok, _, err := f.svc.ExpireDueFrom(ctx, m, hits[m].Lots, today, tell)
			if err != nil || !ok || res.Replayed != (run == 1) || res.Entry.Delta != -loyalty.Points(50+dueIndexOf(same, m)) {
				t.Errorf("run %d, expire %s: got ok=%v replayed=%v delta %d (%v), want the lot of %d expired (replayed on the rerun)",
					run, m, ok, res.Replayed, res.Entry.Delta, err, 50+dueIndexOf(same, m))
			}
		}
	}
	if left := allHits(t, f.st.DueAccounts, day, shard, 0); len(left) != 0 {
		t.Errorf("due %s after the expiry: got %v, want none", day, memberIDs(left))
	}
	next := allHits(t, f.st.DueAccounts, "2027-05-01", shard, 0)
	if len(next) != 1 || next[0].MemberID != same[2] || lotsOf(next[0].Lots) != lotsOf([]loyalty.Lot{{Expires: "2027-04-30", Points: 9}}) {
		t.Errorf("due 2027-05-01: got %+v, want %s with its April lot of 9", next, same[2])
	}
	for i, m := range same {
		want := loyalty.Points(0)
		if i == 2 {
			want = 9
		}
		if got := f.balance(t, string(m)); got != want {
			t.Errorf("%s after the expiry: got balance %d, want %d", m, got, want)
		}
		n, err := f.st.Notification(ctx, m, "expired-"+string(today))
		if err != nil || n.Kind != loyalty.NotePointsExpired || n.Published {
			t.Errorf("%s's expiry notification: got %+v (%v), want an unpublished points_expired", m, n, err)
		}
		if !hasHit(t, f.st.Unpublished, today, m, func(h loyalty.DueItem) bool { return h.NotificationID == n.ID }) {
			t.Errorf("outbox of %s: got no %s, want the unpublished notification", today, n.ID)
		}
	}
	if !hasHit(t, f.st.DueAccounts, day, other, anyHit) {
		t.Errorf("due %s: got no %s, want it still due (its expiry did not run)", day, other)
	}
	f.audit(t, string(same[0]), string(same[1]), string(same[2]), string(other))
}

func dueIndexOf(ms []loyalty.MemberID, m loyalty.MemberID) int {
	for i, x := range ms {
		if x == m {
			return i
		}
	}
	return -1
}

// An expiry planned from a copy of the lots that is out of date writes
// nothing (applied false), not even its notification; planned from the
// account it applies, and a rerun replays.
func testStaleSnapshot(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 10, 0)
	f.accrue(t, "m-stale", "march", 5_000) // 50 points, last day 2027-03-31
	stale := f.account(t, "m-stale").Lots
	if _, _, err := f.svc.Redeem(ctx, "m-stale", "k-1", "coffee"); err != nil { // the lot now holds 40
		t.Fatal(err)
	}
	f.clock.Set(time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC))
	today := f.svc.Program.Today(f.clock.Now())
	before := f.account(t, "m-stale")
	plan := func(lots []loyalty.Lot) (loyalty.Op, loyalty.Change) {
		op := loyalty.Op{Member: "m-stale", Key: loyalty.ExpiryKey(today), Fingerprint: loyalty.Fingerprint("expiry", "m-stale", today)}
		acct := loyalty.Account{MemberID: "m-stale", Lots: append([]loyalty.Lot(nil), lots...)}
		acct.Balance = acct.LotTotal()
		c, ok := loyalty.PlanExpiry(acct, f.svc.Program, op.Key, today, f.clock.Now())
		if !ok {
			t.Fatalf("plan from %v: nothing due", lots)
		}
		c.Entry.Fingerprint = op.Fingerprint
		return op, c
	}
	note := loyalty.NewNotification(f.svc.Program, "m-stale", loyalty.NotePointsExpired, string(today), "points expired", nil, f.clock.Now())
	for _, lots := range [][]loyalty.Lot{stale, append(append([]loyalty.Lot(nil), before.Lots...), loyalty.Lot{Expires: "2027-09-30", Points: 1})} {
		op, c := plan(lots)
		res, applied, err := f.st.ExpireFromSnapshot(ctx, op, lots, c, &note)
		if err != nil || applied || res.Replayed {
			t.Errorf("expiry from %v (the account holds %v): got applied=%v replayed=%v (%v), want nothing written", lots, before.Lots, applied, res.Replayed, err)
		}
	}
	if a := f.account(t, "m-stale"); a.Balance != 40 || a.Version != before.Version {
		t.Errorf("account after the stale expiries: got balance %d version %d, want 40 at version %d", a.Balance, a.Version, before.Version)
	}
	if _, err := f.st.Entry(ctx, "m-stale", loyalty.ExpiryKey(today)); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("expiry entry after the stale expiries: got %v, want not_found", err)
	}
	if _, err := f.st.Notification(ctx, "m-stale", note.ID); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("notification of the stale expiries: got %v, want not_found", err)
	}

	op, c := plan(before.Lots)
	res, applied, err := f.st.ExpireFromSnapshot(ctx, op, before.Lots, c, &note)
	if err != nil || !applied || res.Replayed || res.Entry.Delta != -40 {
		t.Fatalf("expiry from the account's lots: got applied=%v replayed=%v delta %d (%v), want -40 written", applied, res.Replayed, res.Entry.Delta, err)
	}
	a := f.account(t, "m-stale")
	if a.Balance != 0 || len(a.Lots) != 0 || a.DueOn != "" || a.Version != before.Version+1 {
		t.Errorf("account after the expiry: got balance %d lots %v due %q version %d, want 0, none, none, %d", a.Balance, a.Lots, a.DueOn, a.Version, before.Version+1)
	}
	if n, err := f.st.Notification(ctx, "m-stale", note.ID); err != nil || n.Kind != loyalty.NotePointsExpired {
		t.Errorf("notification written with the expiry: got %+v (%v), want points_expired", n, err)
	}
	res, applied, err = f.st.ExpireFromSnapshot(ctx, op, before.Lots, c, &note)
	if err != nil || !applied || !res.Replayed || res.Entry.Delta != -40 {
		t.Errorf("the same expiry again: got applied=%v replayed=%v delta %d (%v), want the first entry replayed", applied, res.Replayed, res.Entry.Delta, err)
	}
	if hasHit(t, f.st.DueAccounts, "2027-04-01", "m-stale", anyHit) {
		t.Errorf("due 2027-04-01 after the expiry: got m-stale, want none")
	}
	f.audit(t, "m-stale")
}

// Issued rewards with an end day are found by that day until cancelled;
// accounts by the ISO week (UTC) of their last activity; members above the
// base tier by their review day, until the review.
func testOtherIndexes(t *testing.T, f *fixture) {
	f.with(TierProgramJSON)
	f.putReward(t, "coffee", 10, 30)
	f.accrue(t, "m-idx", "w11", 5_000) // Tuesday of 2026-W11
	red, _, err := f.svc.Redeem(ctx, "m-idx", "k-1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	isRed := func(h loyalty.DueItem) bool { return h.RedemptionID == red.ID }
	if red.ValidUntil != "2026-04-09" || !hasHit(t, f.st.RewardsEnding, red.ValidUntil, "m-idx", isRed) {
		t.Errorf("rewards ending %s: got none for %s, want it (valid until 2026-04-09)", red.ValidUntil, red.ID)
	}
	if got := shardsWith(t, f.st.RewardsEnding, red.ValidUntil, "m-idx"); fmt.Sprint(got) != fmt.Sprint([]int{dueShard("m-idx")}) {
		t.Errorf("shards of rewards ending %s: got %v, want [%d]", red.ValidUntil, got, dueShard("m-idx"))
	}
	if _, _, err := f.svc.CancelRedemption(ctx, "m-idx", red.ID); err != nil {
		t.Fatal(err)
	}
	if hasHit(t, f.st.RewardsEnding, red.ValidUntil, "m-idx", isRed) {
		t.Errorf("rewards ending %s after the cancellation: got %s, want none", red.ValidUntil, red.ID)
	}

	week := func(w string) pageFunc {
		return func(c context.Context, _ loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
			return f.st.ActiveInWeek(c, w, shard, cursor, limit)
		}
	}
	if _, err := f.st.Enrol(ctx, "m-quiet", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(7 * 24 * time.Hour)
	f.accrue(t, "m-idx", "w12", 1_000)
	for _, c := range []struct {
		member string
		week   string
		want   bool
	}{{"m-idx", "2026-W11", false}, {"m-idx", "2026-W12", true}, {"m-quiet", "2026-W11", true}, {"m-quiet", "2026-W12", false}} {
		if got := hasHit(t, week(c.week), "", loyalty.MemberID(c.member), anyHit); got != c.want {
			t.Errorf("%s active in %s: got %v, want %v", c.member, c.week, got, c.want)
		}
	}

	// 50 + 10 + 60 points: silver at 100 qualifying points, reviewed a year on.
	res := f.accrue(t, "m-idx", "w12b", 6_000)
	a := f.account(t, "m-idx")
	if res.Entry.Tier != "silver" || a.Tier != "silver" || a.TierReviewOn != "2027-03-17" {
		t.Fatalf("crossing 100 qualifying points: got tier %q (entry %q) review %q, want silver reviewed 2027-03-17", a.Tier, res.Entry.Tier, a.TierReviewOn)
	}
	if got := shardsWith(t, f.st.ReviewAccounts, "2027-03-17", "m-idx"); fmt.Sprint(got) != fmt.Sprint([]int{dueShard("m-idx")}) {
		t.Errorf("review index on 2027-03-17: got m-idx in shards %v, want [%d]", got, dueShard("m-idx"))
	}
	if hasHit(t, f.st.ReviewAccounts, "2027-03-17", "m-quiet", anyHit) {
		t.Errorf("review index: got m-quiet, want base-tier members left out")
	}
	f.clock.Set(time.Date(2027, 3, 17, 2, 0, 0, 0, time.UTC))
	rev, ok, err := f.svc.ReviewTier(ctx, "m-idx", "2027-03-17")
	if err != nil || !ok || rev.Entry.Tier != "bronze" {
		t.Fatalf("review: got %+v ok=%v (%v), want a drop to bronze", rev.Entry, ok, err)
	}
	if hasHit(t, f.st.ReviewAccounts, "2027-03-17", "m-idx", anyHit) {
		t.Errorf("review index after the review: got m-idx, want none")
	}
	f.audit(t, "m-idx", "m-quiet")
}

// Seed writes members as the store writes them: the audit agrees and the
// due index finds them.
func testSeed(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	now := f.clock.Now()
	var (
		accounts []loyalty.Account
		entries  []loyalty.Entry
	)
	for i := range 30 {
		id := loyalty.MemberID(fmt.Sprintf("seed-%02d", i))
		a := loyalty.NewAccount(id, now)
		a.Balance, a.Lifetime, a.Lots, a.DueOn = 10, 10, []loyalty.Lot{{Expires: "2026-03-31", Points: 10}}, "2026-04-01"
		accounts = append(accounts, a)
		entries = append(entries, loyalty.Entry{MemberID: id, Key: "p:seed:" + string(id), Kind: loyalty.KindAccrual, Delta: 10,
			Earned: 10, At: now, Lots: []loyalty.Lot{{Expires: "2026-03-31", Points: 10}}})
	}
	if err := f.st.Seed(ctx, accounts, entries); err != nil {
		t.Fatal(err)
	}
	found := 0
	for shard := range dueShards {
		for _, h := range allHits(t, f.st.DueAccounts, "2026-04-01", shard, 7) {
			if dueShard(h.MemberID) != shard || lotsOf(h.Lots) != "[{2026-03-31 10}]" {
				t.Errorf("seeded %s in shard %d with lots %v, want shard %d and [{2026-03-31 10}]", h.MemberID, shard, h.Lots, dueShard(h.MemberID))
			}
			found++
		}
	}
	if found != 30 {
		t.Errorf("seeded members due 2026-04-01: got %d, want 30", found)
	}
	for _, a := range accounts {
		if got := f.account(t, string(a.MemberID)); got.Version != 1 || got.Balance != 10 {
			t.Errorf("seeded %s: got version %d balance %d, want 1 and 10", a.MemberID, got.Version, got.Balance)
		}
		f.audit(t, string(a.MemberID))
	}
}

// Checkpoints of a run are saved and read back per scope, apart from other
// runs; the class and the affordability mark are kept per member.
func testCheckpoints(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	now := f.clock.Now()
	cps := []loyalty.Checkpoint{{Scope: "due/2026-03-10/00", Done: true, Processed: 3, UpdatedAt: now},
		{Scope: "due/2026-03-10/01", Cursor: "abc", Processed: 100, UpdatedAt: now}}
	for _, cp := range cps {
		if err := f.st.SaveCheckpoint(ctx, "expire-points", "2026-03-10", cp); err != nil {
			t.Fatalf("checkpoint %s: %v", cp.Scope, err)
		}
	}
	moved := cps[1]
	moved.Cursor, moved.Processed, moved.UpdatedAt = "def", 200, now.Add(time.Minute)
	if err := f.st.SaveCheckpoint(ctx, "expire-points", "2026-03-10", moved); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.Checkpoints(ctx, "expire-points", "2026-03-10")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]loyalty.Checkpoint{cps[0].Scope: cps[0], moved.Scope: moved}
	if len(got) != 2 {
		t.Errorf("checkpoints: got %d, want 2", len(got))
	}
	for scope, w := range want {
		g := got[scope]
		if g.Scope != w.Scope || g.Done != w.Done || g.Cursor != w.Cursor || g.Processed != w.Processed || !g.UpdatedAt.Equal(w.UpdatedAt) {
			t.Errorf("checkpoint %s: got %+v, want %+v", scope, g, w)
		}
	}
	for _, other := range []struct{ job, day string }{{"expire-points", "2026-03-11"}, {"send-reminders", "2026-03-10"}} {
		if cps, err := f.st.Checkpoints(ctx, other.job, loyalty.Date(other.day)); err != nil || len(cps) != 0 {
			t.Errorf("checkpoints of %s on %s: got %d (%v), want none", other.job, other.day, len(cps), err)
		}
	}

	cls := loyalty.MemberClass{Class: "loyal", Since: "2026-03-10", ReviewedOn: "2026-03-10", WinBackFor: "2026-01-02",
		Metrics: loyalty.ClassMetrics{RecencyDays: 3, Purchases: 4, SpendMinor: 1234, LastActive: "2026-03-07"}}
	if err := f.st.PutMemberClass(ctx, "m-cls", cls); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.st.MemberClass(ctx, "m-cls"); err != nil || !ok || got != cls {
		t.Errorf("class: got %+v ok=%v (%v), want %+v", got, ok, err, cls)
	}
	for _, b := range []loyalty.Points{42, 17} {
		if err := f.st.PutAffordSeen(ctx, "m-cls", b, "2026-03-10"); err != nil {
			t.Fatal(err)
		}
	}
	if seen, err := f.st.AffordSeen(ctx, []loyalty.MemberID{"m-cls", "m-none"}); err != nil || len(seen) != 1 || seen["m-cls"] != 17 {
		t.Errorf("affordability: got %v (%v), want m-cls at 17 (the last one seen)", seen, err)
	}
}
