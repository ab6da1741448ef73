// Package eventbus is the EventBridge adapter: it publishes the domain's
// events (loyalty.DomainEvent) to an event bus with PutEvents, ten entries a
// call, retrying the entries EventBridge reports as failed, so CRM, e-mail
// and push services can subscribe without code changes here. It implements
// loyalty.Publisher.
//
// It imports the domain and the EventBridge SDK only, never the store, the
// HTTP or queue adapters, or the local stack.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Client is the part of the EventBridge API the bus uses; *eventbridge.Client
// satisfies it and tests fake it.
type Client interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, opts ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// maxEntries is PutEvents' limit of entries per call.
const maxEntries = 10

// Bus publishes to one event bus.
type Bus struct {
	client Client
	name   string
	// MaxAttempts bounds the calls made for one batch (first try and
	// retries of failed entries); default 6.
	MaxAttempts int
	// sleep waits between attempts; tests make it instant.
	sleep func(ctx context.Context, d time.Duration) error
}

// New returns a bus publishing to the event bus name (its name or ARN).
func New(client Client, name string) *Bus {
	return &Bus{client: client, name: name, MaxAttempts: 6, sleep: sleepCtx}
}

// Entry is the PutEvents entry of a domain event: source "loyalty", the
// event type as detail-type, and the JSON body as detail.
func (b *Bus) Entry(e loyalty.DomainEvent) (types.PutEventsRequestEntry, error) {
	detail, err := json.Marshal(e.Body())
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("encode event %s (%s): %w", e.ID, e.Type, err)
	}
	return types.PutEventsRequestEntry{Source: aws.String(loyalty.EventSource), DetailType: aws.String(e.Type),
		Detail: aws.String(string(detail)), EventBusName: aws.String(b.name), Time: aws.Time(e.OccurredAt.UTC())}, nil
}

// Publish implements loyalty.Publisher: batches of ten, each retried until
// every entry was accepted or MaxAttempts calls were made. A retried entry
// may be delivered twice (EventBridge is at least once); consumers drop
// copies by eventId. Errors: CodeUnavailable when entries are still failing
// or EventBridge is unavailable, CodeInternal for a refused request.
func (b *Bus) Publish(ctx context.Context, events []loyalty.DomainEvent) error {
	for len(events) > 0 {
		n := min(len(events), maxEntries)
		batch := make([]types.PutEventsRequestEntry, 0, n)
		for _, e := range events[:n] {
			entry, err := b.Entry(e)
			if err != nil {
				return &loyalty.Error{Code: loyalty.CodeInternal, Message: "internal error", Err: err}
			}
			batch = append(batch, entry)
		}
		if err := b.putBatch(ctx, batch); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (b *Bus) putBatch(ctx context.Context, entries []types.PutEventsRequestEntry) error {
	attempts := max(b.MaxAttempts, 1)
	var last error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			if err := b.sleep(ctx, backoff(attempt)); err != nil {
				return loyalty.Transient(err, "publishing events timed out")
			}
		}
		out, err := b.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			if !transient(err) {
				return &loyalty.Error{Code: loyalty.CodeInternal, Message: "internal error", Err: fmt.Errorf("put %d events on %s: %w", len(entries), b.name, err)}
			}
			last = err
			continue
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		// Results are in request order; keep the failed entries only.
		var failed []types.PutEventsRequestEntry
		for i, r := range out.Entries {
			if r.ErrorCode != nil && i < len(entries) {
				failed = append(failed, entries[i])
				last = fmt.Errorf("%s: %s", aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
			}
		}
		if len(failed) == 0 { // a count without per-entry codes: send them all again
			failed = entries
			last = fmt.Errorf("%d entries failed", out.FailedEntryCount)
		}
		entries = failed
	}
	return loyalty.Transient(last, "%d events not accepted by the event bus, retry later", len(entries))
}

// transient reports whether a failed PutEvents call may succeed later.
func transient(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var (
		thr *types.ThrottlingException
		ise *types.InternalException
		cme *types.ConcurrentModificationException
	)
	if errors.As(err, &thr) || errors.As(err, &ise) || errors.As(err, &cme) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorFault() == smithy.FaultServer
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		return code == 0 || code >= 500 || code == 429 // 0: no answer at all
	}
	return true // no answer at all (connection refused, reset): try again
}

// backoff is full jitter, growing to 2 s.
func backoff(attempt int) time.Duration {
	ceil := min(50*time.Millisecond<<attempt, 2*time.Second)
	return time.Duration(rand.Int64N(int64(ceil))) + time.Millisecond
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// EndpointEnv names the endpoint override the SDK reads when it loads its
// configuration itself. The functions build their aws.Config by hand (to
// keep the binaries small), so NewClient honours it here; the local stack
// sets it to its local EventBridge.
const EndpointEnv = "AWS_ENDPOINT_URL_EVENTBRIDGE"

// NewClient builds the EventBridge client, pointed at the endpoint in
// AWS_ENDPOINT_URL_EVENTBRIDGE when getenv has one.
func NewClient(cfg aws.Config, getenv func(string) string) *eventbridge.Client {
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if ep := getenv(EndpointEnv); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}
