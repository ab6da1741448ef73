package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Admin routes to review the program: the dry run of a purchase and the
// members' feedback.

// FeedbackStore is how ops read feedback.
type FeedbackStore interface {
	// Feedback lists feedback of program-local days from..to, oldest first,
	// a page at a time.
	Feedback(ctx context.Context, from, to loyalty.Date, cursor string, limit int) ([]loyalty.PurchaseFeedback, string, error)
	// MemberFeedback lists one member's feedback, newest first.
	MemberFeedback(ctx context.Context, id loyalty.MemberID) ([]loyalty.PurchaseFeedback, error)
}

// DryRunRequest is the body of POST /admin/dry-run: the body of
// POST /admin/purchases, where only the amount is required, with optional
// lines and a tier that replaces the member's.
type DryRunRequest struct {
	PartnerID  string         `json:"partnerId"`
	EventID    string         `json:"eventId"`
	MemberID   string         `json:"memberId"`
	OccurredAt *time.Time     `json:"occurredAt"` // default: now
	Amount     loyalty.Money  `json:"amount"`
	Lines      []loyalty.Line `json:"lines"`
	Tier       string         `json:"tier"`
}

func (a *AdminAPI) dryRunPurchase(ctx context.Context, r *request) (int, any, error) {
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body DryRunRequest
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	p := loyalty.Purchase{MemberID: loyalty.MemberID(body.MemberID), Spend: body.Amount, Lines: body.Lines,
		OccurredAt: a.svc.Clock.Now(), Actor: "dry-run"}
	if body.OccurredAt != nil {
		p.OccurredAt = *body.OccurredAt
	}
	if body.PartnerID != "" || body.EventID != "" {
		if err := loyalty.ValidateKey("partnerId", body.PartnerID); err != nil {
			return 0, nil, err
		}
		if err := loyalty.ValidateKey("eventId", body.EventID); err != nil {
			return 0, nil, err
		}
		p.Key, p.Ref = loyalty.PurchaseKey(body.PartnerID, body.EventID), body.PartnerID+":"+body.EventID
	}
	if body.MemberID != "" {
		if err := loyalty.ValidateMemberID("memberId", p.MemberID); err != nil {
			return 0, nil, err
		}
	}
	out, err := a.svc.DryRunPurchase(ctx, p, body.Tier)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

// defaultFeedbackDays is the span GET /admin/feedback lists without from.
const defaultFeedbackDays = 30

// listFeedback pages through the feedback of a range of program-local days
// (default: the last 30 up to today), oldest first: an export is every page.
func (a *AdminAPI) listFeedback(ctx context.Context, r *request) (int, any, error) {
	if err := r.checkQuery("from", "to", "cursor", "limit"); err != nil {
		return 0, nil, err
	}
	limit, err := r.intQuery("limit", 100, 1, 1000)
	if err != nil {
		return 0, nil, err
	}
	cursor, err := r.strQuery("cursor", 1024)
	if err != nil {
		return 0, nil, err
	}
	to := a.svc.Program.Today(a.svc.Clock.Now())
	if v, ok := r.ev.QueryStringParameters["to"]; ok {
		if to, err = loyalty.ParseDate(v); err != nil {
			return 0, nil, loyalty.Invalid("to", "to must be a day YYYY-MM-DD")
		}
	}
	from := to.AddDays(1 - defaultFeedbackDays)
	if v, ok := r.ev.QueryStringParameters["from"]; ok {
		if from, err = loyalty.ParseDate(v); err != nil {
			return 0, nil, loyalty.Invalid("from", "from must be a day YYYY-MM-DD")
		}
	}
	page, next, err := a.store.Feedback(ctx, from, to, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"from": from, "to": to, "feedback": page, "nextCursor": next}, nil
}

func (a *AdminAPI) listMemberFeedback(ctx context.Context, r *request) (int, any, error) {
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	if _, err := a.store.Account(ctx, id); err != nil {
		return 0, nil, err
	}
	list, err := a.store.MemberFeedback(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"memberId": id, "feedback": list}, nil
}
