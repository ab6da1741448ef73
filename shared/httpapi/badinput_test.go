package httpapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Every malformed request gets its 4xx with a stable code, never a 500, and
// changes nothing.
func TestMalformedRequestsGet4xx(t *testing.T) {
	a := newMemAPIs(t)
	a.call(t, sample(t, "admin/put-reward.json"))
	a.call(t, sample(t, "admin/record-purchase.json"))

	redeem := func(mut func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		ev := sample(t, "member/create-redemption.json")
		ev.Headers = copyMap(ev.Headers)
		mut(&ev)
		return ev
	}
	purchase := func(body string) events.APIGatewayV2HTTPRequest {
		ev := sample(t, "admin/record-purchase.json")
		ev.Body = body
		return ev
	}
	get := func(file string, mut func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		ev := sample(t, file)
		mut(&ev)
		return ev
	}
	valid := `{"partnerId":"p1","eventId":"e1","memberId":"m1","occurredAt":"2026-11-24T09:10:00+01:00","amount":{"amountMinor":100,"currency":"EUR"}}`
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"no idempotency key", redeem(func(e *events.APIGatewayV2HTTPRequest) { delete(e.Headers, "idempotency-key") }), 400, "idempotency_key_required"},
		{"oversized idempotency key", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Headers["idempotency-key"] = strings.Repeat("k", 129) }), 400, "invalid_request"},
		{"idempotency key with spaces", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Headers["idempotency-key"] = "a b" }), 400, "invalid_request"},
		{"malformed JSON", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":` }), 400, "malformed_json"},
		{"not JSON at all", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `rewardId=free-coffee` }), 400, "malformed_json"},
		{"empty body", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `` }), 400, "malformed_json"},
		{"two JSON objects", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":"free-coffee"}{}` }), 400, "malformed_json"},
		{"JSON array", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `[]` }), 400, "invalid_request"},
		{"unknown field memberId", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":"free-coffee","memberId":"other"}` }), 400, "invalid_request"},
		{"wrong type", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":42}` }), 400, "invalid_request"},
		{"missing rewardId", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{}` }), 400, "invalid_request"},
		{"bad reward id", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":"../../etc"}` }), 400, "invalid_request"},
		{"unknown reward", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"rewardId":"no-such"}` }), 404, "not_found"},
		{"wrong content type", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.Headers["content-type"] = "text/plain" }), 415, "unsupported_media_type"},
		{"oversized body", redeem(func(e *events.APIGatewayV2HTTPRequest) {
			e.Body = `{"rewardId":"` + strings.Repeat("x", 20000) + `"}`
		}), 413, "payload_too_large"},
		{"no identity", redeem(func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.Authorizer = nil }), 401, "unauthorized"},
		{"invalid subject", redeem(func(e *events.APIGatewayV2HTTPRequest) { *e = asMember(*e, "a/b") }), 401, "unauthorized"},
		{"unknown route", get("member/get-me.json", func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "/v1/you" }), 404, "route_not_found"},
		{"wrong method", get("member/get-me.json", func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = "PATCH" }), 405, "method_not_allowed"},
		{"limit not a number", get("member/list-activity.json", func(e *events.APIGatewayV2HTTPRequest) { e.QueryStringParameters = map[string]string{"limit": "ten"} }), 400, "invalid_request"},
		{"limit too large", get("member/list-activity.json", func(e *events.APIGatewayV2HTTPRequest) { e.QueryStringParameters = map[string]string{"limit": "1000"} }), 400, "invalid_request"},
		{"limit negative", get("member/list-activity.json", func(e *events.APIGatewayV2HTTPRequest) { e.QueryStringParameters = map[string]string{"limit": "-1"} }), 400, "invalid_request"},
		{"forged cursor", get("member/list-activity.json", func(e *events.APIGatewayV2HTTPRequest) {
			e.QueryStringParameters = map[string]string{"cursor": "not-a-cursor"}
		}), 400, "invalid_request"},
		{"memberId in query", get("member/get-me.json", func(e *events.APIGatewayV2HTTPRequest) {
			e.QueryStringParameters = map[string]string{"memberId": "other"}
		}), 400, "invalid_request"},
		{"cancel unknown redemption", get("member/cancel-redemption.json", func(e *events.APIGatewayV2HTTPRequest) {
			e.RawPath = "/v1/me/redemptions/doesnotexist"
		}), 404, "not_found"},
		{"negative amount", purchase(strings.Replace(valid, `"amountMinor":100`, `"amountMinor":-100`, 1)), 400, "invalid_request"},
		{"absurd amount", purchase(strings.Replace(valid, `"amountMinor":100`, `"amountMinor":99999999999999999`, 1)), 400, "invalid_request"},
		{"amount as string", purchase(strings.Replace(valid, `"amountMinor":100`, `"amountMinor":"100"`, 1)), 400, "invalid_request"},
		{"fractional amount", purchase(strings.Replace(valid, `"amountMinor":100`, `"amountMinor":1.5`, 1)), 400, "invalid_request"},
		{"unknown currency", purchase(strings.Replace(valid, `"EUR"`, `"EURO"`, 1)), 400, "invalid_request"},
		{"other currency than the program", purchase(strings.Replace(valid, `"EUR"`, `"USD"`, 1)), 400, "invalid_request"},
		{"bad timestamp", purchase(strings.Replace(valid, `2026-11-24T09:10:00+01:00`, `yesterday`, 1)), 400, "invalid_request"},
		{"future timestamp", purchase(strings.Replace(valid, `2026-11-24`, `2099-11-24`, 1)), 400, "invalid_request"},
		{"missing timestamp", purchase(strings.Replace(valid, `"occurredAt":"2026-11-24T09:10:00+01:00",`, ``, 1)), 400, "invalid_request"},
		{"missing partner", purchase(strings.Replace(valid, `"partnerId":"p1",`, ``, 1)), 400, "invalid_request"},
		{"admin call without IAM", get("admin/get-member.json", func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.Authorizer = nil }), 403, "forbidden"},
		{"adjustment without reason", get("admin/adjust-points.json", func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"points":5}` }), 400, "invalid_request"},
		{"adjustment of zero", get("admin/adjust-points.json", func(e *events.APIGatewayV2HTTPRequest) { e.Body = `{"points":0,"reason":"why not"}` }), 400, "invalid_request"},
		{"reward id mismatch", get("admin/put-reward.json", func(e *events.APIGatewayV2HTTPRequest) { e.RawPath = "/admin/rewards/other" }), 400, "invalid_request"},
		{"reward with negative cost", get("admin/put-reward.json", func(e *events.APIGatewayV2HTTPRequest) {
			e.Body = strings.Replace(e.Body, `"cost":20`, `"cost":-20`, 1)
		}), 400, "invalid_request"},
	}
	if len(cases) < 25 {
		t.Fatalf("got %d cases, want at least 25", len(cases))
	}
	before, _ := a.store.Account(t.Context(), "sample-member-1")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := a.call(t, c.ev)
			if status != c.status || body["code"] != c.code {
				t.Errorf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if status >= 500 {
				t.Errorf("a malformed request got a 5xx: %v", body)
			}
			if body["requestId"] == "" || body["requestId"] == nil {
				t.Errorf("no requestId in the error body %v", body)
			}
		})
	}
	after, _ := a.store.Account(t.Context(), "sample-member-1")
	if after.Balance != before.Balance || after.Version != before.Version {
		t.Errorf("bad requests changed the account: balance %d -> %d, version %d -> %d", before.Balance, after.Balance, before.Version, after.Version)
	}
}

// A member only ever reaches their own points: the identity is the token's.
func TestMembersSeeOnlyTheirOwnData(t *testing.T) {
	a := newMemAPIs(t)
	a.call(t, sample(t, "admin/put-reward.json"))
	a.call(t, sample(t, "admin/record-purchase.json")) // 25 points for sample-member-1
	other := "member-b"
	status, body := a.call(t, asMember(sample(t, "member/get-me.json"), other))
	if status != 200 || body["balance"] != 0.0 || body["memberId"] != other {
		t.Fatalf("member B's /v1/me: got %d %v, want 200, balance 0, memberId %s", status, body, other)
	}
	status, body = a.call(t, asMember(sample(t, "member/create-redemption.json"), other))
	if status != 422 || body["code"] != "insufficient_points" {
		t.Errorf("member B redeeming: got %d %v, want 422 insufficient_points", status, body)
	}
	// A's redemption cannot be cancelled by B even with its id.
	_, red := a.call(t, sample(t, "member/create-redemption.json"))
	cancel := asMember(sample(t, "member/cancel-redemption.json"), other)
	cancel.RawPath = "/v1/me/redemptions/" + red["id"].(string)
	status, body = a.call(t, cancel)
	if status != 404 {
		t.Errorf("member B cancelling A's redemption: got %d %v, want 404", status, body)
	}
	_, list := a.call(t, asMember(sample(t, "member/list-redemptions.json"), other))
	if n := len(list["redemptions"].([]any)); n != 0 {
		t.Errorf("member B's redemptions: got %d, want 0", n)
	}
	_, me := a.call(t, sample(t, "member/get-me.json"))
	if me["balance"] != 5.0 {
		t.Errorf("member A's balance: got %v, want 5", me["balance"])
	}
}

func copyMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
