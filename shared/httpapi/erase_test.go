package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// richMember gives sample-member-1 one item of every kind the store keeps
// about a member: referred by "godparent" and referrer of sample-member-2,
// a purchase (which pays the referral), a redemption, feedback, a
// notification, a class, a reminder state and a rejection naming them.
func richMember(t *testing.T, a apis) {
	t.Helper()
	ctx := context.Background()
	expect := func(what string, ev events.APIGatewayV2HTTPRequest, status int) map[string]any {
		t.Helper()
		got, body := a.call(t, ev)
		if got != status {
			t.Fatalf("%s: got %d %v, want %d", what, got, body, status)
		}
		return body
	}
	god := expect("godparent's code", asMember(sample(t, "member/get-referral.json"), "godparent"), 200)["code"].(string)
	expect("sample-member-1 enrols with it", withBody(asMember(sample(t, "member/enrol-referral.json"), "sample-member-1"), `{"code":"`+god+`"}`), 201)
	expect("purchase", sample(t, "admin/record-purchase.json"), 200)
	expect("sample-member-1's code", sample(t, "member/get-referral.json"), 200)
	expect("sample-member-2 enrols with it", sample(t, "member/enrol-referral.json"), 201)
	expect("reward", sample(t, "admin/put-reward.json"), 200)
	expect("redemption", sample(t, "member/create-redemption.json"), 201)
	expect("feedback", sample(t, "member/create-feedback.json"), 201)
	prog, err := config.ParseProgram("review.json", []byte(reviewProgram))
	if err != nil {
		t.Fatal(err)
	}
	// As the win-back job writes them (openapi.json types both).
	note := loyalty.NewNotification(prog, "sample-member-1", loyalty.NoteClassChanged, "2026-W48", "class",
		map[string]any{"from": "", "to": "loyal", "recencyDays": 3, "purchases": 1, "spendMinor": 2550, "currency": "EUR"}, reviewNow)
	if _, _, err := a.store.Deliver(ctx, note); err != nil {
		t.Fatal(err)
	}
	if err := a.store.PutMemberClass(ctx, "sample-member-1", loyalty.MemberClass{Class: "loyal", Since: "2026-11-24", ReviewedOn: "2026-11-24",
		Metrics: loyalty.ClassMetrics{RecencyDays: 3, Purchases: 1, SpendMinor: 2550, LastActive: "2026-11-21"}}); err != nil {
		t.Fatal(err)
	}
	if err := a.store.PutAffordSeen(ctx, "sample-member-1", 55, "2026-11-24"); err != nil {
		t.Fatal(err)
	}
	if err := a.store.RecordRejection(ctx, loyalty.Rejection{MessageID: "msg-1", Body: `{"memberId":"sample-member-1","amount":{}}`,
		Reason: loyalty.RejectSchemaViolation, MemberID: "sample-member-1", FirstSeen: reviewNow, LastSeen: reviewNow, ReceiveCount: 1}); err != nil {
		t.Fatal(err)
	}
}

// scanNaming returns the keys of the table's items that name the member
// anywhere (keys, attribute values, nested).
func scanNaming(t *testing.T, table, member string) []string {
	t.Helper()
	var out []string
	p := dynamodb.NewScanPaginator(local.Client(t), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range page.Items {
			b, _ := json.Marshal(avPlain(&types.AttributeValueMemberM{Value: it}))
			if strings.Contains(string(b), member) {
				out = append(out, it["pk"].(*types.AttributeValueMemberS).Value+" / "+it["sk"].(*types.AttributeValueMemberS).Value)
			}
		}
	}
	return out
}

func avPlain(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberN:
		return v.Value
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberL:
		out := []any{}
		for _, e := range v.Value {
			out = append(out, avPlain(e))
		}
		return out
	case *types.AttributeValueMemberM:
		out := map[string]any{}
		for k, e := range v.Value {
			out[k] = avPlain(e)
		}
		return out
	}
	return nil
}

// The export holds every item about the member: for every item of the
// table that names them, the export has the thing it records.
func TestExportHoldsEveryItemAboutTheMember(t *testing.T) {
	a := newReviewAPIs(t)
	richMember(t, a)
	status, ex := a.call(t, sample(t, "admin/export-member.json"))
	if status != 200 {
		t.Fatalf("export: got %d %v, want 200", status, ex)
	}
	list := func(v any) []any { l, _ := v.([]any); return l }
	ref, _ := ex["referral"].(map[string]any)
	refBy, _ := ref["referredBy"].(map[string]any)
	// What each kind of item naming the member is in the export.
	section := func(key string) (string, int) {
		pk, sk, _ := strings.Cut(key, " / ")
		switch {
		case pk == "M#sample-member-1" && sk == "A":
			return "account", map[bool]int{true: 1}[ex["account"] != nil]
		case strings.HasPrefix(sk, "L#"):
			return "ledger", len(list(ex["ledger"]))
		case strings.HasPrefix(sk, "R#"):
			return "redemptions", len(list(ex["redemptions"]))
		case strings.HasPrefix(sk, "N#"):
			return "notifications", len(list(ex["notifications"]))
		case strings.HasPrefix(pk, "FB#"), strings.HasPrefix(sk, "FB#"):
			return "feedback (own and the day's copy)", 2 * len(list(ex["feedback"]))
		case sk == "CLASS":
			return "class", map[bool]int{true: 1}[ex["class"] != nil]
		case sk == "AFF":
			return "reminders", len(ex["reminders"].(map[string]any))
		case sk == "RC", strings.HasPrefix(pk, "RC#"):
			return "referral code (own and the code's item)", 2 * map[bool]int{true: 1}[ref["code"] != nil && ref["code"] != ""]
		case pk == "M#sample-member-1" && sk == "RB", pk == "M#godparent" && strings.HasPrefix(sk, "RE#"):
			return "referred by (own and the referrer's record)", 2 * map[bool]int{true: 1}[refBy["referrer"] == "godparent"]
		case strings.HasPrefix(sk, "RE#"), pk == "M#sample-member-2" && (sk == "RB" || sk == "A"):
			return "referees (own record, theirs, their pending account)", 3 * len(list(ref["referees"]))
		case strings.HasPrefix(sk, "RM#"):
			return "referral months", len(list(ref["months"]))
		case strings.HasPrefix(pk, "REJ#"):
			return "rejections", len(list(ex["rejections"]))
		}
		return "nothing", 0
	}
	items := scanNaming(t, a.table, "sample-member-1")
	want := map[string]int{}
	got := map[string]int{}
	for _, k := range items {
		name, n := section(k)
		want[name]++
		got[name] = n
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("export's %s: got %d, want %d (items naming the member: %v)", name, got[name], n, items)
		}
	}
	for _, name := range []string{"account", "ledger", "redemptions", "notifications", "feedback (own and the day's copy)", "class", "reminders",
		"referral code (own and the code's item)", "referred by (own and the referrer's record)", "referees (own record, theirs, their pending account)", "rejections"} {
		if want[name] == 0 {
			t.Errorf("items naming the member: got none for %s, want the test to have made one (%v)", name, items)
		}
	}
	if r := list(ex["rejections"]); len(r) != 1 || r[0].(map[string]any)["messageId"] != "msg-1" {
		t.Errorf("export's rejections: got %v, want msg-1 only", r)
	}
	if c, _ := ex["class"].(map[string]any); c["class"] != "loyal" {
		t.Errorf("export's class: got %v, want loyal", ex["class"])
	}
}

// DELETE answers 202 with the progress when it runs short of time, GET
// shows the erasure, the next DELETE completes it (200) and every later one
// answers the same receipt; the member's spent keys stay spent: the same
// partner purchase and the same redemption Idempotency-Key are refused with
// member_erased (410) and change nothing.
func TestEraseTwiceAnswersTheSameReceipt(t *testing.T) {
	a := newReviewAPIs(t)
	richMember(t, a)
	erase := sample(t, "admin/erase-member.json")

	a.store.EraseReserve = time.Hour
	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := a.admin.Handle(short, erase)
	if err != nil {
		t.Fatal(err)
	}
	checkResponse(t, erase, resp)
	var progress map[string]any
	_ = json.Unmarshal([]byte(resp.Body), &progress)
	if resp.StatusCode != 202 || progress["state"] != "in_progress" || progress["deleted"].(map[string]any)["account"] != 1.0 {
		t.Fatalf("DELETE short of time: got %d %s, want 202 in progress with the account deleted", resp.StatusCode, resp.Body)
	}
	if status, b := a.call(t, sample(t, "admin/get-member.json")); status != 200 || b["erasure"].(map[string]any)["state"] != "in_progress" {
		t.Errorf("GET during the erasure: got %d %v, want 200 and the erasure in progress", status, b)
	}

	var first string
	for i := range 3 {
		resp, err := a.admin.Handle(context.Background(), erase)
		if err != nil {
			t.Fatal(err)
		}
		checkResponse(t, erase, resp)
		if i == 0 {
			first = resp.Body
			var er map[string]any
			_ = json.Unmarshal([]byte(resp.Body), &er)
			if resp.StatusCode != 200 || er["state"] != "done" || er["anonymousId"] != progress["anonymousId"] {
				t.Fatalf("DELETE after the short one: got %d %s, want 200 done with id %v", resp.StatusCode, resp.Body, progress["anonymousId"])
			}
			continue
		}
		if resp.StatusCode != 200 || resp.Body != first {
			t.Errorf("DELETE number %d: got %d %s, want 200 %s", i+1, resp.StatusCode, resp.Body, first)
		}
	}
	status, b := a.call(t, sample(t, "admin/get-member.json"))
	var receipt any
	_ = json.Unmarshal([]byte(first), &receipt)
	got, _ := json.Marshal(b["erasure"])
	if want, _ := json.Marshal(receipt); status != 200 || b["account"] != nil || string(got) != string(want) {
		t.Errorf("GET after the erasure: got %d %v, want 200, no account, the receipt %s", status, b, first)
	}
	if left := scanNaming(t, a.table, "sample-member-1"); len(left) != 0 {
		t.Errorf("items naming the erased member: got %v, want none", left)
	}

	for _, c := range []struct {
		what string
		ev   events.APIGatewayV2HTTPRequest
	}{
		{"the same partner purchase", sample(t, "admin/record-purchase.json")},
		{"the same redemption Idempotency-Key", sample(t, "member/create-redemption.json")},
		{"the member's balance", sample(t, "member/get-me.json")},
	} {
		if status, b := a.call(t, c.ev); status != 410 || b["code"] != "member_erased" {
			t.Errorf("%s after the erasure: got %d %v, want 410 member_erased", c.what, status, b)
		}
	}
	if left := scanNaming(t, a.table, "sample-member-1"); len(left) != 0 {
		t.Errorf("items naming the erased member after the replays: got %v, want none", left)
	}
	rep, err := a.store.Audit(context.Background(), 2)
	if err != nil || len(rep.Problems) != 0 || rep.Members != 2 {
		t.Errorf("audit after the erasure: got %+v (%v), want godparent and sample-member-2 consistent", rep, err)
	}
}
