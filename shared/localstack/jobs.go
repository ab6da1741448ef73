package localstack

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/localsched"
)

// The scheduled jobs of the local stack: the real binaries of every job in
// jobs.Schedules (expire-points, send-reminders, win-back, ...), a local
// EventBridge that appends what they publish to events.jsonl in the data
// folder (and logs it), and the local scheduler with its control API.
const (
	// EventBusName is the local event bus the functions publish to.
	EventBusName = "loyalty-local"
	// DefaultJobsAddr serves the local EventBridge and the job control API
	// beside the HTTP API's default address.
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
	// the port after the HTTP API's (127.0.0.1:3001 beside 3000), or a free
	// port when the HTTP API's port is 0.
	Addr string
}

type localJobs struct {
	sink  *localsched.Sink
	sched *localsched.Scheduler
	srv   *localsched.Server
}

// startJobs starts the local event bus, which appends what the functions
// publish to eventsFile (kept across restarts with a data folder), and the
// job control API.
func (st *Stack) startJobs(ctx context.Context, eventsFile string, env map[string]string, opts Options) error {
	sink, err := localsched.NewSink(eventsFile, EventBusName, opts.Logf)
	if err != nil {
		return fmt.Errorf("localstack: event sink: %w", err)
	}
	srv, err := localsched.Serve(opts.Jobs.Addr, sink, nil)
	if errors.Is(err, syscall.EADDRINUSE) {
		return &AddrInUseError{Part: PartJobs, Addr: opts.Jobs.Addr}
	}
	if err != nil {
		return err
	}
	st.jobs = &localJobs{sink: sink, srv: srv}
	return nil
}

// env is the job functions' environment: the functions' own and the
// local event bus.
func (j *localJobs) env(base map[string]string) map[string]string {
	env := map[string]string{"EVENT_BUS_NAME": EventBusName, eventbus.EndpointEnv: j.srv.URL}
	for k, v := range base {
		env[k] = v
	}
	return env
}

// scheduleJobs puts the started job functions on the local scheduler and,
// when asked, on their schedules.
func (st *Stack) scheduleJobs(opts Options) error {
	invokers := map[string]localsched.Invoker{}
	for _, sc := range jobs.Schedules { // every scheduled job has a function of its name
		invokers[sc.Job] = st.funcs[sc.Job]
	}
	var err error
	st.jobs.sched, err = localsched.NewScheduler(localsched.JobsFromSchedules(invokers), st.Program.Location(), opts.Logf)
	if err != nil {
		return err
	}
	st.jobs.srv.Attach(st.jobs.sched)
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
