package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func TestRejectionsAreRecordedOnceAndReplayedOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	r := loyalty.Rejection{MessageID: "msg-1", Source: "arn:aws:sqs:us-east-1:000000000000:partner", Body: `{"type":`,
		Reason: loyalty.RejectMalformedJSON, Message: "unexpected EOF", FirstSeen: t0, LastSeen: t0, ReceiveCount: 1}
	if err := f.store.RecordRejection(ctx, r); err != nil {
		t.Fatal(err)
	}
	again := r
	again.FirstSeen, again.LastSeen, again.ReceiveCount = t0.Add(time.Minute), t0.Add(time.Minute), 2
	if err := f.store.RecordRejection(ctx, again); err != nil {
		t.Fatal(err)
	}
	other := loyalty.Rejection{MessageID: "msg-2", Body: `{}`, Reason: loyalty.RejectUnknownPartner, Message: "partner x",
		PartnerID: "x", EventType: "purchase.completed", EventID: "e1", MemberID: "m1", FirstSeen: t0.Add(time.Second), LastSeen: t0.Add(time.Second), ReceiveCount: 1}
	if err := f.store.RecordRejection(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := f.store.Rejection(ctx, "msg-1")
	if err != nil {
		t.Fatal(err)
	}
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Minute)) || got.ReceiveCount != 2 || got.State != loyalty.RejectionOpen || got.Body != r.Body {
		t.Errorf("rejection after two records: got %+v, want first seen %s, last seen +1m, 2 receives, open, the body", got, t0)
	}
	all, err := f.store.Rejections(ctx, dynamoFilter(""))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].MessageID != "msg-1" || all[1].PartnerID != "x" || all[1].MemberID != "m1" {
		t.Errorf("list: got %+v, want msg-1 then msg-2", all)
	}
	if err := f.store.MarkRejectionReplayed(ctx, "msg-1", "msg-9", "ops:test", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := f.store.MarkRejectionReplayed(ctx, "msg-1", "msg-10", "ops:test", t0.Add(time.Hour)); loyalty.ErrorCode(err) != loyalty.CodeConflict {
		t.Errorf("second replay: got %v, want %q", err, loyalty.CodeConflict)
	}
	if err := f.store.MarkRejectionReplayed(ctx, "nope", "msg-10", "ops:test", t0); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("replay of an unknown message: got %v, want %q", err, loyalty.CodeNotFound)
	}
	open, err := f.store.Rejections(ctx, dynamoFilter(loyalty.RejectionOpen))
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || open[0].MessageID != "msg-2" {
		t.Errorf("open rejections: got %+v, want msg-2 only", open)
	}
	got, _ = f.store.Rejection(ctx, "msg-1")
	if got.State != loyalty.RejectionReplayed || got.ReplayedAs != "msg-9" || got.ReplayedBy != "ops:test" {
		t.Errorf("replayed rejection: got %+v, want replayed as msg-9 by ops:test", got)
	}
	// A redelivery of a replayed message keeps it replayed.
	if err := f.store.RecordRejection(ctx, again); err != nil {
		t.Fatal(err)
	}
	if got, _ = f.store.Rejection(ctx, "msg-1"); got.State != loyalty.RejectionReplayed {
		t.Errorf("state after a late redelivery: got %s, want replayed", got.State)
	}
}

func dynamoFilter(state loyalty.RejectionState) loyalty.RejectionFilter {
	return loyalty.RejectionFilter{State: state}
}
