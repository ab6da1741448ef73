package runtimeapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/tail"
)

// Runtime API names. aws-lambda-go keeps its copies unexported, so they are
// repeated here, checked against lambda/runtime_api_client.go of v1.54.0.
const (
	apiVersion          = "2018-06-01"
	extensionAPIVersion = "2020-01-01"

	headerRequestID          = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS         = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID            = "Lambda-Runtime-Trace-Id"
	headerFunctionErrorType  = "Lambda-Runtime-Function-Error-Type"
	trailerFunctionErrorBody = "Lambda-Runtime-Function-Error-Body"
	headerExtensionName      = "Lambda-Extension-Name"
	headerExtensionID        = "Lambda-Extension-Identifier"

	// maxOutputTail is how much recent output a process keeps for init errors.
	maxOutputTail = 4 << 10
)

// process is one running bootstrap with its own Runtime API listener.
type process struct {
	f         *Function
	api       string // host:port the process was given as AWS_LAMBDA_RUNTIME_API
	srv       *http.Server
	tail      *tail.Buffer
	startedAt time.Time

	ready     chan struct{} // closed at the first /next
	readyOnce sync.Once
	readyAt   time.Time     // valid once ready is closed
	exited    chan struct{} // closed once the process has been reaped
	waitErr   error         // valid once exited is closed
	closed    chan struct{} // closed by retire, releases blocked long-polls

	mu        sync.Mutex
	pid       int
	dead      bool
	inflight  map[string]*running
	initErr   *InvokeError
	extension bool // registered an extension: gets SIGTERM before SIGKILL
	timeout   bool // killed because an invocation timed out
}

// running is an invocation a process has taken and not yet answered.
type running struct {
	inv   *invocation
	timer *time.Timer
}

// spawn starts one process; f.mu must be held so Stop cannot miss it.
func (f *Function) spawn() (*process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the Runtime API: %w", err)
	}
	p := &process{
		f:        f,
		api:      ln.Addr().String(),
		tail:     &tail.Buffer{Max: maxOutputTail},
		ready:    make(chan struct{}),
		exited:   make(chan struct{}),
		closed:   make(chan struct{}),
		inflight: make(map[string]*running),
	}
	p.srv = &http.Server{Handler: p.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()

	cmd := exec.Command(f.cfg.Binary)
	cmd.Dir = filepath.Dir(f.cfg.Binary) // Lambda runs bootstrap from its task root
	cmd.Env = f.environ(p.api)
	// The tail goes first: MultiWriter stops at the first failing writer.
	cmd.Stdout = io.MultiWriter(p.tail, &lockedWriter{mu: &f.outMu, w: f.cfg.Stdout})
	cmd.Stderr = io.MultiWriter(p.tail, &lockedWriter{mu: &f.outMu, w: f.cfg.Stderr})
	cmd.SysProcAttr = processAttributes()
	cmd.WaitDelay = time.Second

	p.mu.Lock()
	defer p.mu.Unlock()
	p.startedAt = time.Now()
	if err := cmd.Start(); err != nil {
		_ = p.srv.Close()
		return nil, fmt.Errorf("exec %s: %w", f.cfg.Binary, err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) routes() http.Handler {
	mux := http.NewServeMux()
	prefix := "/" + apiVersion + "/runtime/"
	mux.HandleFunc("GET "+prefix+"invocation/next", p.next)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/response", p.response)
	mux.HandleFunc("POST "+prefix+"invocation/{id}/error", p.invocationError)
	mux.HandleFunc("POST "+prefix+"init/error", p.initError)
	// aws-lambda-go registers an extension when a function asks for SIGTERM
	// (lambda.WithEnableSIGTERM); answering keeps that path working locally.
	mux.HandleFunc("POST /"+extensionAPIVersion+"/extension/register", p.registerExtension)
	mux.HandleFunc("GET /"+extensionAPIVersion+"/extension/event/next", p.extensionNext)
	return mux
}

// next is the long-poll: it hands the process the next queued invocation.
func (p *process) next(w http.ResponseWriter, r *http.Request) {
	p.readyOnce.Do(func() {
		p.readyAt = time.Now()
		close(p.ready)
	})
	select {
	case inv := <-p.f.queue:
		deadline, ok := p.begin(inv, r.Context())
		if !ok {
			go p.f.requeue(inv)
			return
		}
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadlineMS, strconv.FormatInt(deadline.UnixMilli(), 10))
		h.Set(headerInvokedFunctionARN, p.f.arn)
		h.Set(headerTraceID, inv.traceID)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done():
	case <-p.closed:
	}
}

// begin records inv as running in this process and arms its timeout; it
// refuses when the process is gone, so the invocation can go to another.
func (p *process) begin(inv *invocation, reqCtx context.Context) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead || reqCtx.Err() != nil {
		return time.Time{}, false
	}
	timeout := p.f.cfg.Timeout
	p.inflight[inv.id] = &running{inv: inv, timer: time.AfterFunc(timeout, func() { p.expire(inv.id) })}
	return time.Now().Add(timeout), true
}

// end removes a running invocation; nil if the id is unknown or already over.
func (p *process) end(id string) *running {
	p.mu.Lock()
	defer p.mu.Unlock()
	run := p.inflight[id]
	if run == nil {
		return nil
	}
	delete(p.inflight, id)
	run.timer.Stop()
	return run
}

// expire fails a timed-out invocation and kills its process, as Lambda resets
// an execution environment after a timeout; the supervisor starts a new one.
func (p *process) expire(id string) {
	p.mu.Lock()
	run := p.inflight[id]
	delete(p.inflight, id)
	if run != nil {
		p.timeout = true
	}
	p.mu.Unlock()
	if run == nil {
		return
	}
	run.inv.finish(nil, hostError(ErrorTypeTimeout, fmt.Sprintf("Task timed out after %.2f seconds", p.f.cfg.Timeout.Seconds())))
	_ = p.signal(syscall.SIGKILL)
}

func (p *process) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "read response body: "+err.Error())
		return
	}
	run := p.end(r.PathValue("id"))
	if run == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no running invocation "+r.PathValue("id"))
		return
	}
	if len(body) > maxPayload {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxPayload)
		run.inv.finish(nil, hostError(ErrorTypeResponseTooLarge, msg))
		writeAPIError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	// aws-lambda-go reports a response stream that failed half-way in trailers.
	if errType := r.Trailer.Get(headerFunctionErrorType); errType != "" {
		doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get(trailerFunctionErrorBody))
		run.inv.finish(nil, runtimeError(errType, doc))
		writeAccepted(w)
		return
	}
	run.inv.finish(body, nil)
	writeAccepted(w)
}

func (p *process) invocationError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "read error body: "+err.Error())
		return
	}
	run := p.end(r.PathValue("id"))
	if run == nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequestID", "no running invocation "+r.PathValue("id"))
		return
	}
	run.inv.finish(nil, runtimeError(r.Header.Get(headerFunctionErrorType), body))
	writeAccepted(w)
}

// initError records why the runtime could not start; the process is then
// ended, as Lambda ends an environment whose init failed.
func (p *process) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
		writeAPIError(w, http.StatusForbidden, "InvalidStateTransition", "init already finished")
		return
	default:
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload))
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "InvalidRequest", "read error body: "+err.Error())
		return
	}
	p.mu.Lock()
	p.initErr = runtimeError(r.Header.Get(headerFunctionErrorType), body)
	p.mu.Unlock()
	writeAccepted(w)
	_ = p.signal(syscall.SIGKILL)
}

func (p *process) registerExtension(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.extension = true
	p.mu.Unlock()
	w.Header().Set(headerExtensionID, newRequestID())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    p.f.cfg.Name,
		"functionVersion": "$LATEST",
		"handler":         "bootstrap",
	})
}

// extensionNext never delivers an event: the host only sends SHUTDOWN as SIGTERM.
func (p *process) extensionNext(w http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-p.closed:
	}
}

// waitInit waits for the first /next, an init failure, ctx or timeout.
func (p *process) waitInit(ctx context.Context, timeout <-chan time.Time) error {
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		select {
		case <-p.ready:
			return nil // answered /next, then died: the supervisor takes over
		default:
		}
		return p.initFailure()
	case <-ctx.Done():
		return ctx.Err()
	case <-timeout:
		return fmt.Errorf("init did not ask for an event within %s\noutput:\n%s", initTimeout, p.tail.String())
	}
}

// initFailure describes why a process ended before asking for an event.
func (p *process) initFailure() error {
	p.mu.Lock()
	ie := p.initErr
	p.mu.Unlock()
	if ie == nil {
		ie = p.exitError()
	}
	if out := p.tail.String(); out != "" {
		return fmt.Errorf("init failed: %w\noutput:\n%s", ie, out)
	}
	return fmt.Errorf("init failed: %w", ie)
}

func (p *process) exitError() *InvokeError {
	return hostError(ErrorTypeExit, "Runtime exited with error: "+exitReason(p.waitErr))
}

func exitReason(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ProcessState.String() // "exit status 2", "signal: killed"
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// retire marks an exited process dead, closes its listener and returns the
// invocations it still held and whether it had finished its init.
func (p *process) retire() (inflight map[string]*running, wasReady bool) {
	p.mu.Lock()
	p.dead = true
	inflight, p.inflight = p.inflight, nil
	p.mu.Unlock()
	close(p.closed)
	_ = p.srv.Close()
	select {
	case <-p.ready:
		wasReady = true
	default:
	}
	return inflight, wasReady
}

// signal sends sig to the process group the process leads.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	pid := p.pid
	p.mu.Unlock()
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, pid, err)
	}
	return nil
}

func (p *process) wantsSIGTERM() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.extension
}

func (p *process) timedOut() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.timeout
}

func (p *process) initDuration() time.Duration {
	<-p.ready
	return p.readyAt.Sub(p.startedAt)
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func writeAPIError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errorType, "errorMessage": message})
}

// lockedWriter serialises writes from several processes and never fails, so a
// broken log writer cannot stall a function on a full pipe.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
	return len(b), nil
}
