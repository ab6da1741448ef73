package localstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The partner door through the local stack and the real binaries, its
// callers allowed by the template's permissions (program.json's senders:
// demo-coffee-berlin's key stands for a session of
// arn:aws:iam::444455556666:role/till). A purchase through the door answers points, balance and rewards;
// the same message on the queue credits nothing more, and the other way
// round the door answers replayed; partner A's key naming partner B is
// refused and recorded as partner_mismatch; unsigned and wrongly signed
// calls are refused as AWS refuses them.
func TestPartnerDoorThroughTheLocalStack(t *testing.T) {
	ctx := context.Background()
	st := stack
	if st.DoorURL == "" || st.State().PartnerDoor != st.DoorURL || !strings.HasPrefix(st.DoorURL, "http://127.0.0.1:") {
		t.Fatalf("door URL: got %q, state %q; want a loopback URL in both", st.DoorURL, st.State().PartnerDoor)
	}

	post := func(key, secret, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.DoorURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			if err := localgateway.SignRequestFor(req, []byte(body), key, secret, localstack.Region, localgateway.DoorService, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var ans map[string]any
		if err := json.Unmarshal(out, &ans); err != nil {
			t.Fatalf("door answer %q: %v", out, err)
		}
		return resp.StatusCode, ans
	}
	const member = "e2e-door"
	purchase := func(partner, event string, minor int) string {
		return fmt.Sprintf(`{"type":"purchase.completed","version":2,"partnerId":%q,"eventId":%q,"member":{"kind":"memberId","ref":%q},`+
			`"occurredAt":%q,"currency":"EUR","amountMinor":%d}`, partner, event, member, time.Now().Add(-time.Minute).Format(time.RFC3339), minor)
	}
	balance := func() loyalty.Points {
		a, err := st.Store.Account(ctx, member)
		if err != nil {
			t.Fatal(err)
		}
		return a.Balance
	}
	queue := func(body string) {
		t.Helper()
		q, _ := st.Partner("demo-coffee-berlin")
		if _, err := st.PartnerSQSClient("demo-coffee-berlin").SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	key, secret := localstack.PartnerAccessKey("demo-coffee-berlin"), localstack.PartnerSecret("demo-coffee-berlin")

	first := purchase("demo-coffee-berlin", "door-e2e-1", 1250)
	status, ans := post(key, secret, first)
	earned, _ := ans["pointsEarned"].(float64)
	if status != 200 || earned <= 0 || ans["balance"] != earned || ans["replayed"] != false || ans["rewards"] == nil {
		t.Fatalf("door purchase: got %d %v, want 200 with the points, the balance and the rewards", status, ans)
	}
	// The same message on the queue: nothing more (the queue's ingest takes
	// it as a replay), and the door then answers replayed.
	queue(first)
	time.Sleep(3 * time.Second) // the poller's batching window and one invoke
	if got := balance(); float64(got) != earned {
		t.Fatalf("balance after the door and the queue: got %d, want %v", got, earned)
	}
	if status, again := post(key, secret, first); status != 200 || again["replayed"] != true || again["pointsEarned"] != earned {
		t.Fatalf("door repeat: got %d %v, want 200 replayed", status, again)
	}
	// The queue first: the door answers replayed with the queue's figures.
	second := purchase("demo-coffee-berlin", "door-e2e-2", 3000)
	queue(second)
	waitFor(t, "the queue's purchase", func() bool { return float64(balance()) > earned })
	after := balance()
	if status, ans := post(key, secret, second); status != 200 || ans["replayed"] != true || ans["balance"] != float64(after) {
		t.Fatalf("door after the queue: got %d %v, want 200 replayed with balance %d", status, ans, after)
	}

	// Partner A's key naming partner B.
	status, ans = post(key, secret, purchase("demo-webshop", "door-e2e-3", 5000))
	if status != 403 || ans["code"] != "partner_mismatch" {
		t.Fatalf("A naming B: got %d %v, want 403 partner_mismatch", status, ans)
	}
	rej, err := st.Store.Rejection(ctx, "door-"+ans["requestId"].(string))
	if err != nil || rej.Reason != loyalty.RejectPartnerMismatch || rej.PartnerID != "demo-coffee-berlin" {
		t.Fatalf("mismatch record: got %+v, %v", rej, err)
	}
	// Unsigned and wrongly signed: AWS's 403, before the function.
	for name, k := range map[string][2]string{"unsigned": {"", ""}, "wrong secret": {key, "wrong"}} {
		if status, ans := post(k[0], k[1], purchase("demo-coffee-berlin", "door-e2e-4", 100)); status != 403 || ans["Message"] != "Forbidden" {
			t.Errorf("%s: got %d %v, want 403 Forbidden", name, status, ans)
		}
	}
	if got := balance(); got != after {
		t.Errorf("balance after the refusals: got %d, want %d", got, after)
	}
}
