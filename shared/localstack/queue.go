package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/localiam"
	"github.com/loyalty-functions/loyalty/shared/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
	"github.com/loyalty-functions/loyalty/shared/sqslocal"
)

// Stage is the stage the local functions run in; it names the local
// partner queues (package partnerqueue) as a deployment's stage does.
const Stage = "local"

// The local stack's own SQS principal: the pollers that play the event
// source mappings, and ops tools (replay). It stands for roles of the
// operator's account, which may use every queue.
const (
	OpsSQSAccessKey = "local"
	OpsSQSSecret    = "local"
)

// PartnerQueue is one partner's local queue, its DLQ, and the credentials
// that partner sends with. As on AWS, only those credentials may send to
// the queue: another partner's are refused with AccessDenied.
type PartnerQueue struct {
	PartnerID       string
	URL, DLQ        string
	AccessKeyID     string
	SecretAccessKey string
}

// PartnerAccessKey and PartnerSecret are the local credentials of a
// partner: fixed, so the README's commands work as printed. They guard
// nothing real (the local SQS listens on 127.0.0.1 only); they make a
// local partner prove who it is the way it must on AWS.
func PartnerAccessKey(partnerID string) string { return "LOCALPARTNER-" + partnerID }

// PartnerSecret is the secret of PartnerAccessKey.
func PartnerSecret(partnerID string) string { return "local-secret-" + partnerID }

// partnerQueues is the embedded SQS with a queue and DLQ per partner, and
// the pollers that feed the real ingest binary like the event source
// mappings, one per queue.
type partnerQueues struct {
	sqs    *sqslocal.Server
	queues []PartnerQueue
	stop   context.CancelFunc
	done   sync.WaitGroup
}

// queuePolicy says what each local principal may do: the ops principal
// anything, a partner only send to (and look up) its own queue.
type queuePolicy struct {
	verifier localiam.Verifier
	own      map[string]string // partner principal name -> its queue name
}

// partnerActions are what a partner's principal may call on its own queue:
// sqs:SendMessage (SendMessageBatch is authorized as it) and the lookups the
// SDKs and the CLI make first.
var partnerActions = []string{"SendMessage", "SendMessageBatch", "GetQueueUrl", "GetQueueAttributes"}

func (p queuePolicy) authorize(r *http.Request, body []byte, action, queue string) error {
	who, err := p.verifier.Verify(r, body)
	if err != nil {
		return fmt.Errorf("not authorized: %v", err)
	}
	if who.Name == "ops" {
		return nil
	}
	if own, ok := p.own[who.Name]; ok && own == queue && slices.Contains(partnerActions, action) {
		return nil
	}
	//lint:ignore ST1005 the text is SQS's own AccessDenied message, which the gate sends to the client as it is
	return fmt.Errorf("User: %s is not authorized to perform: sqs:%s on resource: %s", who.Name, action, "arn:aws:sqs:"+sqslocal.Region+":"+sqslocal.AccountID+":"+queue)
}

// startPartnerQueues starts goaws on 127.0.0.1 with a queue per partner of
// the program (redrive to its DLQ after 5 receives, visibility 30 s), every
// call checked against the local principals, and polls each queue into
// ingest in batches of 10, two batches at a time, deleting only what
// succeeded.
func startPartnerQueues(ctx context.Context, addr string, partnerIDs []string, ingest *runtimeapi.Function, logf func(string, ...any)) (*partnerQueues, error) {
	policy := queuePolicy{own: map[string]string{},
		verifier: localiam.Verifier{Service: "sqs", Region: sqslocal.Region,
			Principals: []localiam.Principal{{Name: "ops", AccessKeyID: OpsSQSAccessKey, SecretAccessKey: OpsSQSSecret}}}}
	for _, id := range partnerIDs {
		name := "partner:" + id
		policy.own[name] = partnerqueue.Name(Stage, id)
		policy.verifier.Principals = append(policy.verifier.Principals,
			localiam.Principal{Name: name, AccessKeyID: PartnerAccessKey(id), SecretAccessKey: PartnerSecret(id)})
	}
	srv, err := sqslocal.Start(ctx, sqslocal.WithAuthorizer(policy.authorize), sqslocal.WithAddr(addr))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &AddrInUseError{Part: PartSQS, Addr: addr}
	}
	if err != nil {
		return nil, fmt.Errorf("localstack: start SQS: %w", err)
	}
	q := &partnerQueues{sqs: srv}
	for _, id := range partnerIDs {
		pq := PartnerQueue{PartnerID: id, AccessKeyID: PartnerAccessKey(id), SecretAccessKey: PartnerSecret(id)}
		pq.URL, pq.DLQ, err = srv.CreateQueueWithDLQ(ctx, partnerqueue.Name(Stage, id), 5, 30*time.Second)
		if err != nil {
			srv.Stop(context.Background())
			return nil, fmt.Errorf("localstack: create the queue of partner %s: %w", id, err)
		}
		q.queues = append(q.queues, pq)
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
	for _, pq := range q.queues {
		q.done.Add(1)
		go func() {
			defer q.done.Done()
			cfg := sqslocal.PollerConfig{QueueURL: pq.URL, QueueARN: srv.QueueARN(partnerqueue.Name(Stage, pq.PartnerID)), BatchSize: 10, Concurrency: 2,
				WaitTime: time.Second, Timeout: 30 * time.Second, Logf: logf}
			if err := sqslocal.Poll(pctx, srv.Client(), cfg, handler); err != nil {
				logf("queue poller of partner %s stopped: %v", pq.PartnerID, err)
			}
		}()
	}
	return q, nil
}

// Stop stops polling (letting running batches finish) and the SQS server.
func (q *partnerQueues) Stop(ctx context.Context) error {
	q.stop()
	q.done.Wait()
	return q.sqs.Stop(ctx)
}
