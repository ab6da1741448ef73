package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Inbox is what the notification routes read and change; the DynamoDB store
// implements it. A member only ever reaches the inbox of their token's sub.
type Inbox interface {
	// Notifications returns a page of the member's inbox, newest first, and
	// the cursor of the next page ("" on the last). Errors: CodeInvalid for
	// a cursor it did not hand out.
	Notifications(ctx context.Context, member loyalty.MemberID, cursor string, limit int, now time.Time) ([]loyalty.Notification, string, error)
	// MarkNotificationRead records the first time the member read it.
	// Errors: CodeNotFound.
	MarkNotificationRead(ctx context.Context, member loyalty.MemberID, id string, at time.Time) (loyalty.Notification, error)
}

// NotificationView is a notification as the app shows it. Kind and Data
// are the facts, for an app that writes its own text; Title is the
// program's text for them in the response's locale (Content-Language).
type NotificationView struct {
	ID        string                   `json:"id"`
	Kind      loyalty.NotificationKind `json:"kind"`
	Title     string                   `json:"title"`
	Data      map[string]any           `json:"data"`
	CreatedAt time.Time                `json:"createdAt"`
	ReadAt    *time.Time               `json:"readAt"`
	ExpiresAt time.Time                `json:"expiresAt"`
}

// notificationView shows n with its title rendered now, in locale, from its
// kind's template and its data: a corrected template applies to
// notifications stored before the correction too.
func (m *MemberAPI) notificationView(loc string, n loyalty.Notification) NotificationView {
	v := NotificationView{ID: n.ID, Kind: n.Kind, Title: m.texts.Title(loc, n), Data: n.Data, CreatedAt: n.CreatedAt, ReadAt: n.ReadAt, ExpiresAt: n.ExpiresAt}
	if v.Data == nil {
		v.Data = map[string]any{}
	}
	return v
}

// listNotifications: GET /v1/me/notifications?limit=&cursor=
func (m *MemberAPI) listNotifications(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery("limit", "cursor"); err != nil {
		return 0, nil, err
	}
	limit, err := r.intQuery("limit", 20, 1, 50)
	if err != nil {
		return 0, nil, err
	}
	cursor, err := r.strQuery("cursor", 512)
	if err != nil {
		return 0, nil, err
	}
	ns, next, err := m.store.Notifications(ctx, id, cursor, limit, m.svc.Clock.Now())
	if err != nil {
		return 0, nil, err
	}
	loc, err := m.localeOf(ctx, r, id)
	if err != nil {
		return 0, nil, err
	}
	views := make([]NotificationView, 0, len(ns))
	for _, n := range ns {
		views = append(views, m.notificationView(loc, n))
	}
	return http.StatusOK, map[string]any{"notifications": views, "nextCursor": next}, nil
}

// markNotificationRead: POST /v1/me/notifications/{notificationId}/read.
// Marking again keeps the first time; another member's id is not found.
func (m *MemberAPI) markNotificationRead(ctx context.Context, r *request) (int, any, error) {
	id, err := r.member()
	if err != nil {
		return 0, nil, err
	}
	if err := r.checkQuery(); err != nil {
		return 0, nil, err
	}
	nid := r.params["notificationId"]
	if err := loyalty.ValidateKey("notificationId", nid); err != nil {
		return 0, nil, err
	}
	n, err := m.store.MarkNotificationRead(ctx, id, nid, m.svc.Clock.Now())
	if err != nil {
		return 0, nil, err
	}
	loc, err := m.localeOf(ctx, r, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m.notificationView(loc, n), nil
}
