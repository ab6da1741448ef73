package emf_test

import (
	"bytes"
	"encoding/json"
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
