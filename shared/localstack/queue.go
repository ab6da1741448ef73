package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/sqslocal"
)

// PartnerQueue is the name of the local partner queue; its DLQ is
// PartnerQueue+"-dlq".
const PartnerQueue = "partner-purchases"

// partnerQueue is the embedded SQS with the partner queue and its DLQ, and
// the poller that feeds the real ingest binary like the event source mapping.
type partnerQueue struct {
	sqs      *sqslocal.Server
	URL, DLQ string
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// startPartnerQueue starts goaws on 127.0.0.1 with the partner queue (redrive
// to the DLQ after 5 receives, visibility 30 s) and polls it into ingest in
// batches of 10, two batches at a time, deleting only what succeeded.
func startPartnerQueue(ctx context.Context, ingest *runtimeapi.Function, logf func(string, ...any)) (*partnerQueue, error) {
	srv, err := sqslocal.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("localstack: start SQS: %w", err)
	}
	q := &partnerQueue{sqs: srv}
	q.URL, q.DLQ, err = srv.CreateQueueWithDLQ(ctx, PartnerQueue, 5, 30*time.Second)
	if err != nil {
		srv.Stop(context.Background())
		return nil, fmt.Errorf("localstack: create the partner queue: %w", err)
	}
	pctx, cancel := context.WithCancel(context.Background())
	q.stop = cancel
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		payload, err := json.Marshal(ev)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		out, err := ingest.Invoke(ctx, payload)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			return events.SQSEventResponse{}, fmt.Errorf("ingest answered %q: %w", out, err)
		}
		return resp, nil
	}
	q.done.Add(1)
	go func() {
		defer q.done.Done()
		cfg := sqslocal.PollerConfig{QueueURL: q.URL, QueueARN: srv.QueueARN(PartnerQueue), BatchSize: 10, Concurrency: 2,
			WaitTime: time.Second, Timeout: 30 * time.Second, Logf: logf}
		if err := sqslocal.Poll(pctx, srv.Client(), cfg, handler); err != nil {
			logf("partner queue poller stopped: %v", err)
		}
	}()
	return q, nil
}

// Stop stops polling (letting running batches finish) and the SQS server.
func (q *partnerQueue) Stop(ctx context.Context) error {
	q.stop()
	q.done.Wait()
	return q.sqs.Stop(ctx)
}
