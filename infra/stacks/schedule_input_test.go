package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// renderSchedulerInput turns a schedule target's Input, as the template
// holds it, into the bytes EventBridge Scheduler hands the function: the
// template's Fn::Join and pseudo parameters resolved for an account and
// region, then each context attribute replaced by its value, as the
// Scheduler user guide describes ("Adding context attributes").
func renderSchedulerInput(tb testing.TB, input any, attrs map[string]string) []byte {
	tb.Helper()
	pseudo := map[string]string{"AWS::AccountId": "123456789012", "AWS::Region": "eu-central-1", "AWS::Partition": "aws"}
	var resolve func(v any) string
	resolve = func(v any) string {
		switch v := v.(type) {
		case string:
			return v
		case map[string]any:
			if ref, ok := v["Ref"].(string); ok {
				if s, ok := pseudo[ref]; ok {
					return s
				}
			}
			if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
				parts, _ := join[1].([]any)
				var b strings.Builder
				for _, p := range parts {
					b.WriteString(resolve(p))
				}
				return b.String()
			}
		}
		tb.Fatalf("schedule input: got %v, want a string, Fn::Join or a pseudo parameter", v)
		return ""
	}
	s := resolve(input)
	for k, v := range attrs {
		s = strings.ReplaceAll(s, "<aws.scheduler."+k+">", v)
	}
	if strings.Contains(s, "<aws.scheduler.") {
		tb.Fatalf("schedule input: a context attribute the test does not know is left in %s", s)
	}
	return []byte(s)
}

func TestEverySchedulesInputStartsItsJob(t *testing.T) {
	// GIVEN the service template, the program file and, for each job, its
	// schedule's input as Scheduler delivers it on a first and a third attempt
	f := synth(t)
	prog, err := config.ReadProgram(filepath.Join("..", "..", "program.json"))
	if err != nil {
		t.Fatal(err)
	}
	scheduled := time.Date(2026, 3, 31, 22, 5, 0, 0, time.UTC) // 00:05 on 1 April in Berlin
	for _, job := range stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob) {
		fnID := f.functionID(t, job.Name)
		for _, s := range ofType(f.services, "AWS::Scheduler::Schedule") {
			target, _ := s.Properties["Target"].(map[string]any)
			if !contains(refs(target["Arn"]), fnID) {
				continue
			}
			for _, attempt := range []string{"1", "3"} {
				raw := renderSchedulerInput(t, target["Input"], map[string]string{
					"schedule-arn":   "arn:aws:scheduler:eu-central-1:123456789012:schedule/default/" + s.id,
					"scheduled-time": scheduled.Format(time.RFC3339),
					"execution-id":   "d32c5kddcf5bb8c3",
					"attempt-number": attempt,
				})
				// WHEN the job function's handler takes it as Lambda decodes it
				var ev events.EventBridgeEvent
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatalf("%s: the input is not an EventBridge event: %v\n%s", job.Name, err, raw)
				}
				j := jobs.New(nil, prog, loyalty.ClockFunc(func() time.Time { return scheduled.Add(2 * time.Second) }), nil, jobs.Config{Shards: 16}, nil)
				req, err := j.RequestOf(job.Name, ev)
				// THEN the job accepts it and runs for the program-local day of
				// the scheduled time, over every shard (no shard list).
				// Intent: what infra synthesizes is what the jobs accept; a
				// refused input would end every run in the schedule's DLQ.
				if err != nil {
					t.Errorf("%s attempt %s: got %v, want the input accepted\n%s", job.Name, attempt, err, raw)
					continue
				}
				if req.Day != "2026-04-01" || req.Shards != nil {
					t.Errorf("%s attempt %s: got day %s and shards %v, want 2026-04-01 and all shards", job.Name, attempt, req.Day, req.Shards)
				}
			}
		}
	}
}

func TestScheduledSamplesHaveTheShapeTheSchedulesSend(t *testing.T) {
	// GIVEN each job's schedule input as Scheduler delivers it
	f := synth(t)
	for _, job := range stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob) {
		fnID := f.functionID(t, job.Name)
		for _, s := range ofType(f.services, "AWS::Scheduler::Schedule") {
			target, _ := s.Properties["Target"].(map[string]any)
			if !contains(refs(target["Arn"]), fnID) {
				continue
			}
			raw := renderSchedulerInput(t, target["Input"], map[string]string{
				"schedule-arn": "arn", "scheduled-time": "2026-03-31T22:05:00Z", "execution-id": "id", "attempt-number": "1"})
			// WHEN we compare it with the job's sample in events/scheduled
			sample, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled", job.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			// THEN both have the same fields, in the detail too, and the same
			// kinds of values: the samples the jobs' tests load are what AWS sends.
			if got, want := shapeOf(t, raw), shapeOf(t, sample); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: got sample shape %v, want the schedule's %v", job.Name, want, got)
			}
		}
	}
}

// shapeOf maps each field path of a JSON document to the kind of its value.
func shapeOf(tb testing.TB, raw []byte) map[string]string {
	tb.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		default:
			out[path] = fmt.Sprintf("%T", v)
		}
	}
	walk("", v)
	return out
}
