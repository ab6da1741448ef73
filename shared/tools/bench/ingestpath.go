package bench

import (
	"context"
	"io"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ingestPath is the SQS handler the accrual figures drive: the handler of
// package ingest, wired as functions/ingest wires it (the store records the
// rejections), with its logs and metrics discarded.
type ingestPath struct {
	handle func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
}

// newIngestPath builds the handler. concurrency is how many messages of a
// batch run at once: 0 keeps the function's default (10), the throughput
// figures use 1 so that one caller has one transaction in flight, like
// one caller of the bare transaction.
func newIngestPath(svc *loyalty.Service, store *dynamo.Store, concurrency int) (*ingestPath, error) {
	h, err := ingest.New(ingest.Config{Service: svc, Rejections: store, Logger: discardLogger(), Metrics: io.Discard,
		Stage: benchStage, Concurrency: concurrency})
	if err != nil {
		return nil, err
	}
	return &ingestPath{handle: h.Handle}, nil
}
