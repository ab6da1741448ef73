// Package replay is the ops tool for partner messages that did not go
// through: rejections the ingest function recorded (bad JSON, schema
// violations, unknown partners, refunds whose purchase never came, ...) and
// messages SQS moved to the dead-letter queue after failing maxReceiveCount
// times. It lists both and re-drives chosen ones to a partner's queue.
//
// Re-driving a rejection sends its stored body (or a body ops fixed) to the
// queue it was rejected from (each partner has its own) as a new message and
// marks the rejection replayed, naming the new message id; if the new
// message is refused again, it gets a rejection of its own. Re-driving a DLQ
// message sends its body and attributes to the queue of that DLQ (-queue-url
// and -dlq-url name one partner's pair) and then deletes it from the DLQ. Sending twice is harmless:
// the ledger counts a partner's event id once.
//
// Use it as a Go API (Tool) or through Command, which both the replay binary
// (shared/cmd/replay) and other ops CLIs can call:
//
//	rejections [-state open|replayed] [-reason R] [-partner P] [-json]
//	replay [-body-file F] MESSAGE_ID...
//	dlq [-max N] [-json]
//	redrive -all | MESSAGE_ID...
//
// It imports the domain and the SQS API of the AWS SDK; the rejection store
// is a port (package dynamo implements it), so it never imports the store or
// the ingest adapter.
package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// RejectionStore is where the ingest function records rejections.
type RejectionStore interface {
	Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error)
	Rejection(ctx context.Context, messageID string) (loyalty.Rejection, error)
	MarkRejectionReplayed(ctx context.Context, messageID, replayedAs, by string, at time.Time) error
}

// SQSAPI is the part of the SQS API the tool uses; *sqs.Client has it.
type SQSAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, opts ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

// Tool re-drives messages to a partner queue. Each partner has a queue of
// its own (package partnerqueue): a rejection is replayed to the queue it
// came from, so it keeps its sender; dlq and redrive work on one partner's
// queue and DLQ at a time.
type Tool struct {
	Store    RejectionStore
	SQS      SQSAPI
	QueueURL string           // a partner's queue: redrive's target, and replay's for a rejection without a source
	DLQURL   string           // its dead-letter queue; needed for dlq and redrive only
	Actor    string           // who replays, recorded on rejections: "ops:<name>"
	Now      func() time.Time // default time.Now
}

// ReplayOfAttribute is the message attribute a re-driven message carries:
// the id of the message it replays, so logs can follow the chain.
const ReplayOfAttribute = "replayOf"

func (t *Tool) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Rejections lists recorded rejections matching f, oldest first.
func (t *Tool) Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error) {
	return t.Store.Rejections(ctx, f)
}

// ReplayRejection sends the rejected message's body (or body, when ops fixed
// it) to the queue it was rejected from (its source; QueueURL when it has
// none) and marks the rejection replayed. It returns the
// new message's id. Errors: CodeNotFound, CodeConflict (already replayed),
// and the SQS error when the send failed (the rejection then stays open).
func (t *Tool) ReplayRejection(ctx context.Context, messageID string, body []byte) (string, error) {
	r, err := t.Store.Rejection(ctx, messageID)
	if err != nil {
		return "", err
	}
	if r.State != loyalty.RejectionOpen {
		return "", loyalty.Errorf(loyalty.CodeConflict, "message %s was replayed already, as %s", messageID, r.ReplayedAs)
	}
	send := r.Body
	if body != nil {
		send = string(body)
	}
	queue := t.QueueURL
	if r.Source != "" {
		if queue, err = t.queueURL(ctx, r.Source); err != nil {
			return "", fmt.Errorf("replay rejected message %s: %w", messageID, err)
		}
	}
	id, err := t.send(ctx, queue, send, map[string]types.MessageAttributeValue{
		ReplayOfAttribute: {DataType: aws.String("String"), StringValue: aws.String(messageID)},
	})
	if err != nil {
		return "", fmt.Errorf("replay rejected message %s: %w", messageID, err)
	}
	if err := t.Store.MarkRejectionReplayed(ctx, messageID, id, t.Actor, t.now()); err != nil {
		return id, fmt.Errorf("replayed message %s as %s, but could not mark it: %w", messageID, id, err)
	}
	return id, nil
}

// queueURL finds the URL of the queue arn names (arn:aws:sqs:region:account:name).
func (t *Tool) queueURL(ctx context.Context, arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5] == "" {
		return "", fmt.Errorf("source %q is not an SQS queue ARN", arn)
	}
	out, err := t.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", fmt.Errorf("find queue %s: %w", arn, err)
	}
	return aws.ToString(out.QueueUrl), nil
}

func (t *Tool) send(ctx context.Context, queueURL, body string, attrs map[string]types.MessageAttributeValue) (string, error) {
	if queueURL == "" {
		return "", errors.New("the partner queue URL is not set")
	}
	out, err := t.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body), MessageAttributes: attrs})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.MessageId), nil
}

// DLQMessage is a message in the dead-letter queue.
type DLQMessage struct {
	MessageID    string            `json:"messageId"`
	Body         string            `json:"body"`
	SentAt       time.Time         `json:"sentAt,omitzero"`
	ReceiveCount int               `json:"receiveCount"`
	Attributes   map[string]string `json:"messageAttributes,omitempty"` // string attributes only
	handle       string
	attrs        map[string]types.MessageAttributeValue
}

// listVisibility hides DLQ messages while they are listed, so that each
// receive returns new ones; they are made visible again afterwards.
const listVisibility = 30

// DLQ lists up to max messages of the dead-letter queue without removing
// them: it receives them (hiding each for a while) and makes them visible
// again at once.
func (t *Tool) DLQ(ctx context.Context, max int) ([]DLQMessage, error) {
	msgs, err := t.receiveDLQ(ctx, max, func(DLQMessage) bool { return false })
	t.release(ctx, msgs)
	return msgs, err
}

// Redriven is a DLQ message sent back to the partner queue.
type Redriven struct {
	MessageID string `json:"messageId"` // in the DLQ
	NewID     string `json:"newMessageId"`
}

// RedriveDLQ sends the chosen DLQ messages (all when ids is empty) back to
// the partner queue and deletes them from the DLQ. Messages not chosen stay.
func (t *Tool) RedriveDLQ(ctx context.Context, ids []string) ([]Redriven, error) {
	want := make(map[string]bool, len(ids))
	missing := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id], missing[id] = true, true
	}
	chosen := func(m DLQMessage) bool { return len(ids) == 0 || want[m.MessageID] }
	var done []Redriven
	var keep []DLQMessage
	msgs, err := t.receiveDLQ(ctx, 0, func(m DLQMessage) bool {
		delete(missing, m.MessageID)
		return len(ids) > 0 && len(missing) == 0 // stop once every chosen one was seen
	})
	defer func() { t.release(ctx, keep) }()
	for _, m := range msgs {
		if !chosen(m) {
			keep = append(keep, m)
			continue
		}
		attrs := m.attrs
		if attrs == nil {
			attrs = map[string]types.MessageAttributeValue{}
		}
		attrs[ReplayOfAttribute] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(m.MessageID)}
		id, serr := t.send(ctx, t.QueueURL, m.Body, attrs)
		if serr != nil {
			keep = append(keep, m)
			err = errors.Join(err, fmt.Errorf("redrive %s: %w", m.MessageID, serr))
			continue
		}
		if _, derr := t.SQS.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(t.DLQURL), ReceiptHandle: aws.String(m.handle)}); derr != nil {
			err = errors.Join(err, fmt.Errorf("redrove %s as %s but could not delete it from the DLQ (it may be redriven again, harmlessly): %w", m.MessageID, id, derr))
		}
		done = append(done, Redriven{MessageID: m.MessageID, NewID: id})
	}
	if len(missing) > 0 {
		var ids []string
		for id := range missing {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		err = errors.Join(err, fmt.Errorf("not in the DLQ: %v", ids))
	}
	return done, err
}

// receiveDLQ receives up to max messages (0: all), hiding each, until the
// DLQ returns nothing new or stop says so.
func (t *Tool) receiveDLQ(ctx context.Context, max int, stop func(DLQMessage) bool) ([]DLQMessage, error) {
	if t.DLQURL == "" {
		return nil, errors.New("the DLQ URL is not set")
	}
	var out []DLQMessage
	seen := map[string]bool{}
	done := false
	for max == 0 || len(out) < max {
		n := int32(10)
		if max > 0 {
			n = int32(min(10, max-len(out)))
		}
		res, err := t.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(t.DLQURL), MaxNumberOfMessages: n,
			VisibilityTimeout: listVisibility, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"}})
		if err != nil {
			return out, fmt.Errorf("receive from the DLQ: %w", err)
		}
		if len(res.Messages) == 0 {
			return out, nil
		}
		for _, m := range res.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] {
				continue
			}
			seen[id] = true
			d := DLQMessage{MessageID: id, Body: aws.ToString(m.Body), handle: aws.ToString(m.ReceiptHandle), attrs: m.MessageAttributes}
			d.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
			if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
				d.SentAt = time.UnixMilli(ms).UTC()
			}
			for k, v := range m.MessageAttributes {
				if v.StringValue != nil {
					if d.Attributes == nil {
						d.Attributes = map[string]string{}
					}
					d.Attributes[k] = *v.StringValue
				}
			}
			out = append(out, d)
			done = stop(d) || done
		}
		if done {
			// The whole batch is in out, so the caller releases what it keeps.
			return out, nil
		}
	}
	return out, nil
}

// release makes listed messages visible again in the DLQ.
func (t *Tool) release(ctx context.Context, msgs []DLQMessage) {
	for _, m := range msgs {
		_, _ = t.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(t.DLQURL),
			ReceiptHandle: aws.String(m.handle), VisibilityTimeout: 0})
	}
}
