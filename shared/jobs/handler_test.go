package jobs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Every sample scheduled event decodes as aws-lambda-go's EventBridgeEvent
// without losing a field and gives its job the day and shards it documents.
func TestScheduledEventSamples(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	want := map[string]struct {
		job    string
		day    loyalty.Date
		shards int
	}{
		"expire-points.json":            {jobs.ExpirePoints, "2026-04-01", 0},
		"expire-points-shards-0-7.json": {jobs.ExpirePoints, "2026-04-01", 8},
		"expire-points-catch-up.json":   {jobs.ExpirePoints, "2026-04-01", 0},
		"send-reminders.json":           {jobs.SendReminders, "2026-03-31", 0},
		"win-back.json":                 {jobs.WinBack, "2026-03-30", 0},
		"tier-review.json":              {jobs.TierReview, "2027-03-10", 0},
		// An EventBridge rule's scheduled event names no job: any job runs it.
		"expire-points-rule.json": {"", "2026-04-01", 0},
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "scheduled", "*.json"))
	if len(files) != len(want) {
		t.Fatalf("got %d sample scheduled events, want %d", len(files), len(want))
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		again, _ := json.Marshal(ev)
		var in, out map[string]any
		json.Unmarshal(raw, &in)
		json.Unmarshal(again, &out)
		if !reflect.DeepEqual(in, out) {
			t.Errorf("%s: the round trip changed the event:\n got %v\nwant %v", f, out, in)
		}
		w, ok := want[filepath.Base(f)]
		if !ok {
			t.Fatalf("%s: no expectation for this sample", f)
		}
		for _, job := range []string{jobs.ExpirePoints, jobs.SendReminders, jobs.WinBack, jobs.TierReview} {
			if w.job != "" && job != w.job {
				continue
			}
			req, err := e.jobs.RequestOf(job, ev)
			if err != nil || req.Day != w.day || len(req.Shards) != w.shards {
				t.Errorf("%s for %s: got day %s, %d shards (%v); want %s and %d", f, job, req.Day, len(req.Shards), err, w.day, w.shards)
			}
		}
		for _, other := range []string{jobs.ExpirePoints, jobs.SendReminders, jobs.WinBack, jobs.TierReview} {
			if w.job == "" || other == w.job {
				continue
			}
			if _, err := e.jobs.RequestOf(other, ev); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
				t.Errorf("%s sent to %s: got %v, want %s", f, other, err, loyalty.CodeInvalid)
			}
		}
	}
}

func TestHandlerRunsTheJob(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled", "expire-points.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(ev.Time.Add(3 * time.Second)) // Scheduler invokes just after the scheduled time
	rep, err := e.jobs.Handler(jobs.ExpirePoints)(context.Background(), ev)
	if err != nil || rep.Job != jobs.ExpirePoints || rep.Day != "2026-04-01" || !rep.Complete {
		t.Errorf("handler: got %+v (%v), want a complete expire-points run for 2026-04-01", rep, err)
	}
	bad := ev
	bad.Detail = json.RawMessage(`{"job":"expire-points","shards":"0-99"}`)
	if _, err := e.jobs.Handler(jobs.ExpirePoints)(context.Background(), bad); loyalty.ErrorCode(err) != loyalty.CodeInvalid || !strings.Contains(err.Error(), "shards") {
		t.Errorf("shards out of range: got %v, want %s on shards", err, loyalty.CodeInvalid)
	}
	bad.Detail = json.RawMessage(`{"jobb":"expire-points"}`)
	if _, err := e.jobs.Handler(jobs.ExpirePoints)(context.Background(), bad); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
		t.Errorf("unknown detail field: got %v, want %s", err, loyalty.CodeInvalid)
	}
}

// The scheduler's attempt number arrives as a string (the schedule's input
// puts <aws.scheduler.attempt-number> inside one) or a number; it is read,
// anything else in its place is refused.
func TestDetailAttempt(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	at := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		detail string
		ok     bool
	}{
		{`{"job":"win-back","attempt":"1"}`, true},
		{`{"job":"win-back","attempt":"185"}`, true},
		{`{"job":"win-back","attempt":2}`, true},
		{`{"attempt":"1"}`, true},
		{`{"job":"win-back","attempt":"first"}`, false},
		{`{"job":"win-back","attempt":"-1"}`, false},
		{`{"job":"win-back","attempt":true}`, false},
		{`{"job":"win-back","attempt":"<aws.scheduler.attempt-number>"}`, false},
	} {
		ev := events.EventBridgeEvent{Time: at, Detail: json.RawMessage(c.detail)}
		req, err := e.jobs.RequestOf(jobs.WinBack, ev)
		if c.ok && (err != nil || req.Day != "2026-03-10") {
			t.Errorf("%s: got day %s (%v), want 2026-03-10", c.detail, req.Day, err)
		}
		if !c.ok && loyalty.ErrorCode(err) != loyalty.CodeInvalid {
			t.Errorf("%s: got %v, want %s", c.detail, err, loyalty.CodeInvalid)
		}
	}
}

// A run for a day after today in the program's timezone is refused before
// it reads or writes anything: dated a year ahead, the expiry would expire
// lots valid for another year. Today itself, just after midnight in the
// program's timezone, still runs.
func TestFutureDayIsRefused(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	ctx := context.Background()
	bought := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	e.accrue(t, "m-future", "p1", 12000, bought)
	before := e.account(t, "m-future")
	now := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC) // 00:30 on 11 March in Berlin
	e.clock.Set(now)
	runs := map[string]func(context.Context, jobs.Request) (*jobs.Report, error){
		jobs.ExpirePoints: e.jobs.ExpirePoints, jobs.SendReminders: e.jobs.SendReminders,
		jobs.WinBack: e.jobs.WinBack, jobs.TierReview: e.jobs.ReviewTiers,
	}
	for name, run := range runs {
		for _, day := range []loyalty.Date{"2026-03-12", "2027-03-11", "2030-01-01"} {
			rep, err := run(ctx, jobs.Request{Day: day})
			if loyalty.ErrorCode(err) != loyalty.CodeInvalid || rep != nil || !strings.Contains(err.Error(), "after today (2026-03-11") {
				t.Errorf("%s for %s: got %+v, %v; want %s naming today 2026-03-11", name, day, rep, err, loyalty.CodeInvalid)
			}
		}
		ev := events.EventBridgeEvent{Time: now.AddDate(1, 0, 0), Detail: json.RawMessage(`{"job":"` + name + `","attempt":"1"}`)}
		if _, err := e.jobs.Handler(name)(ctx, ev); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
			t.Errorf("%s scheduled a year ahead: got %v, want %s", name, err, loyalty.CodeInvalid)
		}
		if rep, err := run(ctx, jobs.Request{Day: "2026-03-11"}); err != nil || !rep.Complete {
			t.Errorf("%s for today: got %+v, %v; want a complete run", name, rep, err)
		}
	}
	// The lots (valid for months) are all there: a year-ahead expiry did not run.
	if after := e.account(t, "m-future"); after.Balance != before.Balance || before.Balance == 0 || !reflect.DeepEqual(after.Lots, before.Lots) {
		t.Errorf("after the refused runs: got balance %d lots %v, want %d and %v", after.Balance, after.Lots, before.Balance, before.Lots)
	}
	e.audit(t, "m-future")
}

func (e *env) account(tb testing.TB, member loyalty.MemberID) loyalty.Account {
	tb.Helper()
	a, err := e.store.Account(context.Background(), member)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestScheduleExpressions(t *testing.T) {
	want := map[string][2]string{
		jobs.ExpirePoints:  {"cron(5 0,1,2,3,4,5 * * ? *)", "5 0,1,2,3,4,5 * * *"},
		jobs.SendReminders: {"cron(0 9 * * ? *)", "0 9 * * *"},
		jobs.WinBack:       {"cron(0 6 ? * MON *)", "0 6 * * 1"},
		jobs.TierReview:    {"cron(0 3 * * ? *)", "0 3 * * *"},
	}
	for _, s := range jobs.Schedules {
		if got := [2]string{s.AWS(), s.Cron()}; got != want[s.Job] {
			t.Errorf("%s: got %v, want %v", s.Job, got, want[s.Job])
		}
	}
}
