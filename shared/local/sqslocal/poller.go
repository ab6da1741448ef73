package sqslocal

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Handler is an SQS-triggered Lambda handler that reports partial batch
// failures (ReportBatchItemFailures).
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// PollerConfig says which queue Poll reads and how, like the settings of a
// Lambda event source mapping.
type PollerConfig struct {
	QueueURL string
	// QueueARN is the records' eventSourceARN, e.g.
	// arn:aws:sqs:us-east-1:000000000000:name. Default: built from QueueURL
	// (/ACCOUNT/NAME) and the client's region.
	QueueARN string
	// BatchSize is the most messages per handler call, 1 to 10. Default 10.
	BatchSize int
	// Concurrency is how many batches run in parallel. Default 2.
	Concurrency int
	// WaitTime is the long-poll wait per receive, rounded up to whole
	// seconds, at most 20 s. Default 1 s.
	WaitTime time.Duration
	// Timeout plays the function timeout: a handler still running after it
	// counts as failed, whatever it returns later. Default 30 s.
	Timeout time.Duration
	// BatchingWindow is the mapping's MaximumBatchingWindowInSeconds: once
	// a receive returns fewer than BatchSize messages, the poller keeps
	// gathering for up to this long before it calls the handler, as Lambda
	// does. Zero (the default) calls it with what the first receive got.
	BatchingWindow time.Duration
	// Logf reports receive, handler and delete failures. Default log.Printf.
	Logf func(format string, args ...any)
}

const (
	defaultBatchSize   = 10
	defaultConcurrency = 2
	defaultWaitTime    = time.Second
	defaultTimeout     = 30 * time.Second
	maxBackoff         = 5 * time.Second
	// deleteTimeout bounds the DeleteMessageBatch after a handler, which
	// runs even when Poll's context has ended so finished work is not redone.
	deleteTimeout = 10 * time.Second
)

// Poll feeds batches from the queue to h until ctx ends, as Lambda's SQS
// event source mapping with ReportBatchItemFailures does:
//
//   - it receives up to BatchSize messages with all system and message
//     attributes and passes them to h as one events.SQSEvent;
//   - it deletes every message of the batch not named in the response's
//     BatchItemFailures; the named ones become visible again after the
//     visibility timeout and, after maxReceiveCount receives, go to the DLQ;
//   - if h returns an error, panics, runs past Timeout, or names an item
//     identifier that is empty or not in the batch, it deletes nothing.
//
// When ctx ends, Poll stops receiving, lets batches in progress finish
// (their handlers keep a context that ctx does not cancel, bounded by
// Timeout), deletes what they completed and returns nil. Receive errors are
// logged and retried with backoff; Poll returns an error only for an invalid
// config or a queue that does not exist.
func Poll(ctx context.Context, client *sqs.Client, cfg PollerConfig, h Handler) error {
	if client == nil || h == nil {
		return errors.New("poll: client and handler are required")
	}
	cfg, err := cfg.withDefaults(client.Options().Region)
	if err != nil {
		return err
	}
	p := &poller{client: client, cfg: cfg, handler: h, region: regionOf(cfg.QueueARN, client.Options().Region)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		fatal   error
	)
	for range cfg.Concurrency {
		wg.Go(func() {
			if err := p.run(ctx); err != nil {
				errOnce.Do(func() { fatal = err })
				cancel()
			}
		})
	}
	wg.Wait()
	return fatal
}

func (cfg PollerConfig) withDefaults(region string) (PollerConfig, error) {
	if cfg.QueueURL == "" {
		return cfg, errors.New("poll: QueueURL is required")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = defaultWaitTime
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Logf == nil {
		cfg.Logf = log.Printf
	}
	switch {
	case cfg.BatchSize < 1 || cfg.BatchSize > 10:
		return cfg, fmt.Errorf("poll %s: BatchSize %d outside 1..10", cfg.QueueURL, cfg.BatchSize)
	case cfg.Concurrency < 1:
		return cfg, fmt.Errorf("poll %s: Concurrency %d below 1", cfg.QueueURL, cfg.Concurrency)
	case cfg.WaitTime < 0 || cfg.WaitTime > maxWaitSeconds*time.Second:
		return cfg, fmt.Errorf("poll %s: WaitTime %s outside 0..20s", cfg.QueueURL, cfg.WaitTime)
	case cfg.Timeout < 0:
		return cfg, fmt.Errorf("poll %s: negative Timeout %s", cfg.QueueURL, cfg.Timeout)
	case cfg.BatchingWindow < 0 || cfg.BatchingWindow > 300*time.Second:
		return cfg, fmt.Errorf("poll %s: BatchingWindow %s outside 0..300s", cfg.QueueURL, cfg.BatchingWindow)
	}
	if cfg.QueueARN == "" {
		arn, err := arnFromURL(cfg.QueueURL, region)
		if err != nil {
			return cfg, err
		}
		cfg.QueueARN = arn
	}
	return cfg, nil
}

// arnFromURL turns https://HOST/ACCOUNT/NAME into arn:aws:sqs:REGION:ACCOUNT:NAME.
func arnFromURL(queueURL, region string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return "", fmt.Errorf("poll %s: parse queue URL: %w", queueURL, err)
	}
	account, name, ok := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if !ok || account == "" || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("poll %s: queue URL path is not /ACCOUNT/NAME; set QueueARN", queueURL)
	}
	return "arn:aws:sqs:" + region + ":" + account + ":" + name, nil
}

// regionOf is the region field of an ARN, or fallback.
func regionOf(arn, fallback string) string {
	parts := strings.Split(arn, ":")
	if len(parts) == 6 && parts[3] != "" {
		return parts[3]
	}
	return fallback
}

type poller struct {
	client  *sqs.Client
	cfg     PollerConfig
	handler Handler
	region  string
}

func (p *poller) run(ctx context.Context) error {
	wait := int32(math.Ceil(p.cfg.WaitTime.Seconds()))
	var backoff time.Duration
	for ctx.Err() == nil {
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.cfg.QueueURL),
			MaxNumberOfMessages:         int32(p.cfg.BatchSize),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var missing *types.QueueDoesNotExist
			if errors.As(err, &missing) {
				return fmt.Errorf("poll %s: %w", p.cfg.QueueURL, err)
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), maxBackoff)
			p.cfg.Logf("sqslocal: receive from %s failed, retrying in %s: %v", p.cfg.QueueURL, backoff, err)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		if len(out.Messages) > 0 {
			p.process(ctx, p.gather(ctx, out.Messages))
		}
	}
	return nil
}

// gather fills a batch begun with msgs for up to the batching window.
func (p *poller) gather(ctx context.Context, msgs []types.Message) []types.Message {
	if p.cfg.BatchingWindow <= 0 {
		return msgs
	}
	deadline := time.Now().Add(p.cfg.BatchingWindow)
	for len(msgs) < p.cfg.BatchSize && ctx.Err() == nil {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		wait := int32(min(left/time.Second, maxWaitSeconds))
		if wait == 0 {
			sleep(ctx, min(left, 100*time.Millisecond))
		}
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.cfg.QueueURL),
			MaxNumberOfMessages:         int32(p.cfg.BatchSize - len(msgs)),
			WaitTimeSeconds:             wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			break // the batch goes with what it has; the main loop reports receive errors
		}
		msgs = append(msgs, out.Messages...)
	}
	return msgs
}

// process runs one batch through the handler and deletes what succeeded.
func (p *poller) process(ctx context.Context, msgs []types.Message) {
	ev := ToSQSEvent(msgs, p.cfg.QueueARN, p.region)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	resp, err := callHandler(hctx, p.handler, ev)
	if err == nil && hctx.Err() != nil {
		err = fmt.Errorf("handler ran past its %s timeout", p.cfg.Timeout)
	}
	cancel()
	if err != nil {
		p.cfg.Logf("sqslocal: batch of %d from %s failed, all retried after the visibility timeout: %v", len(msgs), p.cfg.QueueARN, err)
		return
	}
	failed, err := failedMessages(resp, ev)
	if err != nil {
		p.cfg.Logf("sqslocal: batch of %d from %s counts as failed, all retried after the visibility timeout: %v", len(msgs), p.cfg.QueueARN, err)
		return
	}
	var done []types.Message
	for _, m := range msgs {
		if !failed[aws.ToString(m.MessageId)] {
			done = append(done, m)
		}
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
	defer cancel()
	p.delete(dctx, done)
}

func callHandler(ctx context.Context, h Handler, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return h(ctx, ev)
}

// failedMessages reads the message ids a handler reported as failed. Like
// Lambda, it rejects the whole response when an identifier is empty or not
// a message of the batch.
func failedMessages(resp events.SQSEventResponse, ev events.SQSEvent) (map[string]bool, error) {
	inBatch := make(map[string]bool, len(ev.Records))
	for _, r := range ev.Records {
		inBatch[r.MessageId] = true
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		if !inBatch[f.ItemIdentifier] {
			return nil, fmt.Errorf("batch item failure %q is not a message id of the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

func (p *poller) delete(ctx context.Context, msgs []types.Message) {
	for chunk := range slices.Chunk(msgs, 10) {
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{
				Id:            aws.String(strconv.Itoa(i)),
				ReceiptHandle: m.ReceiptHandle,
			}
		}
		out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{
			QueueUrl: aws.String(p.cfg.QueueURL),
			Entries:  entries,
		})
		if err != nil {
			p.cfg.Logf("sqslocal: delete %d handled messages from %s failed, they will be delivered again: %v", len(chunk), p.cfg.QueueARN, err)
			continue
		}
		for _, f := range out.Failed {
			id := aws.ToString(f.Id)
			if i, err := strconv.Atoi(id); err == nil && i >= 0 && i < len(chunk) {
				id = aws.ToString(chunk[i].MessageId)
			}
			p.cfg.Logf("sqslocal: delete handled message %s from %s failed, it will be delivered again: %s %s",
				id, p.cfg.QueueARN, aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
