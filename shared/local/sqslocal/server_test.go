package sqslocal

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestStartRefusesASecondServer(t *testing.T) {
	t.Parallel()
	s, err := Start(context.Background())
	if !errors.Is(err, ErrAlreadyRunning) {
		if s != nil {
			_ = s.Stop(context.Background())
		}
		t.Fatalf("second Start: got error %v, want ErrAlreadyRunning", err)
	}
}

func TestEndpointIsLoopback(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testServer.Endpoint)
	if err != nil {
		t.Fatalf("parse Endpoint %q: %v", testServer.Endpoint, err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Errorf("Endpoint: got %q, want http://127.0.0.1:PORT", testServer.Endpoint)
	}
}

func TestCreateQueueWithDLQ(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 4, 1500*time.Millisecond)

	if !strings.HasSuffix(q.url, "/"+AccountID+"/"+q.name) || !strings.HasPrefix(q.url, testServer.Endpoint) {
		t.Errorf("queue URL: got %q, want %s/%s/%s", q.url, testServer.Endpoint, AccountID, q.name)
	}
	if want := q.url + dlqSuffix; q.dlqURL != want {
		t.Errorf("DLQ URL: got %q, want %q", q.dlqURL, want)
	}
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: got error %v, want nil", err)
	}
	for name, want := range map[string]string{
		"QueueArn":          "arn:aws:sqs:us-east-1:000000000000:" + q.name,
		"VisibilityTimeout": "2",
	} {
		if got := out.Attributes[name]; got != want {
			t.Errorf("attribute %s: got %q, want %q", name, got, want)
		}
	}
	policy := out.Attributes["RedrivePolicy"]
	for _, want := range []string{`"maxReceiveCount":"4"`, `"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:` + q.name + `-dlq"`} {
		if !strings.Contains(policy, want) {
			t.Errorf("RedrivePolicy: got %s, want it to contain %s", policy, want)
		}
	}
}

func TestCreateQueueWithDLQRejectsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		queue      string
		maxReceive int
		visibility time.Duration
	}{
		{"empty name", "", 3, time.Second},
		{"slash in name", "a/b", 3, time.Second},
		{"fifo", "orders.fifo", 3, time.Second},
		{"name too long for the -dlq suffix", strings.Repeat("a", 77), 3, time.Second},
		{"maxReceive zero", "ok", 0, time.Second},
		{"negative visibility", "ok", 3, -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := testServer.CreateQueueWithDLQ(ctx, tc.queue, tc.maxReceive, tc.visibility); err == nil {
				t.Errorf("CreateQueueWithDLQ(%q, %d, %s): got nil error, want one", tc.queue, tc.maxReceive, tc.visibility)
			}
		})
	}
}

func TestNewQueueNameIsValidAndUnique(t *testing.T) {
	t.Parallel()
	a := testServer.NewQueueName("Test/with spaces:and*stars")
	b := testServer.NewQueueName("Test/with spaces:and*stars")
	if a == b {
		t.Errorf("NewQueueName twice: got %q both times, want different names", a)
	}
	long := testServer.NewQueueName(strings.Repeat("x", 200))
	for _, name := range []string{a, b, long} {
		if !validQueueName.MatchString(name) || len(name+dlqSuffix) > maxQueueName {
			t.Errorf("NewQueueName: got %q, want a valid SQS name that fits a -dlq suffix", name)
		}
	}
}

func TestSendReceiveDelete(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	body := `{"type":"purchase.completed","id":"p-1"}`
	sent := send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)})

	msgs := receive(t, client, q.url, 10, 0)
	if len(msgs) != 1 {
		t.Fatalf("ReceiveMessage: got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	sum := md5.Sum([]byte(body))
	if got, want := aws.ToString(m.MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("MessageId: got %q, want %q", got, want)
	}
	if got := aws.ToString(m.Body); got != body {
		t.Errorf("Body: got %q, want %q", got, body)
	}
	if got, want := aws.ToString(m.MD5OfBody), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("MD5OfBody: got %q, want %q", got, want)
	}
	if aws.ToString(m.ReceiptHandle) == "" {
		t.Errorf("ReceiptHandle: got empty, want a handle")
	}

	if _, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: got error %v, want nil", err)
	}
	if visible, inFlight := counts(t, client, q.url); visible != 0 || inFlight != 0 {
		t.Errorf("after delete: got %d visible and %d in flight, want 0 and 0", visible, inFlight)
	}
	_, err := client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: m.ReceiptHandle})
	var invalid *types.ReceiptHandleIsInvalid
	if !errors.As(err, &invalid) {
		t.Errorf("second DeleteMessage: got error %v, want ReceiptHandleIsInvalid", err)
	}
}

func TestDeleteMessageBatchReportsEachEntry(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	sendNumbered(t, client, q.url, 2)
	msgs := receive(t, client, q.url, 10, 0)
	if len(msgs) != 2 {
		t.Fatalf("ReceiveMessage: got %d messages, want 2", len(msgs))
	}
	out, err := client.DeleteMessageBatch(context.Background(), &sqs.DeleteMessageBatchInput{
		QueueUrl: aws.String(q.url),
		Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle},
			{Id: aws.String("b"), ReceiptHandle: msgs[1].ReceiptHandle},
			{Id: aws.String("c"), ReceiptHandle: aws.String("no-such-handle")},
		},
	})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: got error %v, want nil", err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "c" {
		t.Errorf("DeleteMessageBatch: got %d successful and failed %+v, want 2 and [c]", len(out.Successful), out.Failed)
	}
}

func TestReceivedMessageStaysHiddenForVisibilityTimeout(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 5, time.Second)
	send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("hide me")})

	first := receive(t, client, q.url, 10, 0)
	receivedAt := time.Now()
	if len(first) != 1 {
		t.Fatalf("first ReceiveMessage: got %d messages, want 1", len(first))
	}
	if again := receive(t, client, q.url, 10, 0); len(again) != 0 {
		t.Fatalf("ReceiveMessage while in flight: got %d messages, want 0", len(again))
	}
	if visible, inFlight := counts(t, client, q.url); visible != 0 || inFlight != 1 {
		t.Errorf("while in flight: got %d visible and %d in flight, want 0 and 1", visible, inFlight)
	}

	back := receive(t, client, q.url, 10, 5)
	if len(back) != 1 {
		t.Fatalf("ReceiveMessage after the visibility timeout: got %d messages, want 1", len(back))
	}
	if hidden := time.Since(receivedAt); hidden < 900*time.Millisecond {
		t.Errorf("message came back after %s, want at least the 1s visibility timeout", hidden)
	}
	if got, want := aws.ToString(back[0].MessageId), aws.ToString(first[0].MessageId); got != want {
		t.Errorf("MessageId: got %q, want %q", got, want)
	}
	if got := back[0].Attributes[attrReceiveCount]; got != "2" {
		t.Errorf("ApproximateReceiveCount on second receive: got %q, want \"2\"", got)
	}
	if got, want := back[0].Attributes[attrFirstReceive], first[0].Attributes[attrFirstReceive]; got != want {
		t.Errorf("ApproximateFirstReceiveTimestamp on second receive: got %q, want the first one %q", got, want)
	}
	if got, want := back[0].Attributes[attrSentAt], first[0].Attributes[attrSentAt]; got != want {
		t.Errorf("SentTimestamp on second receive: got %q, want %q", got, want)
	}
}

func TestChangeMessageVisibilityToZeroReleasesAtOnce(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 5, 30*time.Second)
	send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("release me")})
	first := receive(t, client, q.url, 1, 0)
	if len(first) != 1 {
		t.Fatalf("ReceiveMessage: got %d messages, want 1", len(first))
	}
	if _, err := client.ChangeMessageVisibility(context.Background(), &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.url), ReceiptHandle: first[0].ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("ChangeMessageVisibility: got error %v, want nil", err)
	}
	back := receive(t, client, q.url, 1, 0)
	if len(back) != 1 || back[0].Attributes[attrReceiveCount] != "2" {
		t.Fatalf("ReceiveMessage after release: got %+v, want the message with ApproximateReceiveCount 2", back)
	}
}

func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	const wait = 10

	type result struct {
		msgs    []types.Message
		elapsed time.Duration
		err     error
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(q.url), MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
		})
		r := result{elapsed: time.Since(start), err: err}
		if out != nil {
			r.msgs = out.Messages
		}
		done <- r
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("long poll on an empty queue returned after %s (err %v), want it to wait", r.elapsed, r.err)
	default:
	}
	send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("wake up")})

	r := <-done
	if r.err != nil {
		t.Fatalf("ReceiveMessage: got error %v, want nil", r.err)
	}
	if len(r.msgs) != 1 || aws.ToString(r.msgs[0].Body) != "wake up" {
		t.Fatalf("ReceiveMessage: got %+v, want the message sent while waiting", r.msgs)
	}
	if r.elapsed >= wait*time.Second {
		t.Errorf("long poll returned after %s, want before its %ds wait ended", r.elapsed, wait)
	}
}

func TestLongPollOnEmptyQueueWaitsItsTime(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	start := time.Now()
	msgs := receive(t, client, q.url, 10, 1)
	if len(msgs) != 0 {
		t.Fatalf("ReceiveMessage on an empty queue: got %d messages, want 0", len(msgs))
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Errorf("long poll of 1s returned after %s, want about 1s", elapsed)
	}
}

func TestMessageReceivedMaxReceiveTimesMovesToDLQ(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	const maxReceive = 2
	q := newQueue(t, maxReceive, time.Second)
	sent := send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("poison")})

	for n := 1; n <= maxReceive; n++ {
		msgs := receive(t, client, q.url, 10, 5)
		if len(msgs) != 1 {
			t.Fatalf("receive %d: got %d messages, want 1", n, len(msgs))
		}
		if got, want := msgs[0].Attributes[attrReceiveCount], strconv.Itoa(n); got != want {
			t.Errorf("receive %d: ApproximateReceiveCount got %q, want %q", n, got, want)
		}
	}

	dead := receive(t, client, q.dlqURL, 10, 5)
	if len(dead) != 1 {
		t.Fatalf("ReceiveMessage on the DLQ: got %d messages, want 1", len(dead))
	}
	if got, want := aws.ToString(dead[0].MessageId), aws.ToString(sent.MessageId); got != want {
		t.Errorf("DLQ MessageId: got %q, want %q", got, want)
	}
	if got := aws.ToString(dead[0].Body); got != "poison" {
		t.Errorf("DLQ Body: got %q, want %q", got, "poison")
	}
	if visible, inFlight := counts(t, client, q.url); visible != 0 || inFlight != 0 {
		t.Errorf("source queue after redrive: got %d visible and %d in flight, want 0 and 0", visible, inFlight)
	}
}

func TestReceiveReturnsOnlyRequestedAttributes(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	send(t, client, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String("attrs"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"partner":      {DataType: aws.String("String"), StringValue: aws.String("shop-1")},
			"trace.id":     {DataType: aws.String("String"), StringValue: aws.String("t-1")},
			"trace.parent": {DataType: aws.String("String"), StringValue: aws.String("t-0")},
		},
	})
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
		MessageAttributeNames:       []string{"trace.*"},
		VisibilityTimeout:           1,
	})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage: got %v messages and error %v, want 1 and nil", len(out.Messages), err)
	}
	m := out.Messages[0]
	if _, ok := m.Attributes[attrSentAt]; !ok || len(m.Attributes) != 1 {
		t.Errorf("Attributes: got %v, want only SentTimestamp", m.Attributes)
	}
	if _, ok := m.MessageAttributes["partner"]; ok || len(m.MessageAttributes) != 2 {
		t.Errorf("MessageAttributes: got %v, want trace.id and trace.parent only", m.MessageAttributes)
	}

	bare := receive(t, client, q.url, 1, 3)
	if len(bare) != 1 {
		t.Fatalf("ReceiveMessage after visibility: got %d messages, want 1", len(bare))
	}
	out, err = client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.url)})
	if err != nil {
		t.Fatalf("ReceiveMessage without attribute names: got error %v, want nil", err)
	}
	if len(out.Messages) != 0 {
		t.Errorf("ReceiveMessage of an in-flight message: got %d messages, want 0", len(out.Messages))
	}
}

func TestMessageAttributeDigestMatchesSQS(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	attrs := map[string]types.MessageAttributeValue{
		"amount":  {DataType: aws.String("Number"), StringValue: aws.String("1250")},
		"partner": {DataType: aws.String("String"), StringValue: aws.String("shop-1")},
		"raw":     {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
	}
	sent := send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("digest"), MessageAttributes: attrs})
	msgs := receive(t, client, q.url, 1, 0)
	if len(msgs) != 1 {
		t.Fatalf("ReceiveMessage: got %d messages, want 1", len(msgs))
	}
	want := md5OfMessageAttributes(map[string]models.MessageAttribute{
		"amount":  {DataType: "Number", StringValue: "1250"},
		"partner": {DataType: "String", StringValue: "shop-1"},
		"raw":     {DataType: "Binary", BinaryValue: "AAEC"},
	})
	if got := aws.ToString(sent.MD5OfMessageAttributes); got != want {
		t.Errorf("SendMessage MD5OfMessageAttributes: got %q, want %q", got, want)
	}
	if got := aws.ToString(msgs[0].MD5OfMessageAttributes); got != want {
		t.Errorf("ReceiveMessage MD5OfMessageAttributes: got %q, want %q", got, want)
	}
	if got := msgs[0].MessageAttributes["raw"].BinaryValue; string(got) != "\x00\x01\x02" {
		t.Errorf("binary attribute: got %v, want [0 1 2]", got)
	}
}

// The bytes below are what the SQS developer guide's digest rules give for one
// String attribute: length-prefixed name, length-prefixed data type,
// transport byte 1, length-prefixed value.
func TestMD5OfMessageAttributesVector(t *testing.T) {
	t.Parallel()
	h := md5.New()
	h.Write([]byte{0, 0, 0, 1, 'a', 0, 0, 0, 6, 'S', 't', 'r', 'i', 'n', 'g', 1, 0, 0, 0, 1, 'x'})
	want := hex.EncodeToString(h.Sum(nil))
	got := md5OfMessageAttributes(map[string]models.MessageAttribute{"a": {DataType: "String", StringValue: "x"}})
	if got != want {
		t.Errorf("md5OfMessageAttributes: got %q, want %q", got, want)
	}
}

func TestMissingQueueIsQueueDoesNotExist(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	missing := testServer.Endpoint + "/" + AccountID + "/" + testServer.NewQueueName("never-created")
	var notFound *types.QueueDoesNotExist

	_, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(missing), MessageBody: aws.String("x")})
	if !errors.As(err, &notFound) {
		t.Errorf("SendMessage to a missing queue: got error %v, want QueueDoesNotExist", err)
	}
	_, err = client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(missing)})
	if !errors.As(err, &notFound) {
		t.Errorf("ReceiveMessage from a missing queue: got error %v, want QueueDoesNotExist", err)
	}
	_, err = client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(missing)})
	if !errors.As(err, &notFound) {
		t.Errorf("GetQueueAttributes of a missing queue: got error %v, want QueueDoesNotExist", err)
	}
	_, err = client.GetQueueUrl(context.Background(), &sqs.GetQueueUrlInput{QueueName: aws.String("never-created")})
	if !errors.As(err, &notFound) {
		t.Errorf("GetQueueUrl of a missing queue: got error %v, want QueueDoesNotExist", err)
	}
}

func TestCreatingQueuesWhilePollingIsSafe(t *testing.T) {
	t.Parallel()
	client := testServer.Client()
	q := newQueue(t, 3, 5*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polled := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			_, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.url), WaitTimeSeconds: 1})
			if err != nil && ctx.Err() == nil {
				polled <- err
				return
			}
		}
		polled <- nil
	}()
	for range 20 {
		newQueue(t, 3, time.Second)
	}
	cancel()
	if err := <-polled; err != nil {
		t.Errorf("ReceiveMessage while queues were created: got error %v, want nil", err)
	}
}
