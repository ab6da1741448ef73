package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Members are classed by recency, frequency and spend; a lapsed member gets
// the win-back bonus once per lapse, however often the job runs.
func TestWinBackOncePerLapse(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	ctx := context.Background()
	monday := time.Date(2026, 3, 30, 4, 0, 0, 0, time.UTC)
	today := day("2026-03-30")

	e.accrue(t, "m-lapsed", "l1", 3_000, time.Date(2025, 12, 20, 15, 0, 0, 0, time.UTC)) // 100 days ago
	for i := range 7 {                                                                   // 7 purchases of 40 EUR in March
		e.accrue(t, "m-champ", fmt.Sprintf("c%d", i), 4_000, time.Date(2026, 3, 5+3*i, 10, 0, 0, 0, time.UTC))
	}
	e.accrue(t, "m-risk", "r1", 1_500, time.Date(2026, 2, 13, 10, 0, 0, 0, time.UTC))  // 45 days ago: a class boundary
	e.accrue(t, "m-quiet", "q1", 1_500, time.Date(2026, 1, 20, 10, 0, 0, 0, time.UTC)) // 69 days: no boundary this week
	e.clock.Set(monday.Add(-48 * time.Hour))
	if _, err := e.store.Enrol(ctx, "m-new", e.clock.Now()); err != nil { // active, never bought
		t.Fatal(err)
	}
	e.clock.Set(monday)

	for run := 1; run <= 3; run++ {
		rep, err := e.jobs.WinBack(ctx, jobs.Request{Day: today})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: %d scopes, %d members reviewed, %d records changed, %d notified, %d repeated", run, rep.Scopes, rep.Seen, rep.Changed, rep.Notified, rep.Repeated)
		if want := map[int]int{1: 4, 2: 0, 3: 0}[run]; rep.Notified != want {
			t.Errorf("run %d: got %d new notifications, want %d", run, rep.Notified, want)
		}
	}
	// A run the next day (fresh checkpoints) meets the same members again
	// and tells them nothing new.
	e.clock.Set(monday.Add(24 * time.Hour))
	rep, err := e.jobs.WinBack(ctx, jobs.Request{Day: today.AddDays(1)})
	if err != nil || rep.Seen == 0 || rep.Notified != 0 {
		t.Errorf("next day: got %d reviewed, %d notified (%v), want the same members reviewed and nothing new", rep.Seen, rep.Notified, err)
	}
	got := e.sink.byType(t)
	if got[loyalty.EventClassChanged] != 3 || got[loyalty.EventWinBackOffered] != 1 {
		t.Errorf("after 3 runs: got %d class changes and %d win-back offers, want 3 and 1", got[loyalty.EventClassChanged], got[loyalty.EventWinBackOffered])
	}
	for member, want := range map[loyalty.MemberID]string{"m-lapsed": "lapsed", "m-champ": "champions", "m-risk": "at_risk"} {
		c, ok, err := e.store.MemberClass(ctx, member)
		if err != nil || !ok || c.Class != want {
			t.Errorf("%s: got class %q (ok=%v, %v), want %s", member, c.Class, ok, err, want)
		}
	}
	for _, member := range []loyalty.MemberID{"m-quiet", "m-new"} {
		if c, ok, _ := e.store.MemberClass(ctx, member); ok {
			t.Errorf("%s: got class %q, want none (not due for review / never bought)", member, c.Class)
		}
	}
	lapsed, err := e.store.Account(ctx, "m-lapsed")
	if err != nil {
		t.Fatal(err)
	}
	if lapsed.Balance != 130 || !lapsed.LastActivity.Equal(time.Date(2025, 12, 20, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("m-lapsed: got balance %d, last active %s; want 30+100 and still 2025-12-20 (a bonus is no activity)", lapsed.Balance, lapsed.LastActivity)
	}
	if n := winBackEntries(t, e, "m-lapsed"); n != 1 {
		t.Errorf("m-lapsed: got %d win-back entries, want 1", n)
	}

	// A week later the lapsed member is not due for review again.
	e.clock.Set(monday.AddDate(0, 0, 7))
	if rep, err := e.jobs.WinBack(ctx, jobs.Request{Day: today.AddDays(7)}); err != nil || rep.Notified != 0 {
		t.Errorf("a week later: got %d notified (%v), want none", rep.Notified, err)
	}
	// They come back, are reclassed the week after, and lapse again: a new
	// lapse, a new offer.
	e.accrue(t, "m-lapsed", "back", 2_000, time.Date(2026, 4, 7, 10, 0, 0, 0, time.UTC))
	e.clock.Set(monday.AddDate(0, 0, 14))
	if _, err := e.jobs.WinBack(ctx, jobs.Request{Day: today.AddDays(14)}); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := e.store.MemberClass(ctx, "m-lapsed"); c.Class != "loyal" {
		t.Errorf("back after a lapse: got class %q, want loyal (2 purchases in the year, last one 6 days ago)", c.Class)
	}
	later := day("2026-07-13") // 97 days after the return
	e.clock.Set(time.Date(2026, 7, 13, 4, 0, 0, 0, time.UTC))
	for range 2 {
		if _, err := e.jobs.WinBack(ctx, jobs.Request{Day: later}); err != nil {
			t.Fatal(err)
		}
	}
	if n := winBackEntries(t, e, "m-lapsed"); n != 2 {
		t.Errorf("m-lapsed after a second lapse: got %d win-back entries, want 2", n)
	}
	if got := e.sink.byType(t)[loyalty.EventWinBackOffered]; got != 2 {
		t.Errorf("win-back events: got %d, want 2", got)
	}
	e.audit(t, "m-lapsed", "m-champ", "m-risk")
}

func winBackEntries(tb testing.TB, e *env, member loyalty.MemberID) int {
	tb.Helper()
	entries, err := e.store.Ledger(context.Background(), member)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if strings.HasPrefix(en.Key, "w:") {
			n++
		}
	}
	return n
}
