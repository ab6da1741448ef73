package storecontract

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A notification is stored once per member and occasion (a repeat hands
// back the first), waits in the outbox of its day until published, pages
// newest first, is marked read once, and drops out of the inbox when it
// expires.
func testNotifications(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	p := f.svc.Program
	now := f.clock.Now()
	for i := range 5 {
		n := loyalty.NewNotification(p, "m-inbox", loyalty.NotePointsExpiring, fmt.Sprintf("2026-04-%02d", 10+i),
			"points expire", map[string]any{"points": 10 + i}, now.Add(time.Duration(i)*time.Minute))
		stored, created, err := f.st.Deliver(ctx, n)
		if err != nil || !created || stored.ID != n.ID {
			t.Fatalf("deliver %d: got created=%v id=%s (%v), want a new %s", i, created, stored.ID, err, n.ID)
		}
	}
	// The same occasion 10 times at once: stored once, the first one kept.
	dup := loyalty.NewNotification(p, "m-inbox", loyalty.NotePointsExpiring, "2026-04-10", "changed title", nil, now.Add(time.Hour))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
	)
	for range 10 {
		wg.Go(func() {
			stored, c, err := f.st.Deliver(ctx, dup)
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
			if err != nil || stored.Title != "points expire" || stored.Data["points"] != 10.0 {
				t.Errorf("repeat: got %+v (%v), want the first notification (points 10.0 after JSON)", stored, err)
			}
		})
	}
	wg.Wait()
	if created != 0 {
		t.Errorf("repeats of a stored occasion: got %d stored, want 0", created)
	}

	// Unpublished notifications wait in the outbox of their day (UTC).
	day := loyalty.DateOf(now, time.UTC)
	inOutbox := func(id string) bool {
		return hasHit(t, f.st.Unpublished, day, "m-inbox", func(h loyalty.DueItem) bool { return h.NotificationID == id })
	}
	if !inOutbox(dup.ID) {
		t.Errorf("outbox of %s: got no %s, want it until published", day, dup.ID)
	}
	if err := f.st.MarkPublished(ctx, "m-inbox", dup.ID); err != nil {
		t.Fatal(err)
	}
	if inOutbox(dup.ID) {
		t.Errorf("outbox of %s after publishing: got %s, want it gone", day, dup.ID)
	}
	if n, err := f.st.Notification(ctx, "m-inbox", dup.ID); err != nil || !n.Published {
		t.Errorf("published notification: got published=%v (%v), want true", n.Published, err)
	}
	if again, created, _ := f.st.Deliver(ctx, dup); created || !again.Published {
		t.Errorf("repeat after publishing: got created=%v published=%v, want the stored one, published", created, again.Published)
	}
	if err := f.st.MarkPublished(ctx, "m-inbox", "never-stored"); err != nil {
		t.Errorf("mark a notification that is not there published: got %v, want nothing to do", err)
	}

	// Another member's and an expired notification stay out of the inbox.
	other := loyalty.NewNotification(p, "m-other", loyalty.NoteClassChanged, "2026-W11", "class", nil, now)
	old := loyalty.NewNotification(p, "m-inbox", loyalty.NoteClassChanged, "2025-W01", "old", nil, now.AddDate(0, 0, -200))
	for _, n := range []loyalty.Notification{other, old} {
		if _, _, err := f.st.Deliver(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor, pages := "", 0
	for {
		page, next, err := f.st.Notifications(ctx, "m-inbox", cursor, 2, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Fatalf("inbox page %d: got %d, want at most 2", pages, len(page))
		}
		for _, n := range page {
			ids = append(ids, n.ID)
		}
		pages++
		if next == "" || pages > 10 {
			break
		}
		cursor = next
	}
	want := []string{"expiring-2026-04-14", "expiring-2026-04-13", "expiring-2026-04-12", "expiring-2026-04-11", "expiring-2026-04-10"}
	if fmt.Sprint(ids) != fmt.Sprint(want) || pages != 3 {
		t.Errorf("inbox newest first in pages of 2: got %v in %d pages, want %v in 3", ids, pages, want)
	}
	_, _, err := f.st.Notifications(ctx, "m-inbox", "not-a-cursor", 2, now)
	wantCode(t, "inbox with a made-up cursor", err, loyalty.CodeInvalid)

	readAt := now.Add(2 * time.Hour)
	n, err := f.st.MarkNotificationRead(ctx, "m-inbox", "expiring-2026-04-12", readAt)
	if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(readAt) {
		t.Fatalf("mark read: got %+v (%v), want read at %s", n, err, readAt)
	}
	n, err = f.st.MarkNotificationRead(ctx, "m-inbox", "expiring-2026-04-12", readAt.Add(time.Hour))
	if err != nil || n.ReadAt == nil || !n.ReadAt.Equal(readAt) {
		t.Errorf("mark read again: got %v (%v), want the first time %s", n.ReadAt, err, readAt)
	}
	for _, c := range []struct{ member, id string }{{"m-inbox", "class-2026-W11"}, {"m-other", "expiring-2026-04-12"}, {"m-inbox", "class-2025-W01"}} {
		_, err := f.st.MarkNotificationRead(ctx, loyalty.MemberID(c.member), c.id, readAt)
		wantCode(t, fmt.Sprintf("%s reads %s", c.member, c.id), err, loyalty.CodeNotFound)
	}

	// Past its expiry a notification drops out of the inbox and cannot be read.
	late := dup.ExpiresAt.Add(time.Hour)
	if page, _, err := f.st.Notifications(ctx, "m-inbox", "", 10, late); err != nil || len(page) != 0 {
		t.Errorf("inbox after every notification expired: got %d (%v), want none", len(page), err)
	}
	_, err = f.st.MarkNotificationRead(ctx, "m-inbox", "expiring-2026-04-13", late)
	wantCode(t, "mark an expired notification read", err, loyalty.CodeNotFound)
}

// A refused message is recorded once however often it is redelivered
// (first seen kept, last seen and count refreshed), listed oldest first by
// filter, and replayed once.
func testRejections(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	t0 := f.clock.Now()
	r := loyalty.Rejection{MessageID: "msg-1", Source: "arn:aws:sqs:eu-central-1:000000000000:partner", Body: `{"type":`,
		Reason: loyalty.RejectMalformedJSON, Message: "unexpected EOF", FirstSeen: t0, LastSeen: t0, ReceiveCount: 1}
	if err := f.st.RecordRejection(ctx, r); err != nil {
		t.Fatal(err)
	}
	again := r
	again.FirstSeen, again.LastSeen, again.ReceiveCount = t0.Add(time.Minute), t0.Add(time.Minute), 2
	if err := f.st.RecordRejection(ctx, again); err != nil {
		t.Fatal(err)
	}
	other := loyalty.Rejection{MessageID: "msg-2", Body: `{}`, Reason: loyalty.RejectUnknownPartner, Message: "partner x",
		PartnerID: "x", EventType: "purchase.completed", EventID: "e1", MemberID: "m1",
		FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Second), ReceiveCount: 1}
	if err := f.st.RecordRejection(ctx, other); err != nil {
		t.Fatal(err)
	}
	err := f.st.RecordRejection(ctx, loyalty.Rejection{Body: "x", Reason: loyalty.RejectMalformedJSON})
	wantCode(t, "rejection without a message id", err, loyalty.CodeInvalid)

	got, err := f.st.Rejection(ctx, "msg-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Minute)) || got.ReceiveCount != 2 || got.State != loyalty.RejectionOpen ||
		got.Body != r.Body || got.Source != r.Source || got.Reason != r.Reason {
		t.Errorf("rejection after two records: got %+v, want first seen %s, last seen +1m, 2 receives, open, its body and source", got, t0)
	}
	list := func(f2 loyalty.RejectionFilter) []string {
		t.Helper()
		rs, err := f.st.Rejections(ctx, f2)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.MessageID)
		}
		return ids
	}
	for _, c := range []struct {
		name   string
		filter loyalty.RejectionFilter
		want   []string
	}{
		{"all", loyalty.RejectionFilter{}, []string{"msg-1", "msg-2"}},
		{"by reason", loyalty.RejectionFilter{Reason: loyalty.RejectUnknownPartner}, []string{"msg-2"}},
		{"by partner", loyalty.RejectionFilter{PartnerID: "x"}, []string{"msg-2"}},
		{"since", loyalty.RejectionFilter{Since: t0.Add(time.Second)}, []string{"msg-2"}},
		{"none", loyalty.RejectionFilter{Reason: loyalty.RejectConflict}, nil},
	} {
		if got := list(c.filter); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("rejections %s: got %v, want %v", c.name, got, c.want)
		}
	}

	if err := f.st.MarkRejectionReplayed(ctx, "msg-1", "msg-9", "ops:test", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	err = f.st.MarkRejectionReplayed(ctx, "msg-1", "msg-10", "ops:test", t0.Add(time.Hour))
	wantCode(t, "second replay", err, loyalty.CodeConflict)
	if got := list(loyalty.RejectionFilter{State: loyalty.RejectionOpen}); fmt.Sprint(got) != "[msg-2]" {
		t.Errorf("open rejections: got %v, want [msg-2]", got)
	}
	got, _ = f.st.Rejection(ctx, "msg-1")
	if got.State != loyalty.RejectionReplayed || got.ReplayedAs != "msg-9" || got.ReplayedBy != "ops:test" || !got.ReplayedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("replayed rejection: got %+v, want replayed as msg-9 by ops:test at %s", got, t0.Add(time.Hour))
	}
	// A late redelivery of a replayed message keeps it replayed.
	if err := f.st.RecordRejection(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.st.Rejection(ctx, "msg-1"); got.State != loyalty.RejectionReplayed || got.ReplayedAs != "msg-9" {
		t.Errorf("after a late redelivery: got state %s replayed as %q, want replayed as msg-9", got.State, got.ReplayedAs)
	}
}
