package bench

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// BatchSize is the partner queue's batch size (the event source mapping's
// default of 10, as in infra/); every accrual figure uses it.
const BatchSize = 10

// queueARN is benchPartner's queue in stage bench: the ingest takes the
// sender from it.
var queueARN = "arn:aws:sqs:us-east-1:000000000000:" + partnerqueue.Name(benchStage, benchPartner)

// basket is what a purchase holds; it decides which rules of the demo
// program (program.json) the purchase touches.
type basket int

const (
	// plainBasket is a croissant and a water (4.50 EUR): no stamp card and
	// no limited promotion, so the store credits it in one transaction.
	plainBasket basket = iota
	// totalOnly is the same amount without lines.
	totalOnly
	// coffeeBasket is the coffee shop sample of events/partner (24.50 EUR,
	// coffee, bakery, beans): the coffee card's stamp and the welcome bonus
	// depend on the account, so the store reads it before it writes.
	coffeeBasket
)

func (b basket) String() string {
	switch b {
	case plainBasket:
		return "2 lines, no stamp card or limited promotion"
	case totalOnly:
		return "total only"
	case coffeeBasket:
		return "3 lines: a stamp card and the welcome bonus apply"
	}
	return "?"
}

// purchase is one partner purchase to put in a message.
type purchase struct {
	partnerID, eventID, member string
	at                         time.Time
	basket                     basket
	minor                      int64 // overrides the basket's total (total only)
}

// purchaseBody is a purchase.completed v1 body like the samples in
// events/partner/samples/purchase.completed.
func purchaseBody(p purchase) []byte {
	m := partner.PurchaseCompleted{Type: partner.TypePurchaseCompleted, Version: 1, PartnerID: p.partnerID, EventID: p.eventID,
		MemberRef: p.member, OccurredAt: p.at, Currency: "EUR"}
	switch p.basket {
	case plainBasket:
		m.Lines = []partner.Line{
			{LineID: "1", SKU: "CROIS-BUT", Category: "bakery", Quantity: 1, AmountMinor: 300},
			{LineID: "2", SKU: "WATER-05", Category: "drinks", Quantity: 1, AmountMinor: 150},
		}
	case coffeeBasket:
		m.Lines = []partner.Line{
			{LineID: "1", SKU: "ESP-DBL", Category: "coffee", Quantity: 2, AmountMinor: 700},
			{LineID: "2", SKU: "CROIS-BUT", Category: "bakery", Quantity: 3, AmountMinor: 750},
			{LineID: "3", SKU: "BEANS-250", Category: "retail", Quantity: 1, AmountMinor: 1000},
		}
	}
	for _, l := range m.Lines {
		m.AmountMinor += l.AmountMinor
	}
	if len(m.Lines) == 0 {
		m.AmountMinor = 450
	}
	if p.minor > 0 {
		m.AmountMinor, m.Lines = p.minor, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // a fixed struct of strings and numbers always marshals
	}
	return b
}

// refundBody is a purchase.refunded v1 body refunding minor of the
// purchase originalEventID.
func refundBody(partnerID, eventID, member, originalEventID string, at time.Time, minor int64) []byte {
	b, err := json.Marshal(partner.PurchaseRefunded{Type: partner.TypePurchaseRefunded, Version: 1, PartnerID: partnerID, EventID: eventID,
		MemberRef: member, OccurredAt: at, OriginalEventID: originalEventID, Currency: "EUR", AmountMinor: &minor})
	if err != nil {
		panic(err)
	}
	return b
}

// sqsEventReceived wraps bodies as Lambda hands them to the function,
// through the same code the local stack's poller uses, as messages the
// queue delivered receives times (ApproximateReceiveCount).
func sqsEventReceived(bodies [][]byte, firstID int64, receives int) events.SQSEvent {
	msgs := make([]sqstypes.Message, len(bodies))
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	for i, b := range bodies {
		sum := md5.Sum(b)
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", firstID+int64(i))
		msgs[i] = sqstypes.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("AQEB" + id), Body: aws.String(string(b)),
			MD5OfBody: aws.String(hex.EncodeToString(sum[:])),
			Attributes: map[string]string{"ApproximateReceiveCount": strconv.Itoa(receives), "SentTimestamp": now, "SenderId": "AIDABENCHPARTNER",
				"ApproximateFirstReceiveTimestamp": now},
			MessageAttributes: map[string]sqstypes.MessageAttributeValue{"eventType": {DataType: aws.String("String"), StringValue: aws.String(partner.TypePurchaseCompleted)}}}
	}
	return sqslocal.ToSQSEvent(msgs, queueARN, "us-east-1")
}

// sqsPayload is the JSON Lambda's runtime hands the function for bodies.
func sqsPayload(bodies [][]byte, firstID int64) []byte { return sqsPayloadReceived(bodies, firstID, 1) }

// sqsPayloadReceived is sqsPayload for messages delivered receives times.
func sqsPayloadReceived(bodies [][]byte, firstID int64, receives int) []byte {
	b, err := json.Marshal(sqsEventReceived(bodies, firstID, receives))
	if err != nil {
		panic(err)
	}
	return b
}

// runIngest is one invocation of the ingest function as Lambda's runtime
// makes it: decode the payload, run the handler, encode the response. It
// returns how many messages the handler failed.
func (w *world) runIngest(ctx context.Context, payload []byte) (int, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return 0, err
	}
	resp, err := w.ingest.handle(ctx, ev)
	if err != nil {
		return len(ev.Records), err
	}
	if _, err := json.Marshal(resp); err != nil {
		return 0, err
	}
	return len(resp.BatchItemFailures), nil
}

// apiTemplate is the sample create-redemption request from events/api.
type apiTemplate struct {
	ev events.APIGatewayV2HTTPRequest
}

func loadAPITemplate(root, name string) (*apiTemplate, error) {
	b, err := os.ReadFile(filepath.Join(root, "events", "api", "member", name))
	if err != nil {
		return nil, err
	}
	var t apiTemplate
	if err := json.Unmarshal(b, &t.ev); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &t, nil
}

// request is the template's request from member (the JWT subject), with
// idemKey as its Idempotency-Key (kept if empty) and body (kept if nil).
func (t *apiTemplate) request(member, idemKey string, body []byte) events.APIGatewayV2HTTPRequest {
	ev := t.ev
	ev.Headers = make(map[string]string, len(t.ev.Headers))
	for k, v := range t.ev.Headers {
		ev.Headers[k] = v
	}
	if idemKey != "" {
		ev.Headers["idempotency-key"] = idemKey
	}
	if body != nil {
		ev.Body = string(body)
		ev.Headers["content-length"] = strconv.Itoa(len(body))
	}
	claims := make(map[string]string, len(t.ev.RequestContext.Authorizer.JWT.Claims))
	for k, v := range t.ev.RequestContext.Authorizer.JWT.Claims {
		claims[k] = v
	}
	claims["sub"], claims["cognito:username"] = member, member
	auth := *t.ev.RequestContext.Authorizer
	auth.JWT = &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: t.ev.RequestContext.Authorizer.JWT.Scopes}
	ev.RequestContext.Authorizer = &auth
	ev.RequestContext.RequestID = idemKey + "-req"
	return ev
}

func (t *apiTemplate) payload(member, idemKey string, body []byte) []byte {
	b, err := json.Marshal(t.request(member, idemKey, body))
	if err != nil {
		panic(err)
	}
	return b
}

// runAPI is one invocation of the member-api function as Lambda's runtime
// makes it. It returns the response's status code.
func (w *world) runAPI(ctx context.Context, payload []byte) (int, error) {
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return 0, err
	}
	resp, err := w.member.Handle(ctx, ev)
	if err != nil {
		return 0, err
	}
	if _, err := json.Marshal(resp); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
