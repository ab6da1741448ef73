package memstore

import (
	"context"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/pages"
)

// Notifications stay stored past their expiry (DynamoDB deletes them with a
// delay of up to days after their TTL); reads of the inbox leave them out.

// Deliver implements loyalty.Inbox: a repeat of an occasion (the member has
// a notification with n.ID, expired or not) stores nothing and hands back
// the stored one. For an erased member it stores nothing and hands n back
// as published.
func (s *Store) Deliver(ctx context.Context, n loyalty.Notification) (loyalty.Notification, bool, error) {
	if err := live(ctx); err != nil {
		return loyalty.Notification{}, false, err
	}
	stored, err := normNotification(n)
	if err != nil {
		return loyalty.Notification{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(n.MemberID) {
		// Nothing is stored, and the notification comes back published so
		// that no event about the member is sent either.
		n.Published = true
		return n, false, nil
	}
	m := s.member(n.MemberID)
	if old, ok := m.inbox[n.ID]; ok {
		return cloneNotification(old), false, nil
	}
	m.inbox[n.ID] = stored
	return n, true, nil
}

// MarkPublished implements loyalty.Inbox. A notification that is gone
// (erased) is nothing to mark.
func (s *Store) MarkPublished(ctx context.Context, member loyalty.MemberID, id string) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(member); m != nil {
		if n, ok := m.inbox[id]; ok {
			n.Published = true
			m.inbox[id] = n
		}
	}
	return nil
}

// Notification returns one of the member's notifications, expired or not.
// Errors: CodeNotFound.
func (s *Store) Notification(ctx context.Context, member loyalty.MemberID, id string) (loyalty.Notification, error) {
	if err := live(ctx); err != nil {
		return loyalty.Notification{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(member); m != nil {
		if n, ok := m.inbox[id]; ok {
			return cloneNotification(n), nil
		}
	}
	return loyalty.Notification{}, loyalty.Errorf(loyalty.CodeNotFound, "no notification %s", id)
}

// Notifications returns one page of the member's inbox, newest first, and
// the opaque cursor of the next page ("" on the last page), leaving out
// notifications past their expiry at now.
// Errors: CodeInvalid for a cursor this store did not hand out or a limit
// below 1.
func (s *Store) Notifications(ctx context.Context, member loyalty.MemberID, after string, limit int, now time.Time) ([]loyalty.Notification, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	from, err := pages.ParseCursor(after)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 {
		return nil, "", errBadLimit
	}
	s.mu.Lock()
	var kept []loyalty.Notification
	if m := s.lookup(member); m != nil {
		for _, n := range m.inbox {
			if n.ExpiresAt.After(now) {
				kept = append(kept, cloneNotification(n))
			}
		}
	}
	s.mu.Unlock()
	page, next := pages.NewestFirst(kept, func(n loyalty.Notification) time.Time { return n.CreatedAt },
		func(n loyalty.Notification) string { return n.ID }, from, limit)
	return page, next, nil
}

// MarkNotificationRead records that the member read a notification and
// returns it; reading again keeps the first time. Errors: CodeNotFound when
// the member has no such notification or it is past its expiry at at.
func (s *Store) MarkNotificationRead(ctx context.Context, member loyalty.MemberID, id string, at time.Time) (loyalty.Notification, error) {
	if err := live(ctx); err != nil {
		return loyalty.Notification{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.lookup(member)
	if m == nil {
		return loyalty.Notification{}, loyalty.Errorf(loyalty.CodeNotFound, "no notification %s", id)
	}
	n, ok := m.inbox[id]
	if !ok || n.ExpiresAt.Unix() <= at.Unix() {
		return loyalty.Notification{}, loyalty.Errorf(loyalty.CodeNotFound, "no notification %s", id)
	}
	if n.ReadAt == nil {
		r := utc(at)
		n.ReadAt = &r
		m.inbox[id] = n
	}
	return cloneNotification(n), nil
}
