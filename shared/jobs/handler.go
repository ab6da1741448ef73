package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Detail is the detail of the scheduled event that starts a job. The
// EventBridge Scheduler schedule sends it (infra sets it as the target's
// input, in the EventBridge event shape); an EventBridge rule's scheduled
// event sends an empty one. Every field is optional.
type Detail struct {
	// Job names the job the schedule means; a mismatch is refused, so a
	// schedule wired to the wrong function does nothing.
	Job string `json:"job,omitempty"`
	// Day runs the job for this program-local day (YYYY-MM-DD) instead of
	// the day of the event's time: for catching up by hand.
	Day string `json:"day,omitempty"`
	// Shards limits the run to some shards ("0-7"), to split a large day
	// over several schedules or invocations.
	Shards string `json:"shards,omitempty"`
	// Attempt is the scheduler's attempt number (1 for the first delivery,
	// more for its retries), filled in from <aws.scheduler.attempt-number>;
	// it is logged, it changes nothing in the run.
	Attempt Attempt `json:"attempt,omitempty"`
}

// Attempt is an attempt number as the scheduler substitutes it: inside a
// JSON string ("2") in the input infra writes, or as a bare number.
type Attempt int

// MarshalJSON writes the attempt as Scheduler fills it in: a string.
func (a Attempt) MarshalJSON() ([]byte, error) { return json.Marshal(strconv.Itoa(int(a))) }

// UnmarshalJSON takes "2" or 2; anything else is refused.
func (a *Attempt) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b) // not a string: the bare number
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("attempt must be a whole number, got %s", b)
	}
	*a = Attempt(n)
	return nil
}

// Handler is the Lambda handler of one job: it reads the day (the event's
// time in the program's timezone, or detail.day) and the shards from the
// scheduled event and runs the job. The report is the response (the local
// stack prints it); a run cut short by the deadline is not an error, the
// next run resumes from the checkpoints. Each run emits one metric line:
// MembersChanged (and PointsExpired for the expiry), and JobRunsIncomplete,
// 1 when the run stopped before its work was done or returned an error, by
// Stage and Job, which infra alarms on. A refused event is no run and
// emits nothing (the function's Errors alarm covers it). Errors: a
// malformed event (final) and whatever the run returns.
func (j *Jobs) Handler(job string) func(ctx context.Context, ev events.EventBridgeEvent) (*Report, error) {
	run := map[string]func(context.Context, Request) (*Report, error){
		ExpirePoints: j.ExpirePoints, SendReminders: j.SendReminders, WinBack: j.WinBack, TierReview: j.ReviewTiers}[job]
	return func(ctx context.Context, ev events.EventBridgeEvent) (*Report, error) {
		req, attempt, err := j.requestOf(job, ev)
		if err != nil {
			j.Log.Error("scheduled event refused", "job", job, "eventId", ev.ID, "error", err.Error())
			return nil, err
		}
		j.Log.Info("job starts", "job", job, "day", req.Day, "shards", len(req.Shards), "eventId", ev.ID, "scheduledAt", ev.Time, "attempt", attempt)
		rep, err := run(ctx, req)
		incomplete := int64(0)
		if err != nil || rep == nil || !rep.Complete {
			incomplete = 1
		}
		counts := map[string]int64{emf.JobRunsIncomplete: incomplete}
		if rep != nil {
			counts["MembersChanged"] = int64(rep.Changed)
			if job == ExpirePoints {
				counts["PointsExpired"] = rep.Points
			}
		}
		if err := j.Metrics.EmitBy(j.Service.Clock.Now(), map[string]string{emf.JobDimension: job}, counts); err != nil {
			j.Log.Error("emit metrics", "error", err)
		}
		return rep, err
	}
}

// RequestOf reads a job's request from its scheduled event: the input an
// EventBridge Scheduler schedule sends (infra's, with the context attributes
// filled in) or an EventBridge rule's scheduled event. Errors: invalid
// (final) for a malformed detail.
func (j *Jobs) RequestOf(job string, ev events.EventBridgeEvent) (Request, error) {
	req, _, err := j.requestOf(job, ev)
	return req, err
}

func (j *Jobs) requestOf(job string, ev events.EventBridgeEvent) (Request, Attempt, error) {
	var d Detail
	if raw := bytes.TrimSpace(ev.Detail); len(raw) > 0 && string(raw) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return Request{}, 0, loyalty.Invalid("detail", "the scheduled event's detail is not a job detail: %v", err)
		}
	}
	if d.Job != "" && d.Job != job {
		return Request{}, 0, loyalty.Invalid("detail.job", "this function runs %s, the event is for %s", job, d.Job)
	}
	req := Request{}
	switch {
	case d.Day != "":
		day, err := loyalty.ParseDate(d.Day)
		if err != nil {
			return Request{}, 0, loyalty.Invalid("detail.day", "%v", err)
		}
		req.Day = day
	case !ev.Time.IsZero():
		req.Day = j.Service.Program.Today(ev.Time)
	default:
		return Request{}, 0, loyalty.Invalid("time", "the scheduled event has no time and no detail.day")
	}
	shards, err := ParseShards(d.Shards, j.Config.Shards)
	if err != nil {
		return Request{}, 0, err
	}
	req.Shards = shards
	return req, d.Attempt, nil
}

// String names a request in logs.
func (r Request) String() string { return fmt.Sprintf("%s shards %v", r.Day, r.Shards) }

// ConfigFromEnvironment reads the tuning of a job function from its
// environment: JOB_CONCURRENCY (members at once, default 8), JOB_PAGE_SIZE
// (index entries per Query, 100), JOB_LOOKBACK_DAYS (catch-up days, 7) and
// JOB_STOP_MARGIN (a Go duration, 10s). Shards are the store's to set.
func ConfigFromEnvironment(getenv func(string) string) (Config, error) {
	var c Config
	for _, v := range []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"JOB_CONCURRENCY", &c.Concurrency, 1, 64},
		{"JOB_PAGE_SIZE", &c.PageSize, 1, 1000},
		{"JOB_LOOKBACK_DAYS", &c.LookbackDays, 1, 60},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < v.min || n > v.max {
			return Config{}, fmt.Errorf("%s must be an integer from %d to %d, got %q", v.name, v.min, v.max, s)
		}
		*v.dst = n
	}
	if s := getenv("JOB_STOP_MARGIN"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("JOB_STOP_MARGIN must be a positive duration like 10s, got %q", s)
		}
		c.StopMargin = d
	}
	return c, nil
}
