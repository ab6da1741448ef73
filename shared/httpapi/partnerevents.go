package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// recordPartnerEvent takes a partner's purchase.completed or
// purchase.refunded message server to server: the same contract, decoder,
// partner list and ledger keys as the partner queue, so a message sent both
// ways counts once. Unlike the queue it answers at once: a refund of a
// purchase not recorded yet is 404 (retry later), bad input is 400.
func (a *AdminAPI) recordPartnerEvent(ctx context.Context, r *request) (int, any, error) {
	if _, err := r.admin(); err != nil {
		return 0, nil, err
	}
	body, err := r.body()
	if err != nil {
		return 0, nil, err
	}
	ev, err := partner.Decode(body)
	var de *partner.DecodeError
	switch {
	case errors.As(err, &de):
		return 0, nil, &loyalty.Error{Code: loyalty.CodeInvalid, Field: string(de.Reason), Message: de.Message}
	case err != nil:
		return 0, nil, err
	}
	if _, ok := a.svc.Program.Partner(ev.PartnerID); !ok {
		return 0, nil, loyalty.Invalid("partnerId", "partner %q is not listed in the program file", ev.PartnerID)
	}
	var res loyalty.Result
	if ev.Purchase != nil {
		res, err = a.svc.Accrue(ctx, *ev.Purchase)
	} else {
		res, err = a.svc.Refund(ctx, *ev.Refund)
	}
	if err != nil {
		return 0, nil, err
	}
	if !res.Replayed {
		metric := "PointsAccrued"
		if ev.Refund != nil {
			metric = "PointsClawedBack"
		}
		a.metrics.Emit(a.svc.Clock.Now(), map[string]int64{metric: abs(int64(res.Entry.Delta))})
	}
	return http.StatusOK, map[string]any{"type": ev.Type, "entry": entryView(res.Entry), "replayed": res.Replayed}, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
