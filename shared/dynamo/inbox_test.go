package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func TestInbox(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.svc.Program
	now := f.clock.Now()
	for i := range 5 {
		n := loyalty.NewNotification(p, "m-inbox", loyalty.NotePointsExpiring, fmt.Sprintf("2026-04-%02d", 10+i),
			"points expire", map[string]any{"points": 10 + i}, now.Add(time.Duration(i)*time.Minute))
		stored, created, err := f.store.Deliver(ctx, n)
		if err != nil || !created || stored.ID != n.ID {
			t.Fatalf("deliver %d: got created=%v id=%s err=%v, want a new %s", i, created, stored.ID, err, n.ID)
		}
	}
	// A repeat of an occasion stores nothing and returns the first one.
	dup := loyalty.NewNotification(p, "m-inbox", loyalty.NotePointsExpiring, "2026-04-10", "changed title", nil, now.Add(time.Hour))
	stored, created, err := f.store.Deliver(ctx, dup)
	if err != nil || created || stored.Title != "points expire" || stored.Data["points"] != 10.0 {
		t.Fatalf("repeat: got created=%v stored=%+v err=%v, want the first notification", created, stored, err)
	}
	if err := f.store.MarkPublished(ctx, "m-inbox", dup.ID); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := f.store.Deliver(ctx, dup); !again.Published {
		t.Errorf("after MarkPublished: got published=false, want true")
	}
	// Another member's inbox and an expired notification stay out.
	other := loyalty.NewNotification(p, "m-other", loyalty.NoteClassChanged, "2026-W11", "class", nil, now)
	old := loyalty.NewNotification(p, "m-inbox", loyalty.NoteClassChanged, "2025-W01", "old", nil, now.AddDate(0, 0, -200))
	for _, n := range []loyalty.Notification{other, old} {
		if _, _, err := f.store.Deliver(ctx, n); err != nil {
			t.Fatal(err)
		}
	}

	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := f.store.Notifications(ctx, "m-inbox", cursor, 2, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range page {
			ids = append(ids, n.ID)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("pages: got %d, want 3 pages of at most 2", pages+1)
			}
			break
		}
		cursor = next
	}
	want := []string{"expiring-2026-04-14", "expiring-2026-04-13", "expiring-2026-04-12", "expiring-2026-04-11", "expiring-2026-04-10"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("inbox newest first: got %v, want %v", ids, want)
	}
	if _, _, err := f.store.Notifications(ctx, "m-inbox", "not-a-cursor", 2, now); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
		t.Errorf("bad cursor: got %v, want %s", err, loyalty.CodeInvalid)
	}

	readAt := now.Add(2 * time.Hour)
	n, err := f.store.MarkNotificationRead(ctx, "m-inbox", "expiring-2026-04-12", readAt)
	if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(readAt) {
		t.Fatalf("mark read: got %+v (%v), want read at %s", n, err, readAt)
	}
	n, err = f.store.MarkNotificationRead(ctx, "m-inbox", "expiring-2026-04-12", readAt.Add(time.Hour))
	if err != nil || !n.ReadAt.Equal(readAt) {
		t.Errorf("mark read again: got %v (%v), want the first time %s", n.ReadAt, err, readAt)
	}
	for _, c := range []struct{ member, id string }{{"m-inbox", "class-2026-W11"}, {"m-other", "expiring-2026-04-12"}, {"m-inbox", "class-2025-W01"}} {
		if _, err := f.store.MarkNotificationRead(ctx, loyalty.MemberID(c.member), c.id, readAt); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
			t.Errorf("%s reads %s: got %v, want %s", c.member, c.id, err, loyalty.CodeNotFound)
		}
	}
}
