// Package emf writes CloudWatch Embedded Metric Format lines: one JSON line
// on stdout that CloudWatch Logs turns into metrics, with no API call in the
// request path. Namespace "Loyalty", dimension "Stage" (and "Job" for the
// job runs), as the alarms in infra expect.
//
// Every line carries "level": "FATAL" and an RFC 3339 "timestamp", because
// the functions log in Lambda's JSON format with application log-level
// filtering on (infra sets ApplicationLogLevel from the stage's logLevel).
// For a custom runtime such as provided.al2023, Lambda reads the level of a
// JSON line on stdout from its "level" key; a line whose "level" is missing
// or invalid (or that has no valid timestamp) is given INFO, and a filter
// at WARN or ERROR drops INFO lines
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
// A metric line dropped there never reaches CloudWatch Logs, so the metric
// and every alarm on it would go quiet the day someone turned the level up.
// FATAL is the least detailed of Lambda's levels, so every filter Lambda
// offers, from TRACE to FATAL, passes it (see Passes; an infra test holds
// the stage's allowed levels to it). The level is a routing label here, not
// a severity: nothing else logs FATAL (slog has no such level), and an
// error search on level ERROR does not see the metric lines. The EMF
// specification lets the root object carry members that are not metrics,
// so CloudWatch ignores both keys when it extracts the metrics.
//
// It imports the standard library only.
package emf

import (
	"encoding/json"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// Namespace of every business metric.
const Namespace = "Loyalty"

// Dimension and metric names the code writes and infra's alarms read.
const (
	// StageDimension is on every metric.
	StageDimension = "Stage"
	// JobDimension names the scheduled job of a run's metrics.
	JobDimension = "Job"
	// PartnerDimension names the partner of a partner's accrual metrics.
	PartnerDimension = "Partner"
	// PartnerPointsAccrued is the points a partner's purchases credited, by
	// Stage and Partner: an unusual amount for a partner alarms.
	PartnerPointsAccrued = "PartnerPointsAccrued"
	// JobRunsIncomplete is 1 for a job run that stopped before its work
	// was done (at the deadline, or with an error) and 0 for one that
	// finished, by Stage and Job.
	JobRunsIncomplete = "JobRunsIncomplete"
)

// Level is the "level" of every line: the one Lambda's application
// log-level filter passes at every setting.
const Level = "FATAL"

// lambdaLevels are Lambda's application log levels, most detailed first; a
// filter set to one sends it and every level after it.
var lambdaLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// Passes reports whether Lambda, with its application log level set to
// filter, sends the metric lines on to CloudWatch Logs. An unknown filter
// passes nothing.
func Passes(filter string) bool {
	f := slices.Index(lambdaLevels, filter)
	return f >= 0 && slices.Index(lambdaLevels, Level) >= f
}

// Writer emits metric lines to W (os.Stdout in a Lambda).
type Writer struct {
	W     io.Writer
	Stage string
	mu    sync.Mutex
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Emit writes one line with the given counts (unit Count) by Stage. Zero
// values are written too, so a quiet period shows as 0 rather than as
// missing data.
func (w *Writer) Emit(at time.Time, counts map[string]int64) error {
	return w.EmitBy(at, nil, counts)
}

// EmitBy writes one line like Emit whose counts are published by Stage and
// also by Stage and the dimensions of by (JobDimension: the job's name).
func (w *Writer) EmitBy(at time.Time, by map[string]string, counts map[string]int64) error {
	if w == nil || w.W == nil || len(counts) == 0 {
		return nil
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	line := map[string]any{
		StageDimension: w.Stage,
		"level":        Level,
		"timestamp":    at.UTC().Format(time.RFC3339Nano),
	}
	ms := make([]metric, 0, len(names))
	for _, n := range names {
		ms = append(ms, metric{Name: n, Unit: "Count"})
		line[n] = counts[n]
	}
	dims := [][]string{{StageDimension}}
	if len(by) > 0 {
		set := []string{StageDimension}
		for d, v := range by {
			set = append(set, d)
			line[d] = v
		}
		sort.Strings(set[1:])
		dims = append(dims, set)
	}
	line["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace": Namespace, "Dimensions": dims, "Metrics": ms,
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err = w.W.Write(append(b, '\n'))
	return err
}
