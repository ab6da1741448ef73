package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// testProgram is what both binaries read: the coffee shop sends from a till
// role, the web shop from its account.
const testProgram = `{
  "version": 1, "id": "door-e2e", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": { "points": 1, "perMinor": 100, "rounding": "down" },
  "expiry": { "months": 12, "endOfMonth": true },
  "refund": "negative_balance",
  "rewards": [{"id": "free-coffee", "name": "Free coffee", "kind": "free_product", "cost": 0, "validDays": 30, "active": true}],
  "stampCards": [{"id": "coffee-card", "name": "One coffee, the next is free", "stamps": 1,
    "categories": ["coffee"], "rewardId": "free-coffee", "onRefund": "revoke_reward"}],
  "partners": [
    { "id": "demo-coffee-berlin", "name": "Coffee", "memberIds": true, "senders": ["arn:aws:iam::444455556666:role/till"] },
    { "id": "demo-webshop", "name": "Web shop", "memberIds": true, "senders": ["777788889999"] }
  ]
}`

const region = "us-east-1"

type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func buildBinary(t *testing.T, pkg, out string) {
	t.Helper()
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}

// TestDoorBinaryBesideTheQueue runs the real door and ingest bootstraps
// against DynamoDB Local, the door behind the local function URL stand-in
// (SigV4 with each partner's local key, authorizer.iam as AWS fills it).
func TestDoorBinaryBesideTheQueue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	doorBin, ingestBin := filepath.Join(dir, "door", "bootstrap"), filepath.Join(dir, "ingest", "bootstrap")
	buildBinary(t, ".", doorBin)
	buildBinary(t, "../ingest", ingestBin)
	programFile := filepath.Join(dir, "program.json")
	secretFile := filepath.Join(dir, "code-secret")
	if err := os.WriteFile(programFile, []byte(testProgram), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("e2e-code-secret-0123456789abcdef0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := dynamolocal.Start(ctx, dynamolocal.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Stop() })
	table := fmt.Sprintf("door-e2e-%d", time.Now().UnixNano())
	if _, err := db.Client().CreateTable(ctx, dynamo.Schema.CreateTableInput(table)); err != nil {
		t.Fatal(err)
	}
	store := dynamo.New(db.Client(), table)
	logs := &output{}
	start := func(name, bin string) *runtimeapi.Function {
		fn, err := runtimeapi.Start(ctx, runtimeapi.FunctionConfig{Name: name, Binary: bin, Concurrency: 2, Timeout: 10 * time.Second,
			Stdout: logs, Stderr: logs,
			Env: map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": db.Endpoint, "PROGRAM_FILE": programFile, "STAGE": "e2e",
				"CODE_SECRET_FILE": secretFile, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": region}})
		if err != nil {
			t.Fatalf("start %s: %v\n%s", name, err, logs)
		}
		t.Cleanup(func() { _ = fn.Stop() })
		return fn
	}
	doorFn, ingestFn := start("partner-door", doorBin), start("ingest", ingestBin)

	door := &localgateway.Door{Region: region, Invoke: doorFn.Invoke, Logf: t.Logf, Partners: []localgateway.DoorPartner{
		{ID: "demo-coffee-berlin", AccessKeyID: "LOCALPARTNER-demo-coffee-berlin", SecretAccessKey: "local-secret-demo-coffee-berlin",
			Senders: []string{"arn:aws:iam::444455556666:role/till"}},
		{ID: "demo-webshop", AccessKeyID: "LOCALPARTNER-demo-webshop", SecretAccessKey: "local-secret-demo-webshop", Senders: []string{"777788889999"}},
	}}
	srv := httptest.NewServer(door) // 127.0.0.1, a free port
	t.Cleanup(srv.Close)

	// post sends body signed with key/secret ("" sends it unsigned).
	post := func(key, secret, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			if err := localgateway.SignRequestFor(req, []byte(body), key, secret, region, localgateway.DoorService, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("door answer %q: %v", b, err)
		}
		return resp.StatusCode, out
	}
	queue := func(id, body string) {
		t.Helper()
		ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: id, Body: body, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:" + region + ":000000000000:" + partnerqueue.Name("e2e", "demo-coffee-berlin"),
			Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(time.Now().UnixMilli())}}}}
		payload, _ := json.Marshal(ev)
		out, err := ingestFn.Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("ingest: %v\n%s", err, logs)
		}
		var resp events.SQSEventResponse
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("ingest of %s: got %s, want no failures", id, out)
		}
	}
	balance := func(member string) loyalty.Points {
		t.Helper()
		a, err := store.Account(ctx, loyalty.MemberID(member))
		if err != nil {
			t.Fatal(err)
		}
		return a.Balance
	}
	purchase := func(event string, minor int) string {
		return `{"type":"purchase.completed","version":2,"partnerId":"demo-coffee-berlin","eventId":"` + event +
			`","member":{"kind":"memberId","ref":"member-0001"},"occurredAt":"2026-03-10T08:20:00+01:00","currency":"EUR","amountMinor":` +
			fmt.Sprint(minor) + `,"lines":[{"lineId":"1","sku":"ESP","category":"coffee","quantity":1,"amountMinor":` + fmt.Sprint(minor) + `}]}`
	}
	const coffeeKey, coffeeSecret = "LOCALPARTNER-demo-coffee-berlin", "local-secret-demo-coffee-berlin"

	// A purchase through the door: points, balance and the reward.
	first := purchase("pos-7-001", 1250)
	status, ans := post(coffeeKey, coffeeSecret, first)
	rewards, _ := ans["rewards"].([]any)
	if status != 200 || ans["pointsEarned"] != 12.0 || ans["balance"] != 12.0 || ans["replayed"] != false || len(rewards) != 1 {
		t.Fatalf("door purchase: got %d %v, want 200, 12 points, balance 12, one reward\n%s", status, ans, logs)
	}
	// The same message on the queue credits nothing more; the door then
	// answers replayed.
	queue("q-1", first)
	if got := balance("member-0001"); got != 12 {
		t.Fatalf("balance after door then queue: got %d, want 12", got)
	}
	if status, ans := post(coffeeKey, coffeeSecret, first); status != 200 || ans["replayed"] != true || ans["pointsEarned"] != 12.0 {
		t.Fatalf("door repeat: got %d %v, want 200 replayed", status, ans)
	}
	// And the other way round: the queue first.
	second := purchase("pos-7-002", 3000)
	queue("q-2", second)
	if status, ans := post(coffeeKey, coffeeSecret, second); status != 200 || ans["replayed"] != true || ans["pointsEarned"] != 30.0 || ans["balance"] != 42.0 {
		t.Fatalf("door after the queue: got %d %v, want 200 replayed, 30 points, balance 42", status, ans)
	}
	if got := balance("member-0001"); got != 42 {
		t.Fatalf("balance: got %d, want 42", got)
	}

	// Partner A's key naming partner B: refused, recorded as partner_mismatch.
	forged := strings.Replace(purchase("pos-7-003", 5000), `"partnerId":"demo-coffee-berlin"`, `"partnerId":"demo-webshop"`, 1)
	status, ans = post(coffeeKey, coffeeSecret, forged)
	if status != 403 || ans["code"] != "partner_mismatch" || ans["recorded"] != true {
		t.Fatalf("A naming B: got %d %v, want 403 partner_mismatch", status, ans)
	}
	rej, err := store.Rejection(ctx, "door-"+ans["requestId"].(string))
	if err != nil || rej.Reason != loyalty.RejectPartnerMismatch || rej.PartnerID != "demo-coffee-berlin" {
		t.Fatalf("mismatch record: got %+v, %v; want partner_mismatch under the coffee shop", rej, err)
	}
	if got := balance("member-0001"); got != 42 {
		t.Fatalf("balance after the forged message: got %d, want 42", got)
	}

	// Unsigned, or signed with a wrong secret: refused by the door as AWS
	// refuses it, before the function.
	for name, key := range map[string][2]string{"unsigned": {"", ""}, "wrong secret": {coffeeKey, "not-the-secret"},
		"unknown key": {"LOCALPARTNER-nobody", "local-secret-nobody"}} {
		status, ans := post(key[0], key[1], purchase("pos-7-004", 1000))
		if status != 403 || ans["Message"] != "Forbidden" {
			t.Errorf("%s: got %d %v, want 403 {\"Message\":\"Forbidden\"}", name, status, ans)
		}
	}
	if got := balance("member-0001"); got != 42 {
		t.Fatalf("balance after the refused calls: got %d, want 42", got)
	}
}
