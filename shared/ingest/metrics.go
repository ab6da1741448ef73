package ingest

import (
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// MetricsNamespace is the CloudWatch namespace of the ingest metrics.
const MetricsNamespace = emf.Namespace

// batchMetrics counts one batch.
type batchMetrics struct {
	processed, duplicates, retried, rejected int
	accrued, clawedBack                      loyalty.Points
	byPartner                                map[string]loyalty.Points // points accrued per sender
}

// emit writes one EMF line for the batch. CloudWatch turns it into metrics
// without an API call, so metrics cost no latency in the handler.
func (h *Handler) emit(m batchMetrics) {
	err := h.metrics.Emit(h.cfg.Service.Clock.Now(), map[string]int64{
		"MessagesProcessed": int64(m.processed), "MessagesDuplicate": int64(m.duplicates),
		"MessagesRetried": int64(m.retried), "MessagesRejected": int64(m.rejected),
		"PointsAccrued": int64(m.accrued), "PointsClawedBack": int64(m.clawedBack),
	})
	if err != nil {
		h.cfg.Logger.Error("write metrics", "error", err)
	}
	for partner, pts := range m.byPartner {
		err := h.metrics.EmitBy(h.cfg.Service.Clock.Now(), map[string]string{emf.PartnerDimension: partner},
			map[string]int64{emf.PartnerPointsAccrued: int64(pts)})
		if err != nil {
			h.cfg.Logger.Error("write metrics", "error", err)
		}
	}
}
