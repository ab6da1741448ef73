package dynamo

import (
	"maps"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// maxCountHints bounds the members whose counters the store remembers;
// past it the memory starts again empty (a forgotten count costs one
// planned write).
const maxCountHints = 100_000

// A quick credit must name, for each stamp card, whether the card fills
// (its last stamp: the card empties and the reward is issued) or not, and
// for each promotion limited per member, whether the member's uses are
// below the limit (it applies and counts) or have reached it (it gives
// nothing), and it names the member's tier (whose multiplier the entry
// applies): the entry differs, and a condition cannot choose between two
// entries. So the store remembers the tier and counters of the members it wrote:
// what it last saw of an account (a read, a failed condition's account, a
// planned write) and what its own quick credits added since. It chooses
// the form those counts say, and the condition checks it: a count that is
// wrong (another process wrote the member, or the store forgot) fails the
// condition, and the store plans from the account the failure returned (a
// second write, no read) and remembers its counts again.

// memberCounts is what the store knows of one member's tier and counters:
// all of them, as of an account it saw, plus its own quick credits since.
type memberCounts struct {
	// counted: tier, stamps and uses are known (from an account the store
	// saw). For a member the store has only credited quickly, never seen,
	// only pruned is kept.
	counted      bool
	tier         string // the account's tier: a quick form names the tier whose multiplier it applies
	stamps, uses map[string]int
	// pruned is the month ("2006-01") of this store's last quick credit of
	// the member that removed the stale qualifying months: later credits of
	// that month need not remove them again (pruneStale).
	pruned string
}

// quickForm is the form of op.Quick the remembered tier and counts say
// (the base tier's, with no limit reached and no card filling, for a
// member the store has not seen), computed once; nil when the purchase has
// no quick form on such an account, or on the base tier's.
func (s *Store) quickForm(op loyalty.Op) *loyalty.QuickCredit {
	b := op.Quick
	// The counts are copied under the lock; the form is computed outside it.
	var tier string
	var uses, stamps map[string]int
	s.mu.Lock()
	mc, known := s.counts[op.Member]
	if known = known && mc.counted; known {
		tier, uses, stamps = mc.tier, maps.Clone(mc.uses), maps.Clone(mc.stamps)
	}
	s.mu.Unlock()
	q, ok, err := b.FormOn(tier, uses, stamps)
	if err == nil && !ok && known {
		// None in the state remembered: the base tier's, whose condition
		// fails if the memory is right and returns the account to plan from.
		q, ok, err = b.Form("", nil, nil)
	}
	if err != nil || !ok {
		return nil
	}
	return &q
}

// quickFormFor is the quick form of op that acct, with its stored tier
// headroom room, is in (on acct's tier); nil when none is.
func quickFormFor(op loyalty.Op, acct loyalty.Account, room *int64) *loyalty.QuickCredit {
	f, ok, err := op.Quick.FormOn(acct.Tier, acct.PromoUses, acct.Stamps)
	if err != nil || !ok || !f.Holds(acct, true, f.Entry.At) || room == nil || *room <= int64(f.Qualifying) {
		return nil
	}
	return &f
}

// learnCounts remembers the member's counters as acct holds them.
func (s *Store) learnCounts(m loyalty.MemberID, acct loyalty.Account) {
	mc := &memberCounts{counted: true, tier: acct.Tier, stamps: map[string]int{}, uses: map[string]int{}}
	for k, n := range acct.Stamps {
		mc.stamps[k] = n
	}
	for k, n := range acct.PromoUses {
		mc.uses[k] = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil || len(s.counts) >= maxCountHints {
		s.counts = map[loyalty.MemberID]*memberCounts{}
	}
	if old, ok := s.counts[m]; ok {
		mc.pruned = old.pruned
	}
	s.counts[m] = mc
}

// pruneStale reports whether a quick credit of the member in month must
// remove the stale qualifying months: unless this store's last credit of
// the member that removed them was in the same month. A credit adds at most
// its own month's key, so the map is pruned as often as before, once per
// month; skipping it is always safe (a month out of every window counts for
// nothing), and the 24 REMOVE clauses cost DynamoDB work on every write.
func (s *Store) pruneStale(m loyalty.MemberID, month string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc, ok := s.counts[m]
	return !ok || mc.pruned != month
}

// countQuick follows the counters through a quick credit q that was
// written: stamps and uses one up, filled cards empty; pruned tells that
// it removed the stale qualifying months.
func (s *Store) countQuick(m loyalty.MemberID, q *loyalty.QuickCredit, pruned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mc, ok := s.counts[m]
	if !ok {
		if !pruned {
			return
		}
		// Counters unknown, but the month's pruning is done.
		if s.counts == nil || len(s.counts) >= maxCountHints {
			s.counts = map[loyalty.MemberID]*memberCounts{}
		}
		mc = &memberCounts{}
		s.counts[m] = mc
	}
	if pruned {
		mc.pruned = q.Month
	}
	if !mc.counted {
		return
	}
	for _, c := range q.Stamps {
		mc.stamps[c.ID]++
	}
	for _, c := range q.Uses {
		mc.uses[c.ID]++
	}
	for _, c := range q.Filling {
		mc.stamps[c.ID] = 0
	}
}

// roomOf is the tier headroom an account item stores (codec.go), nil when
// it has none.
func roomOf(item map[string]types.AttributeValue) *int64 {
	n, ok := item[aRoom].(*types.AttributeValueMemberN)
	if !ok {
		return nil
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return nil
	}
	return &v
}

// keepsHeadroom reports whether the stored headroom of before still bounds
// after's: the same tier, and no month with more qualifying points.
func keepsHeadroom(before, after loyalty.Account) bool {
	if before.Tier != after.Tier {
		return false
	}
	for m, p := range after.Qualifying {
		if p > before.Qualifying[m] {
			return false
		}
	}
	return true
}
