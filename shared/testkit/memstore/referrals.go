package memstore

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// CodeOwner implements loyalty.ReferralStore. Errors: CodeNotFound.
func (s *Store) CodeOwner(ctx context.Context, code string) (loyalty.MemberID, error) {
	if err := live(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.codes[code]; ok {
		return c.Member, nil
	}
	return "", loyalty.Errorf(loyalty.CodeNotFound, "no referral code %s", code)
}

// ClaimCode implements loyalty.ReferralStore: the code becomes member's
// unless another member holds it; claiming one's own code again rewrites it.
// Errors: CodeMemberErased.
func (s *Store) ClaimCode(ctx context.Context, code string, member loyalty.MemberID, at time.Time) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(member) {
		return false, errErased()
	}
	if c, ok := s.codes[code]; ok && c.Member != member {
		return false, nil
	}
	rec := codeRecord{Code: code, Member: member, At: utc(at)}
	s.codes[code] = rec
	s.member(member).code = &rec
	return true, nil
}

// Referral implements loyalty.ReferralStore.
func (s *Store) Referral(ctx context.Context, member loyalty.MemberID) (loyalty.Referee, bool, error) {
	if err := live(ctx); err != nil {
		return loyalty.Referee{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(member); m != nil && m.referredBy != nil {
		return *m.referredBy, true, nil
	}
	return loyalty.Referee{}, false, nil
}

// Referees implements loyalty.ReferralStore, ordered by the referee's id.
func (s *Store) Referees(ctx context.Context, referrer loyalty.MemberID) ([]loyalty.Referee, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []loyalty.Referee{}
	if m := s.lookup(referrer); m != nil {
		for _, r := range m.referees {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Member < out[j].Member })
	return out, nil
}

// ReferralMonth implements loyalty.ReferralStore.
func (s *Store) ReferralMonth(ctx context.Context, referrer loyalty.MemberID, month string) (loyalty.ReferralMonth, error) {
	if err := live(ctx); err != nil {
		return loyalty.ReferralMonth{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := loyalty.ReferralMonth{Month: month}
	if m := s.lookup(referrer); m != nil {
		if rm, ok := m.months[month]; ok {
			out.Paid, out.Capped = rm.Paid, rm.Capped
		}
	}
	return out, nil
}

// HasEntries implements loyalty.ReferralStore.
func (s *Store) HasEntries(ctx context.Context, member loyalty.MemberID, keyPrefix string) (bool, error) {
	if err := live(ctx); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(member); m != nil {
		for k := range m.entries {
			if strings.HasPrefix(k, keyPrefix) {
				return true, nil
			}
		}
	}
	return false, nil
}

// EnrolReferral implements loyalty.ReferralStore at once: the referee's
// account, still at acctVersion and without a pending referrer, gets
// ReferredBy (and a new version); the referee's permanent record and the
// referrer's record of the referee are put only if new; chainEnd must still
// have no referrer; the referrer must not be erased. Errors: CodeConflict
// when a condition failed.
func (s *Store) EnrolReferral(ctx context.Context, ref loyalty.Referee, acctVersion int64, chainEnd loyalty.MemberID) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conflict := &loyalty.Error{Code: loyalty.CodeConflict, Message: "the member or the referral chain changed"}
	m := s.lookup(ref.Member)
	if m == nil || m.account == nil || m.account.Version != acctVersion || m.account.ReferredBy != "" || m.referredBy != nil {
		return conflict
	}
	if r := s.lookup(ref.Referrer); r != nil {
		if _, ok := r.referees[ref.Member]; ok {
			return conflict
		}
	}
	if chainEnd != "" {
		if e := s.lookup(chainEnd); e != nil && e.referredBy != nil {
			return conflict
		}
	}
	// The referrer must not be erased meanwhile, or their record of the
	// referee would outlive them.
	if s.isErased(ref.Referrer) {
		return conflict
	}
	a := cloneAccount(*m.account)
	a.ReferredBy = ref.Referrer
	a.Version++
	m.account = &a
	permanent := normReferee(ref)
	permanent.State = "" // the referee's copy only says who referred them; the referrer's says where it stands
	m.referredBy = &permanent
	s.member(ref.Referrer).referees[ref.Member] = normReferee(ref)
	return nil
}
