package memstore

import (
	"context"
	"sort"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

var _ loyalty.CardStore = (*Store)(nil)

// tillState holds cards and codes as the DynamoDB store's items do
// (dynamo/cards.go): a card by number, the member's current number and
// every number they had, the short codes, the codes spent, and each
// partner's misses by minute. The caller holds mu for every method.
type tillState struct {
	cards       map[loyalty.CardNumber]loyalty.Card
	current     map[loyalty.MemberID]loyalty.CardNumber
	memberCards map[loyalty.MemberID][]loyalty.CardNumber
	short       map[string]loyalty.ShortCode
	memberShort map[loyalty.MemberID][]string
	used        map[string]string           // code id -> the ledger key it paid
	misses      map[string]int              // partner + minute -> unknown short codes
	moving      map[loyalty.CardNumber]bool // claimed cards whose history is still moving
}

func (t *tillState) init() {
	if t.cards == nil {
		*t = tillState{cards: map[loyalty.CardNumber]loyalty.Card{}, current: map[loyalty.MemberID]loyalty.CardNumber{},
			memberCards: map[loyalty.MemberID][]loyalty.CardNumber{}, short: map[string]loyalty.ShortCode{},
			memberShort: map[loyalty.MemberID][]string{}, used: map[string]string{}, misses: map[string]int{},
			moving: map[loyalty.CardNumber]bool{}}
	}
}

func (t *tillState) use(code, key string) { t.init(); t.used[code] = key }

// erase deletes the member's cards and short codes and returns how many
// items the DynamoDB store deletes for them: the pointer, and each card
// and short code with the member's copy.
func (t *tillState) erase(id loyalty.MemberID) int {
	t.init()
	n := 0
	if _, ok := t.current[id]; ok {
		delete(t.current, id)
		n++
	}
	for _, c := range t.memberCards[id] {
		delete(t.cards, c)
		n += 2
	}
	delete(t.memberCards, id)
	for _, d := range t.memberShort[id] {
		if sc, ok := t.short[d]; ok && sc.Member == id {
			delete(t.short, d)
		}
		n += 2
	}
	delete(t.memberShort, id)
	return n
}

// MemberCard implements loyalty.CardStore.
func (s *Store) MemberCard(ctx context.Context, id loyalty.MemberID) (loyalty.Card, error) {
	if err := live(ctx); err != nil {
		return loyalty.Card{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	n, ok := s.till.current[id]
	if !ok {
		return loyalty.Card{}, loyalty.Errorf(loyalty.CodeNotFound, "the member has no card yet")
	}
	return s.till.cards[n], nil
}

// CardByNumber implements loyalty.CardStore.
func (s *Store) CardByNumber(ctx context.Context, n loyalty.CardNumber) (loyalty.Card, error) {
	if err := live(ctx); err != nil {
		return loyalty.Card{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	c, ok := s.till.cards[n]
	if !ok {
		return loyalty.Card{}, loyalty.Errorf(loyalty.CodeNotFound, "no card has that number")
	}
	return c, nil
}

// IssueCard implements loyalty.CardStore.
func (s *Store) IssueCard(ctx context.Context, c loyalty.Card) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	if s.isErased(c.Member) {
		return errErased()
	}
	if _, taken := s.till.cards[c.Number]; taken {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	if _, has := s.till.current[c.Member]; has {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	c.IssuedAt = c.IssuedAt.UTC()
	s.till.cards[c.Number] = c
	s.till.current[c.Member] = c.Number
	s.till.memberCards[c.Member] = append(s.till.memberCards[c.Member], c.Number)
	return nil
}

// ReplaceCard implements loyalty.CardStore.
func (s *Store) ReplaceCard(ctx context.Context, old, next loyalty.Card, now time.Time) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	if s.isErased(old.Member) {
		return errErased()
	}
	cur, ok := s.till.cards[old.Number]
	if old.Member != next.Member || !ok || cur.State != loyalty.CardActive || s.till.current[old.Member] != old.Number {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	if _, taken := s.till.cards[next.Number]; taken {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	cur.State, cur.BlockedAt = loyalty.CardBlocked, now.UTC()
	s.till.cards[old.Number] = cur
	next.IssuedAt = next.IssuedAt.UTC()
	s.till.cards[next.Number] = next
	s.till.current[next.Member] = next.Number
	s.till.memberCards[next.Member] = append(s.till.memberCards[next.Member], next.Number)
	return nil
}

// PutShortCode implements loyalty.CardStore.
func (s *Store) PutShortCode(ctx context.Context, c loyalty.ShortCode) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	if s.isErased(c.Member) {
		return errErased()
	}
	if prev, ok := s.till.short[c.Digits]; ok && !prev.Expires.Before(c.Expires.Add(-time.Hour)) {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	c.Expires = c.Expires.UTC()
	s.till.short[c.Digits] = c
	s.till.memberShort[c.Member] = append(s.till.memberShort[c.Member], c.Digits)
	return nil
}

// ResolveShortCode implements loyalty.CardStore.
func (s *Store) ResolveShortCode(ctx context.Context, partner, digits string, now time.Time, maxMisses int) (loyalty.ShortCode, error) {
	if err := live(ctx); err != nil {
		return loyalty.ShortCode{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	window := partner + "#" + now.UTC().Format("2006-01-02T15:04")
	if s.till.misses[window] >= maxMisses {
		return loyalty.ShortCode{}, loyalty.RateLimited(partner, maxMisses)
	}
	if c, ok := s.till.short[digits]; ok {
		return c, nil
	}
	s.till.misses[window]++
	return loyalty.ShortCode{}, loyalty.Errorf(loyalty.CodeNotFound, "no live code has these digits")
}

// PutUnclaimedCard implements loyalty.CardStore.
func (s *Store) PutUnclaimedCard(ctx context.Context, c loyalty.Card) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	if _, taken := s.till.cards[c.Number]; taken {
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	c.IssuedAt = c.IssuedAt.UTC()
	s.till.cards[c.Number] = c
	return nil
}

// claimPage is how many history items one page moves (dynamo/claim.go).
const claimPage = 48

// ClaimCard implements loyalty.CardStore as the DynamoDB store's
// transaction: under the lock, the accounts merge, the card becomes the
// member's with its history moving, and the anonymous id is retired; its
// entries and rewards stay for MoveClaimHistory.
func (s *Store) ClaimCard(ctx context.Context, c loyalty.Card, member loyalty.MemberID, now time.Time,
	merge func(mine loyalty.Account, exists bool, anon loyalty.Account) loyalty.Account) (loyalty.CardClaim, error) {
	if err := live(ctx); err != nil {
		return loyalty.CardClaim{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	if s.isErased(member) {
		return loyalty.CardClaim{}, errErased()
	}
	cur, ok := s.till.cards[c.Number]
	if !ok || cur.State != loyalty.CardUnclaimed {
		return loyalty.CardClaim{}, loyalty.Errorf(loyalty.CodeConflict, "card %s was claimed meanwhile", c.Number.Printable())
	}
	anonID := cur.Member
	var anonAcct loyalty.Account
	if anon := s.lookup(anonID); anon != nil && anon.account != nil {
		anonAcct = cloneAccount(*anon.account)
		anon.account = nil
	}
	var mine loyalty.Account
	m := s.lookup(member)
	exists := m != nil && m.account != nil
	if exists {
		mine = cloneAccount(*m.account)
	}
	merged := normAccount(merge(mine, exists, anonAcct))
	merged.Version = mine.Version + 1
	s.member(member).account = &merged
	// The anonymous id is retired: it takes no more changes.
	s.erasures[anonID] = &loyalty.Erasure{State: loyalty.ErasureMerged, RequestedAt: now.UTC()}
	cur.Member, cur.State = member, loyalty.CardActive // the claim hash stays: a retry of the claim is recognised
	s.till.cards[c.Number] = cur
	s.till.memberCards[member] = append(s.till.memberCards[member], c.Number)
	s.till.moving[c.Number] = true
	return loyalty.CardClaim{Card: cur, Points: anonAcct.Balance, History: loyalty.ClaimMoving}, nil
}

// MoveClaimHistory implements loyalty.CardStore as the DynamoDB store's
// pages: each under the lock, claimPage items at most, in key order.
func (s *Store) MoveClaimHistory(ctx context.Context, c loyalty.Card, pages int) (int, bool, error) {
	moved := 0
	for range pages {
		if err := live(ctx); err != nil {
			return moved, false, err
		}
		n, done, err := s.moveClaimPage(c)
		if err != nil {
			return moved, false, err
		}
		moved += n
		if done {
			return moved, true, nil
		}
	}
	return moved, false, nil
}

// moveClaimPage moves one page of the card's history; nothing is put
// under a member whose erasure started (their erasure took what was left).
func (s *Store) moveClaimPage(c loyalty.Card) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.till.init()
	anonID := loyalty.AnonymousMember(c.Number)
	anon := s.lookup(anonID)
	if anon == nil {
		delete(s.till.moving, c.Number)
		return 0, true, nil
	}
	if s.erasures[c.Member] != nil {
		return 0, false, errErased()
	}
	dst := s.member(c.Member)
	keys := make([]string, 0, len(anon.entries))
	for k := range anon.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	moved, items := 0, 0
	for _, k := range keys {
		if items == claimPage {
			return moved, false, nil
		}
		e := anon.entries[k]
		e.MemberID = c.Member
		dst.entries[k] = e
		delete(anon.entries, k)
		moved++
		items++
	}
	ids := make([]string, 0, len(anon.redemptions))
	for id := range anon.redemptions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if items == claimPage {
			return moved, false, nil
		}
		r := anon.redemptions[id]
		r.MemberID = c.Member
		dst.redemptions[id] = r
		delete(anon.redemptions, id)
		items++
	}
	if items == claimPage {
		return moved, false, nil // the next page finds the partition empty
	}
	delete(s.members, anonID) // what is left (notifications, the class) goes with it
	return moved, false, nil
}

// pendingHistory is the entries of the member's claimed cards whose history
// is still moving; the caller holds mu.
func (s *Store) pendingHistory(member loyalty.MemberID) []loyalty.Entry {
	s.till.init()
	var out []loyalty.Entry
	for _, n := range s.till.memberCards[member] {
		if s.till.moving[n] {
			out = append(out, s.ledger(loyalty.AnonymousMember(n))...)
		}
	}
	return out
}
