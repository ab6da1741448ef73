package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// send drops one partner event on the queue of the partner it names, with
// that partner's own credentials.
func send(tb testing.TB, msg map[string]any) {
	tb.Helper()
	partner := msg["partnerId"].(string)
	if err := sendAs(partner, partner, msg); err != nil {
		tb.Fatalf("send: %v", err)
	}
}

// sendAs sends msg with sender's credentials to the queue of queueOf.
func sendAs(sender, queueOf string, msg map[string]any) error {
	b, _ := json.Marshal(msg)
	q, ok := stack.Partner(queueOf)
	if !ok {
		return fmt.Errorf("no local queue for partner %s", queueOf)
	}
	_, err := stack.PartnerSQSClient(sender).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(b))})
	return err
}

func coffeePurchase(member, event string, at time.Time) map[string]any {
	return map[string]any{"type": "purchase.completed", "version": 1, "partnerId": "demo-coffee-berlin", "eventId": event,
		"memberRef": member, "occurredAt": at.Format(time.RFC3339), "currency": "EUR", "amountMinor": 350,
		"lines": []map[string]any{{"lineId": "1", "sku": "ESP", "category": "coffee", "quantity": 1, "amountMinor": 350}}}
}

// waitFor polls until cond holds or 20 s pass.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func me(tb testing.TB, member string) map[string]any {
	tb.Helper()
	return call(tb, "GET", "/v1/me", token(tb, member), nil, "").body
}

func stamps(tb testing.TB, member string) int {
	tb.Helper()
	cards := me(tb, member)["stampCards"].([]any)
	return int(cards[0].(map[string]any)["stamps"].(float64))
}

func redemptions(tb testing.TB, member string) []any {
	tb.Helper()
	return call(tb, "GET", "/v1/me/redemptions", token(tb, member), nil, "").body["redemptions"].([]any)
}

// Seven coffees through the partner queue fill the card: the 8th is free.
// A refund of the card-filling purchase revokes the unused free coffee
// (the demo program's policy), and a refunded stamped purchase loses its stamp.
func TestStampCardThroughTheQueue(t *testing.T) {
	const member = "e2e-stamps"
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := 1; i <= 7; i++ {
		send(t, coffeePurchase(member, fmt.Sprintf("stamp-%d", i), at))
	}
	waitFor(t, "7 stamps to fill the card", func() bool { return len(redemptions(t, member)) == 1 })
	reds := redemptions(t, member)
	free := reds[0].(map[string]any)
	if free["rewardId"] != "free-coffee" || free["cost"] != 0.0 || free["state"] != "issued" || free["source"] != "stamp_card:coffee-card" {
		t.Errorf("after 7 coffees: got %v, want a free coffee at no cost from the card", free)
	}
	if got := stamps(t, member); got != 0 {
		t.Errorf("card after it filled: got %d stamps, want 0 (a fresh card)", got)
	}
	// One more coffee starts the next card; then that purchase is refunded.
	send(t, coffeePurchase(member, "stamp-8", at))
	waitFor(t, "the 8th stamp", func() bool { return stamps(t, member) == 1 })
	refund := func(event, original string) map[string]any {
		return map[string]any{"type": "purchase.refunded", "version": 1, "partnerId": "demo-coffee-berlin", "eventId": event,
			"memberRef": member, "occurredAt": time.Now().Add(-time.Minute).Format(time.RFC3339), "currency": "EUR",
			"originalEventId": original, "amountMinor": 350}
	}
	send(t, refund("refund-8", "stamp-8"))
	waitFor(t, "the refunded purchase's stamp to go", func() bool { return stamps(t, member) == 0 })
	// Refunding the purchase that filled the card (the queue does not keep
	// order: find it in the activity) revokes the unused reward.
	filler := ""
	for _, e := range call(t, "GET", "/v1/me/activity?limit=100", token(t, member), nil, "").body["entries"].([]any) {
		marks, _ := e.(map[string]any)["stamps"].([]any)
		for _, s := range marks {
			if s.(map[string]any)["redemptionId"] == free["id"] {
				filler = strings.TrimPrefix(e.(map[string]any)["id"].(string), "p:demo-coffee-berlin:")
			}
		}
	}
	if filler == "" {
		t.Fatalf("no purchase in the activity shows the stamp that filled the card")
	}
	send(t, refund("refund-filler", filler))
	waitFor(t, "the free coffee to be revoked", func() bool {
		r := redemptions(t, member)
		return len(r) == 1 && r[0].(map[string]any)["state"] == "cancelled"
	})
	t.Logf("7 coffees -> free coffee issued; refund of a stamped purchase -> stamp removed; refund of the card-filling purchase -> reward revoked; balance %v", me(t, member)["balance"])
}

// Partners act only as themselves. demo-webshop, with its own credentials,
// cannot send to demo-coffee-berlin's queue at all (AccessDenied, as SQS
// answers a sender the queue policy does not name), and a purchase and a
// refund it sends to its own queue in demo-coffee-berlin's name are
// rejected as partner_mismatch: the coffee shop's member keeps every
// point, and the coffee shop's own later events of those ids count.
func TestPartnersActOnlyAsThemselves(t *testing.T) {
	const member = "e2e-trust"
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	balance := func() float64 { b, _ := me(t, member)["balance"].(float64); return b }
	send(t, coffeePurchase(member, "trust-1", at))
	waitFor(t, "the genuine purchase", func() bool { return balance() > 0 })
	before := balance()

	// Straight to the other partner's queue: refused by the queue's policy
	// (it names the coffee shop's till role only), not the code. The web
	// shop's key stands for a user of its sender account 777788889999.
	err := sendAs("demo-webshop", "demo-coffee-berlin", coffeePurchase(member, "trust-x", at))
	var api smithy.APIError
	const webshop = "arn:aws:iam::777788889999:user/local-partner-demo-webshop"
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" ||
		!strings.Contains(api.ErrorMessage(), "User: "+webshop+" is not authorized to perform: sqs:sendmessage") ||
		!strings.Contains(api.ErrorMessage(), "because no resource-based policy allows") {
		t.Fatalf("webshop sending to the coffee shop's queue: got %v, want AccessDenied naming %s", err, webshop)
	}
	if p, _ := stack.State().Partner("demo-webshop"); p.Principal != webshop {
		t.Errorf("demo-webshop's principal in the state file: got %q, want %q", p.Principal, webshop)
	}

	// On its own queue, in the coffee shop's name.
	forgedPurchase := coffeePurchase(member, "trust-2", at)
	forgedPurchase["amountMinor"] = 99_999_999
	delete(forgedPurchase, "lines")
	forgedRefund := map[string]any{"type": "purchase.refunded", "version": 1, "partnerId": "demo-coffee-berlin", "eventId": "trust-refund",
		"memberRef": member, "occurredAt": time.Now().Add(-time.Minute).Format(time.RFC3339), "currency": "EUR",
		"originalEventId": "trust-1", "amountMinor": 350}
	for _, m := range []map[string]any{forgedPurchase, forgedRefund} {
		if err := sendAs("demo-webshop", "demo-webshop", m); err != nil {
			t.Fatalf("webshop sending to its own queue: %v", err)
		}
	}
	webshopQueue, _ := stack.Partner("demo-webshop")
	var mismatches []loyalty.Rejection
	waitFor(t, "two partner_mismatch rejections", func() bool {
		all, err := stack.Store.Rejections(context.Background(), loyalty.RejectionFilter{Reason: loyalty.RejectPartnerMismatch})
		if err != nil {
			t.Fatal(err)
		}
		mismatches = mismatches[:0]
		for _, r := range all {
			if r.MemberID == member {
				mismatches = append(mismatches, r)
			}
		}
		return len(mismatches) == 2
	})
	for _, r := range mismatches {
		if !strings.HasSuffix(r.Source, ":"+partnerqueue.Name(localstack.Stage, "demo-webshop")) || !strings.Contains(r.Message, `queue of partner "demo-webshop"`) {
			t.Errorf("rejection %s: got source %s, message %q; want demo-webshop's queue (%s) named as the sender", r.EventID, r.Source, r.Message, webshopQueue.URL)
		}
	}
	if got := balance(); got != before {
		t.Errorf("balance after the forged purchase and refund: got %v, want %v", got, before)
	}

	// The coffee shop's own events of the forged ids still count.
	send(t, coffeePurchase(member, "trust-2", at))
	waitFor(t, "the coffee shop's own purchase trust-2", func() bool { return balance() > before })
	after := balance()
	send(t, map[string]any{"type": "purchase.refunded", "version": 1, "partnerId": "demo-coffee-berlin", "eventId": "trust-refund",
		"memberRef": member, "occurredAt": time.Now().Add(-time.Minute).Format(time.RFC3339), "currency": "EUR",
		"originalEventId": "trust-1", "amountMinor": 350})
	waitFor(t, "the coffee shop's own refund", func() bool { return balance() < after })
	t.Logf("balance %v after the genuine purchase; forged purchase and refund rejected (%d partner_mismatch), balance kept; own events of those ids: %v then %v",
		before, len(mismatches), after, balance())
}
