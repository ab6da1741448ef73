package localstack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/localsched"
	"github.com/loyalty-functions/loyalty/shared/runtimeapi"
)

// The scheduled jobs of the local stack: the real binaries of every job in
// jobs.Schedules (expire-points, send-reminders, win-back, ...), a local EventBridge that keeps what
// they publish in .cache/local-events.jsonl (and logs it), and the local
// scheduler with its control API.
const (
	// EventBusName is the local event bus the functions publish to.
	EventBusName = "loyalty-local"
	// DefaultJobsAddr serves the local EventBridge and the job control API.
	DefaultJobsAddr = "127.0.0.1:3001"
)

// JobOptions configure the scheduled jobs of the local stack.
type JobOptions struct {
	// Schedules runs the jobs on their schedules (jobs.Schedules, in the
	// program's timezone). Without it they run only when asked: loyaltyctl
	// job NAME, or POST /jobs/NAME on the jobs address.
	Schedules bool
	// FastForward, with Schedules, replays one past day of schedules per
	// FastForward of real time, from FastForwardFrom up to now, then goes on
	// in real time. It never runs ahead of today: the jobs refuse that.
	FastForward time.Duration
	// FastForwardFrom is the first day a fast-forward replays; default 7
	// days ago.
	FastForwardFrom time.Time
	// Addr is the local EventBridge endpoint and job control API; default
	// 127.0.0.1:3001, or a free port when the HTTP API's port is 0.
	Addr string
}

type localJobs struct {
	sink  *localsched.Sink
	sched *localsched.Scheduler
	srv   *localsched.Server
}

// startJobs builds and starts the job functions with the local event bus
// and, when asked, their schedules.
func (st *Stack) startJobs(ctx context.Context, root, binDir string, env map[string]string, opts Options) error {
	addr := opts.Jobs.Addr
	if addr == "" {
		addr = DefaultJobsAddr
		if strings.HasSuffix(opts.Addr, ":0") {
			addr = "127.0.0.1:0"
		}
	}
	sink, err := localsched.NewSink(filepath.Join(root, ".cache", "local-events.jsonl"), EventBusName, opts.Logf)
	if err == nil {
		err = sink.Reset()
	}
	if err != nil {
		return fmt.Errorf("localstack: event sink: %w", err)
	}
	srv, err := localsched.Serve(addr, sink, nil)
	if err != nil {
		return err
	}
	st.jobs = &localJobs{sink: sink, srv: srv}
	jobEnv := map[string]string{"EVENT_BUS_NAME": EventBusName, eventbus.EndpointEnv: srv.URL}
	for k, v := range env {
		jobEnv[k] = v
	}
	invokers := map[string]localsched.Invoker{}
	for _, sc := range jobs.Schedules { // every scheduled job has a function of its name
		name := sc.Job
		bin, err := BuildFunction(ctx, root, binDir, name)
		if err != nil {
			return err
		}
		f, err := runtimeapi.Start(ctx, runtimeapi.FunctionConfig{Name: name, Binary: bin, Env: jobEnv, Concurrency: 1,
			Timeout: 5 * time.Minute, Stdout: opts.Logs, Stderr: opts.Logs})
		if err != nil {
			return fmt.Errorf("localstack: start %s: %w", name, err)
		}
		st.funcs[name], invokers[name] = f, f
	}
	st.jobs.sched, err = localsched.NewScheduler(localsched.JobsFromSchedules(invokers), st.Program.Location(), opts.Logf)
	if err != nil {
		return err
	}
	srv.Attach(st.jobs.sched)
	switch {
	case opts.Jobs.Schedules && opts.Jobs.FastForward > 0:
		from := opts.Jobs.FastForwardFrom
		if from.IsZero() {
			from = time.Now().AddDate(0, 0, -7)
		}
		st.jobs.sched.FastForward(from, opts.Jobs.FastForward)
	case opts.Jobs.Schedules:
		st.jobs.sched.Start()
	}
	return nil
}

func (st *Stack) stopJobs(ctx context.Context) error {
	if st.jobs == nil {
		return nil
	}
	if st.jobs.sched != nil {
		st.jobs.sched.Stop()
	}
	return st.jobs.srv.Close(ctx)
}

// JobsURL is the local EventBridge endpoint and job control API.
func (st *Stack) JobsURL() string {
	if st.jobs == nil {
		return ""
	}
	return st.jobs.srv.URL
}

// EventsFile is the JSON Lines file of the events the functions published.
func (st *Stack) EventsFile() string {
	if st.jobs == nil {
		return ""
	}
	return st.jobs.sink.Path()
}

// Events reads back what the functions published.
func (st *Stack) Events() ([]localsched.Event, error) {
	if st.jobs == nil {
		return nil, errors.New("localstack: no jobs running")
	}
	return st.jobs.sink.Events()
}

// RunJob runs a job now for day ("" for today) and returns its report.
func (st *Stack) RunJob(ctx context.Context, name, day string) ([]byte, error) {
	if st.jobs == nil || st.jobs.sched == nil {
		return nil, errors.New("localstack: no jobs running")
	}
	return st.jobs.sched.Run(ctx, name, time.Now(), jobs.Detail{Day: day})
}
