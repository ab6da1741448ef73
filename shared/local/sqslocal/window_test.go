package sqslocal

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// With a batching window, messages that arrive within it after the first
// go to the handler in the same batch, as Lambda's mapping gathers them;
// without one they go as they come.
func TestTheBatchingWindowGathersABatch(t *testing.T) {
	for _, c := range []struct {
		window      time.Duration
		wantBatches int
	}{{3 * time.Second, 1}, {0, 2}} {
		q := newQueue(t, 5, 30*time.Second)
		var mu sync.Mutex
		var sizes []int
		startPoll(t, PollerConfig{QueueURL: q.url, BatchSize: 10, Concurrency: 1, BatchingWindow: c.window},
			func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				mu.Lock()
				sizes = append(sizes, len(ev.Records))
				mu.Unlock()
				return events.SQSEventResponse{}, nil
			})
		client := testServer.Client()
		send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("first")})
		time.Sleep(1200 * time.Millisecond)
		send(t, client, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String("second")})
		deadline := time.Now().Add(8 * time.Second)
		for {
			mu.Lock()
			total := 0
			for _, n := range sizes {
				total += n
			}
			got := len(sizes)
			mu.Unlock()
			if total == 2 {
				if got != c.wantBatches {
					t.Errorf("window %s: got %d batches %v, want %d", c.window, got, sizes, c.wantBatches)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("window %s: got %v after 8 s, want both messages handled", c.window, sizes)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
