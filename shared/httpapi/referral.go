package httpapi

import (
	"context"
	"net/http"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Referral and feedback routes of the member API.

func (m *MemberAPI) getReferral(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	if _, err := m.account(ctx, id); err != nil {
		return 0, nil, err
	}
	st, err := m.svc.ReferralStatus(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

// enrolReferral answers 201 on the enrolment and 200 when the member sends
// the code they enrolled with again (a retry).
func (m *MemberAPI) enrolReferral(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		Code string `json:"code"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if body.Code == "" {
		return 0, nil, loyalty.Invalid("code", "code is required")
	}
	st, created, err := m.svc.EnrolReferral(ctx, id, body.Code)
	if err != nil {
		return 0, nil, err
	}
	if created {
		return http.StatusCreated, st, nil
	}
	return http.StatusOK, st, nil
}

// FeedbackResult is the answer to POST /v1/me/feedback.
type FeedbackResult struct {
	Feedback loyalty.PurchaseFeedback `json:"feedback"`
	Entry    EntryView                `json:"entry"`
	Replayed bool                     `json:"replayed"`
}

// createFeedback answers 201 for new feedback and 200 when the same
// feedback is sent again.
func (m *MemberAPI) createFeedback(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	var body struct {
		PurchaseID string `json:"purchaseId"`
		Rating     int    `json:"rating"`
		Comment    string `json:"comment"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if body.PurchaseID == "" {
		return 0, nil, loyalty.Invalid("purchaseId", "purchaseId is required")
	}
	fb, res, err := m.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: id, PurchaseID: body.PurchaseID,
		Rating: body.Rating, Comment: body.Comment})
	if err != nil {
		return 0, nil, err
	}
	status := http.StatusCreated
	r.replayed = res.Replayed
	if res.Replayed {
		status = http.StatusOK
	}
	return status, FeedbackResult{Feedback: fb, Entry: entryView(res.Entry), Replayed: res.Replayed}, nil
}
