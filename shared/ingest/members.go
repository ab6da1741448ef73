package ingest

import (
	"context"
	"log/slog"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// resolveMember finds the member a message names (a card number, a rotating
// code, or a member id from a partner allowed to send them) and sets it on
// the event. It returns the message's result when the reference settles
// it: a recorded rejection with the reference's reason, or a retry.
func (h *Handler) resolveMember(ctx context.Context, log *slog.Logger, msg message, ev *partner.Event) (result, bool) {
	svc := h.cfg.Service
	var (
		r   loyalty.Resolved
		err error
	)
	if ev.Refund != nil {
		r.Member, err = svc.ResolveRefundMember(ctx, ev.PartnerID, ev.Member)
	} else {
		r, err = svc.ResolveMember(ctx, ev.PartnerID, ev.Member)
	}
	if err == nil {
		ev.SetMember(r.Member, r.Code)
		if ev.Purchase != nil {
			ev.Purchase.Printed = r.Printed
		}
		return result{}, false
	}
	if re, ok := loyalty.AsRefError(err); ok {
		if ev.Member.Kind != loyalty.RefMemberID {
			ev.MemberID = "" // the record names no member the message did not name
		}
		return h.reject(ctx, log, msg, *ev, re.Reason, re.Message), true
	}
	switch loyalty.ErrorCode(err) {
	case loyalty.CodeInvalid:
		return h.reject(ctx, log, msg, *ev, loyalty.RejectInvalidEvent, fieldMessage(err)), true
	case loyalty.CodeUnavailable:
		log.Warn("transient failure resolving the member, will be retried", "error", err)
	default:
		log.Error("unexpected failure resolving the member, will be retried", "error", err)
	}
	return result{outcome: retry}, true
}

// apply accrues or refunds the event. A purchase on a printed card that its
// owner claimed meanwhile names the card's retired anonymous account: it
// goes to the member who claimed the card (Service.Reroute), under the same
// key, so it counts once.
func (h *Handler) apply(ctx context.Context, ev *partner.Event) (loyalty.Result, error) {
	svc := h.cfg.Service
	for attempt := 0; ; attempt++ {
		var (
			res loyalty.Result
			err error
		)
		if ev.Purchase != nil {
			res, err = svc.Accrue(ctx, *ev.Purchase)
		} else {
			res, err = svc.Refund(ctx, *ev.Refund)
		}
		id, ok := svc.Reroute(ctx, ev.PartnerID, ev.Member, ev.MemberID, err)
		if !ok || attempt > 0 {
			return res, err
		}
		ev.SetMember(id, "")
	}
}
