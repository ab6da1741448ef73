package jobs_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Every sample scheduled event decodes as aws-lambda-go's EventBridgeEvent
// without losing a field and gives its job the day and shards it documents.
func TestScheduledEventSamples(t *testing.T) {
	e := newEnv(t, jobs.Config{})
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
		w := want[filepath.Base(f)]
		req, err := e.jobs.RequestOf(w.job, ev)
		if err != nil || req.Day != w.day || len(req.Shards) != w.shards {
			t.Errorf("%s: got day %s, %d shards (%v); want %s and %d", f, req.Day, len(req.Shards), err, w.day, w.shards)
		}
		for _, other := range []string{jobs.ExpirePoints, jobs.SendReminders, jobs.WinBack, jobs.TierReview} {
			if other == w.job {
				continue
			}
			if _, err := e.jobs.RequestOf(other, ev); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
				t.Errorf("%s sent to %s: got %v, want %s", f, other, err, loyalty.CodeInvalid)
			}
		}
	}
}

func TestHandlerRunsTheJob(t *testing.T) {
	e := newEnv(t, jobs.Config{})
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "scheduled", "expire-points.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
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
