package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func putReward(tb testing.TB, e *env, id string, cost loyalty.Points, validDays int) {
	tb.Helper()
	r := loyalty.Reward{ID: id, Name: "Reward " + id, Kind: loyalty.RewardFreeProduct, Cost: cost, ValidDays: validDays, Active: true}
	if err := e.store.PutReward(context.Background(), r); err != nil {
		tb.Fatal(err)
	}
}

// Each reminder goes out once per occasion, however often the job runs.
func TestRemindersOncePerOccasion(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	ctx := context.Background()
	putReward(t, e, "coffee", 10, 3)
	putReward(t, e, "cake", 20, 30)
	putReward(t, e, "big", 50, 30)
	today := day("2026-03-31")
	at := time.Date(2026, 3, 31, 7, 0, 0, 0, time.UTC)

	// Points earned on 2025-04-10 expire at the end of April 2026: 30 days
	// from today.
	e.accrue(t, "m-expiring", "old", 4_000, time.Date(2025, 4, 10, 12, 0, 0, 0, time.UTC))
	// A coffee redeemed today is valid for 3 days.
	e.accrue(t, "m-reward", "r1", 2_000, at.Add(-time.Hour))
	e.clock.Set(at.Add(-30 * time.Minute))
	red, _, err := e.svc.Redeem(ctx, "m-reward", "k1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	// Active this week with 25 points: coffee and cake are now affordable.
	e.accrue(t, "m-afford", "a1", 2_500, at.Add(-2*time.Hour))
	e.clock.Set(at)

	for run := 1; run <= 3; run++ {
		rep, err := e.jobs.SendReminders(ctx, jobs.Request{Day: today})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: %d seen, %d notified, %d repeated, %d accounts read", run, rep.Seen, rep.Notified, rep.Repeated, rep.Read)
		if want := map[int]int{1: 4, 2: 0, 3: 0}[run]; rep.Notified != want {
			t.Errorf("run %d: got %d new notifications, want %d", run, rep.Notified, want)
		}
	}
	got := e.sink.byType(t)
	want := map[string]int{loyalty.EventPointsExpiring: 1, loyalty.EventRewardExpiring: 1, loyalty.EventRewardAffordable: 2}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s events after 3 runs: got %d, want %d", typ, got[typ], n)
		}
	}
	if ns := e.inbox(t, "m-expiring"); len(ns) != 1 || ns[0].ID != "expiring-2026-04-30" || ns[0].Data["points"] != 40.0 || ns[0].Data["daysLeft"] != 30.0 {
		t.Errorf("m-expiring inbox: got %+v, want 40 points expiring on 2026-04-30 in 30 days", ns)
	}
	if ns := e.inbox(t, "m-reward"); len(ns) != 2 {
		t.Errorf("m-reward inbox: got %d notifications, want the reward reminder and the affordable one", len(ns))
	} else {
		for _, n := range ns {
			if n.Kind == loyalty.NoteRewardExpiring && (n.ID != "reward-"+red.ID || n.Data["validUntil"] != "2026-04-03") {
				t.Errorf("reward reminder: got %+v, want redemption %s valid until 2026-04-03", n, red.ID)
			}
		}
	}
	ns := e.inbox(t, "m-afford")
	if len(ns) != 1 || len(ns[0].Data["rewards"].([]any)) != 2 || ns[0].Title != "You can now afford Reward cake" {
		t.Errorf("m-afford inbox: got %+v, want coffee and cake affordable", ns)
	}

	// The next day: the same occasions are in the lookback and stay quiet;
	// a balance that now covers "big" is a new occasion.
	next := at.Add(24 * time.Hour)
	e.accrue(t, "m-afford", "a2", 3_000, next.Add(-time.Hour))
	e.clock.Set(next)
	rep, err := e.jobs.SendReminders(ctx, jobs.Request{Day: today.AddDays(1)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Notified != 1 || rep.Repeated != 2 || e.sink.byType(t)[loyalty.EventRewardAffordable] != 3 {
		t.Errorf("next day: got %d new notifications and %d repeated, want 1 new (big is now affordable) and the 2 reminders repeated", rep.Notified, rep.Repeated)
	}
	if ns := e.inbox(t, "m-afford"); len(ns) != 2 || ns[0].Data["rewards"].([]any)[0].(map[string]any)["rewardId"] != "big" {
		t.Errorf("m-afford inbox the next day: got %+v, want the new one about big first", ns)
	}
}
