package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// sampleOf is the sample event of each operation (events/api).
var sampleOf = map[string]string{
	"getMe": "member/get-me.json", "listActivity": "member/list-activity.json", "listRewards": "member/list-rewards.json",
	"createRedemption": "member/create-redemption.json", "listRedemptions": "member/list-redemptions.json",
	"cancelRedemption": "member/cancel-redemption.json", "getReferral": "member/get-referral.json",
	"enrolReferral": "member/enrol-referral.json", "createFeedback": "member/create-feedback.json",
	"listNotifications": "member/list-notifications.json", "markNotificationRead": "member/mark-notification-read.json",
	"recordPurchase": "admin/record-purchase.json", "adjustPoints": "admin/adjust-points.json", "getMember": "admin/get-member.json",
	"eraseMember": "admin/erase-member.json", "exportMember": "admin/export-member.json", "adminListRewards": "admin/list-rewards.json",
	"putReward": "admin/put-reward.json", "auditMember": "admin/audit-member.json", "dryRunPurchase": "admin/dry-run.json",
	"listFeedback": "admin/list-feedback.json", "memberFeedback": "admin/member-feedback.json",
	"recordPartnerEvent": "admin/record-partner-event.json",
	"getLocale":          "member/get-locale.json", "setLocale": "member/set-locale.json",
	"createCode": "member/create-code.json", "replaceCard": "member/replace-card.json", // till_test.go
	"claimCard": "member/claim-card.json", "createCardBatch": "admin/create-card-batch.json",
}

// brokenAPIs are the APIs on a store that fails every call: on a table
// that does not exist (a client fault: internal, 500) or on a DynamoDB
// that does not answer (transient: unavailable, 503).
func brokenAPIs(tb testing.TB, status string) apis {
	tb.Helper()
	client := local.Client(tb)
	table := "no-such-table"
	if status == "503" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		client = dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 1})
	}
	// The review program (referrals, feedback) and the sample partner
	// events' partner, so every sample reaches the store.
	prog := strings.Replace(reviewProgram, `"partners": [`, `"partners": [{"id": "demo-coffee-berlin", "name": "Demo coffee shop", "memberIds": true}, `, 1)
	p, err := config.ParseProgram("review.json", []byte(prog))
	if err != nil {
		tb.Fatal(err)
	}
	st := dynamo.New(client, table)
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.SystemClock{},
		Cards: st, Codes: testSealer(tb)}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return apis{member: httpapi.NewMemberAPI(svc, st, log), admin: httpapi.NewAdminAPI(svc, st, log).WithPartnerDecoder(partner.DecodeParts), store: st}
}

func noIAM(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.Authorizer = nil
	return ev
}

func withHeader(ev events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{}
	for hk, hv := range ev.Headers {
		if !strings.EqualFold(hk, k) {
			h[hk] = hv
		}
	}
	h[k] = v
	ev.Headers = h
	return ev
}

func withRawPath(ev events.APIGatewayV2HTTPRequest, path string) events.APIGatewayV2HTTPRequest {
	ev.RawPath, ev.RequestContext.HTTP.Path = path, path
	return ev
}

// Every response the description says the function answers, the function
// answers for some request, and that answer matches the description: the
// errors every route shares (401 or 403, 413 and 415 on bodies, 500 and
// 503) from the sample events, and the operations' own from the cases
// below. checkCoverage (apispec_test.go) then finds no declared response
// that no test of the package produced.
func TestEveryDeclaredResponse(t *testing.T) {
	s := loadSpec(t)
	a := newAPIs(t)
	broken := map[string]apis{"500": brokenAPIs(t, "500"), "503": brokenAPIs(t, "503")}
	ops := s.Operations()
	for _, op := range ops {
		file, ok := sampleOf[op.ID]
		if !ok {
			t.Errorf("operation %s has no sample event in sampleOf", op.ID)
			continue
		}
		base := sample(t, file)
		statuses := make([]string, 0, len(op.Responses))
		for st := range op.Responses {
			statuses = append(statuses, st)
		}
		sort.Strings(statuses)
		for _, st := range statuses {
			if !op.Responses[st].Service {
				continue
			}
			var ev events.APIGatewayV2HTTPRequest
			api := a
			switch st {
			case "401":
				ev = noJWT(base)
			case "403":
				ev = noIAM(base)
			case "413":
				ev = withBody(base, `{"x":"`+strings.Repeat("a", 17<<10)+`"}`)
			case "415":
				ev = withHeader(base, "content-type", "text/plain")
			case "500", "503":
				ev, api = base, broken[st]
			default:
				continue // the operation's own cases below
			}
			want, _ := strconv.Atoi(st)
			if got, body := api.call(t, ev); got != want {
				t.Errorf("%s (%s): got %d %v, want %d", op.ID, file, got, body, want)
			}
		}
	}

	// The operations' own answers the other tests do not give.
	ctx := context.Background()
	expect := func(what string, ev events.APIGatewayV2HTTPRequest, want int, code string) {
		t.Helper()
		got, body := a.call(t, ev)
		if got != want || code != "" && body["code"] != code {
			t.Errorf("%s: got %d %v, want %d %s", what, got, body, want, code)
		}
	}
	badID := "bad!id"
	for _, file := range []string{"admin/get-member.json", "admin/export-member.json", "admin/erase-member.json", "admin/member-feedback.json", "admin/audit-member.json"} {
		ev := sample(t, file)
		expect(file+" with an invalid member id", withRawPath(ev, strings.Replace(ev.RawPath, "sample-member-1", badID, 1)), 400, "invalid_request")
		expect(file+" of nobody", withRawPath(ev, strings.Replace(ev.RawPath, "sample-member-1", "nobody-here", 1)), 404, "not_found")
	}
	for _, file := range []string{"member/list-redemptions.json", "member/list-rewards.json", "member/cancel-redemption.json"} {
		expect(file+" with an unknown query parameter", withQuery(sample(t, file), "bogus", "1"), 400, "invalid_request")
	}

	purchase := sample(t, "admin/record-purchase.json")
	expect("purchase", purchase, 200, "")
	expect("the same event id with another amount", withBody(purchase, strings.Replace(purchase.Body, "2550", "2551", 1)), 409, "idempotency_key_reused")

	adjust := sample(t, "admin/adjust-points.json")
	expect("adjustment", adjust, 200, "")
	expect("the same Idempotency-Key with other points", withBody(adjust, `{"points":51,"reason":"goodwill after a late delivery"}`), 409, "idempotency_key_reused")
	expect("a debit beyond the balance", withHeader(withBody(adjust, `{"points":-100000,"reason":"too much"}`), "idempotency-key", "debit-1"), 422, "insufficient_points")

	put := sample(t, "admin/put-reward.json")
	expect("reward", put, 200, "")
	inactive := withRawPath(withBody(put, `{"id":"retired","name":"Old mug","kind":"free_product","cost":1,"active":false}`), "/admin/rewards/retired")
	expect("inactive reward", inactive, 200, "")
	redeem := withBody(sample(t, "member/create-redemption.json"), `{"rewardId":"retired"}`)
	expect("redeem an inactive reward", withHeader(redeem, "idempotency-key", "inactive-1"), 409, "conflict")

	// A used redemption cannot be cancelled: nothing in the API uses one
	// yet (the till will), so the test marks it used in the table.
	created := sample(t, "member/create-redemption.json")
	status, red := a.call(t, withHeader(created, "idempotency-key", "to-use-1"))
	if status != 201 {
		t.Fatalf("redeem: got %d %v", status, red)
	}
	id := red["id"].(string)
	if _, err := local.Client(t).UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(a.table),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "M#sample-member-1"}, "sk": &types.AttributeValueMemberS{Value: "R#" + id}},
		UpdateExpression:          aws.String("SET st = :used"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":used": &types.AttributeValueMemberS{Value: "used"}}}); err != nil {
		t.Fatal(err)
	}
	cancel := sample(t, "member/cancel-redemption.json")
	expect("cancel a used redemption", withRawPath(cancel, "/v1/me/redemptions/"+id), 409, "conflict")

	// After an erasure the member's id takes no more partner events.
	completed := `{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":"erased-1","memberRef":"gone-member",` +
		`"occurredAt":"2026-11-24T09:10:00+01:00","currency":"EUR","amountMinor":1000}`
	event := sample(t, "admin/record-partner-event.json")
	expect("a purchase of the member to erase", withBody(event, completed), 200, "")
	erase := sample(t, "admin/erase-member.json")
	expect("erase", withRawPath(erase, "/admin/members/gone-member"), 200, "")
	expect("a partner event of an erased member", withBody(event, strings.Replace(completed, "erased-1", "erased-2", 1)), 410, "member_erased")
	expect("an adjustment of an erased member", withHeader(withRawPath(adjust, "/admin/members/gone-member/adjustments"), "idempotency-key", "late-1"), 410, "member_erased")
}

// An erased member's id takes no more changes: every member route that
// enrols or changes the member answers 410 member_erased, as openapi.json
// declares, and never enrols the id again.
func TestErasedMemberRoutesAnswer410(t *testing.T) {
	a := newMemReviewAPIs(t)
	if status, body := a.call(t, sample(t, "admin/record-purchase.json")); status != 200 {
		t.Fatalf("purchase: got %d %v", status, body)
	}
	if status, body := a.call(t, sample(t, "admin/erase-member.json")); status != 200 {
		t.Fatalf("erase: got %d %v", status, body)
	}
	for _, file := range []string{"member/get-me.json", "member/list-rewards.json", "member/get-referral.json", "member/cancel-redemption.json",
		"member/create-redemption.json", "member/set-locale.json"} {
		if status, body := a.call(t, sample(t, file)); status != 410 || body["code"] != "member_erased" {
			t.Errorf("%s for an erased member: got %d %v, want 410 member_erased", file, status, body)
		}
	}
}

// A repeated request says it was replayed: the first answer carries no
// Idempotent-Replayed header, the retry with the same key carries "true"
// and the same body.
func TestARetryIsMarkedReplayed(t *testing.T) {
	a := newMemAPIs(t)
	for _, file := range []string{"admin/adjust-points.json", "admin/record-purchase.json"} {
		ev := sample(t, file)
		first, err := a.admin.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, ev, first)
		again, err := a.admin.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, ev, again)
		if first.StatusCode != 200 || first.Headers["Idempotent-Replayed"] != "" {
			t.Errorf("%s first: got %d, Idempotent-Replayed %q, want 200 and none", file, first.StatusCode, first.Headers["Idempotent-Replayed"])
		}
		if again.Headers["Idempotent-Replayed"] != "true" || again.Body != strings.Replace(first.Body, `"replayed":false`, `"replayed":true`, 1) {
			t.Errorf("%s retry: got Idempotent-Replayed %q and %s, want true and the first body, replayed", file, again.Headers["Idempotent-Replayed"], again.Body)
		}
	}
}
