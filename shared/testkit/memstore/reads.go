package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/pages"
)

// Account implements loyalty.Store. Errors: CodeNotFound.
func (s *Store) Account(ctx context.Context, id loyalty.MemberID) (loyalty.Account, error) {
	if err := live(ctx); err != nil {
		return loyalty.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(id); m != nil && m.account != nil {
		return cloneAccount(*m.account), nil
	}
	return loyalty.Account{}, loyalty.Errorf(loyalty.CodeNotFound, "member %s is not enrolled", id)
}

// Entry implements loyalty.Store. Errors: CodeNotFound.
func (s *Store) Entry(ctx context.Context, id loyalty.MemberID, key string) (loyalty.Entry, error) {
	if err := live(ctx); err != nil {
		return loyalty.Entry{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(id); m != nil {
		if e, ok := m.entries[key]; ok {
			return cloneEntry(e), nil
		}
	}
	return loyalty.Entry{}, loyalty.Errorf(loyalty.CodeNotFound, "no ledger entry %s", key)
}

// Redemption implements loyalty.Store. Errors: CodeNotFound.
func (s *Store) Redemption(ctx context.Context, id loyalty.MemberID, redemptionID string) (loyalty.Redemption, error) {
	if err := live(ctx); err != nil {
		return loyalty.Redemption{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(id); m != nil {
		if r, ok := m.redemptions[redemptionID]; ok {
			return normRedemption(r), nil
		}
	}
	return loyalty.Redemption{}, loyalty.Errorf(loyalty.CodeNotFound, "no redemption %s", redemptionID)
}

// Reward implements loyalty.Store. Errors: CodeNotFound.
func (s *Store) Reward(ctx context.Context, id string) (loyalty.Reward, error) {
	if err := live(ctx); err != nil {
		return loyalty.Reward{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.rewards[id]; ok {
		return normReward(r), nil
	}
	return loyalty.Reward{}, loyalty.Errorf(loyalty.CodeNotFound, "no reward %s", id)
}

// PutReward implements loyalty.Catalog: it adds or replaces a catalog item.
func (s *Store) PutReward(ctx context.Context, r loyalty.Reward) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewards[r.ID] = normReward(r)
	return nil
}

// Rewards lists the catalog, ordered by id.
func (s *Store) Rewards(ctx context.Context) ([]loyalty.Reward, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]loyalty.Reward, 0, len(s.rewards))
	for _, r := range s.rewards {
		out = append(out, normReward(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Enrol implements loyalty.Store: it creates the account once, at version 1,
// and otherwise returns the account as it is. Errors: CodeMemberErased.
func (s *Store) Enrol(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Account, error) {
	if err := live(ctx); err != nil {
		return loyalty.Account{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(id) {
		return loyalty.Account{}, errErased()
	}
	m := s.member(id)
	if m.account != nil {
		return cloneAccount(*m.account), nil
	}
	a := loyalty.NewAccount(id, now)
	a.Version = 1
	stored := normAccount(a)
	m.account = &stored
	return a, nil
}

// ledger is a member's entries, oldest first (time, then key). The caller
// holds mu.
func (s *Store) ledger(id loyalty.MemberID) []loyalty.Entry {
	out := []loyalty.Entry{}
	if m := s.lookup(id); m != nil {
		for _, e := range m.entries {
			out = append(out, cloneEntry(e))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Ledger returns all of a member's ledger entries, oldest first.
func (s *Store) Ledger(ctx context.Context, id loyalty.MemberID) ([]loyalty.Entry, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ledger(id), nil
}

// Activity returns one page of a member's ledger, newest first, and the
// opaque cursor of the next page ("" on the last page).
// Errors: CodeInvalid for a cursor this store did not hand out or a limit
// below 1.
func (s *Store) Activity(ctx context.Context, id loyalty.MemberID, after string, limit int) ([]loyalty.Entry, string, error) {
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
	all := s.ledger(id)
	s.mu.Unlock()
	page, next := pages.NewestFirst(all, func(e loyalty.Entry) time.Time { return e.At }, func(e loyalty.Entry) string { return e.Key }, from, limit)
	return page, next, nil
}

// Redemptions lists a member's redemptions, newest first.
func (s *Store) Redemptions(ctx context.Context, id loyalty.MemberID) ([]loyalty.Redemption, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []loyalty.Redemption{}
	if m := s.lookup(id); m != nil {
		for _, r := range m.redemptions {
			out = append(out, normRedemption(r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].IssuedAt.Equal(out[j].IssuedAt) {
			return out[i].IssuedAt.After(out[j].IssuedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Accounts reads the accounts of members; members without an account are
// missing from the map.
func (s *Store) Accounts(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Account, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[loyalty.MemberID]loyalty.Account, len(ids))
	for _, id := range ids {
		if m := s.lookup(id); m != nil && m.account != nil {
			out[id] = cloneAccount(*m.account)
		}
	}
	return out, nil
}

// AuditMember checks one member with loyalty.AuditAccount; nil means
// account, ledger and lots agree. The entries of a claimed card whose
// history is still moving count as the member's, as the DynamoDB store
// counts them. Errors: CodeNotFound.
func (s *Store) AuditMember(ctx context.Context, id loyalty.MemberID) (*loyalty.AuditProblem, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	pending := s.pendingHistory(id)
	s.mu.Unlock()
	a, err := s.Account(ctx, id)
	if err != nil {
		return nil, err
	}
	entries, err := s.Ledger(ctx, id)
	if err != nil {
		return nil, err
	}
	return loyalty.AuditAccount(a, loyalty.WithPending(entries, pending)), nil
}

// AuditReport is the outcome of Audit, as the DynamoDB store reports it.
type AuditReport struct {
	Members  int                    `json:"membersChecked"`
	Problems []loyalty.AuditProblem `json:"problems"`
}

// Audit checks every member with an account. segments is accepted for the
// DynamoDB store's signature and means nothing here.
func (s *Store) Audit(ctx context.Context, segments int) (AuditReport, error) {
	if err := live(ctx); err != nil {
		return AuditReport{}, err
	}
	s.mu.Lock()
	var ids []loyalty.MemberID
	for id, m := range s.members {
		if m.account != nil {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var rep AuditReport
	for _, id := range ids {
		p, err := s.AuditMember(ctx, id)
		if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
			continue // erased meanwhile
		}
		if err != nil {
			return rep, err
		}
		rep.Members++
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	return rep, nil
}

// Seed writes accounts and ledger entries as they are (an account without a
// version gets version 1), bypassing Apply, as the DynamoDB store's Seed
// does: the caller hands over accounts and entries that agree.
func (s *Store) Seed(ctx context.Context, accounts []loyalty.Account, entries []loyalty.Entry) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range accounts {
		if a.Version == 0 {
			a.Version = 1
		}
		stored := normAccount(a)
		s.member(a.MemberID).account = &stored
	}
	for _, e := range entries {
		s.member(e.MemberID).entries[e.Key] = normEntry(e)
	}
	return nil
}

var (
	errBadCursor = pages.ErrBadCursor
	errBadLimit  = loyalty.Invalid("limit", "limit must be at least 1")
)
