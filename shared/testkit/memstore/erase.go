package memstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// An erasure here happens at once where the DynamoDB store goes page by
// page, with the same outcome: the mark (kept for good, with the counts and
// the receipt), then every item of the member and every item elsewhere that
// names them deleted, the referees' records rewritten to name
// loyalty.ErasedMember, the rejections naming them deleted, and the
// anonymised totals kept under a random id. From the mark on, the member's
// id takes no more changes (CodeMemberErased), so the keys they spent stay
// spent without anything of them being kept.

// errErased is what every write for an erased member fails with. The
// message names nobody: it may end up in a rejection record.
func errErased() error {
	return loyalty.Errorf(loyalty.CodeMemberErased, "the member was erased: their id takes no more changes")
}

// isErased reports whether the member's erasure was started. The caller holds mu.
func (s *Store) isErased(id loyalty.MemberID) bool { return s.erasures[id] != nil }

// EraseMember implements loyalty.Eraser. Erasing again returns the first
// receipt (and deletes anything of the member written since, as a restored
// backup or a seed could). Errors: CodeNotFound for a member the store holds
// nothing of.
func (s *Store) EraseMember(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Erasure, error) {
	if err := live(ctx); err != nil {
		return loyalty.Erasure{}, err
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return loyalty.Erasure{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mark := s.erasures[id]; mark != nil {
		var sweep loyalty.Erasure
		s.erase(id, &sweep)
		return *mark, nil
	}
	m := s.lookup(id)
	if (m == nil || m.empty()) && !s.namedByRejections(id) {
		return loyalty.Erasure{}, loyalty.Errorf(loyalty.CodeNotFound, "member %s is not enrolled", id)
	}
	mark := &loyalty.Erasure{AnonymousID: hex.EncodeToString(rnd[:]), State: loyalty.ErasureInProgress, RequestedAt: utc(now)}
	if m != nil && m.account != nil {
		mark.Balance, mark.Lifetime = m.account.Balance, m.account.Lifetime
	}
	s.erasures[id] = mark
	s.erase(id, mark)
	mark.Entries = mark.Deleted.Ledger
	mark.State, mark.ErasedAt = loyalty.ErasureDone, utc(now)
	s.erased[mark.AnonymousID] = loyalty.Erasure{AnonymousID: mark.AnonymousID, State: loyalty.ErasureDone, Entries: mark.Entries,
		Balance: mark.Balance, Lifetime: mark.Lifetime, ErasedAt: mark.ErasedAt}
	return *mark, nil
}

// ErasureStatus implements loyalty.ErasureLog. Errors: CodeNotFound when no
// erasure of the member was started.
func (s *Store) ErasureStatus(ctx context.Context, id loyalty.MemberID) (loyalty.Erasure, error) {
	if err := live(ctx); err != nil {
		return loyalty.Erasure{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mark := s.erasures[id]; mark != nil {
		return *mark, nil
	}
	return loyalty.Erasure{}, loyalty.Errorf(loyalty.CodeNotFound, "no erasure of member %s", id)
}

func (m *member) empty() bool {
	return m.account == nil && len(m.entries) == 0 && len(m.redemptions) == 0 && len(m.inbox) == 0 && m.class == nil &&
		m.afford == nil && m.code == nil && m.referredBy == nil && len(m.referees) == 0 && len(m.months) == 0 && len(m.feedback) == 0
}

func (s *Store) namedByRejections(id loyalty.MemberID) bool {
	for _, r := range s.rejections {
		if r.Names(id) {
			return true
		}
	}
	return false
}

// erase deletes the member's partition, what its items point to outside it
// and the rejections naming the member, counting into er as the DynamoDB
// store counts: an item and the item it points to (a feedback's day copy,
// the code's owner record, the referrer's record of the member) both count.
// The caller holds mu.
func (s *Store) erase(id loyalty.MemberID, er *loyalty.Erasure) {
	d := &er.Deleted
	if m := s.lookup(id); m != nil {
		if m.account != nil {
			d.Account++
		}
		d.Ledger += len(m.entries)
		d.Redemptions += len(m.redemptions)
		d.Notifications += len(m.inbox)
		for _, fb := range m.feedback {
			d.Feedback++
			if _, ok := s.feedbackDay[fb.Day][feedbackDaySK(fb)]; ok {
				delete(s.feedbackDay[fb.Day], feedbackDaySK(fb))
				d.Feedback++
			}
		}
		if m.code != nil {
			d.Referrals++
			if c, ok := s.codes[m.code.Code]; ok && c.Member == id {
				delete(s.codes, m.code.Code)
				d.Referrals++
			}
		}
		if r := m.referredBy; r != nil {
			d.Referrals++
			if r.Referrer != loyalty.ErasedMember && r.Referrer != "" {
				if rm := s.lookup(r.Referrer); rm != nil {
					if _, ok := rm.referees[id]; ok {
						delete(rm.referees, id)
						d.Referrals++
					}
				}
			}
		}
		for referee := range m.referees {
			s.forgetReferrer(id, referee)
			er.Rewritten++
			d.Referrals++
		}
		d.Referrals += len(m.months)
		if m.class != nil {
			d.Other++
		}
		if m.afford != nil {
			d.Other++
		}
		s.eraseMovingCards(id, d)
		d.Other += s.till.erase(id)
		delete(s.members, id)
	}
	for mid, r := range s.rejections {
		if r.Names(id) {
			delete(s.rejections, mid)
			d.Rejections++
		}
	}
}

// eraseMovingCards deletes what is left under the anonymous ids of the
// member's claimed cards whose history is still moving, counted as the
// member's, as the DynamoDB store does before the member's copies of the
// cards go. The caller holds mu.
func (s *Store) eraseMovingCards(id loyalty.MemberID, d *loyalty.ErasedItems) {
	s.till.init()
	for _, n := range s.till.memberCards[id] {
		if !s.till.moving[n] {
			continue
		}
		anonID := loyalty.AnonymousMember(n)
		if anon := s.lookup(anonID); anon != nil {
			d.Ledger += len(anon.entries)
			d.Redemptions += len(anon.redemptions)
			d.Notifications += len(anon.inbox)
			if anon.class != nil {
				d.Other++
			}
			delete(s.members, anonID)
		}
		delete(s.till.moving, n)
	}
}

// forgetReferrer rewrites the referee's records that name the erased
// referrer to name loyalty.ErasedMember: the pending referral on their
// account (the referee still gets their bonus; nobody the referrer's) and
// their record of who referred them, without the code. The caller holds mu.
func (s *Store) forgetReferrer(referrer, referee loyalty.MemberID) {
	m := s.lookup(referee)
	if m == nil {
		return
	}
	if m.account != nil && m.account.ReferredBy == referrer {
		a := cloneAccount(*m.account)
		a.ReferredBy = loyalty.ErasedMember
		a.Version++
		m.account = &a
	}
	if r := m.referredBy; r != nil && r.Referrer == referrer {
		c := *r
		c.Referrer, c.Code = loyalty.ErasedMember, ""
		m.referredBy = &c
	}
}
