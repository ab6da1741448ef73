package runtimeapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

const (
	// maxPayload is Lambda's limit for a synchronous request and response.
	maxPayload = 6 << 20
	// initTimeout is Lambda's limit for the init phase of a function.
	initTimeout = 10 * time.Second
	// shutdownGrace is how long a process that registered an extension gets
	// between SIGTERM and SIGKILL, as in Lambda's shutdown phase.
	shutdownGrace = 500 * time.Millisecond
	// maxRestartBackoff bounds the wait between restarts of a crashing process.
	maxRestartBackoff = 5 * time.Second

	defaultRegion  = "us-east-1"
	localAccountID = "000000000000"
)

// FunctionConfig describes one function and how many processes run it.
type FunctionConfig struct {
	// Name is AWS_LAMBDA_FUNCTION_NAME; default: the name of Binary's folder.
	Name string
	// Binary is the path of the function's bootstrap executable.
	Binary string
	// Env is added to the Lambda environment (and overrides it, except
	// AWS_LAMBDA_RUNTIME_API). AWS_REGION defaults to us-east-1.
	Env map[string]string
	// Concurrency is the number of processes, so of invocations that run at
	// once; default 1.
	Concurrency int
	// Timeout bounds one invocation; default 30s.
	Timeout time.Duration
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE, the function's memory
	// as its template configures it; default 128, Lambda's own. The memory
	// is not enforced.
	MemoryMB int
	// Stdout and Stderr receive the processes' output; default os.Stderr.
	Stdout, Stderr io.Writer
}

// Function is a running function: Concurrency processes of one binary.
type Function struct {
	cfg    FunctionConfig
	region string
	arn    string
	logger *slog.Logger

	// queue hands invocations to whichever process asks for the next event.
	queue    chan *invocation
	stopping chan struct{}
	outMu    sync.Mutex // serialises the processes' writes to Stdout and Stderr

	mu      sync.Mutex // guards stopped and slots[i].proc
	stopped bool
	slots   []*slot

	supervisors sync.WaitGroup
	stopOnce    sync.Once
	stopErr     error
}

// slot is one place for a process; its supervisor replaces the process when it dies.
type slot struct {
	proc *process
}

// Start starts cfg.Concurrency processes of cfg.Binary and returns once each has
// asked for its first event. If a process fails its init (exits, or posts to
// /init/error) Start stops everything and returns an error wrapping an
// *InvokeError with the init error. The function is stopped when ctx ends.
func Start(ctx context.Context, cfg FunctionConfig) (*Function, error) {
	f, err := newFunction(cfg)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	first := make([]*process, len(f.slots))
	for i, s := range f.slots {
		p, err := f.spawn()
		if err != nil {
			f.mu.Unlock()
			_ = f.Stop()
			return nil, fmt.Errorf("start function %s: %w", f.cfg.Name, err)
		}
		s.proc, first[i] = p, p
		f.supervisors.Add(1)
		go f.supervise(s)
	}
	f.mu.Unlock()

	go func() {
		select {
		case <-ctx.Done():
			_ = f.Stop()
		case <-f.stopping:
		}
	}()

	deadline := time.NewTimer(initTimeout)
	defer deadline.Stop()
	for _, p := range first {
		if err := p.waitInit(ctx, deadline.C); err != nil {
			_ = f.Stop()
			return nil, fmt.Errorf("start function %s: %w", f.cfg.Name, err)
		}
	}
	return f, nil
}

func newFunction(cfg FunctionConfig) (*Function, error) {
	if cfg.Binary == "" {
		return nil, errors.New("start function: FunctionConfig.Binary is empty")
	}
	binary, err := filepath.Abs(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("start function: %w", err)
	}
	info, err := os.Stat(binary)
	if err != nil {
		return nil, fmt.Errorf("start function: %w", err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("start function: %s is not an executable file", binary)
	}
	cfg.Binary = binary
	if cfg.Name == "" {
		cfg.Name = filepath.Base(filepath.Dir(binary))
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stderr
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	region := cfg.Env["AWS_REGION"]
	if region == "" {
		region = defaultRegion
	}
	f := &Function{
		cfg:      cfg,
		region:   region,
		arn:      "arn:aws:lambda:" + region + ":" + localAccountID + ":function:" + cfg.Name,
		logger:   slog.Default().With("function", cfg.Name),
		queue:    make(chan *invocation),
		stopping: make(chan struct{}),
		slots:    make([]*slot, cfg.Concurrency),
	}
	for i := range f.slots {
		f.slots[i] = &slot{}
	}
	return f, nil
}

// environ is the environment of one process: Environment and this
// process's Runtime API address.
func (f *Function) environ(api string) []string {
	env := f.Environment()
	env["AWS_LAMBDA_RUNTIME_API"] = api
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// Environment is what the function's processes get but their Runtime API
// address: what Lambda sets for a provided runtime, dummy credentials so
// an SDK never looks further (no instance metadata calls), and cfg.Env.
func (f *Function) Environment() map[string]string {
	env := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(f.cfg.Binary),
		"_HANDLER":                        "bootstrap",
		"AWS_LAMBDA_FUNCTION_NAME":        f.cfg.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cmp.Or(f.cfg.MemoryMB, 128)),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + f.cfg.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + rand.Text(),
		"AWS_REGION":                      f.region,
		"AWS_DEFAULT_REGION":              f.region,
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_EC2_METADATA_DISABLED":       "true",
	}
	maps.Copy(env, f.cfg.Env)
	delete(env, "AWS_LAMBDA_RUNTIME_API")
	return env
}

// Invoke runs one invocation and returns the function's response body, or an
// *InvokeError if the function failed, timed out or crashed. It waits for a
// free process; ctx bounds the wait, not the invocation, which runs on (like a
// Lambda invocation whose caller hung up) until it ends or times out.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("invoke %s: payload of %d bytes, want at most %d", f.cfg.Name, len(payload), maxPayload)
	}
	inv := newInvocation(payload)
	select {
	case f.queue <- inv:
	case <-f.stopping:
		return nil, ErrStopped
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: %w", f.cfg.Name, ctx.Err())
	}
	select {
	case res := <-inv.done:
		return res.body, res.err
	case <-ctx.Done():
		return nil, fmt.Errorf("invoke %s: %w", f.cfg.Name, ctx.Err())
	}
}

// requeue puts back an invocation that a process took but could not run.
func (f *Function) requeue(inv *invocation) {
	select {
	case f.queue <- inv:
	case <-f.stopping:
		inv.finish(nil, ErrStopped)
	}
}

// Stop ends every process (SIGTERM first to those that registered an
// extension, as Lambda does, then SIGKILL to each process group), waits for
// them, closes their listeners and fails pending invocations with ErrStopped.
func (f *Function) Stop() error {
	f.stopOnce.Do(func() {
		f.mu.Lock()
		f.stopped = true
		close(f.stopping)
		var procs []*process
		for _, s := range f.slots {
			if s.proc != nil {
				procs = append(procs, s.proc)
			}
		}
		f.mu.Unlock()

		grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		for _, p := range procs {
			if p.wantsSIGTERM() {
				_ = p.signal(syscall.SIGTERM)
			}
		}
		for _, p := range procs {
			if !p.wantsSIGTERM() {
				continue
			}
			select {
			case <-p.exited:
			case <-grace.Done():
			}
		}
		var errs []error
		for _, p := range procs {
			errs = append(errs, p.signal(syscall.SIGKILL))
		}
		f.supervisors.Wait()
		f.stopErr = errors.Join(errs...)
	})
	return f.stopErr
}

// supervise waits for the slot's process to die, fails what it was running,
// and starts a replacement, backing off while it keeps dying young.
func (f *Function) supervise(s *slot) {
	defer f.supervisors.Done()
	var backoff time.Duration
	for {
		f.mu.Lock()
		p := s.proc
		f.mu.Unlock()

		<-p.exited
		inflight, wasReady := p.retire()
		if f.isStopping() {
			for _, run := range inflight {
				run.timer.Stop()
				run.inv.finish(nil, ErrStopped)
			}
			return
		}
		exitErr := p.exitError()
		for _, run := range inflight {
			run.timer.Stop()
			run.inv.finish(nil, exitErr)
		}
		switch {
		case !wasReady:
			initErr := p.initFailure()
			f.logger.Error("function init failed; restarting", "err", initErr)
			// Lambda returns an init failure to the invocation that waited for it.
			select {
			case inv := <-f.queue:
				inv.finish(nil, initErr)
			default:
			}
		case p.timedOut():
			f.logger.Warn("function timed out; restarting its process", "timeout", f.cfg.Timeout)
		default:
			f.logger.Warn("function process exited; restarting", "err", p.waitErr)
		}

		// Only a process that keeps failing its init could spin; one that
		// crashed during an invocation is replaced at once, as Lambda would.
		if !wasReady {
			backoff = min(max(2*backoff, 100*time.Millisecond), maxRestartBackoff)
		} else {
			backoff = 0
		}
		for {
			if backoff > 0 {
				select {
				case <-time.After(backoff):
				case <-f.stopping:
					return
				}
			}
			f.mu.Lock()
			if f.stopped {
				f.mu.Unlock()
				return
			}
			next, err := f.spawn()
			if err == nil {
				s.proc = next
				f.mu.Unlock()
				break
			}
			f.mu.Unlock()
			f.logger.Error("function restart failed", "err", err)
			backoff = maxRestartBackoff
		}
	}
}

func (f *Function) isStopping() bool {
	select {
	case <-f.stopping:
		return true
	default:
		return false
	}
}

// MeasureInit starts binary once and returns the time from exec until it first
// asks for an event: the init duration Lambda reports for a cold start.
func MeasureInit(ctx context.Context, binary string, env map[string]string) (time.Duration, error) {
	f, err := Start(ctx, FunctionConfig{Binary: binary, Env: env, Stdout: io.Discard, Stderr: io.Discard})
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	p := f.slots[0].proc
	f.mu.Unlock()
	d := p.initDuration()
	if err := f.Stop(); err != nil {
		return 0, err
	}
	return d, nil
}

// invocation is one event on its way through a process.
type invocation struct {
	id      string
	traceID string
	payload []byte
	once    sync.Once
	done    chan result // buffered: finish never blocks
}

type result struct {
	body []byte
	err  error
}

func newInvocation(payload []byte) *invocation {
	return &invocation{id: newRequestID(), traceID: newTraceID(), payload: payload, done: make(chan result, 1)}
}

// finish delivers the outcome once; later outcomes (a response racing a
// timeout) are dropped.
func (inv *invocation) finish(body []byte, err error) {
	inv.once.Do(func() { inv.done <- result{body: body, err: err} })
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newTraceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%x;Parent=%x;Sampled=0", time.Now().Unix(), b[:12], b[12:])
}

// Timeout is how long one invocation may run before its process is
// stopped (FunctionConfig.Timeout, with its default).
func (f *Function) Timeout() time.Duration { return f.cfg.Timeout }
