package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// RejectionRecorder stores messages refused for good. Recording the same
// message again must be harmless (a redelivery).
type RejectionRecorder interface {
	RecordRejection(ctx context.Context, r loyalty.Rejection) error
}

// Config is what the handler needs; main.go builds it once per cold start.
type Config struct {
	Service    *loyalty.Service
	Rejections RejectionRecorder
	Logger     *slog.Logger // default: slog.Default()
	Metrics    io.Writer    // EMF lines; default os.Stdout, where Lambda's log capture reads them
	// Stage is the deployment's stage: the metrics' dimension, and part of
	// each partner queue's name (package partnerqueue), from which the
	// ingest knows who sent a message.
	Stage string
	// RefundWaitReceives is how many receives a refund waits for its
	// purchase before it is parked as purchase_not_found. Default 4.
	RefundWaitReceives int
	// Concurrency is how many messages of a batch run at once. Default 10.
	Concurrency int
}

// DefaultRefundWaitReceives is RefundWaitReceives when not set.
const DefaultRefundWaitReceives = 4

// Handler handles batches of the partner queue.
type Handler struct {
	cfg      Config
	partners map[string]bool
	owners   partnerqueue.Owners // queue name -> the partner that alone may send to it
	metrics  *emf.Writer
	workers  workers
}

// New checks cfg, so that a bad deploy fails at init, not on its first
// message. The partner schemas compile on the first message that needs
// them (partner.Validate); their own tests keep a broken one out of a build.
func New(cfg Config) (*Handler, error) {
	if cfg.Service == nil || cfg.Service.Program == nil || cfg.Service.Clock == nil || cfg.Rejections == nil {
		return nil, errors.New("ingest: a service with program and clock, and a rejection recorder, are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = os.Stdout
	}
	if cfg.RefundWaitReceives == 0 {
		cfg.RefundWaitReceives = DefaultRefundWaitReceives
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 10
	}
	if cfg.RefundWaitReceives < 1 || cfg.Concurrency < 1 {
		return nil, fmt.Errorf("ingest: RefundWaitReceives %d and Concurrency %d must be at least 1", cfg.RefundWaitReceives, cfg.Concurrency)
	}
	h := &Handler{cfg: cfg, partners: make(map[string]bool, len(cfg.Service.Program.Partners)),
		metrics: &emf.Writer{W: cfg.Metrics, Stage: cfg.Stage}}
	ids := make([]string, 0, len(cfg.Service.Program.Partners))
	for _, p := range cfg.Service.Program.Partners {
		h.partners[p.ID] = true
		ids = append(ids, p.ID)
	}
	h.owners = partnerqueue.NewOwners(cfg.Stage, ids)
	h.workers.idle = make(chan func())
	return h, nil
}

// workers run a batch's messages on goroutines that live as long as the
// function, rather than on a goroutine each: a message's call depth
// (decode, the rules, the SDK) grows a new goroutine's stack several times,
// and a worker keeps the stack it grew across a warm function's
// invocations (BenchmarkIngestBatch: stack growth was 11.6% of the
// handler's CPU, 3.0% with workers). A task goes to an idle worker, or to
// a new one when none is idle, so batches handled at the same time (the
// local stack, the bench) never wait for each other's workers.
type workers struct {
	idle chan func() // unbuffered: a send succeeds only if a worker waits
}

func (w *workers) run(f func()) {
	select {
	case w.idle <- f:
	default:
		go func() {
			for {
				f()
				f = <-w.idle
			}
		}()
	}
}

// each runs f(0) to f(n-1), Concurrency at a time, and returns when all
// have returned. With one message, or one at a time, they run here, one
// after another: handing each to a worker would only add two goroutine
// switches per message (a batch of one is what a quiet queue delivers).
func (h *Handler) each(n int, f func(i int)) {
	if n == 1 || h.cfg.Concurrency == 1 {
		for i := range n {
			f(i)
		}
		return
	}
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		sem <- struct{}{}
		h.workers.run(func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		})
	}
	wg.Wait()
}

// ParseRefundWaitReceives reads REFUND_WAIT_RECEIVES: "" gives the default.
func ParseRefundWaitReceives(s string) (int, error) {
	if s == "" {
		return DefaultRefundWaitReceives, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		return 0, fmt.Errorf("REFUND_WAIT_RECEIVES must be a whole number from 1 to 1000, got %q", s)
	}
	return n, nil
}

// outcome is what became of one message.
type outcome int

const (
	applied outcome = iota
	duplicate
	retry
	rejected
)

// result is one message's outcome and what it did to points.
type result struct {
	outcome  outcome
	accrued  loyalty.Points
	clawback loyalty.Points
	partner  string               // the sender, for applied purchases
	res      loyalty.Result       // applied and duplicate: the entry (the door answers from it)
	ev       partner.Event        // applied and duplicate: the message
	reason   loyalty.RejectReason // rejected: why
	why      string               // rejected: for people
}

// Handle processes a batch and returns the ids of the messages SQS must
// deliver again. It never returns an error: a failure of one message fails
// that message only.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := lazyLogger(h.cfg.Logger)
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		log = log.With("requestId", lc.AwsRequestID)
	}
	results := make([]result, len(ev.Records))
	h.each(len(ev.Records), func(i int) { results[i] = h.handleMessage(ctx, log, &ev.Records[i]) })

	var resp events.SQSEventResponse
	var m batchMetrics
	for i, r := range results {
		switch r.outcome {
		case applied:
			m.processed++
		case duplicate:
			m.duplicates++
		case retry:
			m.retried++
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		case rejected:
			m.rejected++
		}
		m.accrued += r.accrued
		m.clawedBack += r.clawback
		if r.outcome == applied && r.partner != "" {
			if m.byPartner == nil {
				m.byPartner = map[string]loyalty.Points{}
			}
			m.byPartner[r.partner] += r.accrued
		}
	}
	log.Info("batch handled", "messages", len(ev.Records), "processed", m.processed, "duplicates", m.duplicates,
		"retried", m.retried, "rejected", m.rejected, "pointsAccrued", m.accrued, "pointsClawedBack", m.clawedBack)
	h.emit(m)
	return resp, nil
}

// message is one partner message, whichever door it came through: the
// queue (an SQS record) or the synchronous door (door.go). Who sent it is
// what AWS says, never what the body says.
type message struct {
	id       string // the SQS message id, or the function URL request id
	source   string // the queue's ARN; door: the sender's queue, where a replay goes
	body     string
	receives int
	sentAt   time.Time
	// sender is the partner whose principal sent the message; known is
	// false when it belongs to no partner.
	sender string
	known  bool
	door   bool   // it came through the synchronous door
	caller string // door: the caller's principal, for the rejection's text
}

// handleMessage decides one queue message's fate; see the package doc for
// the table.
func (h *Handler) handleMessage(ctx context.Context, log *slog.Logger, msg *events.SQSMessage) result {
	m := message{id: msg.MessageId, source: msg.EventSourceARN, body: msg.Body, receives: receiveCount(msg), sentAt: sentAt(msg)}
	// Who sent it is the queue it arrived on: only the partner's own
	// principals may send to that queue.
	m.sender, m.known = h.owners.Owner(msg.EventSourceARN)
	return h.process(ctx, log.With("messageId", msg.MessageId, "receiveCount", m.receives), m)
}

// process is the one path of a partner message, from both doors.
func (h *Handler) process(ctx context.Context, log *slog.Logger, msg message) result {
	receives := msg.receives
	ev, err := partner.Decode([]byte(msg.body))
	if ev.PartnerID != "" {
		log = log.With("partnerId", ev.PartnerID, "eventId", ev.EventID, "type", ev.Type)
	}
	var de *partner.DecodeError
	switch {
	case errors.As(err, &de):
		return h.reject(ctx, log, msg, ev, de.Reason, de.Message)
	case err != nil:
		log.Error("message not decoded, will be retried", "error", err)
		return result{outcome: retry}
	}
	if !h.partners[ev.PartnerID] {
		return h.reject(ctx, log, msg, ev, loyalty.RejectUnknownPartner,
			fmt.Sprintf("partner %q is not listed in the program file", ev.PartnerID))
	}
	// The body's partnerId must agree with the sender. The rejection is
	// filed under the real sender, not the partner the body names.
	if !msg.known {
		claimed := ev.PartnerID
		ev.PartnerID = ""
		why := fmt.Sprintf("queue %s belongs to no partner of stage %s (the body names partner %q)", msg.source, h.cfg.Stage, claimed)
		if msg.door {
			why = fmt.Sprintf("the door's caller %s is no sender of any partner (the body names partner %q)", msg.caller, claimed)
		}
		return h.reject(ctx, log, msg, ev, loyalty.RejectUnknownSource, why)
	}
	sender := msg.sender
	if sender != ev.PartnerID {
		claimed := ev.PartnerID
		ev.PartnerID = sender
		why := fmt.Sprintf("the message arrived on the queue of partner %q but names partner %q", sender, claimed)
		if msg.door {
			why = fmt.Sprintf("the door's caller %s sends for partner %q but the message names partner %q", msg.caller, sender, claimed)
		}
		return h.reject(ctx, log.With("claimedPartnerId", claimed), msg, ev, loyalty.RejectPartnerMismatch, why)
	}

	if r, settled := h.resolveMember(ctx, log, msg, &ev); settled { // members.go
		return r
	}
	if ev.Purchase != nil {
		ev.Purchase.Redelivered = receives > 1
	}
	res, err := h.apply(ctx, &ev) // members.go
	// A rotating code another purchase used.
	if re, ok := loyalty.AsRefError(err); ok {
		return h.reject(ctx, log, msg, ev, re.Reason, re.Message)
	}
	switch code := loyalty.ErrorCode(err); code {
	case "":
		if res.Replayed {
			log.Debug("duplicate message, nothing changed", "entry", res.Entry.Key)
			return result{outcome: duplicate, res: res, ev: ev}
		}
		log.Debug("message applied", "entry", res.Entry.Key, "delta", res.Entry.Delta)
		if ev.Purchase != nil {
			return result{outcome: applied, accrued: res.Entry.Earned, partner: sender, res: res, ev: ev}
		}
		return result{outcome: applied, clawback: -res.Entry.Delta - res.Entry.DebtDelta, res: res, ev: ev}
	case loyalty.CodeUnavailable:
		log.Warn("transient failure, will be retried", "error", err)
		return result{outcome: retry}
	case loyalty.CodeNotFound:
		if ev.Refund == nil {
			break // only a refund's purchase can be missing
		}
		// The door answers now: a refund before its purchase is refused
		// there at once (and recorded, so ops can replay it).
		if receives < h.cfg.RefundWaitReceives && !msg.door {
			log.Info("refund waits for its purchase, will be retried", "original", ev.Refund.OriginalKey,
				"waitReceives", h.cfg.RefundWaitReceives)
			return result{outcome: retry}
		}
		return h.reject(ctx, log, msg, ev, loyalty.RejectPurchaseNotFound,
			fmt.Sprintf("%s; no purchase arrived in %d receives: replay this refund once it has", loyalty.ErrorMessage(err), receives))
	case loyalty.CodeInvalid:
		return h.reject(ctx, log, msg, ev, loyalty.RejectInvalidEvent, fieldMessage(err))
	case loyalty.CodeIdempotencyReuse:
		return h.reject(ctx, log, msg, ev, loyalty.RejectIdempotencyReuse,
			fmt.Sprintf("event id %s of partner %s was already used for a different event", ev.EventID, ev.PartnerID))
	case loyalty.CodeConflict:
		return h.reject(ctx, log, msg, ev, loyalty.RejectConflict, loyalty.ErrorMessage(err))
	case loyalty.CodeLimitExceeded:
		return h.reject(ctx, log, msg, ev, loyalty.RejectLimitExceeded, loyalty.ErrorMessage(err))
	case loyalty.CodeMemberErased:
		// Never credited again, replays included; the store records the
		// rejection without anything of the member.
		return h.reject(ctx, log, msg, ev, loyalty.RejectMemberErased, loyalty.ErrorMessage(err))
	}
	// A bug or a misconfiguration (permissions, table): not the message's
	// fault, so it is retried and, if it keeps failing, lands in the DLQ.
	log.Error("unexpected failure, will be retried", "error", err)
	return result{outcome: retry}
}

// reject records the message as refused for good; if that fails, the
// message is retried so that it is never dropped without a record.
func (h *Handler) reject(ctx context.Context, log *slog.Logger, msg message, ev partner.Event, reason loyalty.RejectReason, why string) result {
	now := h.cfg.Service.Clock.Now().UTC()
	r := loyalty.Rejection{MessageID: msg.id, Source: msg.source, Body: msg.body, Reason: reason, Message: why,
		PartnerID: ev.PartnerID, EventType: ev.Type, EventID: ev.EventID, MemberID: ev.MemberID,
		SentAt: msg.sentAt, FirstSeen: now, LastSeen: now, ReceiveCount: msg.receives}
	if err := h.cfg.Rejections.RecordRejection(ctx, r); err != nil {
		log.Error("could not record a rejection, will be retried", "reason", reason, "error", err)
		return result{outcome: retry}
	}
	log.Warn("message rejected and recorded", "reason", reason, "why", why)
	return result{outcome: rejected, reason: reason, why: why}
}

// fieldMessage is a domain error's client-safe message with its field.
func fieldMessage(err error) string {
	var e *loyalty.Error
	if errors.As(err, &e) && e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return loyalty.ErrorMessage(err)
}

func receiveCount(msg *events.SQSMessage) int {
	n, err := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

func sentAt(msg *events.SQSMessage) time.Time {
	ms, err := strconv.ParseInt(msg.Attributes["SentTimestamp"], 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
