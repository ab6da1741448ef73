package sqslocal

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// testServer is the one goaws of this test binary; each test makes its own
// queues with newQueue.
var testServer *Server

func TestMain(m *testing.M) {
	s, err := Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testServer = s
	code := m.Run()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := s.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	cancel()
	os.Exit(code)
}

type testQueue struct {
	name, url, dlqURL string
}

func newQueue(tb testing.TB, maxReceive int, visibility time.Duration) testQueue {
	tb.Helper()
	name := testServer.NewQueueName(tb.Name())
	url, dlqURL, err := testServer.CreateQueueWithDLQ(context.Background(), name, maxReceive, visibility)
	if err != nil {
		tb.Fatalf("CreateQueueWithDLQ(%q): got error %v, want nil", name, err)
	}
	return testQueue{name: name, url: url, dlqURL: dlqURL}
}

// sendNumbered sends bodies "1".."n" in batches and returns the message id
// of each body.
func sendNumbered(tb testing.TB, client *sqs.Client, queueURL string, n int) map[string]string {
	tb.Helper()
	ids := make(map[string]string, n)
	for first := 1; first <= n; first += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := first; i <= n && i < first+10; i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{
				Id:          aws.String("e" + strconv.Itoa(i)),
				MessageBody: aws.String(strconv.Itoa(i)),
			})
		}
		out, err := client.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
		if err != nil {
			tb.Fatalf("SendMessageBatch: got error %v, want nil", err)
		}
		if len(out.Successful) != len(entries) || len(out.Failed) != 0 {
			tb.Fatalf("SendMessageBatch: got %d successful and %d failed, want %d and 0", len(out.Successful), len(out.Failed), len(entries))
		}
		for _, s := range out.Successful {
			ids[aws.ToString(s.Id)[1:]] = aws.ToString(s.MessageId)
		}
	}
	return ids
}

func send(tb testing.TB, client *sqs.Client, in *sqs.SendMessageInput) *sqs.SendMessageOutput {
	tb.Helper()
	out, err := client.SendMessage(context.Background(), in)
	if err != nil {
		tb.Fatalf("SendMessage: got error %v, want nil", err)
	}
	return out
}

// receive asks for up to max messages with every attribute, waiting up to
// wait seconds.
func receive(tb testing.TB, client *sqs.Client, queueURL string, max, wait int32) []types.Message {
	tb.Helper()
	out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         max,
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		tb.Fatalf("ReceiveMessage: got error %v, want nil", err)
	}
	return out.Messages
}

// counts returns a queue's visible and in-flight message counts.
func counts(tb testing.TB, client *sqs.Client, queueURL string) (visible, inFlight int) {
	tb.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		tb.Fatalf("GetQueueAttributes: got error %v, want nil", err)
	}
	visible, err = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if err != nil {
		tb.Fatalf("ApproximateNumberOfMessages: got %v, want a number", err)
	}
	inFlight, err = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	if err != nil {
		tb.Fatalf("ApproximateNumberOfMessagesNotVisible: got %v, want a number", err)
	}
	return visible, inFlight
}

// eventually calls cond every 50 ms until it holds or within has passed.
func eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: got no, want yes within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
