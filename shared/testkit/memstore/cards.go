package memstore

import (
	"context"
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
	used        map[string]string // code id -> the ledger key it paid
	misses      map[string]int    // partner + minute -> unknown short codes
}

func (t *tillState) init() {
	if t.cards == nil {
		*t = tillState{cards: map[loyalty.CardNumber]loyalty.Card{}, current: map[loyalty.MemberID]loyalty.CardNumber{},
			memberCards: map[loyalty.MemberID][]loyalty.CardNumber{}, short: map[string]loyalty.ShortCode{},
			memberShort: map[loyalty.MemberID][]string{}, used: map[string]string{}, misses: map[string]int{}}
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

// maxClaimItems is what one DynamoDB transaction moves (dynamo/cards.go).
const maxClaimItems = 100

// ClaimCard implements loyalty.CardStore as the DynamoDB store's one
// transaction: under the lock, all at once.
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
	anon := s.lookup(anonID)
	var anonAcct loyalty.Account
	moved := 0
	if anon != nil {
		moved = len(anon.entries) + len(anon.redemptions)
		if anon.account != nil {
			anonAcct = cloneAccount(*anon.account)
		}
	}
	if 2*moved+6 > maxClaimItems {
		return loyalty.CardClaim{}, loyalty.Errorf(loyalty.CodeConflict, "card %s has more history than one claim moves", c.Number.Printable())
	}
	var mine loyalty.Account
	m := s.lookup(member)
	exists := m != nil && m.account != nil
	if exists {
		mine = cloneAccount(*m.account)
	}
	merged := normAccount(merge(mine, exists, anonAcct))
	merged.Version = mine.Version + 1
	dst := s.member(member)
	dst.account = &merged
	if anon != nil {
		for k, e := range anon.entries {
			e.MemberID = member
			dst.entries[k] = e
		}
		for id, r := range anon.redemptions {
			r.MemberID = member
			dst.redemptions[id] = r
		}
		delete(s.members, anonID)
	}
	// The anonymous id is retired: it takes no more changes.
	s.erasures[anonID] = &loyalty.Erasure{State: "merged", RequestedAt: now.UTC()}
	cur.Member, cur.State = member, loyalty.CardActive // the claim hash stays: a retry of the claim is recognised
	s.till.cards[c.Number] = cur
	s.till.memberCards[member] = append(s.till.memberCards[member], c.Number)
	return loyalty.CardClaim{Card: cur, Points: anonAcct.Balance, Entries: len(anonEntries(anon))}, nil
}

func anonEntries(m *member) map[string]loyalty.Entry {
	if m == nil {
		return nil
	}
	return m.entries
}
