package memstore

import (
	"context"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// PreferredLocale implements loyalty.Preferences.
func (s *Store) PreferredLocale(ctx context.Context, member loyalty.MemberID) (string, error) {
	if err := live(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(member); m != nil {
		return m.locale, nil
	}
	return "", nil
}

// SetPreferredLocale implements loyalty.Preferences; an erased member's id
// takes no more changes.
func (s *Store) SetPreferredLocale(ctx context.Context, member loyalty.MemberID, locale string, at time.Time) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(member) {
		return loyalty.Errorf(loyalty.CodeMemberErased, "the member was erased: their id takes no more changes")
	}
	s.member(member).locale = locale
	return nil
}
