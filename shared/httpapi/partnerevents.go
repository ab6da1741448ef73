package httpapi

import (
	"context"
	"net/http"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// PartnerDecoder decodes and validates a partner message into exactly one of
// a purchase and a refund: events/partner.DecodeParts. The admin function
// injects it, so the member API does not link the schema validator. A
// message that can never be processed is a *loyalty.Error with CodeInvalid.
type PartnerDecoder func(body []byte) (typ, partnerID string, p *loyalty.Purchase, r *loyalty.Refund, err error)

// WithPartnerDecoder enables POST /admin/partner-events.
func (a *AdminAPI) WithPartnerDecoder(d PartnerDecoder) *AdminAPI { a.decodePartner = d; return a }

// recordPartnerEvent takes a partner's purchase.completed or
// purchase.refunded message server to server: the same contract, decoder,
// partner list and ledger keys as the partner queue, so a message sent both
// ways counts once. Unlike the queue it answers at once: a refund of a
// purchase not recorded yet is 404 (retry later), bad input is 400.
func (a *AdminAPI) recordPartnerEvent(ctx context.Context, r *request) (int, any, error) {
	if a.decodePartner == nil {
		return 0, nil, loyalty.Errorf(CodeRouteNotFound, "partner events are not enabled on this function")
	}
	body, err := r.body()
	if err != nil {
		return 0, nil, err
	}
	typ, partnerID, purchase, refund, err := a.decodePartner(body)
	if err != nil {
		return 0, nil, err
	}
	if err := a.svc.Program.CheckPartner("partnerId", partnerID); err != nil {
		return 0, nil, err
	}
	var res loyalty.Result
	if purchase != nil {
		res, err = a.svc.Accrue(ctx, *purchase)
	} else {
		res, err = a.svc.Refund(ctx, *refund)
	}
	if err != nil {
		return 0, nil, err
	}
	if !res.Replayed {
		metric := "PointsAccrued"
		if refund != nil {
			metric = "PointsClawedBack"
		}
		a.metrics.Emit(a.svc.Clock.Now(), map[string]int64{metric: abs(int64(res.Entry.Delta))})
	}
	r.replayed = res.Replayed
	return http.StatusOK, map[string]any{"type": typ, "entry": entryView(res.Entry), "replayed": res.Replayed}, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
