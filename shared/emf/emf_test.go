package emf_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/emf"
)

func TestEmitWritesOneEMFLine(t *testing.T) {
	var buf bytes.Buffer
	w := &emf.Writer{W: &buf, Stage: "test"}
	if err := w.Emit(time.UnixMilli(1700000000000), map[string]int64{"PointsRedeemed": 20, "RedemptionsIssued": 1}); err != nil {
		t.Fatal(err)
	}
	var line struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage          string
		PointsRedeemed int64
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	cw := line.AWS.CloudWatchMetrics
	if line.AWS.Timestamp != 1700000000000 || len(cw) != 1 || cw[0].Namespace != "Loyalty" || len(cw[0].Metrics) != 2 ||
		cw[0].Dimensions[0][0] != "Stage" || line.Stage != "test" || line.PointsRedeemed != 20 {
		t.Errorf("got %s, want an EMF line in namespace Loyalty with 2 metrics by Stage", buf.String())
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Errorf("got %q, want exactly one line", buf.String())
	}
}

// Lambda gives a JSON line without a valid "level" (or timestamp) the level
// INFO, and a WARN or ERROR filter drops INFO: every line names a level that
// every filter passes, and a valid RFC 3339 timestamp, so no log level
// setting can silence the metrics.
func TestEveryLineCarriesALevelEveryLambdaFilterPasses(t *testing.T) {
	var buf bytes.Buffer
	w := &emf.Writer{W: &buf, Stage: "test"}
	at := time.Date(2026, 4, 1, 3, 5, 7, 123_000_000, time.UTC)
	if err := w.Emit(at, map[string]int64{"PointsAccrued": 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.EmitBy(at, map[string]string{emf.JobDimension: "expire-points"}, map[string]int64{emf.JobRunsIncomplete: 1}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2", len(lines))
	}
	for _, raw := range lines {
		var line struct {
			Level     any    `json:"level"`
			Timestamp string `json:"timestamp"`
		}
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("not JSON: %q", raw)
		}
		if line.Level != emf.Level {
			t.Errorf("level: got %v, want %q in %s", line.Level, emf.Level, raw)
		}
		if ts, err := time.Parse(time.RFC3339, line.Timestamp); err != nil || !ts.Equal(at) {
			t.Errorf("timestamp: got %q (%v), want %s as RFC 3339", line.Timestamp, err, at.Format(time.RFC3339Nano))
		}
	}
	for _, filter := range []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"} {
		if !emf.Passes(filter) {
			t.Errorf("Passes(%s): got false, want every Lambda application log level to pass %s", filter, emf.Level)
		}
	}
	for _, filter := range []string{"", "info", "CRITICAL"} {
		if emf.Passes(filter) {
			t.Errorf("Passes(%q): got true, want false for a level Lambda does not know", filter)
		}
	}
}

// EmitBy publishes the counts by Stage and by Stage and the extra dimension.
func TestEmitByAddsADimensionSet(t *testing.T) {
	var buf bytes.Buffer
	w := &emf.Writer{W: &buf, Stage: "test"}
	if err := w.EmitBy(time.UnixMilli(1700000000000), map[string]string{emf.JobDimension: "win-back"},
		map[string]int64{emf.JobRunsIncomplete: 0, "MembersChanged": 3}); err != nil {
		t.Fatal(err)
	}
	var line struct {
		AWS struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Stage, Job        string
		JobRunsIncomplete *int64
		MembersChanged    int64
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("not JSON: %q", buf.String())
	}
	cw := line.AWS.CloudWatchMetrics
	if len(cw) != 1 || fmt.Sprint(cw[0].Dimensions) != "[[Stage] [Stage Job]]" || len(cw[0].Metrics) != 2 {
		t.Fatalf("got %s, want one directive by [Stage] and [Stage Job] with 2 metrics", buf.String())
	}
	if line.Stage != "test" || line.Job != "win-back" || line.JobRunsIncomplete == nil || *line.JobRunsIncomplete != 0 || line.MembersChanged != 3 {
		t.Errorf("got %s, want Stage test, Job win-back, JobRunsIncomplete 0 (written, not left out), MembersChanged 3", buf.String())
	}
}
