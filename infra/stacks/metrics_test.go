package stacks_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/spec/schedules"
)

func TestMetricLinesPassEveryAllowedLogLevel(t *testing.T) {
	// GIVEN every application log level Lambda knows
	lambdaLevels := []awslambda.ApplicationLogLevel{
		awslambda.ApplicationLogLevel_TRACE, awslambda.ApplicationLogLevel_DEBUG, awslambda.ApplicationLogLevel_INFO,
		awslambda.ApplicationLogLevel_WARN, awslambda.ApplicationLogLevel_ERROR, awslambda.ApplicationLogLevel_FATAL,
	}
	var allowed []string
	for _, level := range lambdaLevels {
		// WHEN a stage sets it as its logLevel and the config accepts it
		cfg := stacks.DefaultConfig()
		cfg.LogLevel = string(level)
		if cfg.Validate() != nil {
			continue
		}
		allowed = append(allowed, cfg.LogLevel)
		// THEN Lambda's filter at that level passes the level the EMF lines
		// carry.
		// Intent: turning a stage's logs down to WARN or ERROR never drops
		// the metric lines (Lambda files a line without a level as INFO),
		// so no log setting can silence the business metrics and their
		// alarms.
		if !emf.Passes(cfg.LogLevel) {
			t.Errorf("logLevel %s: got metric lines at level %s filtered out, want every allowed level to pass them", cfg.LogLevel, emf.Level)
		}
	}
	if !slices.Contains(allowed, "WARN") || !slices.Contains(allowed, "ERROR") {
		t.Errorf("allowed log levels: got %v, want WARN and ERROR among them (the levels that drop INFO lines)", allowed)
	}
	// AND every function logs JSON filtered at an allowed level, the one
	// setting in which Lambda reads the lines' "level" key at all.
	f := synth(t)
	for _, fn := range ofType(f.services, "AWS::Lambda::Function") {
		lc, _ := fn.Properties["LoggingConfig"].(map[string]any)
		level, _ := lc["ApplicationLogLevel"].(string)
		if lc["LogFormat"] != "JSON" || !slices.Contains(allowed, level) || !emf.Passes(level) {
			t.Errorf("function %s: got logging %v, want JSON filtered at one of %v, which pass level %s", fn.id, lc, allowed, emf.Level)
		}
	}
}

func TestEveryJobHasAnIncompleteRunsAlarm(t *testing.T) {
	// GIVEN the service template, its alarm topic and the jobs
	f := synth(t)
	topic := ofType(f.services, "AWS::SNS::Topic")
	if len(topic) != 1 {
		t.Fatalf("topics: got %d, want 1", len(topic))
	}
	alarms := ofType(f.services, "AWS::CloudWatch::Alarm")
	for _, job := range stacks.FunctionsOfKind(stacks.Functions, stacks.KindJob) {
		// WHEN we find the alarms on the job's JobRunsIncomplete metric
		wantDims := fmt.Sprint(map[string]string{stacks.MetricJobDim: job.Name, stacks.MetricStageDim: f.cfg.Stage})
		var found []named
		for _, a := range alarms {
			p := a.Properties
			if p["Namespace"] != emf.Namespace || p["MetricName"] != emf.JobRunsIncomplete {
				continue
			}
			dims := map[string]string{}
			for _, d := range list(p["Dimensions"]) {
				m, _ := d.(map[string]any)
				dims[fmt.Sprint(m["Name"])] = fmt.Sprint(m["Value"])
			}
			if fmt.Sprint(dims) == wantDims {
				found = append(found, a)
			}
		}
		if len(found) != 1 {
			t.Errorf("%s: got %d alarms on %s by %s, want 1", job.Name, len(found), emf.JobRunsIncomplete, wantDims)
			continue
		}
		p := found[0].Properties
		// THEN it looks at the job's runs hour by hour over the hours of its
		// schedule and fires when every one of them ended incomplete, that
		// is when the last scheduled run of the day still stopped short,
		// and it notifies the alarm topic when it fires and when it clears.
		// Intent: a job whose work of the day is left unfinished pages ops,
		// while a run cut short and resumed within the night, as designed,
		// does not.
		hours := job.Schedule.Hours
		span := slices.Max(hours) - slices.Min(hours) + 1
		want := map[string]any{
			"Statistic": "Minimum", "Period": 3600.0, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"EvaluationPeriods": float64(span), "DatapointsToAlarm": float64(len(hours)), "TreatMissingData": "notBreaching",
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s alarm %s: got %s %v, want %v", job.Name, found[0].id, k, p[k], v)
			}
		}
		// For expire-points, which resumes hourly from 00:05 to 05:05, that
		// is 6 incomplete hours of 6: the alarm waits for the 05:05 run.
		if job.Name == schedules.ExpirePoints && (p["EvaluationPeriods"] != 6.0 || p["DatapointsToAlarm"] != 6.0) {
			t.Errorf("%s alarm: got %v of %v hours, want 6 of 6", job.Name, p["DatapointsToAlarm"], p["EvaluationPeriods"])
		}
		for _, actions := range []string{"AlarmActions", "OKActions"} {
			if got := refs(p[actions]); len(got) != 1 || got[0] != topic[0].id {
				t.Errorf("%s alarm %s: got %s %v, want the alarm topic %s", job.Name, found[0].id, actions, got, topic[0].id)
			}
		}
	}
}
