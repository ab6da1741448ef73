package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The inbox through the member API: pages newest first, mark as read once,
// and a member never sees or changes another member's notifications.
func TestNotificationsInbox(t *testing.T) {
	a := newMemAPIs(t)
	ctx := context.Background()
	p := &loyalty.Program{ID: "t"}
	now := time.Now().UTC().Truncate(time.Second)
	deliver := func(member loyalty.MemberID, occasion string, at time.Time) {
		n := loyalty.NewNotification(p, member, loyalty.NotePointsExpiring, occasion, "points expire on "+occasion,
			map[string]any{"points": 12, "expires": occasion, "daysLeft": 30}, at)
		if _, _, err := a.store.Deliver(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		deliver("sample-member-1", fmt.Sprintf("2026-04-%02d", 26+i), now.Add(time.Duration(i-10)*time.Minute))
	}
	deliver("other-member", "2026-05-31", now.Add(-time.Minute))

	list := sample(t, "member/list-notifications.json")
	status, body := a.call(t, list)
	if status != 200 {
		t.Fatalf("list: got %d %v, want 200", status, body)
	}
	ns := body["notifications"].([]any)
	if len(ns) != 5 || ns[0].(map[string]any)["id"] != "expiring-2026-04-30" || body["nextCursor"] != "" {
		t.Fatalf("list: got %d notifications (first %v), cursor %q; want 5, newest first, no cursor", len(ns), ns[0], body["nextCursor"])
	}
	first := ns[0].(map[string]any)
	if first["kind"] != "points_expiring" || first["readAt"] != nil || first["data"].(map[string]any)["points"] != 12.0 {
		t.Errorf("notification: got %v, want an unread points_expiring of 12 points", first)
	}

	// Pages of two.
	var ids []any
	cursor := ""
	for range 4 {
		ev := list
		ev.QueryStringParameters = map[string]string{"limit": "2"}
		if cursor != "" {
			ev.QueryStringParameters["cursor"] = cursor
		}
		status, body := a.call(t, ev)
		if status != 200 {
			t.Fatalf("page: got %d %v", status, body)
		}
		for _, n := range body["notifications"].([]any) {
			ids = append(ids, n.(map[string]any)["id"])
		}
		if cursor = body["nextCursor"].(string); cursor == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[expiring-2026-04-30 expiring-2026-04-29 expiring-2026-04-28 expiring-2026-04-27 expiring-2026-04-26]" {
		t.Errorf("pages of 2: got %v, want the five newest first", ids)
	}

	read := sample(t, "member/mark-notification-read.json")
	status, body = a.call(t, read)
	if status != 200 || body["id"] != "expiring-2026-04-30" || body["readAt"] == nil {
		t.Fatalf("mark read: got %d %v, want 200 with readAt", status, body)
	}
	readAt := body["readAt"]
	if status, again := a.call(t, read); status != 200 || again["readAt"] != readAt {
		t.Errorf("mark read again: got %d readAt %v, want 200 and the first time %v", status, again["readAt"], readAt)
	}

	// Another member: their own inbox only, and the sample member's ids are
	// not theirs to mark (nor the other way round).
	status, body = a.call(t, asMember(list, "other-member"))
	if ns := body["notifications"].([]any); status != 200 || len(ns) != 1 || ns[0].(map[string]any)["id"] != "expiring-2026-05-31" {
		t.Errorf("other member's list: got %d %v, want only their own notification", status, body)
	}
	if status, body := a.call(t, asMember(read, "other-member")); status != 404 {
		t.Errorf("other member marks the sample member's notification: got %d %v, want 404", status, body)
	}
	mine := withPath(read, "expiring-2026-05-31")
	if status, body := a.call(t, mine); status != 404 {
		t.Errorf("sample member marks the other member's notification: got %d %v, want 404", status, body)
	}
	if ns, _, _ := a.store.Notifications(ctx, "other-member", "", 10, time.Now()); len(ns) != 1 || ns[0].ReadAt != nil {
		t.Errorf("other member's notification: got %+v, want it unread", ns)
	}

	for name, c := range map[string]struct {
		ev     events.APIGatewayV2HTTPRequest
		status int
		code   string
	}{
		"bad cursor":      {withQuery(list, "cursor", "bm90LWEtY3Vyc29y"), 400, "invalid_request"},
		"limit 0":         {withQuery(list, "limit", "0"), 400, "invalid_request"},
		"limit 51":        {withQuery(list, "limit", "51"), 400, "invalid_request"},
		"unknown query":   {withQuery(list, "member", "other-member"), 400, "invalid_request"},
		"bad id":          {withPath(read, "a b"), 400, "invalid_request"},
		"unknown id":      {withPath(read, "expiring-1999-01-01"), 404, "not_found"},
		"no identity":     {noJWT(list), 401, "unauthorized"},
		"GET on the read": {withMethod(read, "GET"), 405, "method_not_allowed"},
	} {
		status, body := a.call(t, c.ev)
		if status != c.status || body["code"] != c.code {
			t.Errorf("%s: got %d %v, want %d %s", name, status, body, c.status, c.code)
		}
	}
}

func withQuery(ev events.APIGatewayV2HTTPRequest, k, v string) events.APIGatewayV2HTTPRequest {
	q := map[string]string{}
	for k, v := range ev.QueryStringParameters {
		q[k] = v
	}
	q[k] = v
	ev.QueryStringParameters = q
	return ev
}

func withPath(ev events.APIGatewayV2HTTPRequest, id string) events.APIGatewayV2HTTPRequest {
	ev.RawPath = "/v1/me/notifications/" + id + "/read"
	ev.RequestContext.HTTP.Path = ev.RawPath
	ev.PathParameters = map[string]string{"notificationId": id}
	return ev
}

func withMethod(ev events.APIGatewayV2HTTPRequest, m string) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.HTTP.Method = m
	return ev
}

func noJWT(ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPRequest {
	ev.RequestContext.Authorizer = nil
	return ev
}
