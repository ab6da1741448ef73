package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

func loadSQSEvent(tb testing.TB, name string) events.SQSEvent {
	tb.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(readFile(tb, filepath.Join(partnerDir, "sqs", name)), &ev); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return ev
}

func (f fixture) handle(tb testing.TB, ev events.SQSEvent) []string {
	tb.Helper()
	resp, err := f.handler.Handle(context.Background(), ev)
	if err != nil {
		tb.Fatalf("Handle: got error %v, want nil (failures go in the response)", err)
	}
	var failed []string
	for _, it := range resp.BatchItemFailures {
		failed = append(failed, it.ItemIdentifier)
	}
	return failed
}

// message wraps a body as one SQS record received n times, as it arrives
// from the queue of the partner the body names (demo-coffee-berlin's when
// it names none): the tests of what a partner sends.
func message(id, body string, receives int) events.SQSMessage {
	var named struct {
		PartnerID string `json:"partnerId"`
	}
	if json.Unmarshal([]byte(body), &named) != nil || named.PartnerID == "" {
		named.PartnerID = "demo-coffee-berlin"
	}
	return messageFrom(named.PartnerID, id, body, receives)
}

// messageFrom is a record that arrived on sender's queue.
func messageFrom(sender, id, body string, receives int) events.SQSMessage {
	return events.SQSMessage{MessageId: id, Body: body, EventSource: "aws:sqs",
		EventSourceARN: queueARN(sender),
		Attributes:     map[string]string{"ApproximateReceiveCount": fmt.Sprint(receives), "SentTimestamp": "1773126900000"}}
}

// queueARN is the ARN of a partner's queue in the fixture's stage.
func queueARN(partner string) string {
	return "arn:aws:sqs:eu-central-1:111122223333:" + partnerqueue.Name(testStage, partner)
}

func batch(msgs ...events.SQSMessage) events.SQSEvent { return events.SQSEvent{Records: msgs} }

func (f fixture) rejection(tb testing.TB, messageID string) loyalty.Rejection {
	tb.Helper()
	r, err := f.store.Rejection(context.Background(), messageID)
	if err != nil {
		tb.Fatalf("rejection of %s: %v", messageID, err)
	}
	return r
}

// TestSQSWrappersInOrder runs the SQS events of events/partner/sqs through
// the handler the way the queue would deliver them.
func TestSQSWrappersInOrder(t *testing.T) {
	f := newFixture(t, nil)

	if failed := f.handle(t, loadSQSEvent(t, "purchases.json")); len(failed) != 0 {
		t.Fatalf("purchases: got failures %v, want none", failed)
	}
	// coffee 24.50 -> 24, grinder 129.99 -> 129; the second coffee message is a duplicate.
	if got, want := f.balance(t, "member-0001"), loyalty.Points(153); got != want {
		t.Errorf("member-0001 after purchases: got %d, want %d", got, want)
	}
	if got, want := f.balance(t, "member-0002"), loyalty.Points(9); got != want {
		t.Errorf("member-0002 after purchases: got %d, want %d", got, want)
	}

	if failed := f.handle(t, loadSQSEvent(t, "refunds.json")); len(failed) != 0 {
		t.Fatalf("refunds: got failures %v, want none", failed)
	}
	// Line 3 (10.00 of 24.50): round(24*1000/2450) = 10; 30.00 of 129.99:
	// round(129*3000/12999) = 30; the repeated refund of line 3 takes nothing.
	if got, want := f.balance(t, "member-0001"), loyalty.Points(153-10-30); got != want {
		t.Errorf("member-0001 after refunds: got %d, want %d", got, want)
	}

	early := loadSQSEvent(t, "refund-before-purchase.json")
	if failed := f.handle(t, early); !slices.Equal(failed, []string{early.Records[0].MessageId}) {
		t.Errorf("refund before its purchase, first receive: got failures %v, want [%s]", failed, early.Records[0].MessageId)
	}
	if _, err := f.store.Rejection(context.Background(), early.Records[0].MessageId); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("rejection while the refund waits: got %v, want none", err)
	}
	parked := loadSQSEvent(t, "refund-parked.json")
	if failed := f.handle(t, parked); len(failed) != 0 {
		t.Errorf("refund that waited 4 receives: got failures %v, want none (parked)", failed)
	}
	r := f.rejection(t, parked.Records[0].MessageId)
	if r.Reason != loyalty.RejectPurchaseNotFound || r.Body != parked.Records[0].Body || r.ReceiveCount != 4 ||
		r.PartnerID != "demo-webshop" || r.EventID != "refund:never-bought" || r.State != loyalty.RejectionOpen {
		t.Errorf("parked refund: got %+v, want purchase_not_found with its body, 4 receives, partner and event, open", r)
	}

	mixed := loadSQSEvent(t, "mixed-malformed.json")
	if failed := f.handle(t, mixed); len(failed) != 0 {
		t.Errorf("mixed batch: got failures %v, want none", failed)
	}
	for i, want := range []loyalty.RejectReason{"", loyalty.RejectMalformedJSON, loyalty.RejectUnknownPartner, loyalty.RejectSchemaViolation} {
		id := mixed.Records[i].MessageId
		got, err := f.store.Rejection(context.Background(), id)
		switch {
		case want == "" && loyalty.ErrorCode(err) != loyalty.CodeNotFound:
			t.Errorf("record %d: got rejection %+v (%v), want it applied", i, got, err)
		case want != "" && (err != nil || got.Reason != want || got.Body != mixed.Records[i].Body || got.Message == ""):
			t.Errorf("record %d: got %+v (%v), want reason %s with body and message", i, got, err, want)
		}
	}
	if _, err := f.store.Account(context.Background(), "member-0003"); err != nil {
		t.Errorf("zero-amount purchase: got %v, want the member enrolled", err)
	}
	if n := strings.Count(f.metrics.String(), `"MessagesProcessed":`); n != 5 {
		t.Errorf("EMF batch lines: got %d, want one per batch (5), beside the per-partner lines", n)
	}
	f.audit(t)
}

func TestInvalidSamplesAreRejectedWithTheirReason(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{"coffee-with-lines.json", "total-only.json"} {
		body := readFile(t, filepath.Join(partnerDir, "samples", "purchase.completed", name))
		if failed := f.handle(t, batch(message("seed-"+name, string(body), 1))); len(failed) != 0 {
			t.Fatalf("seed %s: got failures %v", name, failed)
		}
	}
	for name, want := range invalidSamples(t) {
		t.Run(name, func(t *testing.T) {
			body := readFile(t, filepath.Join(partnerDir, "samples", "invalid", name))
			id := "invalid-" + name
			// Delivered as often as a refund waits, so a missing purchase is final.
			if failed := f.handle(t, batch(message(id, string(body), ingest.DefaultRefundWaitReceives))); len(failed) != 0 {
				t.Fatalf("got failures %v, want the message acknowledged", failed)
			}
			r := f.rejection(t, id)
			if r.Reason != want.Reason {
				t.Errorf("reason: got %s (%s), want %s (%s)", r.Reason, r.Message, want.Reason, want.Why)
			}
			if r.Body != string(body) || r.Message == "" || r.State != loyalty.RejectionOpen {
				t.Errorf("record: got body %q message %q state %s, want the full body, a message, open", r.Body, r.Message, r.State)
			}
		})
	}
	if got := f.balance(t, "member-0001"); got != 24 {
		t.Errorf("balance after the invalid samples: got %d, want 24 (the seed purchase only)", got)
	}
	f.audit(t)
}

func TestTransientFailureFailsOnlyItsMessage(t *testing.T) {
	var target string
	mode := failBefore
	client := &faultyClient{Client: localDynamo(t).Client()}
	client.rule = func(ctx context.Context, op string, pks []string) fault {
		if op == "TransactWriteItems" && slices.Contains(pks, target) {
			return mode
		}
		return noFault
	}
	f := newFixture(t, client)
	purchase := func(member, event string, minor int) string {
		return fmt.Sprintf(`{"type":"purchase.completed","version":1,"partnerId":"demo-webshop","eventId":%q,"memberRef":%q,"occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":%d}`, event, member, minor)
	}
	ev := batch(message("m1", purchase("alice", "e1", 1000), 1), message("m2", purchase("bob", "e2", 2000), 1), message("m3", purchase("carol", "e3", 3000), 1))

	target = "M#bob"
	if failed := f.handle(t, ev); !slices.Equal(failed, []string{"m2"}) {
		t.Fatalf("DynamoDB failing for bob: got failures %v, want [m2]", failed)
	}
	if a, b, c := f.balance(t, "alice"), f.balance(t, "bob"), f.balance(t, "carol"); a != 10 || b != 0 || c != 30 {
		t.Errorf("balances: got %d %d %d, want 10 0 30", a, b, c)
	}

	// The write reaches DynamoDB but the answer is lost: SQS delivers again,
	// and the redelivery is a replay.
	mode = failAfter
	if failed := f.handle(t, batch(message("m2", purchase("bob", "e2", 2000), 2))); !slices.Equal(failed, []string{"m2"}) {
		t.Fatalf("answer lost: got failures %v, want [m2]", failed)
	}
	target = ""
	if failed := f.handle(t, batch(message("m2", purchase("bob", "e2", 2000), 3))); len(failed) != 0 {
		t.Fatalf("redelivery: got failures %v, want none", failed)
	}
	if got := f.balance(t, "bob"); got != 20 {
		t.Errorf("bob after a lost answer and a redelivery: got %d, want 20 (credited once)", got)
	}
	if !strings.Contains(f.metrics.String(), `"MessagesDuplicate":1`) {
		t.Errorf("metrics: got %s, want the redelivery counted as a duplicate", f.metrics.String())
	}
	f.audit(t)
}

type failingRecorder struct{}

func (failingRecorder) RecordRejection(context.Context, loyalty.Rejection) error {
	return loyalty.Transient(errors.New("injected"), "storage is busy")
}

func TestRejectionThatCannotBeRecordedIsRetried(t *testing.T) {
	f := newFixture(t, nil, func(c *ingest.Config) { c.Rejections = failingRecorder{} })
	if failed := f.handle(t, batch(message("bad", "{not json", 1))); !slices.Equal(failed, []string{"bad"}) {
		t.Errorf("got failures %v, want [bad]: a rejection that is not recorded must not be acknowledged", failed)
	}
}

func TestLogsCarryTheRequestIDAndMetricsAreEMF(t *testing.T) {
	f := newFixture(t, nil)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-4711"})
	good := `{"type":"purchase.completed","version":1,"partnerId":"demo-webshop","eventId":"e1","memberRef":"m","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":1234}`
	if _, err := f.handler.Handle(ctx, batch(message("ok", good, 1), message("bad", "[]", 1))); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("log lines: got %d, want at least 3 (applied, rejected, batch)", len(lines))
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q: got %v, want JSON", l, err)
		}
		if rec["requestId"] != "req-4711" {
			t.Errorf("log line %s: got requestId %v, want req-4711", l, rec["requestId"])
		}
	}
	var emf struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage            string
		PointsAccrued    int
		MessagesRejected int
	}
	batchLine := ""
	for _, line := range strings.Split(strings.TrimSpace(f.metrics.String()), "\n") {
		if strings.Contains(line, `"MessagesProcessed"`) {
			if batchLine != "" {
				t.Fatalf("EMF: got two batch lines %q and %q, want one", batchLine, line)
			}
			batchLine = line
		}
	}
	if err := json.Unmarshal([]byte(batchLine), &emf); err != nil {
		t.Fatalf("EMF batch line %q: %v", batchLine, err)
	}
	set := emf.AWS.CloudWatchMetrics
	if len(set) != 1 || set[0].Namespace != "Loyalty" || !slices.EqualFunc(set[0].Dimensions, [][]string{{"Stage"}}, slices.Equal) || emf.AWS.Timestamp == 0 {
		t.Fatalf("EMF directive: got %+v, want namespace Loyalty, dimension Stage, a timestamp", emf.AWS)
	}
	var names []string
	for _, m := range set[0].Metrics {
		names = append(names, m.Name)
	}
	for _, want := range []string{"PointsAccrued", "MessagesRejected"} {
		if !slices.Contains(names, want) {
			t.Errorf("EMF metrics: got %v, want %s among them", names, want)
		}
	}
	if emf.Stage != testStage || emf.PointsAccrued != 12 || emf.MessagesRejected != 1 {
		t.Errorf("EMF values: got stage %q, %d points, %d rejected; want dev, 12, 1", emf.Stage, emf.PointsAccrued, emf.MessagesRejected)
	}
}

func TestParseRefundWaitReceives(t *testing.T) {
	for in, want := range map[string]int{"": ingest.DefaultRefundWaitReceives, "1": 1, "9": 9} {
		if got, err := ingest.ParseRefundWaitReceives(in); err != nil || got != want {
			t.Errorf("ParseRefundWaitReceives(%q): got %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "x", "1001"} {
		if _, err := ingest.ParseRefundWaitReceives(in); err == nil {
			t.Errorf("ParseRefundWaitReceives(%q): got nil, want an error", in)
		}
	}
}

// A partner may send to its own queue only; what its message body claims
// does not make it another partner. A purchase and a refund that name
// demo-coffee-berlin but arrive on demo-webshop's queue are refused as
// partner_mismatch (recorded with the real sender), credit and take nothing,
// and demo-coffee-berlin's own events of those ids still count. A record of
// a queue that is no partner's is refused as unknown_source.
func TestPartnerMismatchIsRejected(t *testing.T) {
	f := newFixture(t, nil)
	purchase := func(event string, minor int) string {
		return fmt.Sprintf(`{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":%q,"memberRef":"member-0001","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":%d}`, event, minor)
	}
	refund := `{"type":"purchase.refunded","version":1,"partnerId":"demo-coffee-berlin","eventId":"refund:pos-1","memberRef":"member-0001","occurredAt":"2026-03-12T11:00:00Z","originalEventId":"pos-1","currency":"EUR","amountMinor":2500}`

	if failed := f.handle(t, batch(messageFrom("demo-coffee-berlin", "genuine-1", purchase("pos-1", 2500), 1))); len(failed) != 0 {
		t.Fatalf("genuine purchase: got failures %v", failed)
	}
	before := f.balance(t, "member-0001")
	if before == 0 {
		t.Fatal("genuine purchase: got 0 points, want some")
	}

	forged := batch(
		messageFrom("demo-webshop", "forged-refund", refund, 1),
		messageFrom("demo-webshop", "forged-purchase", purchase("pos-2", 99_999_999), 1),
		events.SQSMessage{MessageId: "stray", Body: purchase("pos-3", 100), EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:eu-central-1:111122223333:loyalty-partner-events",
			Attributes:     map[string]string{"ApproximateReceiveCount": "1"}},
	)
	if failed := f.handle(t, forged); len(failed) != 0 {
		t.Fatalf("forged batch: got failures %v, want every message rejected and acknowledged", failed)
	}
	for id, want := range map[string]loyalty.RejectReason{"forged-refund": loyalty.RejectPartnerMismatch,
		"forged-purchase": loyalty.RejectPartnerMismatch, "stray": loyalty.RejectUnknownSource} {
		r := f.rejection(t, id)
		if r.Reason != want || r.Source != forged.Records[0].EventSourceARN && want == loyalty.RejectPartnerMismatch {
			t.Errorf("%s: got %s from %s (%s), want %s", id, r.Reason, r.Source, r.Message, want)
		}
		if want == loyalty.RejectPartnerMismatch && (!strings.Contains(r.Message, `queue of partner "demo-webshop"`) || r.PartnerID != "demo-webshop") {
			t.Errorf("%s: got message %q filed under %q, want it to name and be filed under the real sender demo-webshop", id, r.Message, r.PartnerID)
		}
	}
	// The sample of events/partner/sqs, as Lambda receives it from
	// demo-webshop's queue, naming demo-coffee-berlin.
	sample := loadSQSEvent(t, "partner-mismatch.json")
	if failed := f.handle(t, sample); len(failed) != 0 {
		t.Fatalf("partner-mismatch.json: got failures %v", failed)
	}
	if r := f.rejection(t, sample.Records[0].MessageId); r.Reason != loyalty.RejectPartnerMismatch || r.PartnerID != "demo-webshop" {
		t.Errorf("partner-mismatch.json: got %s filed under %q, want partner_mismatch filed under demo-webshop", r.Reason, r.PartnerID)
	}
	if got := f.balance(t, "member-0001"); got != before {
		t.Errorf("balance after the forged events: got %d, want %d", got, before)
	}

	// The genuine partner's own events of the forged ids still count.
	if failed := f.handle(t, batch(messageFrom("demo-coffee-berlin", "genuine-2", purchase("pos-2", 1000), 1),
		messageFrom("demo-coffee-berlin", "genuine-3", refund, 1))); len(failed) != 0 {
		t.Fatalf("genuine events: got failures %v", failed)
	}
	for _, id := range []string{"genuine-2", "genuine-3"} {
		if _, err := f.store.Rejection(context.Background(), id); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
			t.Errorf("%s: got rejection (%v), want it applied", id, err)
		}
	}
	if got := f.balance(t, "member-0001"); got >= before || got == 0 {
		t.Errorf("after the genuine purchase of 10.00 and the refund of the 25.00: got %d, want fewer points than %d and more than 0", got, before)
	}
}

// A purchase over its partner's maximum, when the program refuses excesses,
// is a recorded rejection limit_exceeded that credits nothing.
func TestPurchaseOverThePartnersMaximumIsRejected(t *testing.T) {
	f := newFixture(t, nil, func(c *ingest.Config) {
		p := testProgram(t, loyalty.RefundNegative)
		p.Partners[0].MaxPurchaseMinor = 10_000
		p.Limits = &loyalty.Limits{OnExcess: loyalty.ExcessRefuse}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		c.Service.Program = p
	})
	body := `{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":"huge-1","memberRef":"member-0042","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":10001}`
	if failed := f.handle(t, batch(message("m-huge", body, 1))); len(failed) != 0 {
		t.Fatalf("got failures %v, want the message rejected and acknowledged", failed)
	}
	if r := f.rejection(t, "m-huge"); r.Reason != loyalty.RejectLimitExceeded || !strings.Contains(r.Message, "maximum of 10000") {
		t.Errorf("rejection: got %s (%s), want limit_exceeded naming the maximum", r.Reason, r.Message)
	}
	if _, err := f.store.Account(context.Background(), "member-0042"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("member-0042: got %v, want no account (nothing credited)", err)
	}
}

// Each batch publishes the points its purchases credited per sender (EMF,
// by Stage and Partner), which the unusual-accrual alarm watches; a
// rejected message credits and counts nothing.
func TestPointsAccruedArePublishedPerPartner(t *testing.T) {
	f := newFixture(t, nil)
	coffee := `{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":"pp-1","memberRef":"member-0077","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":2500}`
	forged := `{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":"pp-2","memberRef":"member-0077","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":900000}`
	if failed := f.handle(t, batch(messageFrom("demo-coffee-berlin", "pp-1", coffee, 1), messageFrom("demo-webshop", "pp-2", forged, 1))); len(failed) != 0 {
		t.Fatalf("got failures %v", failed)
	}
	per := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(f.metrics.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if p, ok := m["Partner"].(string); ok {
			per[p] += m["PartnerPointsAccrued"].(float64)
		}
	}
	if len(per) != 1 || per["demo-coffee-berlin"] != float64(f.balance(t, "member-0077")) || per["demo-coffee-berlin"] == 0 {
		t.Errorf("points per partner: got %v, want only demo-coffee-berlin with the %d points it credited", per, f.balance(t, "member-0077"))
	}
}
