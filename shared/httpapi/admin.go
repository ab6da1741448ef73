package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// AdminStore is what the admin API needs of the store.
type AdminStore interface {
	MemberStore
	Ledger(ctx context.Context, id loyalty.MemberID) ([]loyalty.Entry, error)
	AuditMember(ctx context.Context, id loyalty.MemberID) (*loyalty.AuditProblem, error)
	FeedbackStore // review.go
	// Rejections lists recorded queue messages; the export asks for those
	// naming the member.
	Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error)
	// AffordSeen is the balance the affordability reminder last saw, per
	// member; the export shows the member's.
	AffordSeen(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Points, error)
}

// AdminAPI serves ops, behind IAM authorization.
type AdminAPI struct {
	svc     *loyalty.Service
	store   AdminStore
	rt      *router
	metrics *emf.Writer
	// decodePartner decodes partner messages (partnerevents.go).
	decodePartner PartnerDecoder
}

// WithMetrics makes the API emit business metrics (EMF) to w.
func (a *AdminAPI) WithMetrics(w *emf.Writer) *AdminAPI { a.metrics = w; return a }

// NewAdminAPI builds the admin API.
func NewAdminAPI(svc *loyalty.Service, store AdminStore, log *slog.Logger) *AdminAPI {
	a := &AdminAPI{svc: svc, store: store}
	a.rt = &router{routes: AdminRoutes, log: log, handlers: map[string]handlerFunc{
		"recordPurchase":     a.recordPurchase,
		"recordPartnerEvent": a.recordPartnerEvent,
		"adjustPoints":       a.adjustPoints,
		"getMember":          a.getMember,
		"exportMember":       a.exportMember,
		"eraseMember":        a.eraseMember,
		"adminListRewards":   a.listRewards,
		"putReward":          a.putReward,
		"createCardBatch":    a.createCardBatch, // till.go
		"auditMember":        a.auditMember,
		"dryRunPurchase":     a.dryRunPurchase,
		"listFeedback":       a.listFeedback,
		"memberFeedback":     a.listMemberFeedback,
	}}
	return a
}

// Handle is the Lambda handler.
func (a *AdminAPI) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return a.rt.serve(ctx, ev)
}

func (a *AdminAPI) pathMember(r *request) (loyalty.MemberID, error) {
	id := loyalty.MemberID(r.params["memberId"])
	if err := loyalty.ValidateMemberID("memberId", id); err != nil {
		return "", err
	}
	return id, nil
}

// PurchaseRequest records a purchase server to server, with the partner
// queue's idempotency: one ledger entry per partner and event id.
type PurchaseRequest struct {
	PartnerID  string        `json:"partnerId"`
	EventID    string        `json:"eventId"`
	MemberID   string        `json:"memberId"`
	OccurredAt time.Time     `json:"occurredAt"`
	Amount     loyalty.Money `json:"amount"`
}

func (a *AdminAPI) recordPurchase(ctx context.Context, r *request) (int, any, error) {
	actor, err := r.admin()
	if err != nil {
		return 0, nil, err
	}
	var body PurchaseRequest
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	// The partner must be one the program lists, with no ':' (it separates
	// partner and event in the ledger key, so "a:b"+"c" would collide with
	// "a"+"b:c").
	if err := a.svc.Program.CheckPartner("partnerId", body.PartnerID); err != nil {
		return 0, nil, err
	}
	if err := loyalty.ValidateKey("eventId", body.EventID); err != nil {
		return 0, nil, err
	}
	p := loyalty.Purchase{Key: loyalty.PurchaseKey(body.PartnerID, body.EventID), MemberID: loyalty.MemberID(body.MemberID),
		Ref: body.PartnerID + ":" + body.EventID, Spend: body.Amount, OccurredAt: body.OccurredAt, Actor: actor}
	res, err := a.svc.Accrue(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	if !res.Replayed {
		a.metrics.Emit(a.svc.Clock.Now(), map[string]int64{"PointsAccrued": int64(res.Entry.Delta)})
	}
	r.replayed = res.Replayed
	return http.StatusOK, map[string]any{"entry": entryView(res.Entry), "replayed": res.Replayed}, nil
}

func (a *AdminAPI) adjustPoints(ctx context.Context, r *request) (int, any, error) {
	actor, err := r.admin()
	if err != nil {
		return 0, nil, err
	}
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	key, err := r.idempotencyKey()
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		Points loyalty.Points `json:"points"`
		Reason string         `json:"reason"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	res, err := a.svc.Adjust(ctx, loyalty.Adjustment{Key: key, MemberID: id, Points: body.Points, Reason: body.Reason, Actor: actor})
	if err != nil {
		return 0, nil, err
	}
	if !res.Replayed {
		a.metrics.Emit(a.svc.Clock.Now(), map[string]int64{"PointsAdjusted": int64(res.Entry.Delta)})
	}
	r.replayed = res.Replayed
	return http.StatusOK, map[string]any{"entry": entryView(res.Entry), "replayed": res.Replayed}, nil
}

func (a *AdminAPI) getMember(ctx context.Context, r *request) (int, any, error) {
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	acct, err := a.store.Account(ctx, id)
	if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
		// No account: perhaps an erasure took it (or is taking it).
		er, serr := a.svc.ErasureStatus(ctx, id)
		switch {
		case serr == nil:
			return http.StatusOK, map[string]any{"memberId": id, "erasure": er}, nil
		case loyalty.ErrorCode(serr) != loyalty.CodeNotFound:
			return 0, nil, serr
		}
	}
	if err != nil {
		return 0, nil, err
	}
	entries, _, err := a.store.Activity(ctx, id, "", 20)
	if err != nil {
		return 0, nil, err
	}
	views := make([]EntryView, 0, len(entries))
	for _, e := range entries {
		views = append(views, entryView(e))
	}
	return http.StatusOK, map[string]any{"account": meView(acct, a.svc.Program, a.svc.Clock.Now()), "deficit": acct.Deficit, "recentActivity": views}, nil
}

func (a *AdminAPI) exportMember(ctx context.Context, r *request) (int, any, error) {
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	acct, err := a.store.Account(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	ledger, err := a.store.Ledger(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	reds, err := a.store.Redemptions(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	feedback, err := a.store.MemberFeedback(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	notes, err := a.allNotifications(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	var class *loyalty.MemberClass
	if c, ok, err := a.store.MemberClass(ctx, id); err != nil {
		return 0, nil, err
	} else if ok {
		class = &c
	}
	refs, err := a.svc.MemberReferrals(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	rejections, err := a.store.Rejections(ctx, loyalty.RejectionFilter{MemberID: id})
	if err != nil {
		return 0, nil, err
	}
	seen, err := a.store.AffordSeen(ctx, []loyalty.MemberID{id})
	if err != nil {
		return 0, nil, err
	}
	reminders := map[string]any{}
	if b, ok := seen[id]; ok {
		reminders["affordabilityBalanceSeen"] = b
	}
	locale, err := a.store.PreferredLocale(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"account": meView(acct, a.svc.Program, a.svc.Clock.Now()), "deficit": acct.Deficit, "ledger": ledger, "redemptions": reds,
		"feedback": feedback, "notifications": notes, "class": class, "referral": referralExport(refs), "rejections": nonNil(rejections),
		"reminders": reminders, "preferences": map[string]string{"locale": locale}, "exportedAt": a.svc.Clock.Now()}, nil
}

// allNotifications reads the member's whole inbox, also what is past its
// TTL and not deleted by DynamoDB yet: the export shows every stored item.
func (a *AdminAPI) allNotifications(ctx context.Context, id loyalty.MemberID) ([]loyalty.Notification, error) {
	out := []loyalty.Notification{}
	for cursor := ""; ; {
		page, next, err := a.store.Notifications(ctx, id, cursor, 100, time.Time{})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// RefereeView is one referral in a member's export.
type RefereeView struct {
	Referrer    loyalty.MemberID      `json:"referrer"`
	Referee     loyalty.MemberID      `json:"referee"`
	Code        string                `json:"code,omitempty"`
	EnrolledAt  time.Time             `json:"enrolledAt"`
	State       loyalty.ReferralState `json:"state,omitempty"`
	SettledAt   time.Time             `json:"settledAt,omitzero"`
	PurchaseKey string                `json:"purchaseKey,omitempty"`
	Reason      string                `json:"reason,omitempty"`
}

func refereeView(r loyalty.Referee) RefereeView {
	return RefereeView{Referrer: r.Referrer, Referee: r.Member, Code: r.Code, EnrolledAt: r.EnrolledAt, State: r.State,
		SettledAt: r.SettledAt, PurchaseKey: r.PurchaseKey, Reason: r.Reason}
}

// ReferralExport is the referral part of a member's export.
type ReferralExport struct {
	Code       string              `json:"code,omitempty"`
	ReferredBy *RefereeView        `json:"referredBy"`
	Referees   []RefereeView       `json:"referees"`
	Months     []ReferralMonthView `json:"months"`
}

// ReferralMonthView is a referrer's bonus counters of one month.
type ReferralMonthView struct {
	Month  string `json:"month"`
	Paid   int    `json:"paid"`
	Capped int    `json:"capped"`
}

func referralExport(m loyalty.MemberReferrals) ReferralExport {
	out := ReferralExport{Code: m.Code, Referees: []RefereeView{}, Months: []ReferralMonthView{}}
	if m.ReferredBy != nil {
		v := refereeView(*m.ReferredBy)
		out.ReferredBy = &v
	}
	for _, r := range m.Referees {
		out.Referees = append(out.Referees, refereeView(r))
	}
	for _, mo := range m.Months {
		out.Months = append(out.Months, ReferralMonthView{Month: mo.Month, Paid: mo.Paid, Capped: mo.Capped})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// eraseMember answers 200 with the receipt once the erasure is done (also
// to a repeat: the first receipt), and 202 with the progress when the call
// ran short of time: calling again continues it.
func (a *AdminAPI) eraseMember(ctx context.Context, r *request) (int, any, error) {
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	er, err := a.svc.Erase(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if er.State != loyalty.ErasureDone {
		return http.StatusAccepted, er, nil
	}
	return http.StatusOK, er, nil
}

func (a *AdminAPI) listRewards(ctx context.Context, r *request) (int, any, error) {
	rewards, err := a.store.Rewards(ctx)
	if err != nil {
		return 0, nil, err
	}
	if rewards == nil {
		rewards = []loyalty.Reward{}
	}
	return http.StatusOK, map[string]any{"rewards": rewards}, nil
}

func (a *AdminAPI) putReward(ctx context.Context, r *request) (int, any, error) {
	var rw loyalty.Reward
	if err := r.decode(&rw); err != nil {
		return 0, nil, err
	}
	if rw.ID != r.params["rewardId"] {
		return 0, nil, loyalty.Invalid("id", "the body's id must equal the path's rewardId")
	}
	if err := a.svc.PutReward(ctx, rw); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, rw, nil
}

// auditMember checks one member: balance = sum of the ledger = sum of the
// lots. The whole-table audit is a command (loyaltyops audit), because it
// Scans and no request path may.
func (a *AdminAPI) auditMember(ctx context.Context, r *request) (int, any, error) {
	id, err := a.pathMember(r)
	if err != nil {
		return 0, nil, err
	}
	p, err := a.store.AuditMember(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if p == nil {
		return http.StatusOK, map[string]any{"memberId": id, "consistent": true, "problems": []string{}}, nil
	}
	return http.StatusOK, map[string]any{"memberId": id, "consistent": false, "problems": p.Problems,
		"balance": p.Balance, "ledgerSum": p.LedgerSum, "lotSum": p.LotSum, "deficit": p.Deficit}, nil
}
