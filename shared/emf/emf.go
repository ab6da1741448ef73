// Package emf writes CloudWatch Embedded Metric Format lines: one JSON line
// on stdout that CloudWatch Logs turns into metrics, with no API call in the
// request path. Namespace "Loyalty", dimension "Stage", as the alarms in
// infra expect.
//
// It imports the standard library only.
package emf

import (
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace of every business metric.
const Namespace = "Loyalty"

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

// Emit writes one line with the given counts (unit Count). Zero values are
// written too, so a quiet period shows as 0 rather than as missing data.
func (w *Writer) Emit(at time.Time, counts map[string]int64) error {
	if w == nil || w.W == nil || len(counts) == 0 {
		return nil
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	line := map[string]any{"Stage": w.Stage}
	ms := make([]metric, 0, len(names))
	for _, n := range names {
		ms = append(ms, metric{Name: n, Unit: "Count"})
		line[n] = counts[n]
	}
	line["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace": Namespace, "Dimensions": [][]string{{"Stage"}}, "Metrics": ms,
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
