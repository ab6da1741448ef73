package httpapi

import (
	"context"
	"net/http"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// PartnerDecoder decodes and validates a partner message into exactly one of
// a purchase and a refund, with how it names the member (version 1's
// memberRef, version 2's member by card, code or member id) and a setter
// for the member it resolves to: events/partner.DecodeParts. The admin
// function injects it, so the member API does not link the schema
// validator. A message that can never be processed is a *loyalty.Error
// with CodeInvalid.
type PartnerDecoder func(body []byte) (typ, partnerID string, ref loyalty.MemberRef, p *loyalty.Purchase, r *loyalty.Refund,
	setMember func(id loyalty.MemberID, code string), err error)

// WithPartnerDecoder enables POST /admin/partner-events.
func (a *AdminAPI) WithPartnerDecoder(d PartnerDecoder) *AdminAPI { a.decodePartner = d; return a }

// recordPartnerEvent takes a partner's purchase.completed or
// purchase.refunded message server to server: the same contract, decoder,
// partner list and ledger keys as the partner queue, so a message sent both
// ways counts once. The member is resolved as the queue resolves it (a card
// number, a rotating code, or a member id from a partner allowed to send
// them), and a reference the queue records as a rejection is 400 with the
// rejection's reason as the field. A purchase that names a claimed card's
// retired anonymous account goes to the card's owner, as on the queue.
// Unlike the queue it answers at once: a refund of a purchase not recorded
// yet is 404 (retry later), bad input is 400.
func (a *AdminAPI) recordPartnerEvent(ctx context.Context, r *request) (int, any, error) {
	if a.decodePartner == nil {
		return 0, nil, loyalty.Errorf(CodeRouteNotFound, "partner events are not enabled on this function")
	}
	body, err := r.body()
	if err != nil {
		return 0, nil, err
	}
	typ, partnerID, ref, purchase, refund, setMember, err := a.decodePartner(body)
	if err != nil {
		return 0, nil, err
	}
	if err := a.svc.Program.CheckPartner("partnerId", partnerID); err != nil {
		return 0, nil, err
	}
	var (
		id   loyalty.MemberID
		code string
	)
	if refund != nil {
		id, err = a.svc.ResolveRefundMember(ctx, partnerID, ref)
	} else {
		var res loyalty.Resolved
		res, err = a.svc.ResolveMember(ctx, partnerID, ref)
		id, code = res.Member, res.Code
		if purchase != nil {
			purchase.Printed = res.Printed
		}
	}
	if err != nil {
		return 0, nil, refusal(err)
	}
	setMember(id, code)
	var res loyalty.Result
	for attempt := 0; ; attempt++ {
		if purchase != nil {
			res, err = a.svc.Accrue(ctx, *purchase)
		} else {
			res, err = a.svc.Refund(ctx, *refund)
		}
		to, ok := a.svc.Reroute(ctx, partnerID, ref, id, err)
		if !ok || attempt > 0 {
			break
		}
		id = to
		setMember(id, "")
	}
	if err != nil {
		return 0, nil, refusal(err)
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

// refusal is a member reference the queue would record as a rejection (an
// unknown or blocked card, an expired, reused or forged code, a member id
// from a partner not allowed to send them) as a 400 naming its reason.
func refusal(err error) error {
	if re, ok := loyalty.AsRefError(err); ok {
		return &loyalty.Error{Code: loyalty.CodeInvalid, Field: string(re.Reason), Message: re.Message, Err: err}
	}
	return err
}
