package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the test functions, each built once per test run.
var (
	binDir string
	builds sync.Map // name -> *build
)

type build struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtimeapi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFunction builds testdata/<name> as AWS runs it: a bootstrap without RPC.
func buildFunction(tb testing.TB, name string) string {
	tb.Helper()
	v, _ := builds.LoadOrStore(name, &build{})
	b := v.(*build)
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", b.path, "./testdata/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", name, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// startEcho starts the echo function and stops it when the test ends.
func startEcho(tb testing.TB, cfg FunctionConfig) *Function {
	tb.Helper()
	cfg.Binary = buildFunction(tb, "echo")
	if cfg.Stdout == nil {
		cfg.Stdout = &syncBuffer{}
	}
	if cfg.Stderr == nil {
		cfg.Stderr = cfg.Stdout
	}
	f, err := Start(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Start: got %v, want no error", err)
	}
	tb.Cleanup(func() { _ = f.Stop() })
	return f
}

func invoke(tb testing.TB, f *Function, payload string) string {
	tb.Helper()
	out, err := f.Invoke(context.Background(), []byte(payload))
	if err != nil {
		tb.Fatalf("Invoke %s: got %v, want no error", payload, err)
	}
	return string(out)
}

func invokeError(tb testing.TB, f *Function, payload string) *InvokeError {
	tb.Helper()
	_, err := f.Invoke(context.Background(), []byte(payload))
	var ie *InvokeError
	if !errors.As(err, &ie) {
		tb.Fatalf("Invoke %s: got %v, want an *InvokeError", payload, err)
	}
	return ie
}

func describe(tb testing.TB, f *Function, env ...string) description {
	tb.Helper()
	names, _ := json.Marshal(append([]string{}, env...)) // never null: null would be echoed
	var d description
	out := invoke(tb, f, `{"describe":`+string(names)+`}`)
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		tb.Fatalf("describe: got %q, want JSON: %v", out, err)
	}
	return d
}

// description mirrors what testdata/echo answers to {"describe":[...]}.
type description struct {
	PID              int               `json:"pid"`
	RequestID        string            `json:"request_id"`
	FunctionARN      string            `json:"function_arn"`
	DeadlineInFuture bool              `json:"deadline_in_future"`
	Env              map[string]string `json:"env"`
}

func TestInvokeEchoesPayload(t *testing.T) {
	f := startEcho(t, FunctionConfig{Name: "echo"})
	for _, payload := range []string{`{"member":"m-1","points":120}`, `[1,2,3]`, `"text"`} {
		if got := invoke(t, f, payload); got != payload {
			t.Errorf("Invoke: got %s, want %s", got, payload)
		}
	}
}

func TestInvocationContextAndEnvironment(t *testing.T) {
	t.Setenv("LOYALTY_HOST_ONLY", "must not reach the function")
	f := startEcho(t, FunctionConfig{Name: "member-api", MemoryMB: 256, Env: map[string]string{"LOYALTY_TABLE": "loyalty", "AWS_REGION": "eu-west-1"}})
	d := describe(t, f, "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
		"_HANDLER", "LOYALTY_TABLE", "LOYALTY_HOST_ONLY", "AWS_LAMBDA_RUNTIME_API", "TZ")
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "member-api",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"LOYALTY_TABLE":                   "loyalty",
		"LOYALTY_HOST_ONLY":               "",
		"TZ":                              ":UTC",
	}
	for name, value := range want {
		if d.Env[name] != value {
			t.Errorf("env %s: got %q, want %q", name, d.Env[name], value)
		}
	}
	if api := d.Env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API: got %q, want 127.0.0.1:PORT", api)
	}
	if wantARN := "arn:aws:lambda:eu-west-1:000000000000:function:member-api"; d.FunctionARN != wantARN {
		t.Errorf("invoked function ARN: got %q, want %q", d.FunctionARN, wantARN)
	}
	if len(d.RequestID) != 36 {
		t.Errorf("request id: got %q, want a UUID", d.RequestID)
	}
	if !d.DeadlineInFuture {
		t.Errorf("context deadline in the future: got false, want true")
	}
	if again := describe(t, f); again.RequestID == d.RequestID {
		t.Errorf("request id of the next invocation: got %q again, want a new one", again.RequestID)
	}
}

func TestHandlerErrorIsInvokeError(t *testing.T) {
	f := startEcho(t, FunctionConfig{})
	ie := invokeError(t, f, `{"error":"points must be positive"}`)
	if ie.Type != "errorString" || ie.Message != "points must be positive" {
		t.Fatalf("InvokeError: got %s / %s, want errorString / points must be positive", ie.Type, ie.Message)
	}
	var doc struct {
		Message string `json:"errorMessage"`
	}
	if err := json.Unmarshal(ie.Body, &doc); err != nil || doc.Message != "points must be positive" {
		t.Fatalf("InvokeError.Body: got %s, want the error document", ie.Body)
	}
	// A handler error does not end the process.
	before := describe(t, f).PID
	invokeError(t, f, `{"error":"again"}`)
	if after := describe(t, f).PID; after != before {
		t.Fatalf("pid after a handler error: got %d, want %d", after, before)
	}
}

func TestConcurrencyRunsInvocationsAtOnce(t *testing.T) {
	const n = 4
	barrier := newBarrier(t, n)
	f := startEcho(t, FunctionConfig{Concurrency: n, Timeout: 20 * time.Second})

	var wg sync.WaitGroup
	pids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			out, err := f.Invoke(context.Background(), []byte(`{"barrier":"`+barrier+`"}`))
			pids[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("invocation %d: got %v, want all %d to meet at the barrier", i, errs[i], n)
		}
		seen[pids[i]] = true
	}
	if len(seen) != n {
		t.Fatalf("processes: got %d distinct (%v), want %d", len(seen), pids, n)
	}
}

func TestTimeoutKillsProcessAndNextInvokeWorks(t *testing.T) {
	f := startEcho(t, FunctionConfig{Timeout: 300 * time.Millisecond})
	before := describe(t, f).PID
	ie := invokeError(t, f, `{"sleep_ms":20000}`)
	if ie.Type != ErrorTypeTimeout {
		t.Fatalf("error type: got %q, want %q", ie.Type, ErrorTypeTimeout)
	}
	if !strings.Contains(ie.Message, "timed out after 0.30 seconds") {
		t.Errorf("message: got %q, want it to name the timeout", ie.Message)
	}
	if got := invoke(t, f, `{"ok":true}`); got != `{"ok":true}` {
		t.Fatalf("Invoke after a timeout: got %s, want {\"ok\":true}", got)
	}
	if after := describe(t, f).PID; after == before {
		t.Fatalf("pid after a timeout: got %d again, want a new process", after)
	}
	assertNoProcess(t, before)
}

func TestCrashIsReportedAndProcessRestarted(t *testing.T) {
	f := startEcho(t, FunctionConfig{})
	for _, tc := range []struct{ payload, wantType string }{
		{`{"exit":3}`, ErrorTypeExit},
		{`{"panic":"ledger corrupt"}`, "string"}, // aws-lambda-go reports the panic, then exits
	} {
		before := describe(t, f).PID
		ie := invokeError(t, f, tc.payload)
		if ie.Type != tc.wantType {
			t.Errorf("%s: error type got %q, want %q", tc.payload, ie.Type, tc.wantType)
		}
		if after := describe(t, f).PID; after == before {
			t.Errorf("%s: pid got %d again, want a new process", tc.payload, after)
		}
	}
}

func TestOversizedResponseIsRefused(t *testing.T) {
	f := startEcho(t, FunctionConfig{})
	ie := invokeError(t, f, fmt.Sprintf(`{"big_bytes":%d}`, maxPayload+10))
	if ie.Type != ErrorTypeResponseTooLarge {
		t.Fatalf("error type: got %q, want %q", ie.Type, ErrorTypeResponseTooLarge)
	}
	if got := invoke(t, f, `{"ok":1}`); got != `{"ok":1}` {
		t.Fatalf("Invoke after an oversized response: got %s, want {\"ok\":1}", got)
	}
}

func TestInvokeHonoursContext(t *testing.T) {
	f := startEcho(t, FunctionConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := f.Invoke(ctx, []byte(`{"sleep_ms":500}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke past its context: got %v, want context.DeadlineExceeded", err)
	}
	if got := invoke(t, f, `{"ok":2}`); got != `{"ok":2}` {
		t.Fatalf("next Invoke: got %s, want {\"ok\":2}", got)
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	out := &syncBuffer{}
	f := startEcho(t, FunctionConfig{Concurrency: 3, Stdout: out})
	f.mu.Lock()
	var pids []int
	var apis []string
	for _, s := range f.slots {
		pids = append(pids, s.proc.pid)
		apis = append(apis, s.proc.api)
	}
	f.mu.Unlock()

	if err := f.Stop(); err != nil {
		t.Fatalf("Stop: got %v, want no error", err)
	}
	for _, pid := range pids {
		assertNoProcess(t, pid)
	}
	for _, api := range apis {
		if conn, err := net.DialTimeout("tcp", api, time.Second); err == nil {
			conn.Close()
			t.Errorf("dial %s after Stop: got a connection, want refused", api)
		}
	}
	// The echo function asked for SIGTERM through the extensions API.
	if got := strings.Count(out.String(), "echo: SIGTERM"); got != 3 {
		t.Errorf("SIGTERM notices: got %d, want 3\n%s", got, out.String())
	}
	if _, err := f.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Stop: got %v, want ErrStopped", err)
	}
	if err := f.Stop(); err != nil {
		t.Errorf("second Stop: got %v, want no error", err)
	}
}

func TestStopKillsProcessThatIgnoresSIGTERM(t *testing.T) {
	out := &syncBuffer{}
	f := startEcho(t, FunctionConfig{Stdout: out, Env: map[string]string{"ECHO_IGNORE_SIGTERM": "1"}})
	f.mu.Lock()
	pid := f.slots[0].proc.pid
	f.mu.Unlock()
	if err := f.Stop(); err != nil {
		t.Fatalf("Stop: got %v, want no error", err)
	}
	assertNoProcess(t, pid)
	if !strings.Contains(out.String(), "echo: SIGTERM") {
		t.Errorf("output: got %q, want the SIGTERM notice before the kill", out.String())
	}
}

func TestInvocationsQueueForABusyProcess(t *testing.T) {
	f := startEcho(t, FunctionConfig{Concurrency: 1})
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { _, errs[i] = f.Invoke(context.Background(), []byte(`{"sleep_ms":50}`)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("invocation %d: got %v, want no error", i, err)
		}
	}
}

func TestStartFailsOnInitFailure(t *testing.T) {
	for _, tc := range []struct {
		name, wantType, wantText string
	}{
		{"initfail", ErrorTypeExit, "LOYALTY_TABLE is not set"},
		{"initerror", "InitConfigError", "config file missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Start(context.Background(), FunctionConfig{Binary: buildFunction(t, tc.name), Stdout: &syncBuffer{}, Stderr: &syncBuffer{}})
			if err == nil {
				f.Stop()
				t.Fatalf("Start: got no error, want the init failure")
			}
			var ie *InvokeError
			if !errors.As(err, &ie) || ie.Type != tc.wantType {
				t.Fatalf("Start: got %v, want an *InvokeError of type %s", err, tc.wantType)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("Start: got %q, want it to contain %q", err, tc.wantText)
			}
		})
	}
}

func TestStartRefusesMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), FunctionConfig{Binary: filepath.Join(t.TempDir(), "bootstrap")})
	if err == nil {
		t.Fatalf("Start with a missing binary: got no error, want one")
	}
}

func TestMeasureInit(t *testing.T) {
	d, err := MeasureInit(context.Background(), buildFunction(t, "echo"), nil)
	if err != nil {
		t.Fatalf("MeasureInit: got %v, want no error", err)
	}
	if d <= 0 {
		t.Fatalf("MeasureInit: got %s, want a positive duration", d)
	}
	t.Logf("init of the echo function: %s", d)
}

func assertNoProcess(tb testing.TB, pid int) {
	tb.Helper()
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		tb.Errorf("process %d: got %v from kill -0, want ESRCH (gone)", pid, err)
	}
}

// newBarrier serves a URL whose GETs all return once n of them have arrived,
// or fail after 15s, so the test fails rather than hangs when fewer run at once.
func newBarrier(tb testing.TB, n int) string {
	tb.Helper()
	var (
		mu      sync.Mutex
		arrived int
		release = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived++
		if arrived == n {
			close(release)
		}
		mu.Unlock()
		select {
		case <-release:
		case <-time.After(15 * time.Second):
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// syncBuffer is a bytes.Buffer that the test can read while processes write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
