package localstack

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/local/localsched"
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
func (st *Stack) startJobs(ctx context.Context, eventsFile string, opts Options) error {
	sink, err := localsched.NewSink(eventsFile, st.plan.busName, opts.Logf)
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
	srv.Authorize(st.eventsAuthorizer())
	return nil
}

// scheduleJobs puts the started job functions on the local scheduler and,
// when asked, on their schedules.
func (st *Stack) scheduleJobs(opts Options) error {
	var list []localsched.Job
	for _, sc := range st.plan.schedules { // the template's schedules
		spec := sc.cron
		if spec != "" {
			spec = "CRON_TZ=" + sc.loc.String() + " " + spec
		}
		list = append(list, localsched.Job{Name: sc.function, Spec: spec, Function: st.funcs[sc.function],
			Input: sc.schedule.Target.Input, ScheduleARN: sc.schedule.ARN})
	}
	var err error
	st.jobs.sched, err = localsched.NewScheduler(list, st.Program.Location(), opts.Logf)
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

// Schedule is a schedule of the template as the local stack runs it.
type Schedule struct {
	Job        string // the target function
	Expression string // ScheduleExpression, "cron(5 0,1,2 * * ? *)"
	Timezone   string // ScheduleExpressionTimezone
	// Spec is what the local scheduler runs ("CRON_TZ=Europe/Berlin 5 0,1,2 * * *"); empty
	// when the expression cannot run locally (it was listed at start).
	Spec  string
	Input string // the target input, context attributes unfilled
	ARN   string // <aws.scheduler.schedule-arn>
}

// Schedules are the template's schedules the stack runs, in template order.
func (st *Stack) Schedules() []Schedule {
	var out []Schedule
	for _, sc := range st.plan.schedules {
		s := Schedule{Job: sc.function, Expression: sc.schedule.ScheduleExpression, Timezone: sc.loc.String(),
			Input: sc.schedule.Target.Input, ARN: sc.schedule.ARN}
		if sc.cron != "" {
			s.Spec = "CRON_TZ=" + sc.loc.String() + " " + sc.cron
		}
		out = append(out, s)
	}
	return out
}

// RunScheduled runs a job as its schedule does at at: the template's input,
// byte for byte, with Scheduler's context attributes filled in.
func (st *Stack) RunScheduled(ctx context.Context, name string, at time.Time) ([]byte, error) {
	if st.jobs == nil || st.jobs.sched == nil {
		return nil, errors.New("localstack: no jobs running")
	}
	return st.jobs.sched.Run(ctx, name, at, jobs.Detail{})
}
