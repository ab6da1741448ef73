package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
	"github.com/loyalty-functions/loyalty/shared/tools/replay"
)

// Sizes of the fault-injection run (issue 4).
const (
	faultMembers   = 200
	faultPurchases = 8000
	faultRefunds   = 2000 // of which faultOrphans refund a purchase that never comes
	faultOrphans   = 20
	faultMalformed = 100
)

// item is one message to send: a partner event (with the facts the
// expectation needs) or a malformed body with the reason it must get.
type item struct {
	body   string
	reason loyalty.RejectReason // malformed and orphan messages: the rejection expected
	event  string               // partner event id, "" for malformed bodies
}

// faultStage names the fault test's partner queues.
const faultStage = "fault"

// sale is a generated purchase and the refunds sent for it.
type sale struct {
	partner, event, member string
	minor                  int64
	lines                  []partner.Line
	refundMinor            int64            // sum of amount refunds
	refundQty              map[string]int64 // sum of refunded quantities per line
}

// expectedKept is what the purchase leaves on the balance after all its
// refunds, computed here from the events without the domain's code: the
// base rate is one point per 100 minor units rounded down; refunds take
// earned*refunded/amount rounded half up, everything once the whole amount
// or every line is refunded.
func (s *sale) expectedKept() int64 {
	earned := s.minor / 100
	refunded := s.refundMinor
	all := len(s.lines) > 0
	for _, l := range s.lines {
		q := min(s.refundQty[l.LineID], l.Quantity)
		if q == l.Quantity {
			refunded += l.AmountMinor
		} else {
			refunded += l.AmountMinor * q / l.Quantity
		}
		if q < l.Quantity {
			all = false
		}
	}
	refunded = min(refunded, s.minor)
	if refunded == s.minor || all {
		return 0
	}
	if refunded == 0 || s.minor == 0 {
		return earned
	}
	clawed := (2*earned*refunded + s.minor) / (2 * s.minor) // half up
	return earned - clawed
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// generate builds the event stream: purchases in order, refunds after their
// purchase (some just before it), orphan refunds, duplicates and malformed
// bodies at random places. It returns the messages and the sales.
func generate(tb testing.TB, rng *rand.Rand, now time.Time) ([]item, []*sale, map[string]int) {
	tb.Helper()
	partners := []string{"demo-coffee-berlin", "demo-webshop"}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600)}
	at := func() string {
		return now.Add(-time.Duration(rng.Int64N(int64(72 * time.Hour)))).In(zones[rng.IntN(len(zones))]).Format(time.RFC3339)
	}
	stats := map[string]int{}
	sales := make([]*sale, faultPurchases)
	slots := make([][]item, faultPurchases) // slot j: messages sent after purchase j
	before := make([][]item, faultPurchases)
	for j := range sales {
		s := &sale{partner: partners[rng.IntN(2)], event: fmt.Sprintf("p-%05d", j), member: fmt.Sprintf("m%03d", rng.IntN(faultMembers)),
			minor: 100 + rng.Int64N(20_000), refundQty: map[string]int64{}}
		if rng.IntN(2) == 0 {
			n := 1 + rng.IntN(4)
			left := s.minor
			for i := range n {
				amount := left
				if i < n-1 {
					amount = rng.Int64N(left + 1)
				}
				left -= amount
				s.lines = append(s.lines, partner.Line{LineID: strconv.Itoa(i + 1), SKU: fmt.Sprintf("SKU-%d", rng.IntN(50)),
					Category: []string{"coffee", "bakery", "retail"}[rng.IntN(3)], Quantity: int64(1 + rng.IntN(3)), AmountMinor: amount})
			}
		}
		sales[j] = s
		body := mustJSON(tb, partner.PurchaseCompleted{Type: partner.TypePurchaseCompleted, Version: 1, PartnerID: s.partner, EventID: s.event,
			MemberRef: s.member, OccurredAt: mustTime(tb, at()), Currency: "EUR", AmountMinor: s.minor, Lines: s.lines})
		slots[j] = append(slots[j], item{body: body, event: s.event})
	}
	type sent struct {
		sale   *sale
		amount *int64
		lines  []partner.RefundLine
	}
	var earlier []sent
	for k := range faultRefunds - faultOrphans {
		j := rng.IntN(faultPurchases)
		s := sales[j]
		var r sent
		switch {
		case len(earlier) > 0 && rng.IntN(10) == 0:
			// The same refund again under a new event id: lines already
			// refunded take nothing; an amount takes what is left of it.
			r = earlier[rng.IntN(len(earlier))]
			s = r.sale
			stats["refunds repeated"]++
		case len(s.lines) > 0 && rng.IntN(2) == 0:
			r = sent{sale: s}
			for _, i := range rng.Perm(len(s.lines))[:1+rng.IntN(len(s.lines))] {
				l := s.lines[i]
				r.lines = append(r.lines, partner.RefundLine{LineID: l.LineID, Quantity: 1 + rng.Int64N(l.Quantity+1)})
			}
			stats["refunds by lines"]++
		default:
			amount := 1 + rng.Int64N(s.minor)
			if rng.IntN(10) == 0 {
				amount = s.minor
			}
			r = sent{sale: s, amount: &amount}
			stats["refunds by amount"]++
		}
		earlier = append(earlier, r)
		if r.amount != nil {
			s.refundMinor += *r.amount
		}
		for _, l := range r.lines {
			s.refundQty[l.LineID] += l.Quantity
		}
		body := mustJSON(tb, partner.PurchaseRefunded{Type: partner.TypePurchaseRefunded, Version: 1, PartnerID: s.partner,
			EventID: fmt.Sprintf("r-%05d", k), MemberRef: s.member, OccurredAt: mustTime(tb, at()), OriginalEventID: s.event,
			Currency: "EUR", AmountMinor: r.amount, Lines: r.lines})
		it := item{body: body, event: fmt.Sprintf("r-%05d", k)}
		idx := slices.Index(sales, s)
		if rng.IntN(20) == 0 {
			before[idx] = append(before[idx], it) // out of order: the refund comes first
			stats["refunds sent before their purchase"]++
		} else {
			at := min(idx+rng.IntN(300), faultPurchases-1)
			slots[at] = append(slots[at], it)
		}
	}
	var stream []item
	for j := range sales {
		stream = append(stream, before[j]...)
		stream = append(stream, slots[j]...)
	}
	for k := range faultOrphans {
		amount := int64(100)
		body := mustJSON(tb, partner.PurchaseRefunded{Type: partner.TypePurchaseRefunded, Version: 1, PartnerID: "demo-webshop",
			EventID: fmt.Sprintf("orphan-%02d", k), MemberRef: fmt.Sprintf("m%03d", k), OccurredAt: mustTime(tb, at()),
			OriginalEventID: fmt.Sprintf("never-%02d", k), Currency: "EUR", AmountMinor: &amount})
		stream = slices.Insert(stream, rng.IntN(len(stream)+1), item{body: body, event: fmt.Sprintf("orphan-%02d", k), reason: loyalty.RejectPurchaseNotFound})
	}
	// 10% of the events delivered twice, the copy a little later.
	valid := len(stream)
	for _, i := range rng.Perm(valid)[:valid/10] {
		if stream[i].reason != "" {
			continue
		}
		stream = slices.Insert(stream, min(len(stream), i+1+rng.IntN(200)), item{body: stream[i].body, event: stream[i].event})
		stats["events delivered twice"]++
	}
	for k := range faultMalformed {
		stream = slices.Insert(stream, rng.IntN(len(stream)+1), malformed(tb, k, at()))
		stats["malformed"]++
	}
	return stream, sales, stats
}

// malformed returns the k-th malformed message: each kind in turn.
func malformed(tb testing.TB, k int, at string) item {
	tb.Helper()
	good := map[string]any{"type": "purchase.completed", "version": 1, "partnerId": "demo-webshop", "eventId": fmt.Sprintf("bad-%03d", k),
		"memberRef": fmt.Sprintf("m%03d", k%faultMembers), "occurredAt": at, "currency": "EUR", "amountMinor": 1000}
	with := func(k string, v any) string {
		m := map[string]any{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return mustJSON(tb, m)
	}
	kinds := []item{
		{body: `{"type":"purchase.completed","version":1,"partnerId":`, reason: loyalty.RejectMalformedJSON},
		{body: "hello, loyalty", reason: loyalty.RejectMalformedJSON},
		{body: `{}`, reason: loyalty.RejectSchemaViolation},
		{body: with("amountMinor", "10.00"), reason: loyalty.RejectSchemaViolation},
		{body: with("amountMinor", -5), reason: loyalty.RejectSchemaViolation},
		{body: with("memberRef", nil), reason: loyalty.RejectSchemaViolation},
		{body: with("occurredAt", "2026-03-10 12:00"), reason: loyalty.RejectSchemaViolation},
		{body: with("partnerId", "shop-nobody-knows"), reason: loyalty.RejectUnknownPartner},
		{body: with("version", 7), reason: loyalty.RejectUnsupported},
		{body: with("type", "purchase.exploded"), reason: loyalty.RejectUnsupported},
		{body: with("currency", "USD"), reason: loyalty.RejectInvalidEvent},
		{body: with("occurredAt", "2099-01-01T00:00:00Z"), reason: loyalty.RejectInvalidEvent},
		{body: with("lines", []map[string]any{{"lineId": "1", "sku": "A", "category": "c", "quantity": 1, "amountMinor": 1}, {"lineId": "1", "sku": "B", "category": "c", "quantity": 1, "amountMinor": 1}}), reason: loyalty.RejectInvalidEvent},
	}
	return kinds[k%len(kinds)]
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// batchFault makes a batch fail half-way: after its first `after` writes
// reach DynamoDB, every further write of the batch fails.
type batchFault struct {
	after  int64
	writes atomic.Int64
}

type batchFaultKey struct{}

// TestFaultInjectionThroughTheQueue is issue 4's proof: 10,000 purchase and
// refund events over 200 members through the embedded SQS queue and its
// poller into the handler on DynamoDB Local, 10% delivered twice, some
// refunds before their purchase, DynamoDB failing at random (before and
// after writes) and some batches failing half-way, malformed messages in
// between. At the end every balance equals the sum computed from the events,
// every malformed message is recorded with its reason, the DLQ is empty and
// the audit is clean.
func TestFaultInjectionThroughTheQueue(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(4, 2026))
	stream, sales, stats := generate(t, rng, time.Now().UTC())

	// DynamoDB with faults.
	var batchesWithFault atomic.Int64
	client := &faultyClient{Client: localDynamo(t).Client()}
	client.rule = func(ctx context.Context, op string, pks []string) fault {
		if bf, ok := ctx.Value(batchFaultKey{}).(*batchFault); ok && op == "TransactWriteItems" && bf.writes.Add(1) > bf.after {
			return failBefore
		}
		p := rand.Float64()
		switch op {
		case "TransactWriteItems":
			switch {
			case p < 0.03:
				return failBefore
			case p < 0.05:
				return failAfter
			}
		case "UpdateItem": // recording rejections
			if p < 0.10 {
				return failBefore
			}
		default:
			if p < 0.01 {
				return failBefore
			}
		}
		return noFault
	}
	table := newTable(t, localDynamo(t).Client())
	store := dynamo.New(client, table)
	metrics := &syncBuffer{}
	h, err := ingest.New(ingest.Config{
		Service:            &loyalty.Service{Store: store, Referrals: store, Program: testProgram(t, loyalty.RefundNegative), Clock: loyalty.SystemClock{}},
		Rejections:         store,
		Logger:             slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError})),
		Metrics:            metrics,
		Stage:              faultStage,
		RefundWaitReceives: 3,
	})
	if err != nil {
		t.Fatal(err)
	}

	// The queues, one per partner as infra builds them: a message goes to
	// the DLQ after 10 receives. The visibility timeout is short so retries
	// come quickly, yet long enough that a batch slowed down by a busy
	// machine is rarely delivered twice.
	srv := localSQS(t)
	sqsClient := srv.Client()
	partners := []string{"demo-coffee-berlin", "demo-webshop"}
	queueURLs, dlqURLs := map[string]string{}, map[string]string{}
	for _, p := range partners {
		queueURLs[p], dlqURLs[p], err = srv.CreateQueueWithDLQ(ctx, partnerqueue.Name(faultStage, p), 10, 4*time.Second)
		if err != nil {
			t.Fatal(err)
		}
	}

	// A poller per queue plays its event source mapping; every 7th batch
	// fails half-way.
	var batches atomic.Int64
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if batches.Add(1)%7 == 0 {
			batchesWithFault.Add(1)
			ctx = context.WithValue(ctx, batchFaultKey{}, &batchFault{after: int64(len(ev.Records) / 2)})
		}
		return h.Handle(ctx, ev)
	}
	pctx, stopPolling := context.WithCancel(ctx)
	polled := make(chan error, len(partners))
	for _, p := range partners {
		go func() {
			polled <- sqslocal.Poll(pctx, sqsClient, sqslocal.PollerConfig{QueueURL: queueURLs[p], QueueARN: srv.QueueARN(partnerqueue.Name(faultStage, p)),
				BatchSize: 10, Concurrency: 4, WaitTime: time.Second, Timeout: 30 * time.Second, Logf: func(string, ...any) {}}, handler)
		}()
	}
	var pollErr error
	stop := sync.OnceFunc(func() {
		stopPolling()
		for range partners {
			pollErr = errors.Join(pollErr, <-polled)
		}
	})
	defer stop()
	// Sending overlaps with polling, as partners send while the function
	// runs; each message goes to the queue of the partner it names (a
	// malformed one to the first partner's).
	byMessage := map[string]item{}
	byPartner := map[string][]item{}
	for _, it := range stream {
		var named struct {
			PartnerID string `json:"partnerId"`
		}
		if json.Unmarshal([]byte(it.body), &named) != nil || queueURLs[named.PartnerID] == "" {
			named.PartnerID = partners[0]
		}
		byPartner[named.PartnerID] = append(byPartner[named.PartnerID], it)
	}
	for _, p := range partners {
		for chunk := range slices.Chunk(byPartner[p], 10) {
			entries := make([]types.SendMessageBatchRequestEntry, len(chunk))
			for i, it := range chunk {
				entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(it.body)}
			}
			out, err := sqsClient.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURLs[p]), Entries: entries})
			if err != nil || len(out.Failed) > 0 {
				t.Fatalf("send: got %v, %d failed; want all sent", err, len(out.Failed))
			}
			for _, s := range out.Successful {
				i, _ := strconv.Atoi(aws.ToString(s.Id))
				byMessage[aws.ToString(s.MessageId)] = chunk[i]
			}
		}
	}
	sentIn := time.Since(began)
	// About two minutes on two idle cores; the deadline only catches a hang
	// when other DynamoDB Local instances share the machine.
	for _, p := range partners {
		drain(t, sqsClient, queueURLs[p], 6*time.Minute)
	}
	drainedIn := time.Since(began)

	// Refunds parked because their purchase came too late are replayed by
	// ops once it has arrived, each to the queue it came from; orphans stay
	// parked.
	tool := &replay.Tool{Store: dynamo.New(localDynamo(t).Client(), table), SQS: sqsClient, Actor: "ops:test"}
	parked, err := tool.Rejections(ctx, loyalty.RejectionFilter{State: loyalty.RejectionOpen, Reason: loyalty.RejectPurchaseNotFound})
	if err != nil {
		t.Fatal(err)
	}
	replayed := 0
	for _, r := range parked {
		if !strings.HasPrefix(r.EventID, "orphan-") {
			if _, err := tool.ReplayRejection(ctx, r.MessageID, nil); err != nil {
				t.Fatalf("replay %s: %v", r.MessageID, err)
			}
			replayed++
		}
	}
	if replayed > 0 {
		for _, p := range partners {
			drain(t, sqsClient, queueURLs[p], time.Minute)
		}
	}
	stop()
	if pollErr != nil {
		t.Errorf("poller: got %v, want nil", pollErr)
	}

	// Every balance is what the events say.
	want := map[string]int64{}
	for _, s := range sales {
		want[s.member] += s.expectedKept()
	}
	mismatches := 0
	checkStore := dynamo.New(localDynamo(t).Client(), table)
	for i := range faultMembers {
		m := fmt.Sprintf("m%03d", i)
		a, err := checkStore.Account(ctx, loyalty.MemberID(m))
		if err != nil && !(loyalty.ErrorCode(err) == loyalty.CodeNotFound && want[m] == 0) {
			t.Fatalf("account %s: %v", m, err)
		}
		if int64(a.Balance) != want[m] {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("member %s: got balance %d, want %d", m, a.Balance, want[m])
			}
		}
	}

	// Every malformed message and every orphan is recorded with its reason;
	// nothing else is, except the parked refunds that were replayed.
	rejections, err := tool.Rejections(ctx, loyalty.RejectionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]loyalty.Rejection{}
	byReason := map[loyalty.RejectReason]int{}
	for _, r := range rejections {
		recorded[r.MessageID] = r
		byReason[r.Reason]++
		it, ours := byMessage[r.MessageID]
		switch {
		case ours && it.reason != "":
		case r.State == loyalty.RejectionReplayed && r.Reason == loyalty.RejectPurchaseNotFound:
		default:
			t.Errorf("message %s (%s %s): got rejected as %s (%s), want it applied", r.MessageID, r.EventType, r.EventID, r.Reason, r.Message)
		}
	}
	expectedRejections := 0
	for id, it := range byMessage {
		if it.reason == "" {
			continue
		}
		expectedRejections++
		r, ok := recorded[id]
		if !ok || r.Reason != it.reason || r.Body != it.body {
			t.Errorf("message %s: got rejection %+v (recorded %v), want reason %s with its body", id, r, ok, it.reason)
		}
	}

	// Nothing that should have succeeded is in a DLQ.
	dlqMessages := 0
	for _, p := range partners {
		dlqTool := &replay.Tool{Store: tool.Store, SQS: sqsClient, QueueURL: queueURLs[p], DLQURL: dlqURLs[p]}
		dlq, err := dlqTool.DLQ(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		dlqMessages += len(dlq)
		for _, m := range dlq {
			t.Errorf("DLQ of %s: got message %s %.120s, want none", p, m.MessageID, m.Body)
		}
	}

	rep, err := checkStore.Audit(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("audit: member %s: %v", p.MemberID, p.Problems)
	}

	totals := sumEMF(t, metrics.String())
	var keys []string
	for k := range stats {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var gen []string
	for _, k := range keys {
		gen = append(gen, fmt.Sprintf("%s %d", k, stats[k]))
	}
	t.Logf("events: %d purchases, %d refunds (%d orphans) over %d members; %s", faultPurchases, faultRefunds, faultOrphans, faultMembers, strings.Join(gen, ", "))
	t.Logf("messages sent: %d in %s; batches handled: %d, %d of them failing half-way", len(byMessage), sentIn.Round(time.Millisecond), batches.Load(), batchesWithFault.Load())
	t.Logf("injected DynamoDB faults: %d before the call, %d after a successful write", client.injectedBefore.Load(), client.after.Load())
	t.Logf("handler outcomes (EMF sums): processed %d, duplicates %d, retried %d, rejected %d; points accrued %d, clawed back %d",
		totals["MessagesProcessed"], totals["MessagesDuplicate"], totals["MessagesRetried"], totals["MessagesRejected"], totals["PointsAccrued"], totals["PointsClawedBack"])
	t.Logf("rejections recorded: %d (%v), expected %d malformed and orphans; parked refunds replayed: %d", len(rejections), byReason, expectedRejections, replayed)
	t.Logf("balances: %d members checked, %d mismatches; DLQ: %d; audit: %d members, %d problems; queue drained in %s, total %s",
		faultMembers, mismatches, dlqMessages, rep.Members, len(rep.Problems), drainedIn.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if rep.Members != faultMembers {
		t.Errorf("audit: got %d members, want %d", rep.Members, faultMembers)
	}
}

// drain waits until the queue has no visible and no in-flight messages, twice in a row.
func drain(tb testing.TB, client *sqs.Client, queueURL string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	empty := 0
	for empty < 2 {
		if time.Now().After(deadline) {
			tb.Fatalf("queue not drained within %s", within)
		}
		time.Sleep(500 * time.Millisecond)
		out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			tb.Fatalf("queue attributes: %v", err)
		}
		if out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)] == "0" &&
			out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0" {
			empty++
		} else {
			empty = 0
		}
	}
}

// sumEMF adds up the metric values of EMF lines.
func sumEMF(tb testing.TB, lines string) map[string]int64 {
	tb.Helper()
	sums := map[string]int64{}
	for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("EMF line %q: %v", l, err)
		}
		for k, v := range m {
			if f, ok := v.(float64); ok {
				sums[k] += int64(f)
			}
		}
	}
	return sums
}
