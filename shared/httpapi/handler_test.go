package httpapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// Every sample event round-trips through aws-lambda-go's type without
// losing a field, so the samples are the real payload 2.0 shape.
func TestSampleEventsRoundTrip(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "api", "*", "*.json"))
	if len(files) < 14 {
		t.Fatalf("got %d sample events, want at least 14", len(files))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if ev.Version != "2.0" || ev.RouteKey == "" || ev.RequestContext.HTTP.Method == "" {
			t.Errorf("%s: not a payload 2.0 event", f)
		}
		again, _ := json.Marshal(ev)
		var want, got map[string]any
		json.Unmarshal(raw, &want)
		json.Unmarshal(again, &got)
		for k := range want {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: field %q lost in the round trip", f, k)
			}
		}
		if !reflect.DeepEqual(want["headers"], got["headers"]) || !reflect.DeepEqual(want["body"], got["body"]) {
			t.Errorf("%s: headers or body changed in the round trip", f)
		}
	}
}

// The samples, played in order, tell the life of a member through both APIs.
func TestSampleEventsScenario(t *testing.T) {
	a := newMemAPIs(t)
	steps := []struct {
		file   string
		status int
		check  func(t *testing.T, body map[string]any)
	}{
		{"admin/put-reward.json", 200, nil},
		{"admin/list-rewards.json", 200, func(t *testing.T, b map[string]any) {
			if n := len(b["rewards"].([]any)); n != 1 {
				t.Errorf("rewards: got %d, want 1", n)
			}
		}},
		{"admin/record-purchase.json", 200, func(t *testing.T, b map[string]any) {
			if p := b["entry"].(map[string]any)["points"]; p != 25.0 {
				t.Errorf("points for 25.50 EUR: got %v, want 25", p)
			}
		}},
		{"admin/record-purchase.json", 200, func(t *testing.T, b map[string]any) {
			if b["replayed"] != true {
				t.Errorf("second delivery: got replayed=%v, want true", b["replayed"])
			}
		}},
		{"member/get-me.json", 200, func(t *testing.T, b map[string]any) {
			if b["balance"] != 25.0 || b["expiringNext"] == nil {
				t.Errorf("me: got balance %v expiring %v, want 25 and a date", b["balance"], b["expiringNext"])
			}
		}},
		{"member/list-rewards.json", 200, func(t *testing.T, b map[string]any) {
			r := b["rewards"].([]any)[0].(map[string]any)
			if r["affordable"] != true {
				t.Errorf("free-coffee (20) on 25 points: got affordable=%v, want true", r["affordable"])
			}
		}},
		{"member/create-redemption.json", 201, func(t *testing.T, b map[string]any) {
			if b["code"] == "" || b["state"] != "issued" {
				t.Errorf("redemption: got %v, want a code in state issued", b)
			}
		}},
		{"member/list-redemptions.json", 200, func(t *testing.T, b map[string]any) {
			if n := len(b["redemptions"].([]any)); n != 1 {
				t.Errorf("redemptions: got %d, want 1", n)
			}
		}},
		{"member/cancel-redemption.json", 200, func(t *testing.T, b map[string]any) {
			if b["state"] != "cancelled" {
				t.Errorf("cancel: got state %v, want cancelled", b["state"])
			}
		}},
		{"member/list-activity.json", 200, func(t *testing.T, b map[string]any) {
			if n := len(b["entries"].([]any)); n != 2 || b["nextCursor"] == "" {
				t.Errorf("activity page of 2: got %d entries, cursor %q; want 2 and a cursor", n, b["nextCursor"])
			}
		}},
		{"admin/adjust-points.json", 200, nil},
		{"admin/get-member.json", 200, func(t *testing.T, b map[string]any) {
			if bal := b["account"].(map[string]any)["balance"]; bal != 75.0 {
				t.Errorf("balance after +50: got %v, want 75", bal)
			}
		}},
		{"admin/export-member.json", 200, func(t *testing.T, b map[string]any) {
			if n := len(b["ledger"].([]any)); n != 4 {
				t.Errorf("exported ledger: got %d entries, want 4", n)
			}
		}},
		{"admin/audit-member.json", 200, func(t *testing.T, b map[string]any) {
			if len(b["problems"].([]any)) != 0 || b["consistent"] != true {
				t.Errorf("audit: got %v, want consistent and no problems", b)
			}
		}},
		{"admin/erase-member.json", 200, func(t *testing.T, b map[string]any) {
			if b["state"] != "done" || b["entries"] != 4.0 || b["balance"] != 75.0 {
				t.Errorf("erasure: got %v, want done with 4 entries and balance 75", b)
			}
		}},
		// The member is gone; ops see the erasure's receipt instead.
		{"admin/get-member.json", 200, func(t *testing.T, b map[string]any) {
			if er, ok := b["erasure"].(map[string]any); !ok || er["state"] != "done" || b["account"] != nil {
				t.Errorf("erased member: got %v, want no account and the erasure done", b)
			}
		}},
	}
	var redemptionID, code string
	for _, s := range steps {
		ev := sample(t, s.file)
		if strings.Contains(ev.RawPath, "REPLACE_ID") {
			ev.RawPath = strings.ReplaceAll(ev.RawPath, "REPLACE_ID", redemptionID)
			ev.PathParameters["redemptionId"] = redemptionID
		}
		status, body := a.call(t, ev)
		if status != s.status {
			t.Fatalf("%s: got status %d (%v), want %d", s.file, status, body, s.status)
		}
		if s.file == "member/create-redemption.json" {
			redemptionID, code = body["id"].(string), body["code"].(string)
			// A retry with the same Idempotency-Key returns the same response.
			status2, body2 := a.call(t, ev)
			if status2 != 201 || body2["code"] != code {
				t.Errorf("retry: got %d code %v, want 201 and %s", status2, body2["code"], code)
			}
		}
		if s.check != nil {
			t.Run(s.file, func(t *testing.T) { s.check(t, body) })
		}
	}
}
