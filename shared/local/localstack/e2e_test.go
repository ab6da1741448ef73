package localstack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

var (
	stack *localstack.Stack
	// stackOptions started it: a port other than the default, picked before
	// the start as make run PORT=N does; a data folder and the state file in
	// a temporary folder (TestDataSurvivesARestart restarts it on them).
	stackOptions localstack.Options
	apiAddr      string
	statePath    string
)

// The end-to-end tests start the whole local stack once: DynamoDB Local
// keeping its data in a fresh temporary folder, the real function binaries,
// the local HTTP API on a port picked here, and its state file.
func TestMain(m *testing.M) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pick a port:", err)
		os.Exit(1)
	}
	apiAddr = ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "localstack-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	statePath = filepath.Join(dir, "localstack.json")
	stackOptions = localstack.Options{Addr: apiAddr, Jobs: localstack.JobOptions{Addr: "127.0.0.1:0"}, SQSAddr: "127.0.0.1:0", DoorAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dir, "data"), StateFile: statePath, Seed: true, Logs: io.Discard,
		IAMRecord: &localstack.IAMRecord{}} // iam_report_test.go reports it
	if stack, err = localstack.Start(ctx, stackOptions); err != nil {
		fmt.Fprintln(os.Stderr, "start local stack:", err)
		os.Exit(1)
	}
	code := checkAPICoverage(m.Run()) // apispec_test.go
	if stack != nil {
		if !reportIAM(stack) && code == 0 { // iam_report_test.go
			code = 1
		}
		stack.Stop(ctx)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func call(tb testing.TB, method, path, token string, headers map[string]string, body string) reply {
	tb.Helper()
	req, err := http.NewRequest(method, stack.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func adminCall(tb testing.TB, method, path, body string, headers map[string]string) reply {
	tb.Helper()
	req, _ := http.NewRequest(method, stack.URL+path, bytes.NewReader([]byte(body)))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if err := localgateway.SignRequest(req, []byte(body), localstack.AdminAccessKey, localstack.AdminSecret, localstack.Region, time.Now()); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func token(tb testing.TB, member string) string {
	tb.Helper()
	t, err := stack.Token(member, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// credit gives a member exactly points through the admin API (a signed
// adjustment: purchases would also earn the demo program's bonuses).
func credit(tb testing.TB, member string, points int) {
	tb.Helper()
	body := fmt.Sprintf(`{"points":%d,"reason":"end-to-end test credit"}`, points)
	key := map[string]string{"Idempotency-Key": fmt.Sprintf("credit-%s-%d", member, points)}
	if r := adminCall(tb, "POST", "/admin/members/"+member+"/adjustments", body, key); r.status != 200 {
		tb.Fatalf("credit %s: got %d %s", member, r.status, r.raw)
	}
}

func balance(tb testing.TB, member string) float64 {
	tb.Helper()
	r := call(tb, "GET", "/v1/me", token(tb, member), nil, "")
	if r.status != 200 {
		tb.Fatalf("balance of %s: got %d %s", member, r.status, r.raw)
	}
	return r.body["balance"].(float64)
}

func TestRequestsWithoutAValidTokenGet401AndTouchNothing(t *testing.T) {
	credit(t, "e2e-auth", 30)
	other, err := localgateway.LoadOrCreateDevKey(t.TempDir() + "/other.pem")
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := localgateway.IssueDevToken(other, localstack.Issuer, localstack.Audience, "e2e-auth", time.Hour, time.Now(), nil)
	expired, _ := localgateway.IssueDevToken(stack.Key, localstack.Issuer, localstack.Audience, "e2e-auth", time.Minute, time.Now().Add(-time.Hour), nil)
	wrongAud, _ := localgateway.IssueDevToken(stack.Key, localstack.Issuer, "another-app", "e2e-auth", time.Hour, time.Now(), nil)
	cases := []struct{ name, token string }{
		{"no token", ""}, {"expired", expired}, {"signed by another key", forged}, {"wrong audience", wrongAud}, {"garbage", "not.a.jwt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, "POST", "/v1/me/redemptions", c.token, map[string]string{"Idempotency-Key": "auth-" + strings.ReplaceAll(c.name, " ", "-")}, `{"rewardId":"free-coffee"}`)
			if r.status != 401 {
				t.Errorf("got %d %s, want 401", r.status, r.raw)
			}
		})
	}
	if got := balance(t, "e2e-auth"); got != 30 {
		t.Errorf("balance after refused requests: got %v, want 30", got)
	}
	if r := call(t, "GET", "/admin/members/e2e-auth/audit", token(t, "e2e-auth"), nil, ""); r.status != 403 {
		t.Errorf("member token on an admin route: got %d, want 403", r.status)
	}
}

func TestMemberCannotReachAnotherMembersPoints(t *testing.T) {
	credit(t, "e2e-alice", 100)
	bob := token(t, "e2e-bob")
	attempts := []struct{ method, path, body string }{
		{"GET", "/v1/me?memberId=e2e-alice", ""},
		{"GET", "/v1/me/activity?member=e2e-alice", ""},
		{"POST", "/v1/me/redemptions", `{"rewardId":"free-coffee","memberId":"e2e-alice"}`},
		{"GET", "/v1/members/e2e-alice", ""},
		{"GET", "/admin/members/e2e-alice", ""},
	}
	for _, a := range attempts {
		r := call(t, a.method, a.path, bob, map[string]string{"Idempotency-Key": "bob-1"}, a.body)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s %s as bob: got %d %s, want a 4xx", a.method, a.path, r.status, r.raw)
		}
	}
	// Bob's own view is his own, whatever he asks.
	r := call(t, "GET", "/v1/me", bob, nil, "")
	if r.status != 200 || r.body["memberId"] != "e2e-bob" || r.body["balance"] != 0.0 {
		t.Errorf("bob's /v1/me: got %d %s", r.status, r.raw)
	}
	// Alice's redemption id does not work for Bob.
	red := call(t, "POST", "/v1/me/redemptions", token(t, "e2e-alice"), map[string]string{"Idempotency-Key": "alice-1"}, `{"rewardId":"free-coffee"}`)
	if red.status != 201 {
		t.Fatalf("alice redeems: got %d %s", red.status, red.raw)
	}
	if r := call(t, "DELETE", "/v1/me/redemptions/"+red.body["id"].(string), bob, nil, ""); r.status != 404 {
		t.Errorf("bob cancels alice's redemption: got %d %s, want 404", r.status, r.raw)
	}
	if got := balance(t, "e2e-alice"); got != 80 {
		t.Errorf("alice's balance: got %v, want 80", got)
	}
}

func TestConcurrentRedemptionsOverHTTP(t *testing.T) {
	const member = "e2e-concurrent"
	credit(t, member, 7*20+5) // enough for 7 free coffees (20 each)
	tok := token(t, member)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		codes    = map[string]int{}
	)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, "POST", "/v1/me/redemptions", tok, map[string]string{"Idempotency-Key": fmt.Sprintf("many-%02d", i)}, `{"rewardId":"free-coffee"}`)
			mu.Lock()
			statuses[r.status]++
			if r.status != 201 {
				codes[fmt.Sprint(r.body["code"])]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("50 redemptions with 50 keys on 145 points: statuses %v, error codes %v", statuses, codes)
	if statuses[201] != 7 || statuses[422] != 43 || codes["insufficient_points"] != 43 {
		t.Errorf("got statuses %v codes %v, want 7x201 and 43x422 insufficient_points", statuses, codes)
	}
	if got := balance(t, member); got != 5 {
		t.Errorf("balance: got %v, want 5", got)
	}

	const retrier = "e2e-retry"
	credit(t, retrier, 100)
	rtok := token(t, retrier)
	bodies := make([]string, 20)
	stat := make([]int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := call(t, "POST", "/v1/me/redemptions", rtok, map[string]string{"Idempotency-Key": "same-key"}, `{"rewardId":"free-coffee"}`)
			bodies[i], stat[i] = r.raw, r.status
		}()
	}
	wg.Wait()
	for i := range 20 {
		if stat[i] != 201 || bodies[i] != bodies[0] {
			t.Errorf("retry %d: got %d %s, want 201 and the same body as retry 0 (%s)", i, stat[i], bodies[i], bodies[0])
		}
	}
	list := call(t, "GET", "/v1/me/redemptions", rtok, nil, "")
	if n := len(list.body["redemptions"].([]any)); n != 1 {
		t.Errorf("redemptions after 20 retries of one key: got %d, want 1", n)
	}
	if got := balance(t, retrier); got != 80 {
		t.Errorf("balance after 20 retries of one key: got %v, want 80", got)
	}
	t.Logf("20 concurrent retries of one key: 20 identical 201 responses, 1 redemption, balance %v", balance(t, retrier))
}

func TestMalformedRequestsOverHTTPGet4xxNever500(t *testing.T) {
	const member = "e2e-bad"
	credit(t, member, 50)
	tok := token(t, member)
	idem := map[string]string{"Idempotency-Key": "bad-1"}
	cases := []struct {
		name, method, path string
		headers            map[string]string
		body               string
		status             int
	}{
		{"no idempotency key", "POST", "/v1/me/redemptions", nil, `{"rewardId":"free-coffee"}`, 400},
		{"long idempotency key", "POST", "/v1/me/redemptions", map[string]string{"Idempotency-Key": strings.Repeat("x", 200)}, `{"rewardId":"free-coffee"}`, 400},
		{"truncated JSON", "POST", "/v1/me/redemptions", idem, `{"rewardId":"free`, 400},
		{"not JSON", "POST", "/v1/me/redemptions", idem, `hello`, 400},
		{"array body", "POST", "/v1/me/redemptions", idem, `["free-coffee"]`, 400},
		{"number body", "POST", "/v1/me/redemptions", idem, `42`, 400},
		{"null body", "POST", "/v1/me/redemptions", idem, `null`, 400},
		{"unknown field", "POST", "/v1/me/redemptions", idem, `{"rewardId":"free-coffee","points":-999}`, 400},
		{"wrong type", "POST", "/v1/me/redemptions", idem, `{"rewardId":["free-coffee"]}`, 400},
		{"empty reward id", "POST", "/v1/me/redemptions", idem, `{"rewardId":""}`, 400},
		{"unicode reward id", "POST", "/v1/me/redemptions", idem, `{"rewardId":"caf\u00e9"}`, 400},
		{"unknown reward", "POST", "/v1/me/redemptions", idem, `{"rewardId":"caviar"}`, 404},
		{"text/plain", "POST", "/v1/me/redemptions", map[string]string{"Idempotency-Key": "bad-2", "Content-Type": "text/plain"}, `{"rewardId":"free-coffee"}`, 415},
		{"body over 16 KiB", "POST", "/v1/me/redemptions", idem, `{"rewardId":"` + strings.Repeat("a", 17000) + `"}`, 413},
		{"unknown route", "GET", "/v1/nope", nil, "", 404},
		{"unknown version", "GET", "/v2/me", nil, "", 404},
		{"PUT on /v1/me", "PUT", "/v1/me", nil, `{}`, 404},
		{"limit text", "GET", "/v1/me/activity?limit=abc", nil, "", 400},
		{"limit zero", "GET", "/v1/me/activity?limit=0", nil, "", 400},
		{"limit huge", "GET", "/v1/me/activity?limit=99999999999999999999", nil, "", 400},
		{"cursor garbage", "GET", "/v1/me/activity?cursor=!!!", nil, "", 400},
		{"cursor forged", "GET", "/v1/me/activity?cursor=eyJrIjoiIn0", nil, "", 400},
		{"unknown query", "GET", "/v1/rewards?all=true", nil, "", 400},
		{"cancel missing id", "DELETE", "/v1/me/redemptions/unknown-id", nil, "", 404},
		{"cancel bad id", "DELETE", "/v1/me/redemptions/a%20b", nil, "", 400},
		{"trailing garbage", "POST", "/v1/me/redemptions", idem, `{"rewardId":"free-coffee"} x`, 400},
		{"duplicate key different body", "POST", "/v1/me/redemptions", map[string]string{"Idempotency-Key": "dup-key"}, `{"rewardId":"five-off"}`, 409},
	}
	// The last case needs the key used first with another reward.
	if r := call(t, "POST", "/v1/me/redemptions", tok, map[string]string{"Idempotency-Key": "dup-key"}, `{"rewardId":"free-coffee"}`); r.status != 201 {
		t.Fatalf("setup redemption: got %d %s", r.status, r.raw)
	}
	before := balance(t, member)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.path, tok, c.headers, c.body)
			if r.status != c.status {
				t.Errorf("got %d %s, want %d", r.status, r.raw, c.status)
			}
			if r.status >= 500 {
				t.Errorf("got a 5xx: %s", r.raw)
			}
		})
	}
	if len(cases) < 25 {
		t.Errorf("got %d cases, want at least 25", len(cases))
	}
	if after := balance(t, member); after != before {
		t.Errorf("bad requests changed the balance: %v -> %v", before, after)
	}
}

func TestAdminRoutesNeedASignature(t *testing.T) {
	req, _ := http.NewRequest("GET", stack.URL+"/admin/members/e2e-auth/audit", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned admin call: got %d, want 403", resp.StatusCode)
	}
	credit(t, "e2e-audit", 10)
	r := adminCall(t, "GET", "/admin/members/e2e-audit/audit", "", nil)
	if r.status != 200 || r.body["consistent"] != true {
		t.Errorf("signed audit: got %d %s, want 200 and consistent", r.status, r.raw)
	}
	// The whole-table audit (the ops command's code path) over every member the tests touched.
	rep, err := stack.Store.Audit(t.Context(), 4)
	if err != nil || len(rep.Problems) != 0 || rep.Members < 5 {
		t.Errorf("table audit: got %d members, problems %v, err %v; want >= 5 members, none", rep.Members, rep.Problems, err)
	}
	_ = loyalty.CodeInvalid
}
