package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// fakeBridge accepts entries, failing the ones fail says on their first try.
type fakeBridge struct {
	calls    []int            // entries per call
	accepted map[string]int   // eventId -> times accepted
	failOnce map[string]bool  // eventId -> fail the first try
	failAll  bool             // every entry fails
	callErr  []error          // errors returned by the first calls
	details  []map[string]any // accepted details
	entries  []types.PutEventsRequestEntry
}

func (f *fakeBridge) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.calls = append(f.calls, len(in.Entries))
	if len(f.callErr) > 0 {
		err := f.callErr[0]
		f.callErr = f.callErr[1:]
		return nil, err
	}
	out := &eventbridge.PutEventsOutput{}
	for _, e := range in.Entries {
		var d map[string]any
		if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
			return nil, err
		}
		id := d["eventId"].(string)
		if f.failAll || f.failOnce[id] {
			delete(f.failOnce, id)
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
			continue
		}
		f.accepted[id]++
		f.details = append(f.details, d)
		f.entries = append(f.entries, e)
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String("eb-" + id)})
	}
	return out, nil
}

func testBus(f *fakeBridge) *Bus {
	b := New(f, "loyalty-test")
	b.sleep = func(context.Context, time.Duration) error { return nil }
	return b
}

func events(n int) []loyalty.DomainEvent {
	out := make([]loyalty.DomainEvent, n)
	for i := range out {
		out[i] = loyalty.DomainEvent{ID: fmt.Sprintf("ev-%02d", i), Type: loyalty.EventPointsExpired, MemberID: "m1", ProgramID: "demo",
			OccurredAt: time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC), Detail: map[string]any{"points": 10 + i}}
	}
	return out
}

func TestPublishBatchesOfTenAndRetriesFailedEntries(t *testing.T) {
	f := &fakeBridge{accepted: map[string]int{}, failOnce: map[string]bool{"ev-03": true, "ev-12": true, "ev-22": true}}
	if err := testBus(f).Publish(context.Background(), events(23)); err != nil {
		t.Fatal(err)
	}
	// 10, then the failed one again, 10 and its failed one, 3 and its failed one.
	if want := "[10 1 10 1 3 1]"; fmt.Sprint(f.calls) != want {
		t.Errorf("entries per call: got %v, want %s", f.calls, want)
	}
	for i := range 23 {
		if n := f.accepted[fmt.Sprintf("ev-%02d", i)]; n != 1 {
			t.Errorf("ev-%02d: accepted %d times, want 1", i, n)
		}
	}
	e := f.entries[0]
	if aws.ToString(e.Source) != "loyalty" || aws.ToString(e.DetailType) != "points.expired.v1" || aws.ToString(e.EventBusName) != "loyalty-test" {
		t.Errorf("entry: got source %s detail-type %s bus %s, want loyalty, points.expired.v1, loyalty-test",
			aws.ToString(e.Source), aws.ToString(e.DetailType), aws.ToString(e.EventBusName))
	}
	if d := f.details[0]; d["memberId"] != "m1" || d["programId"] != "demo" || d["occurredAt"] != "2026-04-01T01:00:00Z" || d["points"] != 10.0 {
		t.Errorf("detail: got %v, want the envelope and the points", d)
	}
}

func TestPublishGivesUpAsTransient(t *testing.T) {
	f := &fakeBridge{accepted: map[string]int{}, failAll: true}
	err := testBus(f).Publish(context.Background(), events(3))
	if !loyalty.Retryable(err) || len(f.calls) != 6 {
		t.Errorf("always failing: got %v after %d calls, want a retryable error after 6", err, len(f.calls))
	}
	f = &fakeBridge{accepted: map[string]int{}, callErr: []error{&types.ThrottlingException{Message: aws.String("slow down")}}}
	if err := testBus(f).Publish(context.Background(), events(2)); err != nil || len(f.accepted) != 2 {
		t.Errorf("throttled once: got %v with %d accepted, want both accepted", err, len(f.accepted))
	}
	f = &fakeBridge{accepted: map[string]int{}, callErr: []error{&types.AccessDeniedException{Message: aws.String("no")}}}
	err = testBus(f).Publish(context.Background(), events(2))
	var le *loyalty.Error
	if !errors.As(err, &le) || le.Code != loyalty.CodeInternal || len(f.calls) != 1 {
		t.Errorf("access denied: got %v after %d calls, want a final internal error after 1", err, len(f.calls))
	}
}
