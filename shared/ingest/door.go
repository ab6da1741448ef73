package ingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// The synchronous partner door: a Lambda function URL with AuthType AWS_IAM
// (functions/partner-door). A till that wants to print "you earned 12
// points, balance 134" sends the message it would put on its queue, signed
// with SigV4 by its own principal, and gets the answer. Only the program's
// senders may invoke the URL (its resource policy, infra/stacks/door.go);
// the handler binds the caller AWS names in requestContext.authorizer.iam to
// the partner whose senders list it, then takes the queue's path (process):
// the same decoding, limits, idempotency and recorded rejections.

// MaxDoorBody is the largest body the door takes: the size of an SQS
// message, so that whatever the door takes the queue takes too.
const MaxDoorBody = 256 * 1024

// DoorAnswer is the door's answer to a message it applied or had applied
// before (events/partner/door-answer.v1.schema.json). It names no member:
// partners never receive member ids.
type DoorAnswer struct {
	PartnerID string `json:"partnerId"`
	EventID   string `json:"eventId"`
	Type      string `json:"type"`
	// Replayed: the event id was applied before (through either door);
	// the figures are those of the first time, the balance is today's.
	Replayed bool `json:"replayed"`
	// PointsEarned is what the purchase earned (0 for a refund).
	PointsEarned loyalty.Points `json:"pointsEarned"`
	// PointsChange is the change of the balance (negative for a refund).
	PointsChange loyalty.Points `json:"pointsChange"`
	Balance      loyalty.Points `json:"balance"`
	Tier         string         `json:"tier,omitempty"` // the tier this message moved the member to
	Rewards      []DoorReward   `json:"rewards"`        // rewards the message issued
}

// DoorReward is a reward a purchase issued: a stamp card it completed.
type DoorReward struct {
	StampCard    string `json:"stampCard"`
	RedemptionID string `json:"redemptionId"`
}

// DoorError is the door's refusal: the rejection's reason code (as recorded
// and listed by ops) and what is wrong.
type DoorError struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
	// Recorded: the message was recorded as rejected, as on the queue.
	Recorded bool `json:"recorded"`
}

// Door codes for what is refused before the message's path.
const (
	DoorForbidden   = "forbidden"          // no IAM caller in the event
	DoorMethod      = "method_not_allowed" // anything but POST /
	DoorTooLarge    = "payload_too_large"
	DoorUnavailable = "unavailable" // send the same message again: it credits once
)

// doorStatus is the HTTP status of each recorded rejection; every other
// reason is 422.
var doorStatus = map[loyalty.RejectReason]int{
	loyalty.RejectPartnerMismatch:  http.StatusForbidden,
	loyalty.RejectUnknownSource:    http.StatusForbidden,
	loyalty.RejectUnknownPartner:   http.StatusForbidden,
	loyalty.RejectIdempotencyReuse: http.StatusConflict,
	loyalty.RejectConflict:         http.StatusConflict,
	loyalty.RejectPurchaseNotFound: http.StatusNotFound,
	loyalty.RejectMalformedJSON:    http.StatusBadRequest,
	loyalty.RejectSchemaViolation:  http.StatusBadRequest,
	loyalty.RejectUnsupported:      http.StatusBadRequest,
	loyalty.RejectMemberErased:     http.StatusGone, // as the APIs answer it
}

// DoorStatus is the HTTP status the door answers a rejection with.
func DoorStatus(r loyalty.RejectReason) int {
	if s, ok := doorStatus[r]; ok {
		return s
	}
	return http.StatusUnprocessableEntity
}

// HandleDoor answers one function URL request.
func (h *Handler) HandleDoor(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	rid := req.RequestContext.RequestID
	log := h.cfg.Logger.With("requestId", rid, "door", true)
	if req.RequestContext.HTTP.Method != http.MethodPost || (req.RawPath != "/" && req.RawPath != "") {
		return doorRefusal(http.StatusMethodNotAllowed, DoorError{Code: DoorMethod, RequestID: rid,
			Message: fmt.Sprintf("the door takes POST / with a partner message, not %s %s", req.RequestContext.HTTP.Method, req.RawPath)}), nil
	}
	var iam *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription
	if a := req.RequestContext.Authorizer; a != nil {
		iam = a.IAM
	}
	if iam == nil || (iam.AccountID == "" && iam.UserARN == "") {
		// AuthType AWS_IAM always fills it: without it the URL is
		// misconfigured, and nothing unsigned is recorded.
		log.Error("door request without an IAM caller: is the function URL's AuthType AWS_IAM?")
		return doorRefusal(http.StatusForbidden, DoorError{Code: DoorForbidden, RequestID: rid, Message: "the door takes SigV4-signed requests only"}), nil
	}
	body := req.Body
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return doorRefusal(http.StatusBadRequest, DoorError{Code: string(loyalty.RejectMalformedJSON), RequestID: rid,
				Message: "the body is marked base64 but is not: " + err.Error()}), nil
		}
		body = string(b)
	}
	if len(body) > MaxDoorBody {
		return doorRefusal(http.StatusRequestEntityTooLarge, DoorError{Code: DoorTooLarge, RequestID: rid,
			Message: fmt.Sprintf("the body has %d bytes; a partner message has at most %d", len(body), MaxDoorBody)}), nil
	}
	caller := iam.UserARN
	if caller == "" {
		caller = iam.AccountID
	}
	m := message{id: "door-" + rid, body: body, receives: 1, sentAt: doorTime(req), door: true, caller: caller}
	m.sender, m.known = h.doorSender(iam, body)
	if m.known {
		m.source = h.queueARN(ctx, m.sender)
	}
	log = log.With("caller", caller)
	r := h.process(ctx, log, m)
	h.emit(metricsOf(r))
	switch r.outcome {
	case applied, duplicate:
		ans, err := h.answer(ctx, r)
		if err != nil {
			log.Warn("applied, but the balance was not read; the partner may send again", "error", err)
			return doorRefusal(http.StatusServiceUnavailable, DoorError{Code: DoorUnavailable, RequestID: rid,
				Message: "the message was taken but the balance could not be read: send the same message again, it credits once"}), nil
		}
		return doorJSON(http.StatusOK, ans), nil
	case rejected:
		return doorRefusal(DoorStatus(r.reason), DoorError{Code: string(r.reason), Message: r.why, RequestID: rid, Recorded: true}), nil
	}
	return doorRefusal(http.StatusServiceUnavailable, DoorError{Code: DoorUnavailable, RequestID: rid,
		Message: "not processed this time: send the same message again (or put it on the queue); it credits once"}), nil
}

// answer is the door's answer of an applied or replayed message.
func (h *Handler) answer(ctx context.Context, r result) (DoorAnswer, error) {
	e := r.res.Entry
	acc, err := h.cfg.Service.Store.Account(ctx, e.MemberID)
	if err != nil {
		return DoorAnswer{}, err
	}
	a := DoorAnswer{PartnerID: r.ev.PartnerID, EventID: r.ev.EventID, Type: r.ev.Type, Replayed: r.outcome == duplicate,
		PointsChange: e.Delta, Balance: acc.Balance, Tier: e.Tier, Rewards: []DoorReward{}}
	if e.Kind == loyalty.KindAccrual {
		a.PointsEarned = e.Earned
	}
	for _, s := range e.Stamps {
		if s.RedemptionID != "" {
			a.Rewards = append(a.Rewards, DoorReward{StampCard: s.Card, RedemptionID: s.RedemptionID})
		}
	}
	return a, nil
}

// doorSender binds the caller to a partner: the one the body names when
// the caller is among its senders, else the first partner (in the program
// file's order) that lists the caller, so that a mismatch is filed under a
// partner the caller really sends for. ok is false when no partner lists it.
func (h *Handler) doorSender(iam *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription, body string) (string, bool) {
	var named struct {
		PartnerID string `json:"partnerId"`
	}
	_ = json.Unmarshal([]byte(body), &named) // a bad body is decoded and refused on the message's path
	first, found := "", false
	for _, p := range h.cfg.Service.Program.Partners {
		for _, s := range p.Senders {
			if !CallerIs(s, iam.AccountID, iam.UserARN) {
				continue
			}
			if p.ID == named.PartnerID {
				return p.ID, true
			}
			if !found {
				first, found = p.ID, true
			}
		}
	}
	return first, found
}

// CallerIs reports whether the caller AWS authenticated (its account and
// ARN, as in requestContext.authorizer.iam) is the sender of the program
// file: an account id matches every principal of that account (the URL's
// resource policy lets the account decide); a user ARN matches that user; a
// role ARN matches the sessions of that role (arn:aws:sts::ACCOUNT:
// assumed-role/NAME/SESSION; a role's path is not in its session ARNs).
func CallerIs(sender, accountID, userARN string) bool {
	if len(sender) == 12 && !strings.HasPrefix(sender, "arn:") {
		return accountID == sender
	}
	if userARN == sender {
		return true
	}
	parts := strings.SplitN(sender, ":", 6) // arn, partition, iam, "", account, role/path/name
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return false
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	prefix := fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/", parts[1], parts[4], name)
	session, ok := strings.CutPrefix(userARN, prefix)
	return ok && session != "" && !strings.Contains(session, "/")
}

// queueARN is the sender's queue, so that a rejection recorded at the door
// is replayed onto the partner's queue like one of the queue's own. It is
// built from the function's own ARN (region and account); "" outside Lambda,
// where a replay takes the replay tool's queue.
func (h *Handler) queueARN(ctx context.Context, partnerID string) string {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return ""
	}
	p := strings.SplitN(lc.InvokedFunctionArn, ":", 6) // arn, partition, lambda, region, account, function:name
	if len(p) != 6 {
		return ""
	}
	return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", p[1], p[3], p[4], partnerqueue.Name(h.cfg.Stage, partnerID))
}

// doorTime is when the request reached the URL, as the queue's SentTimestamp.
func doorTime(req events.LambdaFunctionURLRequest) time.Time {
	if ms := req.RequestContext.TimeEpoch; ms > 0 {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

// metricsOf counts one door message as a batch of one, so the ingest's
// dashboards and alarms see both doors.
func metricsOf(r result) batchMetrics {
	var m batchMetrics
	switch r.outcome {
	case applied:
		m.processed = 1
		if r.partner != "" {
			m.byPartner = map[string]loyalty.Points{r.partner: r.accrued}
		}
	case duplicate:
		m.duplicates = 1
	case retry:
		m.retried = 1
	case rejected:
		m.rejected = 1
	}
	m.accrued, m.clawedBack = r.accrued, r.clawback
	return m
}

func doorJSON(status int, v any) events.LambdaFunctionURLResponse {
	b, err := json.Marshal(v)
	if err != nil { // the answer types always marshal
		panic("ingest: door answer: " + err.Error())
	}
	return events.LambdaFunctionURLResponse{StatusCode: status, Body: string(b),
		Headers: map[string]string{"content-type": "application/json", "cache-control": "no-store"}}
}

func doorRefusal(status int, e DoorError) events.LambdaFunctionURLResponse {
	return doorJSON(status, e)
}
