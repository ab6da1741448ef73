package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Feedback on one purchase sent 10 times at once, and in another wording:
// one feedback, one bonus.
func TestFeedbackOncePerPurchase(t *testing.T) {
	f := referralFixture(t, 5)
	ctx := context.Background()
	buy := f.accrue(t, f.purchase("rater", "e1", 1234, f.clock.Now()))
	req := loyalty.FeedbackRequest{MemberID: "rater", PurchaseID: buy.Entry.Key, Rating: 4, Comment: "  fine  "}
	var wg sync.WaitGroup
	results := make([]loyalty.Result, 10)
	errs := make([]error, 10)
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i], errs[i] = f.svc.GiveFeedback(ctx, req)
		}()
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
	}
	if firsts != 1 {
		t.Errorf("got %d first deliveries, want 1", firsts)
	}
	if got := f.balance(t, "rater"); got != 12+10 {
		t.Errorf("balance: got %d, want 22 (12 + 10 feedback bonus)", got)
	}
	changed := req
	changed.Rating = 1
	if _, _, err := f.svc.GiveFeedback(ctx, changed); loyalty.ErrorCode(err) != loyalty.CodeConflict {
		t.Errorf("other feedback on the same purchase: got %v, want conflict", err)
	}
	list, err := f.store.MemberFeedback(ctx, "rater")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Comment != "fine" || list[0].Rating != 4 || list[0].Bonus != 10 || list[0].PurchaseRef != "shop1:e1" {
		t.Errorf("member's feedback: got %+v, want one, rating 4, comment trimmed, 10 points", list)
	}
	f.audit(t)
}

// Ops page through feedback of several days, oldest first, and every
// feedback appears exactly once whatever the page size.
func TestFeedbackPagesAcrossDays(t *testing.T) {
	f := referralFixture(t, 5)
	ctx := context.Background()
	start := f.clock.Now()
	want := 0
	days := []int{0, 0, 0, 2, 2, 5, 5, 5, 5, 6} // day offsets; days 1, 3 and 4 have none
	for i, d := range days {
		f.clock.now = start.Add(time.Duration(d)*24*time.Hour + time.Duration(i)*time.Minute)
		member := fmt.Sprintf("fb-%d", i%3)
		buy := f.accrue(t, f.purchase(member, fmt.Sprintf("e%d", i), 1000, f.clock.Now()))
		if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: loyalty.MemberID(member), PurchaseID: buy.Entry.Key, Rating: 1 + i%5}); err != nil {
			t.Fatal(err)
		}
		want++
	}
	from := f.svc.Program.Today(start)
	to := from.AddDays(6)
	for _, limit := range []int{1, 2, 3, 4, 10, 100} {
		var got []loyalty.PurchaseFeedback
		cursor, pages := "", 0
		for {
			page, next, err := f.store.Feedback(ctx, from, to, cursor, limit)
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages, err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: got a page of %d", limit, len(page))
			}
			got = append(got, page...)
			pages++
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != want {
			t.Errorf("limit %d: got %d feedback in %d pages, want %d", limit, len(got), pages, want)
			continue
		}
		for i := 1; i < len(got); i++ {
			if got[i].At.Before(got[i-1].At) {
				t.Errorf("limit %d: feedback %d (%s) comes before %d (%s)", limit, i, got[i].At, i-1, got[i-1].At)
			}
		}
	}
	// Only the days asked for.
	page, _, err := f.store.Feedback(ctx, from.AddDays(5), from.AddDays(5), "", 100)
	if err != nil || len(page) != 4 {
		t.Errorf("day 5 alone: got %d (%v), want 4", len(page), err)
	}
	// Reading costs one Query per day and no Scan.
	before := f.store.Consumed()
	if _, _, err := f.store.Feedback(ctx, from, to, "", 100); err != nil {
		t.Fatal(err)
	}
	after := f.store.Consumed()
	if q := after.Queries - before.Queries; q != 7 || after.Scans != before.Scans {
		t.Errorf("a week of feedback: got %d queries and %d scans, want 7 and 0", q, after.Scans-before.Scans)
	}
}
