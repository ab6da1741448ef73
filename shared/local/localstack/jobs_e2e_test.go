package localstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The real expire-points binary, run through the local scheduler's control
// API, expires a due lot, publishes points.expired.v1 to the local event
// bus and leaves a notification the member reads through the HTTP API.
func TestJobsEndToEnd(t *testing.T) {
	ctx := context.Background()
	member := loyalty.MemberID("e2e-expiry")
	created := time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC)
	a := loyalty.NewAccount(member, created)
	a.Balance, a.Lifetime = 30, 30
	a.Lots, a.DueOn = []loyalty.Lot{{Expires: "2026-03-31", Points: 30}}, "2026-04-01"
	entry := loyalty.Entry{MemberID: member, Key: "p:seed:e2e", Kind: loyalty.KindAccrual, Delta: 30, Earned: 30, At: created,
		Lots: []loyalty.Lot{{Expires: "2026-03-31", Points: 30}}, Actor: "seed"}
	if err := stack.Store.Seed(ctx, []loyalty.Account{a}, []loyalty.Entry{entry}); err != nil {
		t.Fatal(err)
	}

	resp, err := http.Post(stack.JobsURL()+"/jobs/expire-points?date=2026-04-01", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rep struct {
		Job      string `json:"job"`
		Day      string `json:"day"`
		Complete bool   `json:"complete"`
		Changed  int    `json:"changed"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil || resp.StatusCode != 200 || !rep.Complete || rep.Changed < 1 || rep.Day != "2026-04-01" {
		t.Fatalf("POST /jobs/expire-points: got %d %s, want a complete run for 2026-04-01 that expired our lot", resp.StatusCode, raw)
	}
	t.Logf("expire-points through the real binary: %s", raw)

	evs, err := stack.Events()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range evs {
		var d struct {
			MemberID string `json:"memberId"`
			Points   int    `json:"points"`
		}
		json.Unmarshal(e.Detail, &d)
		if e.DetailType == loyalty.EventPointsExpired && d.MemberID == string(member) && d.Points == 30 {
			found++
		}
	}
	if found != 1 {
		t.Errorf("local event bus (%s): got %d points.expired.v1 for %s, want 1", stack.EventsFile(), found, member)
	}

	tok, err := stack.Token(string(member), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, "GET", "/v1/me/notifications", tok, nil, "")
	ns, _ := r.body["notifications"].([]any)
	if r.status != 200 || len(ns) != 1 || ns[0].(map[string]any)["id"] != "expired-2026-04-01" {
		t.Fatalf("GET /v1/me/notifications: got %d %s, want the expiry notification", r.status, r.raw)
	}
	if r := call(t, "POST", "/v1/me/notifications/expired-2026-04-01/read", tok, nil, ""); r.status != 200 || r.body["readAt"] == nil {
		t.Errorf("mark read: got %d %s, want 200 with readAt", r.status, r.raw)
	}
	other, _ := stack.Token("e2e-someone-else", time.Hour)
	if r := call(t, "POST", "/v1/me/notifications/expired-2026-04-01/read", other, nil, ""); r.status != 404 {
		t.Errorf("another member marks it: got %d %s, want 404", r.status, r.raw)
	}
	if r := call(t, "GET", "/v1/me/notifications", other, nil, ""); len(r.body["notifications"].([]any)) != 0 {
		t.Errorf("another member's inbox: got %s, want empty", r.raw)
	}

	// The other jobs run through their binaries too.
	for _, job := range []string{"send-reminders", "win-back"} {
		out, err := stack.RunJob(ctx, job, "2026-04-01")
		if err != nil {
			t.Fatalf("%s: %v", job, err)
		}
		var r struct {
			Complete bool `json:"complete"`
		}
		if json.Unmarshal(out, &r); !r.Complete {
			t.Errorf("%s: got %s, want a complete run", job, out)
		}
	}
}
