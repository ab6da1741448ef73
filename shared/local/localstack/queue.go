package localstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/local/localiam"
	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
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
	iam      *localIAM         // decides the calls of the functions' roles
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
	if strings.HasPrefix(who.Name, "function:") {
		// A batch call is authorized as the action of its entries.
		iamAction := map[string]string{"DeleteMessageBatch": "DeleteMessage", "SendMessageBatch": "SendMessage",
			"ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}[action]
		if iamAction == "" {
			iamAction = action
		}
		return p.iam.authorize(who, localiam.Request{Action: "sqs:" + iamAction, Resource: "arn:aws:sqs:" + sqslocal.Region + ":" + sqslocal.AccountID + ":" + queue})
	}
	if own, ok := p.own[who.Name]; ok && own == queue && slices.Contains(partnerActions, action) {
		return nil
	}
	//lint:ignore ST1005 the text is SQS's own AccessDenied message, which the gate sends to the client as it is
	return fmt.Errorf("User: %s is not authorized to perform: sqs:%s on resource: %s", who.Name, action, "arn:aws:sqs:"+sqslocal.Region+":"+sqslocal.AccountID+":"+queue)
}

// startPartnerQueues starts goaws on 127.0.0.1 with every queue an event
// source mapping of the template reads, each with its DLQ, redrive count
// and visibility timeout as the template sets them, every call checked
// against the local principals; and polls each into its function as the
// mapping says: batch size, maximum concurrency, the function's timeout,
// and partial batch responses only when the mapping reports them.
func startPartnerQueues(ctx context.Context, addr string, p *plan, iam *localIAM, program *loyalty.Program, funcs map[string]*runtimeapi.Function, logf func(string, ...any)) (*partnerQueues, error) {
	policy := queuePolicy{own: map[string]string{}, iam: iam,
		verifier: localiam.Verifier{Service: "sqs", Region: sqslocal.Region,
			Principals: []localiam.Principal{{Name: "ops", AccessKeyID: OpsSQSAccessKey, SecretAccessKey: OpsSQSSecret}}}}
	partnerOf := map[string]string{} // queue name -> partner id
	for _, pt := range program.Partners {
		name := "partner:" + pt.ID
		policy.own[name] = partnerqueue.Name(Stage, pt.ID)
		partnerOf[partnerqueue.Name(Stage, pt.ID)] = pt.ID
		policy.verifier.Principals = append(policy.verifier.Principals,
			localiam.Principal{Name: name, AccessKeyID: PartnerAccessKey(pt.ID), SecretAccessKey: PartnerSecret(pt.ID)})
	}
	// The event source mappings poll with their function's role, as
	// Lambda's pollers do.
	for _, tq := range p.queues {
		if fp := functionPrincipal(tq.function); !slices.ContainsFunc(policy.verifier.Principals, func(x localiam.Principal) bool { return x.Name == fp.Name }) {
			policy.verifier.Principals = append(policy.verifier.Principals, fp)
		}
	}
	srv, err := sqslocal.Start(ctx, sqslocal.WithAuthorizer(policy.authorize), sqslocal.WithAddr(addr))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, &AddrInUseError{Part: PartSQS, Addr: addr}
	}
	if err != nil {
		return nil, fmt.Errorf("localstack: start SQS: %w", err)
	}
	q := &partnerQueues{sqs: srv}
	type polled struct {
		pq      PartnerQueue
		cfg     sqslocal.PollerConfig
		fn      *runtimeapi.Function
		partial bool
		name    string
	}
	var pollers []polled
	for _, tq := range p.queues {
		name := tq.queue.Name
		if tq.dlq == nil || tq.dlq.Name != name+"-dlq" {
			srv.Stop(context.Background())
			return nil, fmt.Errorf("localstack: queue %s: the embedded SQS makes <name>-dlq as its dead-letter queue; the template has %v", name, tq.dlq)
		}
		pq := PartnerQueue{PartnerID: partnerOf[name]}
		if pq.PartnerID != "" {
			pq.AccessKeyID, pq.SecretAccessKey = PartnerAccessKey(pq.PartnerID), PartnerSecret(pq.PartnerID)
		} else {
			logf("queue %s of the template belongs to no partner of the program: only the ops principal may use it", name)
		}
		visibility := time.Duration(*tq.queue.VisibilityTimeout) * time.Second
		pq.URL, pq.DLQ, err = srv.CreateQueueWithDLQ(ctx, name, tq.maxReceive, visibility)
		if err != nil {
			srv.Stop(context.Background())
			return nil, fmt.Errorf("localstack: create queue %s: %w", name, err)
		}
		if pq.PartnerID != "" {
			q.queues = append(q.queues, pq)
		}
		m := tq.mapping
		conc := defaultMappingConcurrency
		if m.ScalingConfig != nil && m.ScalingConfig.MaximumConcurrency > 0 {
			conc = m.ScalingConfig.MaximumConcurrency
		}
		cfg := sqslocal.PollerConfig{QueueURL: pq.URL, QueueARN: srv.QueueARN(name), BatchSize: m.BatchSize, Concurrency: conc,
			WaitTime: time.Second, Timeout: time.Duration(p.functions[tq.function].Timeout) * time.Second, Logf: logf}
		cfg.BatchingWindow = time.Duration(m.MaximumBatchingWindowInSeconds) * time.Second
		pollers = append(pollers, polled{pq: pq, cfg: cfg, fn: funcs[tq.function], name: tq.function, partial: slices.Contains(m.FunctionResponseTypes, "ReportBatchItemFailures")})
	}
	for _, pt := range program.Partners {
		if !slices.ContainsFunc(q.queues, func(pq PartnerQueue) bool { return pq.PartnerID == pt.ID }) {
			srv.Stop(context.Background())
			return nil, fmt.Errorf("localstack: partner %s of the program has no queue mapping in the template", pt.ID)
		}
	}
	pctx, cancel := context.WithCancel(context.Background())
	q.stop = cancel
	for _, pl := range pollers {
		handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			payload, err := json.Marshal(ev)
			if err != nil {
				return events.SQSEventResponse{}, err
			}
			out, err := pl.fn.Invoke(ctx, payload)
			if err != nil {
				return events.SQSEventResponse{}, err
			}
			if !pl.partial {
				// Without ReportBatchItemFailures Lambda reads no response:
				// an invocation that succeeds deletes the whole batch.
				return events.SQSEventResponse{}, nil
			}
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				return events.SQSEventResponse{}, fmt.Errorf("%s answered %q: %w", pl.name, out, err)
			}
			return resp, nil
		}
		q.done.Add(1)
		go func() {
			defer q.done.Done()
			client := sqs.New(sqs.Options{Region: sqslocal.Region, BaseEndpoint: aws.String(srv.Endpoint),
				Credentials: credentials.NewStaticCredentialsProvider(FunctionAccessKey(pl.name), FunctionSecret(pl.name), "")})
			if err := sqslocal.Poll(pctx, client, pl.cfg, handler); err != nil {
				logf("queue poller of %s stopped: %v", pl.cfg.QueueURL, err)
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
