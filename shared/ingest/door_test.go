package ingest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The principals of the door tests: the coffee shop's till role, and the
// web shop's account.
const (
	coffeeRole    = "arn:aws:iam::444455556666:role/till"
	coffeeSession = "arn:aws:sts::444455556666:assumed-role/till/pos-7"
	webshopAcct   = "777788889999"
)

// doorFixture is a till fixture whose partners have senders, and whose
// program has a stamp card of one coffee, so a purchase issues a reward.
func doorFixture(t *testing.T) (fixture, *loyalty.Service) {
	t.Helper()
	f, svc, _ := tillFixture(t, func(p *loyalty.Program) {
		for i := range p.Partners {
			switch p.Partners[i].ID {
			case "demo-coffee-berlin":
				p.Partners[i].Senders = []string{coffeeRole}
			case "demo-webshop":
				p.Partners[i].Senders = []string{webshopAcct}
			}
		}
		err := json.Unmarshal([]byte(`{
		  "rewards": [{"id": "free-coffee", "name": "Free coffee", "kind": "free_product", "cost": 0, "validDays": 30, "active": true}],
		  "stampCards": [{"id": "coffee-card", "name": "One coffee, the next is free", "stamps": 1,
		    "categories": ["coffee"], "rewardId": "free-coffee", "onRefund": "revoke_reward"}]}`), p)
		if err != nil {
			t.Fatal(err)
		}
	})
	return f, svc
}

// doorRequest is a function URL request as AWS delivers it with AuthType
// AWS_IAM: the caller in requestContext.authorizer.iam.
func doorRequest(id, accountID, userARN, body string) events.LambdaFunctionURLRequest {
	req := events.LambdaFunctionURLRequest{Version: "2.0", RawPath: "/", Body: body,
		Headers: map[string]string{"content-type": "application/json"}}
	req.RequestContext.RequestID = id
	req.RequestContext.HTTP.Method = http.MethodPost
	req.RequestContext.HTTP.Path = "/"
	req.RequestContext.TimeEpoch = 1773126900000
	if accountID != "" || userARN != "" {
		req.RequestContext.Authorizer = &events.LambdaFunctionURLRequestContextAuthorizerDescription{
			IAM: &events.LambdaFunctionURLRequestContextAuthorizerIAMDescription{AccountID: accountID, UserARN: userARN, CallerID: "AROAEXAMPLE:pos-7"}}
	}
	return req
}

func (f fixture) door(t *testing.T, req events.LambdaFunctionURLRequest) (int, map[string]any) {
	t.Helper()
	resp, err := f.handler.HandleDoor(context.Background(), req)
	if err != nil {
		t.Fatalf("HandleDoor: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		t.Fatalf("door answer %q is not JSON: %v", resp.Body, err)
	}
	if resp.Headers["content-type"] != "application/json" {
		t.Errorf("door content-type: got %q", resp.Headers["content-type"])
	}
	return resp.StatusCode, out
}

// A purchase by card through the door answers its points, the balance and
// the reward it issued; the same message then on the queue credits nothing
// more, and the door answers a repeat as replayed with the first figures.
func TestDoorPurchaseThenQueueCreditsOnce(t *testing.T) {
	f, _ := doorFixture(t)
	ctx := context.Background()
	card := loyalty.Card{Number: "6280440213370014", Member: "member-0001", State: loyalty.CardActive, IssuedAt: clockAt}
	if err := f.store.IssueCard(ctx, card); err != nil {
		t.Fatal(err)
	}
	body := string(readFile(t, partnerDir+"/samples/purchase.completed/till-card.json"))
	status, ans := f.door(t, doorRequest("req-1", "444455556666", coffeeSession, body))
	if status != http.StatusOK || ans["pointsEarned"] != 12.0 || ans["balance"] != 12.0 || ans["replayed"] != false ||
		ans["partnerId"] != "demo-coffee-berlin" || ans["eventId"] != "pos-7-000200" || ans["type"] != "purchase.completed" {
		t.Fatalf("door purchase: got %d %v, want 200 with 12 points, balance 12, not replayed", status, ans)
	}
	rewards, _ := ans["rewards"].([]any)
	if len(rewards) != 1 || rewards[0].(map[string]any)["stampCard"] != "coffee-card" || rewards[0].(map[string]any)["redemptionId"] == "" {
		t.Errorf("door purchase: got rewards %v, want the coffee card's reward", ans["rewards"])
	}
	if _, ok := ans["memberId"]; ok {
		t.Errorf("door answer names the member: %v", ans)
	}
	if err := partner.ValidateDoorAnswer([]byte(mustJSON(t, ans))); err != nil {
		t.Errorf("door answer against its schema: %v", err)
	}
	if failed := f.handle(t, batch(message("q-1", body, 1))); len(failed) != 0 {
		t.Fatalf("the same message on the queue: got failures %v", failed)
	}
	if got := f.balance(t, "member-0001"); got != 12 {
		t.Fatalf("balance after the door and the queue: got %d, want 12", got)
	}
	status, again := f.door(t, doorRequest("req-2", "444455556666", coffeeSession, body))
	if status != http.StatusOK || again["replayed"] != true || again["pointsEarned"] != 12.0 || again["balance"] != 12.0 {
		t.Fatalf("door repeat: got %d %v, want 200 replayed with the first figures", status, again)
	}
	if got := f.balance(t, "member-0001"); got != 12 {
		t.Fatalf("balance after the repeat: got %d, want 12", got)
	}
	f.audit(t)
}

// The queue first, then the door: the door credits nothing and answers
// replayed, with the balance.
func TestQueueThenDoorAnswersReplayed(t *testing.T) {
	f, _ := doorFixture(t)
	body := v2Purchase("pos-7-000300", loyalty.RefMemberID, "member-0002", 2500)
	if failed := f.handle(t, batch(message("q-2", body, 1))); len(failed) != 0 {
		t.Fatalf("queue: got failures %v", failed)
	}
	status, ans := f.door(t, doorRequest("req-3", "444455556666", coffeeSession, body))
	if status != http.StatusOK || ans["replayed"] != true || ans["pointsEarned"] != 25.0 || ans["balance"] != 25.0 {
		t.Fatalf("door after the queue: got %d %v, want 200 replayed, 25 points, balance 25", status, ans)
	}
	if got := f.balance(t, "member-0002"); got != 25 {
		t.Fatalf("balance: got %d, want 25", got)
	}
}

// Partner A's principal naming partner B is refused with 403 and recorded
// as partner_mismatch under A; a caller of no partner is refused and
// recorded as unknown_source; a rejection of the message's own path (here a
// bad body) is answered with its reason and recorded like the queue's.
func TestDoorRefusals(t *testing.T) {
	f, _ := doorFixture(t)
	forged := strings.Replace(v2Purchase("pos-7-000400", loyalty.RefMemberID, "member-0003", 1000),
		`"partnerId":"demo-coffee-berlin"`, `"partnerId":"demo-webshop"`, 1)
	status, ans := f.door(t, doorRequest("req-4", "444455556666", coffeeSession, forged))
	if status != http.StatusForbidden || ans["code"] != "partner_mismatch" || ans["recorded"] != true {
		t.Fatalf("A naming B: got %d %v, want 403 partner_mismatch, recorded", status, ans)
	}
	r := f.wantRejected(t, "door-req-4", loyalty.RejectPartnerMismatch)
	if r.PartnerID != "demo-coffee-berlin" || !strings.Contains(r.Message, coffeeSession) {
		t.Errorf("mismatch record: got partner %q, message %q; want the real sender and the caller", r.PartnerID, r.Message)
	}
	if got := f.balance(t, "member-0003"); got != 0 {
		t.Errorf("a refused message credited %d points", got)
	}

	// The web shop's account sends for the web shop: any of its principals.
	web := strings.Replace(v2Purchase("web-1", loyalty.RefMemberID, "member-0003", 1000),
		`"partnerId":"demo-coffee-berlin"`, `"partnerId":"demo-webshop"`, 1)
	if status, ans := f.door(t, doorRequest("req-5", webshopAcct, "arn:aws:iam::777788889999:user/shop", web)); status != http.StatusOK || ans["pointsEarned"] != 10.0 {
		t.Fatalf("web shop by account: got %d %v, want 200 with 10 points", status, ans)
	}

	status, ans = f.door(t, doorRequest("req-6", "123456789012", "arn:aws:sts::123456789012:assumed-role/till/x", web))
	if status != http.StatusForbidden || ans["code"] != "unknown_source" {
		t.Fatalf("a stranger: got %d %v, want 403 unknown_source", status, ans)
	}
	f.wantRejected(t, "door-req-6", loyalty.RejectUnknownSource)

	status, ans = f.door(t, doorRequest("req-7", "444455556666", coffeeSession, `{"type":"purchase.completed"`))
	if status != http.StatusBadRequest || ans["code"] != string(loyalty.RejectMalformedJSON) {
		t.Fatalf("truncated body: got %d %v, want 400 malformed_json", status, ans)
	}
	f.wantRejected(t, "door-req-7", loyalty.RejectMalformedJSON)

	// Without an IAM caller (a URL not on AWS_IAM) nothing is recorded.
	status, ans = f.door(t, doorRequest("req-8", "", "", web))
	if status != http.StatusForbidden || ans["code"] != ingest.DoorForbidden {
		t.Fatalf("unsigned: got %d %v, want 403 forbidden", status, ans)
	}
	if _, err := f.store.Rejection(context.Background(), "door-req-8"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("an unsigned request was recorded: %v", err)
	}
	get := doorRequest("req-9", "444455556666", coffeeSession, "")
	get.RequestContext.HTTP.Method = http.MethodGet
	if status, _ := f.door(t, get); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: got %d, want 405", status)
	}
}

// The sample in events/partner/door is a function URL request as AWS
// delivers it; the door takes it.
func TestDoorSampleEvent(t *testing.T) {
	f, _ := doorFixture(t)
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal(readFile(t, filepath.Join(partnerDir, "door", "function-url-request.json")), &req); err != nil {
		t.Fatal(err)
	}
	status, ans := f.door(t, req)
	if status != http.StatusOK || ans["pointsEarned"] != 25.0 {
		t.Fatalf("sample: got %d %v, want 200 with 25 points", status, ans)
	}
}

func TestCallerIs(t *testing.T) {
	for _, c := range []struct {
		sender, account, arn string
		want                 bool
	}{
		{"444455556666", "444455556666", coffeeSession, true},
		{"444455556666", "444455556667", "arn:aws:sts::444455556667:assumed-role/till/x", false},
		{coffeeRole, "444455556666", coffeeSession, true},
		{"arn:aws:iam::444455556666:role/shops/till", "444455556666", coffeeSession, true}, // a session ARN has no path
		{coffeeRole, "444455556666", "arn:aws:sts::444455556666:assumed-role/till2/x", false},
		{coffeeRole, "444455556666", "arn:aws:sts::444455556667:assumed-role/till/x", false},
		{coffeeRole, "444455556666", "arn:aws:sts::444455556666:assumed-role/till/", false},
		{"arn:aws:iam::444455556666:user/shop", "444455556666", "arn:aws:iam::444455556666:user/shop", true},
		{"arn:aws:iam::444455556666:user/shop", "444455556666", "arn:aws:iam::444455556666:user/shop2", false},
	} {
		if got := ingest.CallerIs(c.sender, c.account, c.arn); got != c.want {
			t.Errorf("CallerIs(%s, %s, %s) = %v, want %v", c.sender, c.account, c.arn, got, c.want)
		}
	}
}
