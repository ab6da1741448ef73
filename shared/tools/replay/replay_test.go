package replay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
	"github.com/loyalty-functions/loyalty/shared/tools/replay"
)

// queues is the local SQS. The rejections live in the in-memory store:
// what these tests prove is the replay's logic (one send per rejection, the
// mark, the redrive, the command line), and package storecontract holds the
// memory store's rejections to the DynamoDB store's, so no Java starts here.
var queues *sqslocal.Server

func TestMain(m *testing.M) {
	var err error
	if queues, err = sqslocal.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = queues.Stop(ctx)
	cancel()
	os.Exit(code)
}

type fixture struct {
	tool  *replay.Tool
	store *memstore.Store
	sqs   *sqs.Client
}

// newFixture makes a table and a partner queue whose messages go to the DLQ
// after one receive.
func newFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	qname := queues.NewQueueName(tb.Name())
	url, dlq, err := queues.CreateQueueWithDLQ(ctx, qname, 1, time.Second)
	if err != nil {
		tb.Fatalf("create queue: %v", err)
	}
	store := memstore.New()
	client := queues.Client()
	return fixture{store: store, sqs: client, tool: &replay.Tool{Store: store, SQS: client, QueueURL: url, DLQURL: dlq, Actor: "ops:test"}}
}

func (f fixture) receiveAll(tb testing.TB, url string, want int) []types.Message {
	tb.Helper()
	var got []types.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		out, err := f.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: []string{"All"}})
		if err != nil {
			tb.Fatalf("receive: %v", err)
		}
		got = append(got, out.Messages...)
	}
	if len(got) != want {
		tb.Fatalf("messages in %s: got %d, want %d", url, len(got), want)
	}
	return got
}

func record(tb testing.TB, st *memstore.Store, id, body string, reason loyalty.RejectReason) {
	tb.Helper()
	now := time.Now().UTC()
	if err := st.RecordRejection(context.Background(), loyalty.Rejection{MessageID: id, Body: body, Reason: reason,
		Message: "test", PartnerID: "shop", FirstSeen: now, LastSeen: now, ReceiveCount: 1}); err != nil {
		tb.Fatal(err)
	}
}

func TestReplayRejectionSendsTheBodyOnceAndMarksIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	record(t, f.store, "m-1", `{"stored":true}`, loyalty.RejectPurchaseNotFound)
	record(t, f.store, "m-2", `{"broken`, loyalty.RejectMalformedJSON)

	newID, err := f.tool.ReplayRejection(ctx, "m-1", nil)
	if err != nil || newID == "" {
		t.Fatalf("replay m-1: got %q, %v; want a new message id", newID, err)
	}
	if _, err := f.tool.ReplayRejection(ctx, "m-1", nil); loyalty.ErrorCode(err) != loyalty.CodeConflict {
		t.Errorf("second replay of m-1: got %v, want %s", err, loyalty.CodeConflict)
	}
	fixed := []byte(`{"fixed":true}`)
	if _, err := f.tool.ReplayRejection(ctx, "m-2", fixed); err != nil {
		t.Fatalf("replay m-2 with a fixed body: %v", err)
	}
	if _, err := f.tool.ReplayRejection(ctx, "nope", nil); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("replay of an unknown message: got %v, want %s", err, loyalty.CodeNotFound)
	}

	msgs := f.receiveAll(t, f.tool.QueueURL, 2)
	bodies := map[string]string{}
	for _, m := range msgs {
		bodies[aws.ToString(m.MessageAttributes[replay.ReplayOfAttribute].StringValue)] = aws.ToString(m.Body)
	}
	if bodies["m-1"] != `{"stored":true}` || bodies["m-2"] != string(fixed) {
		t.Errorf("bodies by replayed message: got %v, want the stored body of m-1 and the fixed body of m-2", bodies)
	}
	r, err := f.store.Rejection(ctx, "m-1")
	if err != nil || r.State != loyalty.RejectionReplayed || r.ReplayedAs != newID || r.ReplayedBy != "ops:test" {
		t.Errorf("m-1 after replay: got %+v (%v), want replayed as %s by ops:test", r, err, newID)
	}
}

// toDLQ sends bodies and receives them once without deleting them, so that
// SQS moves them to the DLQ (maxReceiveCount 1).
func (f fixture) toDLQ(tb testing.TB, bodies ...string) map[string]string {
	tb.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, b := range bodies {
		out, err := f.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(f.tool.QueueURL), MessageBody: aws.String(b),
			MessageAttributes: map[string]types.MessageAttributeValue{"eventType": {DataType: aws.String("String"), StringValue: aws.String("purchase.completed")}}})
		if err != nil {
			tb.Fatal(err)
		}
		ids[b] = aws.ToString(out.MessageId)
	}
	got := 0
	for got < len(bodies) {
		out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.tool.QueueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 1})
		if err != nil {
			tb.Fatal(err)
		}
		got += len(out.Messages)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := f.tool.DLQ(ctx, 100)
		if err != nil {
			tb.Fatal(err)
		}
		if len(msgs) == len(bodies) {
			return ids
		}
		if time.Now().After(deadline) {
			tb.Fatalf("DLQ: got %d messages, want %d", len(msgs), len(bodies))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestDLQListAndRedrive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.toDLQ(t, "a", "b", "c")

	// Listing leaves the messages in the DLQ, visible.
	for range 2 {
		msgs, err := f.tool.DLQ(ctx, 100)
		if err != nil || len(msgs) != 3 {
			t.Fatalf("DLQ listing: got %d, %v; want 3", len(msgs), err)
		}
	}
	msgs, _ := f.tool.DLQ(ctx, 100)
	var bID string
	for _, m := range msgs {
		if m.Body == "b" {
			bID = m.MessageID
		}
		if m.Attributes["eventType"] != "purchase.completed" || m.ReceiveCount < 1 {
			t.Errorf("DLQ message %s: got attributes %v receives %d, want eventType and a count", m.MessageID, m.Attributes, m.ReceiveCount)
		}
	}
	done, err := f.tool.RedriveDLQ(ctx, []string{bID})
	if err != nil || len(done) != 1 || done[0].MessageID != bID {
		t.Fatalf("redrive b: got %+v, %v; want b redriven", done, err)
	}
	back := f.receiveAll(t, f.tool.QueueURL, 1)
	if aws.ToString(back[0].Body) != "b" || aws.ToString(back[0].MessageAttributes[replay.ReplayOfAttribute].StringValue) != bID ||
		aws.ToString(back[0].MessageAttributes["eventType"].StringValue) != "purchase.completed" {
		t.Errorf("redriven message: got %q %v, want b with its attributes and replayOf %s", aws.ToString(back[0].Body), back[0].MessageAttributes, bID)
	}
	if left, _ := f.tool.DLQ(ctx, 100); len(left) != 2 {
		t.Errorf("DLQ after redriving b: got %d messages, want 2", len(left))
	}
	if _, err := f.tool.RedriveDLQ(ctx, []string{"not-there"}); err == nil || !strings.Contains(err.Error(), "not-there") {
		t.Errorf("redrive of a message not in the DLQ: got %v, want an error naming it", err)
	}
	done, err = f.tool.RedriveDLQ(ctx, nil)
	if err != nil || len(done) != 2 {
		t.Errorf("redrive all: got %+v, %v; want 2", done, err)
	}
	if left, _ := f.tool.DLQ(ctx, 100); len(left) != 0 {
		t.Errorf("DLQ after redriving all: got %d, want 0", len(left))
	}
}

func TestCommandLine(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	record(t, f.store, "cmd-1", `{"x":1}`, loyalty.RejectUnknownPartner)
	record(t, f.store, "cmd-2", `{"x":2}`, loyalty.RejectSchemaViolation)
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := replay.Command(ctx, f.tool, args, &out)
		return out.String(), err
	}
	out, err := run("rejections", "-reason", "unknown_partner")
	if err != nil || !strings.Contains(out, "cmd-1") || strings.Contains(out, "cmd-2") || !strings.Contains(out, "1 rejection(s)") {
		t.Errorf("rejections -reason unknown_partner: got %q, %v; want cmd-1 only", out, err)
	}
	out, err = run("rejections", "-json")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"body":"{\"x\":2}"`) {
		t.Errorf("rejections -json: got %q, %v; want two JSON lines with bodies", out, err)
	}
	fixed := filepath.Join(t.TempDir(), "fixed.json")
	if err := os.WriteFile(fixed, []byte(`{"x":"fixed"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("replay", "-body-file", fixed, "cmd-2")
	if err != nil || !strings.Contains(out, "cmd-2: replayed as ") {
		t.Errorf("replay -body-file: got %q, %v", out, err)
	}
	out, err = run("rejections", "-state", "open")
	if err != nil || !strings.Contains(out, "cmd-1") || strings.Contains(out, "cmd-2") {
		t.Errorf("open rejections after the replay: got %q, %v; want cmd-1 only", out, err)
	}
	if _, err := run("replay", "cmd-2"); err == nil {
		t.Errorf("replay of a replayed message: got nil, want an error")
	}
	for _, args := range [][]string{nil, {"nope"}, {"replay"}, {"replay", "-body-file", fixed, "a", "b"}, {"redrive"}, {"redrive", "-all", "x"}, {"redrive", "x", "-all"},
		{"rejections", "-since", "yesterday"}, {"rejections", "stray"}, {"dlq", "stray"}, {"replay", "cmd-1", "-nope"}} {
		if _, err := run(args...); !errors.Is(err, replay.ErrUsage) {
			t.Errorf("Command(%q): got %v, want a usage error", args, err)
		}
	}
	// A flag after the message ids counts like one before them.
	out, err = run("replay", "cmd-1", "-body-file", fixed)
	if err != nil || !strings.Contains(out, "cmd-1: replayed as ") {
		t.Errorf("replay ID -body-file F: got %q, %v; want cmd-1 replayed with the fixed body", out, err)
	}
	f = newFixture(t) // a queue without the replayed messages
	f.toDLQ(t, "d1")
	out, err = run("dlq")
	if err != nil || !strings.Contains(out, "d1") || !strings.Contains(out, "1 message(s)") {
		t.Errorf("dlq: got %q, %v", out, err)
	}
	out, err = run("redrive", "-all")
	if err != nil || !strings.Contains(out, "1 message(s) redriven") {
		t.Errorf("redrive -all: got %q, %v", out, err)
	}
}
