package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// MemberStore is what the member API reads beyond the domain's Store port.
type MemberStore interface {
	loyalty.Store
	Inbox               // notifications.go
	loyalty.Preferences // the member's locale (language.go)
	Activity(ctx context.Context, id loyalty.MemberID, cursor string, limit int) ([]loyalty.Entry, string, error)
	Redemptions(ctx context.Context, id loyalty.MemberID) ([]loyalty.Redemption, error)
	Rewards(ctx context.Context) ([]loyalty.Reward, error)
	// MemberClass is the customer class the weekly job recorded; ok false
	// before the first one.
	MemberClass(ctx context.Context, id loyalty.MemberID) (c loyalty.MemberClass, ok bool, err error)
}

// MemberAPI serves the mobile app.
type MemberAPI struct {
	svc     *loyalty.Service
	store   MemberStore
	rt      *router
	metrics *emf.Writer
	texts   *locale.Catalog
}

// WithMetrics makes the API emit business metrics (EMF) to w.
func (m *MemberAPI) WithMetrics(w *emf.Writer) *MemberAPI { m.metrics = w; return m }

// NewMemberAPI builds the member API on a service and its store.
func NewMemberAPI(svc *loyalty.Service, store MemberStore, log *slog.Logger) *MemberAPI {
	m := &MemberAPI{svc: svc, store: store, texts: locale.New(svc.Program)}
	m.rt = &router{routes: MemberRoutes, log: log, texts: m.texts, handlers: map[string]handlerFunc{
		"getMe":                m.getMe,
		"listActivity":         m.listActivity,
		"listRewards":          m.listRewards,
		"createRedemption":     m.createRedemption,
		"listRedemptions":      m.listRedemptions,
		"cancelRedemption":     m.cancelRedemption,
		"getReferral":          m.getReferral,
		"enrolReferral":        m.enrolReferral,
		"createFeedback":       m.createFeedback,
		"listNotifications":    m.listNotifications,
		"markNotificationRead": m.markNotificationRead,
		"getLocale":            m.getLocale,
		"setLocale":            m.setLocale,
		"createCode":           m.createCode, // till.go
		"replaceCard":          m.replaceCard,
		"claimCard":            m.claimCard,
	}}
	return m
}

// Handle is the Lambda handler.
func (m *MemberAPI) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return m.rt.serve(ctx, ev)
}

// account returns the caller's account, enrolling a new member on their
// first call (idempotently: a second enrolment returns the first account).
func (m *MemberAPI) account(ctx context.Context, id loyalty.MemberID) (loyalty.Account, error) {
	return m.svc.Enrol(ctx, id)
}

// MeView is the body of GET /v1/me.
type MeView struct {
	MemberID       loyalty.MemberID     `json:"memberId"`
	Balance        loyalty.Points       `json:"balance"`
	LifetimePoints loyalty.Points       `json:"lifetimePoints"`
	Tier           string               `json:"tier"`
	TierProgress   loyalty.TierProgress `json:"tierProgress"`
	Debt           loyalty.Points       `json:"debt"`
	ExpiringNext   *ExpiringView        `json:"expiringNext"`
	Lots           []loyalty.Lot        `json:"lots"`
	StampCards     []StampCardView      `json:"stampCards"`
	MemberSince    time.Time            `json:"memberSince"`
	Class          *ClassView           `json:"class"` // null until the weekly job classed the member
	// Card is the member's card number (till.go), issued on the first call.
	Card *CardView `json:"card,omitempty"`
}

// StampCardView is one stamp card as the member sees it.
type StampCardView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Stamps   int    `json:"stamps"`
	Of       int    `json:"of"`
	RewardID string `json:"rewardId"`
}

// ExpiringView is the next lot to expire.
type ExpiringView struct {
	Points  loyalty.Points `json:"points"`
	Expires loyalty.Date   `json:"expires"`
}

func meView(a loyalty.Account, prog *loyalty.Program, now time.Time) MeView {
	v := MeView{MemberID: a.MemberID, Balance: a.Balance, LifetimePoints: a.Lifetime, Debt: a.Debt,
		Lots: a.Lots, StampCards: []StampCardView{}, MemberSince: a.CreatedAt}
	v.TierProgress = prog.Progress(a, prog.Today(now))
	v.Tier = v.TierProgress.Tier
	for _, c := range prog.StampCards {
		v.StampCards = append(v.StampCards, StampCardView{ID: c.ID, Name: c.Name, Stamps: a.Stamps[c.ID], Of: c.Stamps, RewardID: c.RewardID})
	}
	if v.Lots == nil {
		v.Lots = []loyalty.Lot{}
	}
	for _, l := range a.Lots {
		if l.Expires != loyalty.NoExpiry {
			v.ExpiringNext = &ExpiringView{Points: l.Points, Expires: l.Expires}
			break
		}
	}
	return v
}

func (m *MemberAPI) getMe(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	a, err := m.account(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	v := meView(a, m.svc.Program, m.svc.Clock.Now())
	loc, err := m.localeOf(ctx, r, id)
	if err != nil {
		return 0, nil, err
	}
	for i, c := range v.StampCards {
		v.StampCards[i].Name = m.svc.Program.Name(loc, loyalty.TextStampCards, c.ID, c.Name)
	}
	c, found, err := m.store.MemberClass(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if found {
		v.Class = &ClassView{Class: c.Class, Since: c.Since}
	}
	if v.Card, err = m.card(ctx, id); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, v, nil
}

// classStore reads the customer class the weekly win-back job records.
// ClassView is the member's customer class (recency, frequency, spend).
type ClassView struct {
	Class string       `json:"class"`
	Since loyalty.Date `json:"since"`
}

// EntryView is one line of the activity list.
type EntryView struct {
	ID     string               `json:"id"`
	Kind   loyalty.EntryKind    `json:"kind"`
	Points loyalty.Points       `json:"points"`
	At     time.Time            `json:"at"`
	Ref    string               `json:"ref,omitempty"`
	Reason string               `json:"reason,omitempty"`
	Spend  *loyalty.Money       `json:"spend,omitempty"`
	Rules  []loyalty.RuleResult `json:"rules,omitempty"`
	Stamps []loyalty.StampMark  `json:"stamps,omitempty"`
	Tier   string               `json:"tier,omitempty"`
	// Uncapped is what a credit would have earned without the program's
	// caps; absent when no cap cut it.
	Uncapped loyalty.Points `json:"uncapped,omitempty"`
}

func entryView(e loyalty.Entry) EntryView {
	return EntryView{ID: e.Key, Kind: e.Kind, Points: e.Delta, At: e.At, Ref: e.Ref, Reason: e.Reason, Spend: e.Spend, Rules: e.Rules,
		Stamps: e.Stamps, Tier: e.Tier, Uncapped: e.Uncapped}
}

func (m *MemberAPI) listActivity(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery("limit", "cursor"); err != nil {
		return 0, nil, err
	}
	limit, err := r.intQuery("limit", 20, 1, 100)
	if err != nil {
		return 0, nil, err
	}
	cursor, err := r.strQuery("cursor", 512)
	if err != nil {
		return 0, nil, err
	}
	entries, next, err := m.store.Activity(ctx, id, cursor, limit)
	if err != nil {
		return 0, nil, err
	}
	views := make([]EntryView, 0, len(entries))
	for _, e := range entries {
		views = append(views, entryView(e))
	}
	return http.StatusOK, map[string]any{"entries": views, "nextCursor": next}, nil
}

// RewardView is a catalog item as a member sees it, its name and
// description in the response's locale (Content-Language).
type RewardView struct {
	loyalty.Reward
	Description string `json:"description,omitempty"`
	Affordable  bool   `json:"affordable"`
}

func (m *MemberAPI) listRewards(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	a, err := m.account(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	rewards, err := m.store.Rewards(ctx)
	if err != nil {
		return 0, nil, err
	}
	loc, err := m.localeOf(ctx, r, id)
	if err != nil {
		return 0, nil, err
	}
	views := []RewardView{}
	for _, rw := range rewards {
		if rw.Active {
			v := RewardView{Reward: rw, Affordable: a.Balance >= rw.Cost}
			v.Name, v.Description = m.texts.Reward(loc, rw)
			views = append(views, v)
		}
	}
	return http.StatusOK, map[string]any{"balance": a.Balance, "rewards": views}, nil
}

// RedemptionView is an issued reward as the member sees it.
type RedemptionView struct {
	loyalty.Redemption
}

func (m *MemberAPI) createRedemption(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	key, err := r.idempotencyKey()
	if err != nil {
		return 0, nil, err
	}
	var body struct {
		RewardID string `json:"rewardId"`
	}
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	if body.RewardID == "" {
		return 0, nil, loyalty.Invalid("rewardId", "rewardId is required")
	}
	red, res, err := m.svc.Redeem(ctx, id, key, body.RewardID)
	if err != nil {
		return 0, nil, err
	}
	r.replayed = res.Replayed
	if !res.Replayed {
		m.metrics.Emit(m.svc.Clock.Now(), map[string]int64{"PointsRedeemed": int64(-res.Entry.Delta), "RedemptionsIssued": 1})
	}
	return http.StatusCreated, red, nil
}

func (m *MemberAPI) listRedemptions(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	reds, err := m.store.Redemptions(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	if reds == nil {
		reds = []loyalty.Redemption{}
	}
	loc, err := m.localeOf(ctx, r, id)
	if err != nil {
		return 0, nil, err
	}
	for i, red := range reds {
		reds[i].RewardName = m.svc.Program.Name(loc, loyalty.TextRewards, red.RewardID, red.RewardName)
	}
	return http.StatusOK, map[string]any{"redemptions": reds}, nil
}

func (m *MemberAPI) cancelRedemption(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	red, res, err := m.svc.CancelRedemption(ctx, id, r.params["redemptionId"])
	if err != nil {
		return 0, nil, err
	}
	r.replayed = res.Replayed
	if !res.Replayed {
		m.metrics.Emit(m.svc.Clock.Now(), map[string]int64{"PointsReturned": int64(res.Entry.Delta), "RedemptionsCancelled": 1})
	}
	return http.StatusOK, red, nil
}
