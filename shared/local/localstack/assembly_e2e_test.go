package localstack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/loyalty-functions/loyalty/shared/local/assembly"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

// The stack runs the cloud assembly the project's CDK app synthesizes: the
// functions' timeouts, the schedules and their inputs come from its
// templates, not from a table of the local stack.
func TestTheStackRunsTheSynthesizedAssembly(t *testing.T) {
	asm, err := assembly.Load(stack.AssemblyDir, assembly.Env{Account: "000000000000", Region: localstack.Region})
	if err != nil {
		t.Fatal(err)
	}
	scheds, err := asm.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	got := stack.Schedules()
	if len(got) != len(scheds) || len(got) == 0 {
		t.Fatalf("schedules: got %d run locally, the template has %d", len(got), len(scheds))
	}
	for i, s := range scheds {
		if got[i].Expression != s.ScheduleExpression || got[i].Timezone != s.ScheduleExpressionTimezone || got[i].Input != s.Target.Input {
			t.Errorf("schedule %s: got %+v, want the template's %s in %s with its input", s.LogicalID, got[i], s.ScheduleExpression, s.ScheduleExpressionTimezone)
		}
		if !strings.Contains(s.Target.Input, "<aws.scheduler.attempt-number>") {
			t.Errorf("schedule %s: input %s has no attempt number to fill", s.LogicalID, s.Target.Input)
		}
	}
}

// Every scheduled job runs through its schedule exactly as the template
// defines it: at its last fire time up to now in the schedule's timezone,
// with the template's input and Scheduler's context attributes filled in.
// Each run completes and the audit of the whole table stays clean; the
// same schedule fired for a day after today is refused.
func TestEveryScheduledJobRunsThroughItsTemplateSchedule(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	for _, s := range stack.Schedules() {
		if s.Spec == "" {
			t.Fatalf("schedule of %s: %s does not run locally", s.Job, s.Expression)
		}
		sched, err := cron.ParseStandard(s.Spec)
		if err != nil {
			t.Fatalf("schedule of %s: %v", s.Job, err)
		}
		var last time.Time
		for at := sched.Next(now.AddDate(0, 0, -8)); !at.After(now); at = sched.Next(at) {
			last = at
		}
		if last.IsZero() {
			t.Fatalf("schedule of %s (%s): no fire time in the last 8 days", s.Job, s.Spec)
		}
		out, err := stack.RunScheduled(ctx, s.Job, last)
		if err != nil {
			t.Fatalf("%s scheduled %s: %v", s.Job, last, err)
		}
		var rep struct {
			Job      string `json:"job"`
			Complete bool   `json:"complete"`
		}
		if err := json.Unmarshal(out, &rep); err != nil || !rep.Complete || rep.Job != s.Job {
			t.Errorf("%s scheduled %s: got %s, want a complete run of %s", s.Job, last, out, s.Job)
		}

		future := sched.Next(now.Add(48 * time.Hour))
		_, err = stack.RunScheduled(ctx, s.Job, future)
		var ie *runtimeapi.InvokeError
		if !errors.As(err, &ie) || !strings.Contains(ie.Message, "day") {
			t.Errorf("%s scheduled %s (a day ahead): got %v, want the run refused for its day", s.Job, future, err)
		} else {
			t.Logf("%s scheduled %s refused: %s", s.Job, future.Format(time.RFC3339), ie.Message)
		}
	}
	rep, err := stack.Store.Audit(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 {
		t.Errorf("audit after the scheduled runs: got %d problems %+v, want none", len(rep.Problems), rep.Problems)
	}
}

// Each function runs with the template's memory as
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE and the template's environment, the Go
// collector's settings among it (shared/spec/gogc).
func TestFunctionsHaveTheTemplatesMemoryAndEnvironment(t *testing.T) {
	fns := templateFunctions(t)
	for _, f := range fns {
		name := strings.TrimPrefix(f.Description, "Loyalty ")
		env := stack.FunctionEnvironment(name)
		if got, want := env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], strconv.Itoa(f.MemorySize); got != want || f.MemorySize < 256 {
			t.Errorf("function %s: AWS_LAMBDA_FUNCTION_MEMORY_SIZE %q, template %d MB", name, got, f.MemorySize)
		}
		for k, want := range gogc.Env(f.MemorySize) {
			if got := env[k]; got != want || f.Environment.Variables[k] != want {
				t.Errorf("function %s: %s is %q locally and %q in the template, want %q", name, k, got, f.Environment.Variables[k], want)
			}
		}
	}
}

// A function that runs past the template's timeout is stopped as Lambda
// stops it: the error is Sandbox.Timedout with Lambda's message.
func TestFunctionsHaveTheTemplatesTimeouts(t *testing.T) {
	fns := templateFunctions(t)
	for _, f := range fns {
		name := strings.TrimPrefix(f.Description, "Loyalty ")
		if got := stack.FunctionTimeout(name); got != time.Duration(f.Timeout)*time.Second {
			t.Errorf("function %s: local timeout %s, template %d s", name, got, f.Timeout)
		}
	}
}

// templateFunctions are the functions of the assembly the stack runs.
func templateFunctions(t *testing.T) []assembly.Function {
	t.Helper()
	asm, err := assembly.Load(stack.AssemblyDir, assembly.Env{Account: "000000000000", Region: localstack.Region})
	if err != nil {
		t.Fatal(err)
	}
	fns, err := asm.Functions()
	if err != nil {
		t.Fatal(err)
	}
	return fns
}
