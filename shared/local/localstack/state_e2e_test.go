package localstack_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// The state file names the addresses the stack really took, and the
// tools' code path (localstack.Client, what loyaltyctl admin and job run)
// reaches the stack through it alone.
func TestTheStateFileLeadsTheToolsToTheStack(t *testing.T) {
	s, err := localstate.Read(statePath)
	if err != nil {
		t.Fatalf("read the state file: got %v, want it written at start", err)
	}
	if want := "http://" + apiAddr; s.HTTPAPI != want || stack.URL != want {
		t.Errorf("HTTP API: got %q in the state file and %q on the stack, want %q (the port asked for)", s.HTTPAPI, stack.URL, want)
	}
	if s.PID != os.Getpid() || s.Jobs != stack.JobsURL() || s.DynamoDB.Endpoint != stack.DB.Endpoint || s.DynamoDB.Table != localstack.TableName {
		t.Errorf("state: got pid %d jobs %s dynamodb %s/%s, want %d %s %s/%s", s.PID, s.Jobs, s.DynamoDB.Endpoint, s.DynamoDB.Table,
			os.Getpid(), stack.JobsURL(), stack.DB.Endpoint, localstack.TableName)
	}
	if len(s.Partners) != len(stack.Program.Partners) || s.SQS.Endpoint != stack.SQSEndpoint {
		t.Errorf("queues: got %d partners at %s, want %d at %s", len(s.Partners), s.SQS.Endpoint, len(stack.Program.Partners), stack.SQSEndpoint)
	}
	if info, err := os.Stat(statePath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %v (%v), want -rw-------", info.Mode(), err)
	}

	c, err := localstack.Connect(statePath)
	if err != nil {
		t.Fatalf("connect through the state file: got %v, want the running stack", err)
	}
	status, body, err := c.Admin(t.Context(), "POST", "/admin/members/e2e-state/adjustments",
		[]byte(`{"points":17,"reason":"through the state file"}`), "state-1")
	if err != nil || status != 200 {
		t.Fatalf("admin adjustment through the state file: got %d %s (%v), want 200", status, body, err)
	}
	if got := balance(t, "e2e-state"); got != 17 {
		t.Errorf("balance after the tool's adjustment: got %v, want 17", got)
	}
	status, body, err = c.Admin(t.Context(), "GET", "/admin/members/e2e-state/audit", nil, "")
	if err != nil || status != 200 {
		t.Errorf("admin audit through the state file: got %d %s (%v), want 200", status, body, err)
	}
	status, body, err = c.RunJob(t.Context(), "win-back", "2026-04-01", "")
	if err != nil || status != 200 {
		t.Errorf("job through the state file: got %d %s (%v), want 200", status, body, err)
	}
	tok, err := c.Token("e2e-state", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", "/v1/me", tok, nil, ""); r.status != 200 || r.body["memberId"] != "e2e-state" {
		t.Errorf("GET /v1/me with the tool's token: got %d %s, want 200 for e2e-state", r.status, r.raw)
	}
}

// A state file whose process is gone, or whose port answers no more, is
// reported stale, never used.
func TestAStaleStateFileIsReported(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		name  string
		state localstate.State
	}{
		{"process gone", localstate.State{PID: deadPID(t), HTTPAPI: stack.URL}},
		{"port closed", localstate.State{PID: os.Getpid(), HTTPAPI: closed}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "localstack.json")
			if err := localstate.Write(path, c.state); err != nil {
				t.Fatal(err)
			}
			_, err := localstack.Connect(path)
			var stale *localstate.StaleError
			if !errors.As(err, &stale) {
				t.Errorf("connect: got %v, want a *localstate.StaleError", err)
			}
		})
	}
	if _, err := localstack.Connect(filepath.Join(t.TempDir(), "none.json")); !errors.Is(err, localstate.ErrNoStack) {
		t.Errorf("connect without a state file: got %v, want ErrNoStack", err)
	}
}

// deadPID is the id of a process that has ended.
func deadPID(tb testing.TB) int {
	tb.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := p.Wait(); err != nil {
		tb.Fatal(err)
	}
	return p.Pid
}

// What API Gateway answers on its own behalf comes in its shape,
// {"message": ...} with no code, through the whole local stack: the
// gateway's limits and the Lambda integration's.
func TestGatewayErrorsHaveAPIGatewaysShape(t *testing.T) {
	tok := token(t, "e2e-gateway")
	idem := map[string]string{"Idempotency-Key": "gw-1"}
	cases := []struct {
		name, method, path, token, body string
		status                          int
		message                         string
	}{
		{"no token", "GET", "/v1/me", "", "", 401, "Unauthorized"},
		{"unsigned admin call", "GET", "/admin/rewards", "", "", 403, "Forbidden"},
		{"unknown route", "GET", "/v1/nowhere", tok, "", 404, "Not Found"},
		{"known path, other method", "PATCH", "/v1/me", tok, "", 404, "Not Found"},
		{"body over Lambda's 6 MB", "POST", "/v1/me/redemptions", tok, `{"rewardId":"` + strings.Repeat("a", 7<<20) + `"}`, 500, "Internal Server Error"},
		{"body over API Gateway's 10 MB", "POST", "/v1/me/redemptions", tok, `{"rewardId":"` + strings.Repeat("a", 11<<20) + `"}`, 413, "Request Entity Too Large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, c.method, c.path, c.token, idem, c.body)
			if r.status != c.status || r.body["message"] != c.message || r.body["code"] != nil || len(r.body) != 1 {
				t.Errorf("got %d %.200s, want %d {\"message\":%q} and nothing else", r.status, r.raw, c.status, c.message)
			}
		})
	}
	// The service's own errors keep the service's shape.
	r := call(t, "POST", "/v1/me/redemptions", tok, idem, `{"rewardId":"`+strings.Repeat("a", 17<<10)+`"}`)
	if r.status != 413 || r.body["code"] != "payload_too_large" || r.body["requestId"] == nil {
		t.Errorf("a body over the service's 16 KiB: got %d %s, want 413 with code payload_too_large and a requestId", r.status, r.raw)
	}
}

// A taken port fails the start at once, saying which address and which
// part of the stack wanted it, before DynamoDB Local or a build starts.
func TestAPortInUseSaysWhichSetting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	cases := []struct {
		name string
		opts localstack.Options
		part string
	}{
		{"HTTP API", localstack.Options{Addr: taken, Jobs: localstack.JobOptions{Addr: "127.0.0.1:0"}, SQSAddr: "127.0.0.1:0"}, localstack.PartHTTPAPI},
		{"jobs API", localstack.Options{Addr: "127.0.0.1:0", Jobs: localstack.JobOptions{Addr: taken}}, localstack.PartJobs},
		{"SQS", localstack.Options{Addr: "127.0.0.1:0", SQSAddr: taken}, localstack.PartSQS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Logs = io.Discard
			began := time.Now()
			st, err := localstack.Start(t.Context(), c.opts)
			if err == nil {
				st.Stop(context.Background())
				t.Fatalf("start on a taken port: got a stack, want an error")
			}
			var inUse *localstack.AddrInUseError
			if !errors.As(err, &inUse) || inUse.Addr != taken || inUse.Part != c.part {
				t.Errorf("got %v, want an AddrInUseError for %s of the %s", err, taken, c.part)
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("time to refuse: got %s, want under 5 s (before the slow parts)", took)
			}
		})
	}
}

// What the stack wrote to its data folder is there after Stop and Start:
// the table (not seeded again), and the events file, appended to, not
// emptied. Meanwhile a second stack is refused the same state file and the
// same data folder. It restarts the shared stack (goaws allows one SQS per
// process), so it runs last.
func TestDataSurvivesARestart(t *testing.T) {
	if stack.Kept {
		t.Errorf("first start on an empty folder: got a kept table, want a created one")
	}
	credit(t, "restart-member", 42)
	demoBefore := balance(t, localstack.DemoMember)
	eventsBefore, err := stack.Events()
	if err != nil {
		t.Fatal(err)
	}
	again := stackOptions
	again.Addr = "127.0.0.1:0"
	var running *localstack.RunningError
	if st, err := localstack.Start(t.Context(), again); !errors.As(err, &running) || running.PID != os.Getpid() {
		if st != nil {
			st.Stop(context.Background())
		}
		t.Errorf("a second stack on the same state file: got %v, want a RunningError naming process %d", err, os.Getpid())
	}
	again.StateFile = filepath.Join(t.TempDir(), "other.json")
	if st, err := localstack.Start(t.Context(), again); err == nil || !strings.Contains(err.Error(), "another local stack uses the data folder") {
		if st != nil {
			st.Stop(context.Background())
		}
		t.Errorf("a second stack on the same data folder: got %v, want another local stack uses the data folder", err)
	}

	if err := stack.Stop(context.Background()); err != nil {
		t.Errorf("stop: %v", err)
	}
	stopped := stack
	stack = nil
	if _, err := os.Stat(statePath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after a clean stop: got %v, want it removed", err)
	}
	// What a previous run published stays: append one more event to it.
	f, err := os.OpenFile(stopped.EventsFile(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"version":"0","id":"before-restart","detail-type":"test.kept.v1","source":"test","account":"000000000000","time":"2026-11-30T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}` + "\n")
	f.Close()

	if stack, err = localstack.Start(context.Background(), stackOptions); err != nil {
		t.Fatalf("start again on the same data folder: %v", err)
	}
	if !stack.Kept {
		t.Errorf("start again: got a created table, want the kept one")
	}
	if _, err := localstack.Connect(statePath); err != nil {
		t.Errorf("connect after the restart: got %v, want the new state file", err)
	}
	if got := balance(t, "restart-member"); got != 42 {
		t.Errorf("balance written before the restart: got %v, want 42", got)
	}
	if got := balance(t, localstack.DemoMember); got != demoBefore {
		t.Errorf("demo member after the restart: got %v, want %v (the seed goes into a fresh table only)", got, demoBefore)
	}
	evs, err := stack.Events()
	if err != nil || len(evs) != len(eventsBefore)+1 || evs[len(evs)-1].ID != "before-restart" {
		t.Errorf("events after the restart: got %d (%v), want the %d of before and the one appended", len(evs), err, len(eventsBefore))
	}
}
