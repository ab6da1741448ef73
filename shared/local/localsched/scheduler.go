package localsched

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/robfig/cron/v3"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Invoker runs one invocation of a function; *runtimeapi.Function is one.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Job is a scheduled function.
type Job struct {
	Name     string // the job, as in jobs.ExpirePoints
	Spec     string // five-field cron spec in the scheduler's timezone ("CRON_TZ=Europe/Berlin 5 0 * * *" for another); empty: only run when asked
	Function Invoker
	// Input, when set, is the schedule's target input as the template
	// declares it: a run sends it byte for byte, with Scheduler's context
	// attributes (<aws.scheduler.schedule-arn>, scheduled-time,
	// execution-id, attempt-number) filled in, as EventBridge Scheduler
	// does. Without it a run sends Payload's scheduled event.
	Input string
	// ScheduleARN fills <aws.scheduler.schedule-arn>.
	ScheduleARN string
}

// SchedulerInput fills Scheduler's context attributes into a schedule's
// target input, as EventBridge Scheduler does for each delivery: the
// schedule's ARN, the scheduled time in UTC to the second, a new
// execution id and the attempt number.
func SchedulerInput(input, scheduleARN string, at time.Time, attempt int) []byte {
	return []byte(strings.NewReplacer(
		"<aws.scheduler.schedule-arn>", scheduleARN,
		"<aws.scheduler.scheduled-time>", at.UTC().Truncate(time.Second).Format(time.RFC3339),
		"<aws.scheduler.execution-id>", newID(),
		"<aws.scheduler.attempt-number>", strconv.Itoa(attempt),
	).Replace(input))
}

// Scheduler invokes jobs on their schedules with the payload EventBridge
// Scheduler sends (see events/scheduled).
type Scheduler struct {
	jobs map[string]Job
	list []Job
	loc  *time.Location
	logf func(format string, args ...any)

	mu     sync.Mutex // one invocation of a job at a time, as a Lambda with reserved concurrency 1
	cronMu sync.Mutex // guards cron: a fast-forward starts it when it reaches today
	cron   *cron.Cron
	stop   context.CancelFunc
	done   chan struct{}
}

// NewScheduler schedules jobs in loc (the program's timezone).
func NewScheduler(list []Job, loc *time.Location, logf func(format string, args ...any)) (*Scheduler, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s := &Scheduler{jobs: map[string]Job{}, list: list, loc: loc, logf: logf}
	for _, j := range list {
		if j.Spec == "" {
			s.jobs[j.Name] = j
			continue
		}
		if _, err := cron.ParseStandard(j.Spec); err != nil {
			return nil, fmt.Errorf("localsched: schedule of %s: %w", j.Name, err)
		}
		s.jobs[j.Name] = j
	}
	return s, nil
}

// JobsFromSchedules pairs the project's schedules (jobs.Schedules) with the
// running functions of the same names.
func JobsFromSchedules(functions map[string]Invoker) []Job {
	var out []Job
	for _, sc := range jobs.Schedules {
		if f, ok := functions[sc.Job]; ok {
			out = append(out, Job{Name: sc.Job, Spec: sc.Cron(), Function: f})
		}
	}
	return out
}

// Payload is what EventBridge Scheduler sends a job's function for a run
// scheduled at at.
func Payload(job string, at time.Time, detail jobs.Detail) ([]byte, error) {
	if detail.Job == "" {
		detail.Job = job
	}
	if detail.Attempt == 0 {
		detail.Attempt = 1 // Scheduler's first delivery
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return nil, err
	}
	return json.Marshal(events.EventBridgeEvent{Version: "0", ID: newID(), DetailType: "Scheduled Event", Source: "aws.scheduler",
		AccountID: localAccount, Time: at.UTC().Truncate(time.Second), Region: localRegion,
		Resources: []string{fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/local/%s", localRegion, localAccount, job)}, Detail: d})
}

// Run invokes a job now as if scheduled at at, with detail, and returns the
// function's response (the job's report).
func (s *Scheduler) Run(ctx context.Context, name string, at time.Time, detail jobs.Detail) ([]byte, error) {
	j, ok := s.jobs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	var payload []byte
	var err error
	if j.Input != "" && detail == (jobs.Detail{}) {
		payload = SchedulerInput(j.Input, j.ScheduleARN, at, 1)
	} else if payload, err = Payload(name, at, detail); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	out, err := j.Function.Invoke(ctx, payload)
	if err != nil {
		s.logf("job %s (scheduled %s) failed after %s: %v", name, at.In(s.loc).Format(time.RFC3339), time.Since(start).Round(time.Millisecond), err)
		return nil, err
	}
	s.logf("job %s (scheduled %s) done in %s: %s", name, at.In(s.loc).Format(time.RFC3339), time.Since(start).Round(time.Millisecond), out)
	return out, nil
}

// ErrUnknownJob says no job of that name is scheduled here.
var ErrUnknownJob = fmt.Errorf("no such job")

// Start runs the jobs on their schedules in real time until Stop.
func (s *Scheduler) Start() {
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	s.cron = cron.New(cron.WithLocation(s.loc))
	for _, j := range s.list {
		if j.Spec == "" {
			continue
		}
		s.cron.AddFunc(j.Spec, func() {
			s.Run(context.Background(), j.Name, time.Now(), jobs.Detail{})
		})
	}
	s.cron.Start()
	s.logf("local scheduler: %d jobs on their schedules (%s)", len(s.list), s.loc)
}

// FastForward replays the schedules of past days, one simulated day per
// every of real time, from the day of from up to now, then goes on with the
// schedules in real time (Start). Each job runs with the payload of its
// simulated time, so the functions work on that day (their ledger entries
// still carry the real time). It never runs a day ahead: the jobs refuse a
// day after today, as they do on AWS. It stops with Stop.
func (s *Scheduler) FastForward(from time.Time, every time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	y, m, d := from.In(s.loc).Date()
	sim := time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	s.logf("local scheduler: fast-forward from %s to today, one day every %s", sim.Format("2006-01-02"), every)
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			next, now := sim.AddDate(0, 0, 1), time.Now()
			if next.After(now) {
				s.runBetween(ctx, sim, now)
				if ctx.Err() == nil {
					s.Start()
				}
				return
			}
			s.runBetween(ctx, sim, next)
			sim = next
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// runBetween runs, in time order, every scheduled run in [from, to).
func (s *Scheduler) runBetween(ctx context.Context, from, to time.Time) {
	type run struct {
		at  time.Time
		job string
	}
	var runs []run
	for _, j := range s.list {
		if j.Spec == "" {
			continue
		}
		sched, _ := cron.ParseStandard(j.Spec)
		for at := sched.Next(from.Add(-time.Second)); at.Before(to); at = sched.Next(at) {
			runs = append(runs, run{at, j.Name})
		}
	}
	for i := 1; i < len(runs); i++ {
		for k := i; k > 0 && runs[k].at.Before(runs[k-1].at); k-- {
			runs[k], runs[k-1] = runs[k-1], runs[k]
		}
	}
	for _, r := range runs {
		if ctx.Err() != nil {
			return
		}
		s.Run(ctx, r.job, r.at, jobs.Detail{})
	}
}

// Stop stops the schedules and waits for a fast-forward in progress.
func (s *Scheduler) Stop() {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	s.cronMu.Lock()
	defer s.cronMu.Unlock()
	if s.cron != nil {
		<-s.cron.Stop().Done()
	}
}

// Day is the program-local day of an instant, for logs and the control API.
func (s *Scheduler) Day(t time.Time) loyalty.Date { return loyalty.DateOf(t, s.loc) }
