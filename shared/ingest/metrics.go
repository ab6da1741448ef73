package ingest

import (
	"encoding/json"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// MetricsNamespace is the CloudWatch namespace of the ingest metrics.
const MetricsNamespace = "Loyalty"

// batchMetrics counts one batch.
type batchMetrics struct {
	processed, duplicates, retried, rejected int
	accrued, clawedBack                      loyalty.Points
}

// emfDirective is the "_aws" member of an embedded metric format line.
type emfDirective struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfMetricSet `json:"CloudWatchMetrics"`
}

type emfMetricSet struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

var emfMetrics = []emfMetric{
	{"MessagesProcessed", "Count"}, {"MessagesDuplicate", "Count"}, {"MessagesRetried", "Count"},
	{"MessagesRejected", "Count"}, {"PointsAccrued", "Count"}, {"PointsClawedBack", "Count"},
}

// emit writes one EMF line for the batch. CloudWatch turns it into metrics
// without an API call, so metrics cost no latency in the handler.
func (h *Handler) emit(m batchMetrics) {
	line := struct {
		AWS               emfDirective `json:"_aws"`
		Stage             string       `json:"Stage"`
		MessagesProcessed int          `json:"MessagesProcessed"`
		MessagesDuplicate int          `json:"MessagesDuplicate"`
		MessagesRetried   int          `json:"MessagesRetried"`
		MessagesRejected  int          `json:"MessagesRejected"`
		PointsAccrued     int64        `json:"PointsAccrued"`
		PointsClawedBack  int64        `json:"PointsClawedBack"`
	}{
		AWS: emfDirective{Timestamp: h.cfg.Service.Clock.Now().UnixMilli(), CloudWatchMetrics: []emfMetricSet{{
			Namespace: MetricsNamespace, Dimensions: [][]string{{"Stage"}}, Metrics: emfMetrics}}},
		Stage: h.cfg.Stage, MessagesProcessed: m.processed, MessagesDuplicate: m.duplicates, MessagesRetried: m.retried,
		MessagesRejected: m.rejected, PointsAccrued: int64(m.accrued), PointsClawedBack: int64(m.clawedBack),
	}
	b, err := json.Marshal(line)
	if err != nil {
		h.cfg.Logger.Error("encode metrics", "error", err)
		return
	}
	b = append(b, '\n')
	h.metricMu.Lock()
	defer h.metricMu.Unlock()
	if _, err := h.cfg.Metrics.Write(b); err != nil {
		h.cfg.Logger.Error("write metrics", "error", err)
	}
}
