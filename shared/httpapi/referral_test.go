package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// reviewProgram has every rule the new routes touch: a category multiplier
// and exclusion, a happy hour, tiers, a stamp card, referrals and feedback.
const reviewProgram = `{
  "version": 1, "id": "review", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": {"points": 1, "perMinor": 100, "rounding": "down",
    "categories": {"beans": {"multiplier": "2"}, "gift-card": {"exclude": true}}},
  "expiry": {"months": 12, "endOfMonth": true},
  "refund": "negative_balance",
  "partners": [{"id": "shop-berlin-01", "name": "Shop Berlin 01"}],
  "rewards": [{"id": "free-coffee", "name": "Free coffee", "kind": "free_product", "cost": 20, "validDays": 30, "active": true}],
  "promotions": [{"id": "happy-hour", "name": "Double points 14-17 on weekdays", "from": "2026-01-01",
    "days": ["MON", "TUE", "WED", "THU", "FRI"], "hours": {"from": "14:00", "until": "17:00"}, "multiplier": "2"}],
  "tiers": {"window": "rolling_12_months", "levels": [
    {"id": "bronze", "name": "Bronze", "threshold": 0},
    {"id": "silver", "name": "Silver", "threshold": 500, "multiplier": "1.25"}]},
  "stampCards": [{"id": "coffee-card", "name": "Buy 7 coffees", "stamps": 7, "categories": ["coffee"],
    "rewardId": "free-coffee", "onRefund": "remove_stamp"}],
  "referral": {"referrerBonus": 100, "refereeBonus": 50, "monthlyCapPerReferrer": 5, "minSpendMinor": 500},
  "feedback": {"bonusPoints": 10, "maxCommentLength": 100}
}`

// reviewNow is the fixed time of the review tests: the samples' day.
var reviewNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newReviewAPIs(tb testing.TB) apis {
	tb.Helper()
	db := local.Client(tb)
	name := dynamotest.NewTable(tb, db, "review-test")
	p, err := config.ParseProgram("review.json", []byte(reviewProgram))
	if err != nil {
		tb.Fatal(err)
	}
	st := dynamo.New(db, name)
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.ClockFunc(func() time.Time { return reviewNow })}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return apis{member: httpapi.NewMemberAPI(svc, st, log), admin: httpapi.NewAdminAPI(svc, st, log), store: st, table: name}
}

func rules(tb testing.TB, v any) map[string]float64 {
	tb.Helper()
	out := map[string]float64{}
	list, ok := v.([]any)
	if !ok {
		tb.Fatalf("rules: got %v, want a list", v)
	}
	for _, r := range list {
		m := r.(map[string]any)
		out[m["rule"].(string)] = m["points"].(float64)
	}
	return out
}

func withBody(ev events.APIGatewayV2HTTPRequest, body string) events.APIGatewayV2HTTPRequest {
	ev.Body = body
	return ev
}

// The referral, feedback and dry-run samples, played in order.
func TestReferralFeedbackAndDryRunSamples(t *testing.T) {
	a := newMemReviewAPIs(t)
	ctx := context.Background()
	expect := func(file string, ev events.APIGatewayV2HTTPRequest, status int) map[string]any {
		t.Helper()
		got, body := a.call(t, ev)
		if got != status {
			t.Fatalf("%s: got %d %v, want %d", file, got, body, status)
		}
		return body
	}
	file := func(name string, status int) map[string]any {
		t.Helper()
		return expect(name, sample(t, name), status)
	}

	if b := file("admin/record-purchase.json", 200); b["entry"].(map[string]any)["points"] != 25.0 {
		t.Errorf("purchase of 25.50 at 09:10: got %v points, want 25", b["entry"].(map[string]any)["points"])
	}
	ref := file("member/get-referral.json", 200)
	if ref["code"] != "FM8Z6CZCWY" || ref["referees"] != 0.0 || ref["monthlyCap"] != 5.0 || ref["referrerBonus"] != 100.0 || ref["referred"] != false {
		t.Errorf("referral of sample-member-1: got %v, want code FM8Z6CZCWY, 0 referees, cap 5, bonus 100, not referred", ref)
	}
	enrol := file("member/enrol-referral.json", 201)
	if enrol["referred"] != true || enrol["bonusPending"] != true || enrol["code"] == ref["code"] {
		t.Errorf("enrolment of sample-member-2: got %v, want referred, bonus pending, a code of its own", enrol)
	}
	file("member/enrol-referral.json", 200) // the app retries
	if ref := file("member/get-referral.json", 200); ref["referees"] != 1.0 || ref["pending"] != 1.0 {
		t.Errorf("referrer after the enrolment: got %v, want 1 referee, 1 pending", ref)
	}

	before, _ := a.store.Ledger(ctx, "sample-member-1")
	dry := file("admin/dry-run.json", 200)
	// 24.50 on a Tuesday at 15:30 as silver: coffee 7.00 and beans 10.00 (x2)
	// earn, the gift card does not; happy hour doubles, silver adds 25%.
	wantRules := map[string]float64{"base": 17, "category:beans": 10, "promo:happy-hour": 27, "tier:silver": 6}
	if got := rules(t, dry["rules"]); fmt.Sprint(got) != fmt.Sprint(wantRules) || dry["points"] != 60.0 {
		t.Errorf("dry run: got %v points, rules %v; want 60 and %v", dry["points"], got, wantRules)
	}
	if dry["tier"] != "silver" || dry["memberKnown"] != true || dry["alreadyRecorded"] != false || len(dry["stamps"].([]any)) != 1 {
		t.Errorf("dry run: got %v, want tier silver, a known member, not recorded, one stamp", dry)
	}
	after, _ := a.store.Ledger(ctx, "sample-member-1")
	if len(after) != len(before) {
		t.Errorf("the dry run wrote: ledger %d -> %d entries", len(before), len(after))
	}
	// The recorded purchase again: the dry run says it would replay.
	rec := withBody(sample(t, "admin/dry-run.json"), `{"partnerId":"shop-berlin-01","eventId":"pos-000123","memberId":"sample-member-1","occurredAt":"2026-11-24T09:10:00+01:00","amount":{"amountMinor":2550,"currency":"EUR"}}`)
	if b := expect("dry run of a recorded purchase", rec, 200); b["alreadyRecorded"] != true || b["points"] != 25.0 || b["tier"] != "bronze" {
		t.Errorf("dry run of the recorded purchase: got %v, want alreadyRecorded, 25 points, bronze", b)
	}
	// The referee's first purchase would pay the referral.
	referee := withBody(sample(t, "admin/dry-run.json"), `{"memberId":"sample-member-2","amount":{"amountMinor":1000,"currency":"EUR"}}`)
	if b := expect("dry run of the referee's purchase", referee, 200); b["referralPaid"] != true || rules(t, b["rules"])["referral:referee"] != 50 || b["points"] != 60.0 {
		t.Errorf("dry run of the referee's first purchase: got %v, want the referral paid: 10 + 50 points", b)
	}
	// A member nobody knows, without partner or event.
	anon := withBody(sample(t, "admin/dry-run.json"), `{"amount":{"amountMinor":999,"currency":"EUR"}}`)
	if b := expect("dry run without a member", anon, 200); b["memberKnown"] != false || b["points"] != 9.0 || b["tier"] != "bronze" {
		t.Errorf("dry run without a member: got %v, want unknown member, 9 points, bronze", b)
	}

	fb := file("member/create-feedback.json", 201)
	if f := fb["feedback"].(map[string]any); f["rating"] != 5.0 || f["bonusPoints"] != 10.0 || f["day"] != "2026-11-24" || fb["entry"].(map[string]any)["points"] != 10.0 {
		t.Errorf("feedback: got %v, want rating 5, 10 bonus points on 2026-11-24", fb)
	}
	if again := file("member/create-feedback.json", 200); again["replayed"] != true || again["feedback"].(map[string]any)["bonusPoints"] != 10.0 {
		t.Errorf("the same feedback again: got %v, want the first result, replayed", again)
	}
	other := withBody(sample(t, "member/create-feedback.json"), `{"purchaseId":"p:shop-berlin-01:pos-000123","rating":1,"comment":"changed my mind"}`)
	if _, b := a.call(t, other); b["code"] != "conflict" {
		t.Errorf("other feedback on the same purchase: got %v, want conflict", b)
	}

	page := file("admin/list-feedback.json", 200)
	if list := page["feedback"].([]any); len(list) != 1 || list[0].(map[string]any)["memberId"] != "sample-member-1" || page["nextCursor"] != "" {
		t.Errorf("feedback of November: got %v, want the one feedback of sample-member-1 and no next page", page)
	}
	if list := file("admin/member-feedback.json", 200)["feedback"].([]any); len(list) != 1 || list[0].(map[string]any)["comment"] != "Great flat white, friendly staff." {
		t.Errorf("member's feedback: got %v, want the one comment", list)
	}

	// The referee's first purchase pays both bonuses; 10 + 50 and 100.
	buy := withBody(sample(t, "admin/record-purchase.json"), `{"partnerId":"shop-berlin-01","eventId":"pos-000200","memberId":"sample-member-2","occurredAt":"2026-11-24T10:00:00+01:00","amount":{"amountMinor":1000,"currency":"EUR"}}`)
	if b := expect("referee's purchase", buy, 200); b["entry"].(map[string]any)["points"] != 60.0 {
		t.Errorf("referee's first purchase: got %v, want 60 points", b["entry"])
	}
	expect("referee's purchase again", buy, 200)
	if m := file("admin/get-member.json", 200); m["account"].(map[string]any)["balance"] != 135.0 {
		t.Errorf("referrer's balance: got %v, want 25 + 10 feedback + 100 referral", m["account"].(map[string]any)["balance"])
	}
	if ref := file("member/get-referral.json", 200); ref["bonusesThisMonth"] != 1.0 || ref["pending"] != 0.0 {
		t.Errorf("referrer after the payout: got %v, want 1 bonus this month, none pending", ref)
	}
	activity := sample(t, "member/list-activity.json")
	activity.QueryStringParameters = map[string]string{"limit": "20"}
	_, act := a.call(t, activity)
	kinds := map[string]bool{}
	for _, e := range act["entries"].([]any) {
		kinds[e.(map[string]any)["kind"].(string)] = true
	}
	if !kinds["referral_bonus"] || !kinds["feedback"] {
		t.Errorf("referrer's activity: got kinds %v, want referral_bonus and feedback", kinds)
	}
	if b := file("admin/audit-member.json", 200); b["consistent"] != true {
		t.Errorf("audit of the referrer: got %v, want consistent", b)
	}
	if ex := file("admin/export-member.json", 200); len(ex["feedback"].([]any)) != 1 {
		t.Errorf("export: got feedback %v, want the one feedback", ex["feedback"])
	}
	// Erasing the member erases their feedback from the day listing too.
	file("admin/erase-member.json", 200)
	if list := file("admin/list-feedback.json", 200)["feedback"].([]any); len(list) != 0 {
		t.Errorf("feedback after the erasure: got %v, want none", list)
	}
}

// Bad requests to the new routes get their 4xx with a stable code.
func TestReviewRoutesBadInput(t *testing.T) {
	a := newMemReviewAPIs(t)
	a.call(t, sample(t, "admin/put-reward.json"))
	a.call(t, sample(t, "admin/record-purchase.json"))
	if status, _ := a.call(t, sample(t, "member/create-redemption.json")); status != 201 {
		t.Fatalf("redemption: got %d, want 201", status)
	}
	code := func(sub string) string {
		_, b := a.call(t, asMember(sample(t, "member/get-referral.json"), sub))
		return fmt.Sprint(b["code"])
	}
	code("sample-member-1")
	other := code("other-member")
	loopA := code("loop-a")
	if status, _ := a.call(t, withBody(asMember(sample(t, "member/enrol-referral.json"), "loop-b"), `{"code":"`+loopA+`"}`)); status != 201 {
		t.Fatalf("loop-b enrols with loop-a's code: got %d, want 201", status)
	}
	loopB := code("loop-b")
	a.call(t, withBody(asMember(sample(t, "member/enrol-referral.json"), "referred-by-1"), `{"code":"FM8Z6CZCWY"}`))

	enrol := func(sub, body string) events.APIGatewayV2HTTPRequest {
		return withBody(asMember(sample(t, "member/enrol-referral.json"), sub), body)
	}
	feedback := func(body string) events.APIGatewayV2HTTPRequest {
		return withBody(sample(t, "member/create-feedback.json"), body)
	}
	dry := func(body string) events.APIGatewayV2HTTPRequest {
		return withBody(sample(t, "admin/dry-run.json"), body)
	}
	list := func(q map[string]string) events.APIGatewayV2HTTPRequest {
		ev := sample(t, "admin/list-feedback.json")
		ev.QueryStringParameters = q
		return ev
	}
	const purchase = `"purchaseId":"p:shop-berlin-01:pos-000123"`
	cases := []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		{"self-referral", enrol("sample-member-1", `{"code":"FM8Z6CZCWY"}`), 422, "self_referral"},
		{"referral loop", enrol("loop-a", `{"code":"`+loopB+`"}`), 409, "referral_loop"},
		{"already referred", enrol("referred-by-1", `{"code":"`+other+`"}`), 409, "already_referred"},
		{"after the first purchase", enrol("sample-member-1", `{"code":"`+other+`"}`), 409, "already_purchased"},
		{"unknown code", enrol("newcomer", `{"code":"ZZZZZZZZZZ"}`), 404, "not_found"},
		{"malformed code", enrol("newcomer", `{"code":"not a code!"}`), 400, "invalid_request"},
		{"missing code", enrol("newcomer", `{}`), 400, "invalid_request"},
		{"code as number", enrol("newcomer", `{"code":12345}`), 400, "invalid_request"},
		{"referrer in the body", enrol("newcomer", `{"code":"FM8Z6CZCWY","memberId":"x"}`), 400, "invalid_request"},
		{"enrol without identity", func() events.APIGatewayV2HTTPRequest {
			ev := sample(t, "member/enrol-referral.json")
			ev.RequestContext.Authorizer = nil
			return ev
		}(), 401, "unauthorized"},
		{"referral with a query", func() events.APIGatewayV2HTTPRequest {
			ev := sample(t, "member/get-referral.json")
			ev.QueryStringParameters = map[string]string{"memberId": "other-member"}
			return ev
		}(), 400, "invalid_request"},
		{"rating 0", feedback(`{` + purchase + `,"rating":0}`), 400, "invalid_request"},
		{"rating 6", feedback(`{` + purchase + `,"rating":6}`), 400, "invalid_request"},
		{"rating 4.5", feedback(`{` + purchase + `,"rating":4.5}`), 400, "invalid_request"},
		{"rating missing", feedback(`{` + purchase + `}`), 400, "invalid_request"},
		{"comment too long", feedback(`{` + purchase + `,"rating":3,"comment":"` + strings.Repeat("é", 101) + `"}`), 400, "invalid_request"},
		{"comment with control characters", feedback(`{` + purchase + `,"rating":3,"comment":"bad\u0007bell"}`), 400, "invalid_request"},
		{"purchase missing", feedback(`{"rating":3}`), 400, "invalid_request"},
		{"purchase id with a slash", feedback(`{"purchaseId":"p/../x","rating":3}`), 400, "invalid_request"},
		{"unknown purchase", feedback(`{"purchaseId":"p:shop-berlin-01:nope","rating":3}`), 404, "not_found"},
		{"another member's purchase", withBody(asMember(sample(t, "member/create-feedback.json"), "other-member"), `{`+purchase+`,"rating":3}`), 404, "not_found"},
		{"a redemption is not a purchase", feedback(`{"purchaseId":"r:app-7f3c2a90-redeem-1","rating":3}`), 400, "invalid_request"},
		{"feedback as form data", func() events.APIGatewayV2HTTPRequest {
			ev := feedback(`purchaseId=x&rating=3`)
			ev.Headers = copyMap(ev.Headers)
			ev.Headers["content-type"] = "application/x-www-form-urlencoded"
			return ev
		}(), 415, "unsupported_media_type"},
		{"dry run: unknown tier", dry(`{"amount":{"amountMinor":100,"currency":"EUR"},"tier":"platinum"}`), 400, "invalid_request"},
		{"dry run: other currency", dry(`{"amount":{"amountMinor":100,"currency":"USD"}}`), 400, "invalid_request"},
		{"dry run: negative amount", dry(`{"amount":{"amountMinor":-1,"currency":"EUR"}}`), 400, "invalid_request"},
		{"dry run: no amount", dry(`{"memberId":"sample-member-1"}`), 400, "invalid_request"},
		{"dry run: partner without event", dry(`{"partnerId":"p1","amount":{"amountMinor":100,"currency":"EUR"}}`), 400, "invalid_request"},
		{"dry run: bad member id", dry(`{"memberId":"a b","amount":{"amountMinor":100,"currency":"EUR"}}`), 400, "invalid_request"},
		{"dry run: duplicate line ids", dry(`{"amount":{"amountMinor":100,"currency":"EUR"},"lines":[{"lineId":"1","quantity":1,"amountMinor":50},{"lineId":"1","quantity":1,"amountMinor":50}]}`), 400, "invalid_request"},
		{"dry run: in the future", dry(`{"occurredAt":"2099-01-01T00:00:00Z","amount":{"amountMinor":100,"currency":"EUR"}}`), 400, "invalid_request"},
		{"dry run: unknown field", dry(`{"amount":{"amountMinor":100,"currency":"EUR"},"points":1000}`), 400, "invalid_request"},
		{"dry run without IAM", func() events.APIGatewayV2HTTPRequest {
			ev := dry(`{"amount":{"amountMinor":100,"currency":"EUR"}}`)
			ev.RequestContext.Authorizer = nil
			return ev
		}(), 403, "forbidden"},
		{"feedback: from not a date", list(map[string]string{"from": "yesterday"}), 400, "invalid_request"},
		{"feedback: to before from", list(map[string]string{"from": "2026-11-10", "to": "2026-11-01"}), 400, "invalid_request"},
		{"feedback: more than a year", list(map[string]string{"from": "2025-01-01", "to": "2026-11-01"}), 400, "invalid_request"},
		{"feedback: forged cursor", list(map[string]string{"cursor": "bm90LWEtY3Vyc29y"}), 400, "invalid_request"},
		{"feedback: cursor outside the range", list(map[string]string{"from": "2026-11-01", "to": "2026-11-02", "cursor": "eyJkIjoiMjAyNi0xMi0wMSIsImsiOiIifQ"}), 400, "invalid_request"},
		{"feedback: limit 0", list(map[string]string{"limit": "0"}), 400, "invalid_request"},
		{"feedback: unknown parameter", list(map[string]string{"member": "x"}), 400, "invalid_request"},
		{"member feedback: unknown member", func() events.APIGatewayV2HTTPRequest {
			ev := sample(t, "admin/member-feedback.json")
			ev.RawPath = "/admin/members/nobody/feedback"
			return ev
		}(), 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := a.call(t, c.ev)
			if status != c.status || (c.code != "" && body["code"] != c.code) {
				t.Errorf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
		})
	}
	// The feedback that was refused left no trace.
	if list, _ := a.store.MemberFeedback(context.Background(), "sample-member-1"); len(list) != 0 {
		t.Errorf("refused feedback was stored: %v", list)
	}
}
