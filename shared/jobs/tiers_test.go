package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A tier scenario across a cycle end: purchases upgrade at once; on the
// cycle end the scheduled job takes a gold member with nothing left down to
// silver (one level, not two), a silver one to bronze, keeps a silver member
// who still qualifies, tells each change once, and a rerun changes nothing.
func TestTierReviewAcrossACycleEnd(t *testing.T) {
	e := newEnv(t, jobs.Config{})
	prog := e.svc.Program
	prog.Tiers = loyalty.Tiers{Window: loyalty.WindowRolling12, Levels: []loyalty.TierLevel{{ID: "bronze", Name: "Bronze"},
		{ID: "silver", Name: "Silver", Threshold: 100, Multiplier: 2000}, {ID: "gold", Name: "Gold", Threshold: 300, Multiplier: 3000}}}
	march := time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)
	e.accrue(t, "gold-1", "g1", 35_000, march)   // 350 points: gold at once
	e.accrue(t, "silver-1", "s1", 15_000, march) // 150: silver
	e.accrue(t, "silver-2", "k1", 15_000, march) // 150: silver, and keeps buying
	for _, m := range []string{"gold-1", "silver-1", "silver-2"} {
		a, _ := e.store.Account(context.Background(), loyalty.MemberID(m))
		if a.TierReviewOn != "2027-03-10" {
			t.Fatalf("%s: got review day %q, want 2027-03-10", m, a.TierReviewOn)
		}
	}
	// silver-2 buys again in February 2027: 60 points at x2 = 120 in the window.
	e.accrue(t, "silver-2", "k2", 6_000, time.Date(2027, 2, 20, 11, 0, 0, 0, time.UTC))

	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled", "tier-review.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(ev.Time)
	var metrics bytes.Buffer
	e.jobs.Metrics = &emf.Writer{W: &metrics, Stage: "test"}
	handler := e.jobs.Handler(jobs.TierReview)
	for run := 1; run <= 3; run++ {
		rep, err := handler(context.Background(), ev)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		// The first run reviews the three; reruns find the day's scopes
		// checkpointed as done and change nothing.
		wantChanged, wantSeen := map[int]int{1: 2}[run], map[int]int{1: 3}[run]
		if rep.Changed != wantChanged || !rep.Complete || rep.Seen != wantSeen {
			t.Errorf("run %d: got changed %d seen %d complete %v, want %d, %d, true", run, rep.Changed, rep.Seen, rep.Complete, wantChanged, wantSeen)
		}
		t.Logf("tier-review run %d: seen %d, changed %d, replayed %d, notified %d", run, rep.Seen, rep.Changed, rep.Replayed, rep.Notified)
	}
	want := map[string]struct {
		tier   string
		review loyalty.Date
	}{"gold-1": {"silver", "2028-03-10"}, "silver-1": {"", ""}, "silver-2": {"silver", "2028-03-10"}}
	for m, w := range want {
		a, _ := e.store.Account(context.Background(), loyalty.MemberID(m))
		if a.Tier != w.tier || a.TierReviewOn != w.review {
			t.Errorf("%s after the review: got tier %q review %q, want %q %q", m, a.Tier, a.TierReviewOn, w.tier, w.review)
		}
	}
	if n := e.inbox(t, "gold-1"); len(n) != 1 || n[0].Kind != loyalty.NoteTierChanged || n[0].Data["to"] != "silver" || n[0].Data["from"] != "gold" {
		t.Errorf("gold-1's inbox: got %+v, want one tier_changed gold -> silver", n)
	}
	if n := e.inbox(t, "silver-2"); len(n) != 0 {
		t.Errorf("silver-2 kept the tier: got %d notifications, want 0", len(n))
	}
	if got := e.sink.byType(t)[loyalty.EventTierChanged]; got != 2 {
		t.Errorf("tier_changed events: got %d, want 2 (once per change over three runs)", got)
	}
	if lines := strings.Split(strings.TrimSpace(metrics.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[0], `"MembersChanged":2`) {
		t.Errorf("metrics: got %q, want one EMF line per run, the first with MembersChanged 2", metrics.String())
	}
	if c := e.jstore.Consumed(); c.Scans != 0 {
		t.Errorf("scans by the job: got %d, want 0", c.Scans)
	}
	e.audit(t, "gold-1", "silver-1", "silver-2")
}
