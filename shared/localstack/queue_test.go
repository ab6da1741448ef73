package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// send drops one partner event on the local partner queue.
func send(tb testing.TB, msg map[string]any) {
	tb.Helper()
	b, _ := json.Marshal(msg)
	_, err := stack.SQSClient().SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(stack.QueueURL), MessageBody: aws.String(string(b))})
	if err != nil {
		tb.Fatalf("send: %v", err)
	}
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
