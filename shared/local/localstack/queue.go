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

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
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
// that partner sends with. The key stands for one sender principal of the
// partner (Principal, partnerCaller), and the queue policy of the template
// decides what it may do, as SQS decides a call from another account.
type PartnerQueue struct {
	PartnerID       string
	URL, DLQ        string
	AccessKeyID     string
	SecretAccessKey string
	// Principal is the ARN the partner's key stands for: a session of the
	// role, the user, or a user of the account its first sender names.
	Principal string
}

// PartnerAccessKey and PartnerSecret are the local credentials of a
// partner: fixed, so the README's commands work as printed. They guard
// nothing real (the local SQS listens on 127.0.0.1 only); they make a
// local partner prove who it is the way it must on AWS.
func PartnerAccessKey(partnerID string) string { return "LOCALPARTNER-" + partnerID }

// PartnerSecret is the secret of PartnerAccessKey.
func PartnerSecret(partnerID string) string { return "local-secret-" + partnerID }

// NoSenderAccount is the account whose user the key of a partner without
// senders stands for: no policy of the template names it, so such a
// partner is refused everywhere, as on AWS.
const NoSenderAccount = "999999999999"

// partnerSenders are the senders a partner's local principal is made from:
// its own, or NoSenderAccount without any.
func partnerSenders(p loyalty.Partner) []string {
	if len(p.Senders) == 0 {
		return []string{NoSenderAccount}
	}
	return p.Senders
}

// partnerCaller is the principal a partner's local key stands for: what
// AWS names for a session of its first sender (localgateway.DoorCaller),
// the same at the queue and at the door.
func partnerCaller(p loyalty.Partner) localiam.Caller {
	iam, ok := localgateway.DoorCaller(localgateway.DoorPartner{ID: p.ID, AccessKeyID: PartnerAccessKey(p.ID), Senders: partnerSenders(p)})
	if !ok {
		return localiam.Caller{}
	}
	return localiam.Caller{Account: iam.AccountID, ARN: iam.UserARN}
}

// secureTransport is the condition context of every call to a local
// endpoint: they are plain HTTP on 127.0.0.1 and stand for AWS's HTTPS
// endpoints, which the SDKs always use, so aws:SecureTransport is true and
// the template's Deny of plain HTTP never matches locally (the start notes
// say so).
var secureTransport = map[string][]string{"aws:securetransport": {"true"}}

// partnerQueues is the embedded SQS with a queue and DLQ per partner, and
// the pollers that feed the real ingest binary like the event source
// mappings, one per queue.
type partnerQueues struct {
	sqs    *sqslocal.Server
	queues []PartnerQueue
	stop   context.CancelFunc
	done   sync.WaitGroup
}

// queuePolicy decides each call to the embedded SQS: the ops principal may
// do anything; a function's role by its identity policies and the queue's
// resource policy (an explicit Deny of either wins); a partner, a
// principal of another account, by the queue's resource policy alone.
type queuePolicy struct {
	verifier  localiam.Verifier
	partners  map[string]localiam.Caller // partner principal name -> who its key stands for
	resources map[string]localiam.Policy // queue name -> its queue policy from the template
	iam       *localIAM                  // decides the calls of the functions' roles
	logf      func(string, ...any)
}

// sqsAction is the IAM action of an SQS API action: a batch call is
// authorized as the action of its entries.
func sqsAction(action string) string {
	if a, ok := map[string]string{"DeleteMessageBatch": "DeleteMessage", "SendMessageBatch": "SendMessage",
		"ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}[action]; ok {
		return "sqs:" + a
	}
	return "sqs:" + action
}

func (p queuePolicy) authorize(r *http.Request, body []byte, action, queue string) error {
	who, err := p.verifier.Verify(r, body)
	if err != nil {
		return fmt.Errorf("not authorized: %v", err)
	}
	if who.Name == "ops" {
		return nil
	}
	arn := "arn:aws:sqs:" + sqslocal.Region + ":" + sqslocal.AccountID + ":" + queue
	req := localiam.Request{Action: sqsAction(action), Resource: arn, Context: secureTransport}
	resource, hasPolicy := p.resources[queue]
	if strings.HasPrefix(who.Name, "function:") {
		var rp *localiam.Policy
		if hasPolicy {
			rp = &resource
		}
		return p.iam.authorizeWith(who, req, rp)
	}
	caller, ok := p.partners[who.Name]
	if !ok {
		return fmt.Errorf("not authorized: %s is no principal of the local SQS", who.Name)
	}
	req.Caller = &caller
	d := resource.Evaluate(req)
	if d.Allowed {
		return nil
	}
	// SQS names the action in lower case in its AccessDenied message.
	why := "because no resource-based policy allows the " + strings.ToLower(req.Action) + " action"
	if d.ExplicitDeny {
		why = "with an explicit deny in a resource-based policy (" + d.Statement.Policy + ")"
	}
	p.logf("IAM: AccessDenied: partner %s (%s), action %s, resource %s: %s", strings.TrimPrefix(who.Name, "partner:"), caller.ARN, req.Action, arn, strings.TrimPrefix(why, "because "))
	//lint:ignore ST1005 the text is SQS's own AccessDenied message, which the gate sends to the client as it is
	return fmt.Errorf("User: %s is not authorized to perform: %s on resource: %s %s", caller.ARN, strings.ToLower(req.Action), arn, why)
}

// startPartnerQueues starts goaws on 127.0.0.1 with every queue an event
// source mapping of the template reads, each with its DLQ, redrive count
// and visibility timeout as the template sets them, every call checked
// against the local principals; and polls each into its function as the
// mapping says: batch size, maximum concurrency, the function's timeout,
// and partial batch responses only when the mapping reports them.
func startPartnerQueues(ctx context.Context, addr string, p *plan, iam *localIAM, program *loyalty.Program, funcs map[string]*runtimeapi.Function, logf func(string, ...any)) (*partnerQueues, error) {
	policy := queuePolicy{partners: map[string]localiam.Caller{}, resources: p.queuePolicies, iam: iam, logf: logf,
		verifier: localiam.Verifier{Service: "sqs", Region: sqslocal.Region,
			Principals: []localiam.Principal{{Name: "ops", AccessKeyID: OpsSQSAccessKey, SecretAccessKey: OpsSQSSecret}}}}
	partnerOf := map[string]loyalty.Partner{} // queue name -> partner
	for _, pt := range program.Partners {
		name := "partner:" + pt.ID
		policy.partners[name] = partnerCaller(pt)
		partnerOf[partnerqueue.Name(Stage, pt.ID)] = pt
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
		pq := PartnerQueue{PartnerID: partnerOf[name].ID}
		if pq.PartnerID != "" {
			pq.AccessKeyID, pq.SecretAccessKey = PartnerAccessKey(pq.PartnerID), PartnerSecret(pq.PartnerID)
			pq.Principal = policy.partners["partner:"+pq.PartnerID].ARN
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
