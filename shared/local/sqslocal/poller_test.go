package sqslocal

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// delivery is one record a handler saw.
type delivery struct {
	body         string
	messageID    string
	receiveCount string
}

// recorder collects what a handler saw, safe for parallel batches.
type deliveries struct {
	mu   sync.Mutex
	seen []delivery
}

func (d *deliveries) add(r events.SQSMessage) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen = append(d.seen, delivery{body: r.Body, messageID: r.MessageId, receiveCount: r.Attributes[attrReceiveCount]})
}

func (d *deliveries) of(body string) []delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []delivery
	for _, s := range d.seen {
		if s.body == body {
			out = append(out, s)
		}
	}
	return out
}

func (d *deliveries) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

// startPoll runs Poll until the test ends and fails the test if Poll
// returns an error.
func startPoll(tb testing.TB, cfg PollerConfig, h Handler) (stop func()) {
	tb.Helper()
	if cfg.Logf == nil {
		cfg.Logf = tb.Logf
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Poll(ctx, testServer.Client(), cfg, h) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("Poll: got error %v, want nil", err)
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

func TestPollDeletesSucceededAndRedrivesFailed(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	const maxReceive = 3
	q := newQueue(t, maxReceive, time.Second)
	ids := sendNumbered(t, client, q.url, 25)

	var seen deliveries
	stop := startPoll(t, PollerConfig{QueueURL: q.url, QueueARN: testServer.QueueARN(q.name)},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				seen.add(r)
				if n, _ := strconv.Atoi(r.Body); n%5 == 0 {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		})

	eventually(t, 15*time.Second, "all 25 messages gone from the queue, 5 of them in the DLQ", func() bool {
		visible, inFlight := counts(t, client, q.url)
		dead, _ := counts(t, client, q.dlqURL)
		return visible == 0 && inFlight == 0 && dead == 5
	})
	stop()

	for n := 1; n <= 25; n++ {
		body := strconv.Itoa(n)
		got := seen.of(body)
		if n%5 != 0 {
			if len(got) != 1 {
				t.Errorf("message %s handled successfully: got %d deliveries, want 1 (deleted after success)", body, len(got))
			}
			continue
		}
		var counts []string
		for _, d := range got {
			counts = append(counts, d.receiveCount)
			if d.messageID != ids[body] {
				t.Errorf("message %s: got message id %q, want %q", body, d.messageID, ids[body])
			}
		}
		if want := []string{"1", "2", "3"}; !slices.Equal(counts, want) {
			t.Errorf("failing message %s: got receive counts %v, want %v", body, counts, want)
		}
	}

	var dead []string
	for _, m := range receive(t, client, q.dlqURL, 10, 0) {
		dead = append(dead, aws.ToString(m.Body))
	}
	slices.Sort(dead)
	if want := []string{"10", "15", "20", "25", "5"}; !slices.Equal(dead, want) {
		t.Errorf("DLQ bodies: got %v, want %v", dead, want)
	}
}

func TestPollHandlerErrorLeavesWholeBatch(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 5, time.Second)
	sendNumbered(t, client, q.url, 4)

	var (
		seen      deliveries
		mu        sync.Mutex
		failedIDs []string
	)
	startPoll(t, PollerConfig{QueueURL: q.url, Concurrency: 1},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			if failedIDs == nil {
				for _, r := range ev.Records {
					failedIDs = append(failedIDs, r.MessageId)
				}
				return events.SQSEventResponse{}, errors.New("store unavailable")
			}
			for _, r := range ev.Records {
				seen.add(r)
			}
			return events.SQSEventResponse{}, nil
		})

	eventually(t, 10*time.Second, "all 4 messages handled successfully", func() bool { return seen.count() == 4 })
	mu.Lock()
	defer mu.Unlock()
	if len(failedIDs) == 0 {
		t.Fatalf("failed batch: got no records, want at least one")
	}
	for n := 1; n <= 4; n++ {
		got := seen.of(strconv.Itoa(n))
		if len(got) != 1 {
			t.Fatalf("message %d: got %d successful deliveries, want 1", n, len(got))
		}
		want := "1"
		if slices.Contains(failedIDs, got[0].messageID) {
			want = "2"
		}
		if got[0].receiveCount != want {
			t.Errorf("message %d: got ApproximateReceiveCount %q after the failed batch, want %q", n, got[0].receiveCount, want)
		}
	}
	// The poller deletes a batch after its handler returned: give the
	// delete a moment on a busy machine, then the queue must be empty.
	var visible, inFlight int
	deadline := time.Now().Add(5 * time.Second)
	for visible, inFlight = counts(t, client, q.url); (visible != 0 || inFlight != 0) && time.Now().Before(deadline); visible, inFlight = counts(t, client, q.url) {
		time.Sleep(50 * time.Millisecond)
	}
	if visible != 0 || inFlight != 0 {
		t.Errorf("queue after success: got %d visible and %d in flight, want 0 and 0", visible, inFlight)
	}
}

func TestPollTreatsUnknownItemIdentifierAsBatchFailure(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 5, time.Second)
	send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("only")})

	var seen deliveries
	startPoll(t, PollerConfig{QueueURL: q.url, Concurrency: 1},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			for _, r := range ev.Records {
				seen.add(r)
			}
			if seen.count() == 1 {
				return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-a-message-id"}}}, nil
			}
			return events.SQSEventResponse{}, nil
		})

	eventually(t, 10*time.Second, "message delivered twice", func() bool { return seen.count() == 2 })
	if got := seen.of("only")[1].receiveCount; got != "2" {
		t.Errorf("second delivery: got ApproximateReceiveCount %q, want \"2\"", got)
	}
}

func TestPollTreatsPanicAsBatchFailure(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 5, time.Second)
	send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("boom")})

	var seen deliveries
	startPoll(t, PollerConfig{QueueURL: q.url, Concurrency: 1},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			for _, r := range ev.Records {
				seen.add(r)
			}
			if seen.count() == 1 {
				panic("handler bug")
			}
			return events.SQSEventResponse{}, nil
		})

	eventually(t, 10*time.Second, "message delivered again after the panic", func() bool { return seen.count() == 2 })
}

func TestPollFillsEventFieldsAsLambdaDoes(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	body := `{"type":"purchase.completed"}`
	before := time.Now().UnixMilli()
	sent := send(t, client, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"partner": {DataType: aws.String("String"), StringValue: aws.String("shop-1")},
			"amount":  {DataType: aws.String("Number"), StringValue: aws.String("1250")},
			"sig":     {DataType: aws.String("Binary"), BinaryValue: []byte("\x01\x02")},
		},
	})

	got := make(chan events.SQSEvent, 1)
	stop := startPoll(t, PollerConfig{QueueURL: q.url},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			got <- ev
			return events.SQSEventResponse{}, nil
		})
	var ev events.SQSEvent
	select {
	case ev = <-got:
	case <-time.After(10 * time.Second):
		t.Fatalf("handler: got no event within 10s, want one")
	}
	stop()
	after := time.Now().UnixMilli()

	if len(ev.Records) != 1 {
		t.Fatalf("records: got %d, want 1", len(ev.Records))
	}
	r := ev.Records[0]
	sum := md5.Sum([]byte(body))
	for _, c := range []struct{ field, got, want string }{
		{"messageId", r.MessageId, aws.ToString(sent.MessageId)},
		{"body", r.Body, body},
		{"md5OfBody", r.Md5OfBody, hex.EncodeToString(sum[:])},
		{"md5OfMessageAttributes", r.Md5OfMessageAttributes, aws.ToString(sent.MD5OfMessageAttributes)},
		{"eventSource", r.EventSource, "aws:sqs"},
		// Poll derives the ARN from the queue URL when QueueARN is unset.
		{"eventSourceARN", r.EventSourceARN, testServer.QueueARN(q.name)},
		{"awsRegion", r.AWSRegion, "us-east-1"},
		{"attributes.ApproximateReceiveCount", r.Attributes[attrReceiveCount], "1"},
		{"attributes.SenderId", r.Attributes[attrSenderID], AccountID},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	if r.ReceiptHandle == "" {
		t.Errorf("receiptHandle: got empty, want a handle")
	}
	sentAt, err1 := strconv.ParseInt(r.Attributes[attrSentAt], 10, 64)
	firstAt, err2 := strconv.ParseInt(r.Attributes[attrFirstReceive], 10, 64)
	if err1 != nil || err2 != nil || sentAt < before || sentAt > firstAt || firstAt > after {
		t.Errorf("SentTimestamp %q, ApproximateFirstReceiveTimestamp %q: want %d <= sent <= first receive <= %d",
			r.Attributes[attrSentAt], r.Attributes[attrFirstReceive], before, after)
	}
	if len(r.Attributes) != 4 {
		t.Errorf("attributes: got %v, want the 4 system attributes of a standard queue", r.Attributes)
	}

	partner := r.MessageAttributes["partner"]
	if partner.DataType != "String" || aws.ToString(partner.StringValue) != "shop-1" {
		t.Errorf("messageAttributes.partner: got %+v, want String shop-1", partner)
	}
	amount := r.MessageAttributes["amount"]
	if amount.DataType != "Number" || aws.ToString(amount.StringValue) != "1250" {
		t.Errorf("messageAttributes.amount: got %+v, want Number 1250", amount)
	}
	sig := r.MessageAttributes["sig"]
	if sig.DataType != "Binary" || string(sig.BinaryValue) != "\x01\x02" || sig.StringValue != nil {
		t.Errorf("messageAttributes.sig: got %+v, want Binary [1 2]", sig)
	}

	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal event: %v", err)
	}
	for _, want := range []string{`"Records":[`, `"eventSource":"aws:sqs"`, `"stringListValues":[]`, `"binaryListValues":[]`, `"dataType":"Binary"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("event JSON: got %s, want it to contain %s", raw, want)
		}
	}
}

func TestPollReturnsErrorForMissingQueue(t *testing.T) {
	t.Parallel()
	missing := testServer.Endpoint + "/" + AccountID + "/" + testServer.NewQueueName("missing")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Poll(ctx, testServer.Client(), PollerConfig{QueueURL: missing, Logf: t.Logf},
		func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		})
	var notFound *types.QueueDoesNotExist
	if !errors.As(err, &notFound) {
		t.Errorf("Poll of a missing queue: got %v, want QueueDoesNotExist", err)
	}
}

func TestPollRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}
	url := testServer.Endpoint + "/" + AccountID + "/q"
	for _, tc := range []struct {
		name string
		cfg  PollerConfig
	}{
		{"no queue URL", PollerConfig{}},
		{"batch size above 10", PollerConfig{QueueURL: url, BatchSize: 11}},
		{"negative batch size", PollerConfig{QueueURL: url, BatchSize: -1}},
		{"negative concurrency", PollerConfig{QueueURL: url, Concurrency: -1}},
		{"wait above 20s", PollerConfig{QueueURL: url, WaitTime: 21 * time.Second}},
		{"URL without account and name and no ARN", PollerConfig{QueueURL: testServer.Endpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := Poll(ctx, testServer.Client(), tc.cfg, ok); err == nil {
				t.Errorf("Poll(%+v): got nil error, want one", tc.cfg)
			}
		})
	}
}

func TestPollReturnsNilWhenContextEnds(t *testing.T) {
	t.Parallel()
	q := newQueue(t, 3, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Poll(ctx, testServer.Client(), PollerConfig{QueueURL: q.url, Logf: t.Logf},
			func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				return events.SQSEventResponse{}, nil
			})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Poll after cancel: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Poll after cancel: got no return within 5s, want it to stop")
	}
}
