package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// testProgram is the program the binary reads: the demo's base rules and
// the partners of the samples, without promotions, so points are easy to
// check.
const testProgram = `{
  "version": 1,
  "id": "ingest-e2e",
  "currency": "EUR",
  "timezone": "Europe/Berlin",
  "earn": { "points": 1, "perMinor": 100, "rounding": "down" },
  "expiry": { "months": 12, "endOfMonth": true },
  "refund": "negative_balance",
  "partners": [
    { "id": "demo-coffee-berlin", "name": "Coffee", "memberIds": true },
    { "id": "demo-webshop", "name": "Web shop", "memberIds": true }
  ]
}`

// output collects the function's stdout, safe for concurrent writes.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func sample(tb testing.TB, path ...string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "..", "events", "partner", "samples"}, path...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestBinaryThroughTheLocalQueue runs the real bootstrap, built as AWS runs
// it, behind the embedded SQS queue and its poller, against DynamoDB Local.
func TestBinaryThroughTheLocalQueue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	programFile := filepath.Join(dir, "program.json")
	if err := os.WriteFile(programFile, []byte(testProgram), 0o600); err != nil {
		t.Fatal(err)
	}

	db, err := dynamolocal.Start(ctx, dynamolocal.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	table := fmt.Sprintf("ingest-e2e-%d", time.Now().UnixNano())
	if _, err := db.Client().CreateTable(ctx, dynamo.Schema.CreateTableInput(table)); err != nil {
		t.Fatal(err)
	}

	secretFile := filepath.Join(t.TempDir(), "code-secret") // as the local stack makes one
	if err := os.WriteFile(secretFile, []byte("e2e-code-secret-0123456789abcdef0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout := &output{}
	fn, err := runtimeapi.Start(ctx, runtimeapi.FunctionConfig{Name: "ingest", Binary: bin, Concurrency: 2, Timeout: 30 * time.Second,
		Stdout: stdout, Stderr: stdout,
		Env: map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": db.Endpoint, "PROGRAM_FILE": programFile, "STAGE": "e2e", "CODE_SECRET_FILE": secretFile,
			"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1", "REFUND_WAIT_RECEIVES": "2"}})
	if err != nil {
		t.Fatalf("start the ingest binary: %v\n%s", err, stdout)
	}
	t.Cleanup(func() { _ = fn.Stop() })

	srv, err := sqslocal.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	client := srv.Client()
	// A queue per partner, named as infra names them for the stage the
	// binary runs in: the binary knows the sender from the queue.
	partners := []string{"demo-coffee-berlin", "demo-webshop"}
	queueURLs := map[string]string{}
	var dlqURLs []string
	for _, p := range partners {
		q, dlq, err := srv.CreateQueueWithDLQ(ctx, partnerqueue.Name("e2e", p), 5, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		queueURLs[p], dlqURLs = q, append(dlqURLs, dlq)
	}

	invoke := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		payload, err := json.Marshal(ev)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		out, err := fn.Invoke(ctx, payload)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var resp events.SQSEventResponse
		return resp, json.Unmarshal(out, &resp)
	}
	pctx, stopPolling := context.WithCancel(ctx)
	polled := make(chan error, len(partners))
	for _, p := range partners {
		go func() {
			polled <- sqslocal.Poll(pctx, client, sqslocal.PollerConfig{QueueURL: queueURLs[p], QueueARN: srv.QueueARN(partnerqueue.Name("e2e", p)), BatchSize: 10,
				Concurrency: 2, WaitTime: time.Second, Timeout: 30 * time.Second, Logf: t.Logf}, invoke)
		}()
	}
	t.Cleanup(func() {
		stopPolling()
		for range partners {
			<-polled
		}
	})

	// sendTo sends bodies to a partner's queue; send to the queue of the
	// partner each body names (the first partner's when it names none).
	sendTo := func(partner string, bodies ...string) []string {
		var ids []string
		for _, b := range bodies {
			out, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURLs[partner]), MessageBody: aws.String(b)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, aws.ToString(out.MessageId))
		}
		return ids
	}
	send := func(bodies ...string) []string {
		var ids []string
		for _, b := range bodies {
			var named struct {
				PartnerID string `json:"partnerId"`
			}
			if json.Unmarshal([]byte(b), &named) != nil || queueURLs[named.PartnerID] == "" {
				named.PartnerID = partners[0]
			}
			ids = append(ids, sendTo(named.PartnerID, b)...)
		}
		return ids
	}
	drainAll := func() {
		for _, p := range partners {
			drain(t, client, queueURLs[p])
		}
	}
	coffee := sample(t, "purchase.completed", "coffee-with-lines.json")
	send(coffee, sample(t, "purchase.completed", "webshop-utc.json"), sample(t, "purchase.completed", "total-only.json"), coffee)
	bad := send(sample(t, "invalid", "truncated.txt"), sample(t, "invalid", "purchase-unknown-partner.json"))
	// demo-webshop's queue, demo-coffee-berlin's name: a forged purchase.
	forged := sendTo("demo-webshop", strings.Replace(coffee, `"pos-7-000123"`, `"pos-7-forged"`, 1))[0]
	drainAll()
	orphan := send(sample(t, "purchase.refunded", "partial-by-lines.json"), sample(t, "purchase.refunded", "partial-by-amount.json"),
		sample(t, "purchase.refunded", "repeat-of-lines.json"), sample(t, "invalid", "refund-of-unknown-purchase.json"))[3]
	drainAll()

	store := dynamo.New(db.Client(), table)
	for member, want := range map[string]loyalty.Points{"member-0001": 24 + 129 - 10 - 30, "member-0002": 9} {
		a, err := store.Account(ctx, loyalty.MemberID(member))
		if err != nil || a.Balance != want {
			t.Errorf("%s: got balance %d (%v), want %d", member, a.Balance, err, want)
		}
	}
	for id, want := range map[string]loyalty.RejectReason{bad[0]: loyalty.RejectMalformedJSON, bad[1]: loyalty.RejectUnknownPartner,
		orphan: loyalty.RejectPurchaseNotFound, forged: loyalty.RejectPartnerMismatch} {
		r, err := store.Rejection(ctx, id)
		if err != nil || r.Reason != want || r.Body == "" {
			t.Errorf("message %s: got %+v (%v), want a rejection %s with its body", id, r, err, want)
		}
	}
	for _, dlq := range dlqURLs {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), MaxNumberOfMessages: 10})
		if err != nil || len(out.Messages) != 0 {
			t.Errorf("DLQ %s: got %d messages (%v), want none", dlq, len(out.Messages), err)
		}
	}
	rep, err := store.Audit(ctx, 2)
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("audit: got %+v, %v; want clean", rep.Problems, err)
	}
	logs := stdout.String()
	for _, want := range []string{`"requestId":"`, `"Namespace":"Loyalty"`, `"MessagesRejected":1`, `"reason":"purchase_not_found"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("function output: got no %s in\n%s", want, logs)
		}
	}
}

// drain waits until the queue has no visible and no in-flight messages.
func drain(tb testing.TB, client *sqs.Client, queueURL string) {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for empty := 0; empty < 2; {
		if time.Now().After(deadline) {
			tb.Fatal("queue not drained within a minute")
		}
		time.Sleep(300 * time.Millisecond)
		out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
		if err != nil {
			tb.Fatal(err)
		}
		if out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)] == "0" &&
			out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)] == "0" {
			empty++
		} else {
			empty = 0
		}
	}
}
