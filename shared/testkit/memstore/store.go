// Package memstore is an in-memory store of the loyalty engine, with the
// observable semantics of the DynamoDB store (package dynamo): one Apply is
// all or nothing (entry, account, redemptions, the original a refund
// updates, a referral's other side, feedback, promotion budgets), a ledger
// key is spent forever (a replay returns the first result, another
// fingerprint is idempotency_key_reused; an erased member's id takes no more
// changes at all), a change is written only if the account did not move
// since it was read (else Apply plans again, a bounded number of times, then
// answers unavailable), lists come in the same order and pages, and the
// sparse indexes (due, rewards ending, activity, review, outbox) answer the
// same hits in the same shards for the same state. Every call yields the
// processor as a round trip would, so concurrency tests interleave as they
// do on DynamoDB. Package storecontract holds it and the DynamoDB store to
// the same guarantees, so the logic of every package above the domain can be
// tested on it without Java.
//
// It is for tests only and is never linked into a function binary. It
// imports the domain and the standard library only: never the AWS SDK, never
// package dynamo (whose shard function it repeats, jobs.go).
package memstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The ports of the domain the store implements.
var (
	_ loyalty.Store         = (*Store)(nil)
	_ loyalty.ReferralStore = (*Store)(nil)
	_ loyalty.SnapshotStore = (*Store)(nil)
	_ loyalty.Inbox         = (*Store)(nil)
	_ loyalty.Catalog       = (*Store)(nil)
	_ loyalty.Eraser        = (*Store)(nil)
	_ loyalty.ErasureLog    = (*Store)(nil)
	_ loyalty.Preferences   = (*Store)(nil)
)

// Store keeps the table's items in maps behind one mutex; it is safe for
// concurrent use. Apply reads under the lock, plans without it (a plan reads
// the store again: rewards, redemptions, the referrer) and writes under it
// after checking every condition the DynamoDB transaction checks.
//
// It ignores the quick form of a credit (loyalty.Op.Quick) and the reward
// an op names for its read (Op.Reward): they save DynamoDB round trips, and
// planning gives the same entry. The one visible consequence: the due
// index's copy of the lots (DueItem.Lots) is always the account's lots
// here, where DynamoDB keeps the copy of its last planned write until the
// next one (a quick credit does not refresh it).
type Store struct {
	// MaxAttempts bounds the plans of one Apply, as in the DynamoDB store;
	// then Apply fails with CodeUnavailable. 0 means 60.
	MaxAttempts int

	mu          sync.Mutex
	members     map[loyalty.MemberID]*member
	rewards     map[string]loyalty.Reward
	budgets     map[string]loyalty.Points                            // points each promotion with a budget gave
	codes       map[string]codeRecord                                // RC#<code>
	feedbackDay map[loyalty.Date]map[string]loyalty.PurchaseFeedback // FB#<day> by sort key
	checkpoints map[string]map[string]loyalty.Checkpoint             // JOB#<job>#<day> by scope
	rejections  map[string]loyalty.Rejection                         // by message id
	erased      map[string]loyalty.Erasure                           // ERASED by anonymous id
	erasures    map[loyalty.MemberID]*loyalty.Erasure                // the marks of erasures, kept for good
	till        tillState                                            // cards and codes (cards.go)
}

// member is one member's partition: what an erasure takes.
type member struct {
	account     *loyalty.Account
	entries     map[string]loyalty.Entry
	redemptions map[string]loyalty.Redemption
	inbox       map[string]loyalty.Notification
	class       *loyalty.MemberClass
	afford      *affordRecord
	locale      string           // the preferred locale (prefs.go)
	code        *codeRecord      // RC: the member's referral code
	referredBy  *loyalty.Referee // RB: who referred the member, kept for good
	referees    map[loyalty.MemberID]loyalty.Referee
	months      map[string]loyalty.ReferralMonth
	feedback    map[string]loyalty.PurchaseFeedback // by purchase key
}

type codeRecord struct {
	Code   string
	Member loyalty.MemberID
	At     time.Time
}

type affordRecord struct {
	Balance loyalty.Points
	On      loyalty.Date
}

// New returns an empty store.
func New() *Store {
	return &Store{
		members:     map[loyalty.MemberID]*member{},
		rewards:     map[string]loyalty.Reward{},
		budgets:     map[string]loyalty.Points{},
		codes:       map[string]codeRecord{},
		feedbackDay: map[loyalty.Date]map[string]loyalty.PurchaseFeedback{},
		checkpoints: map[string]map[string]loyalty.Checkpoint{},
		rejections:  map[string]loyalty.Rejection{},
		erased:      map[string]loyalty.Erasure{},
		erasures:    map[loyalty.MemberID]*loyalty.Erasure{},
	}
}

// member returns id's partition, making it on first use. The caller holds mu.
func (s *Store) member(id loyalty.MemberID) *member {
	m := s.members[id]
	if m == nil {
		m = &member{entries: map[string]loyalty.Entry{}, redemptions: map[string]loyalty.Redemption{},
			inbox: map[string]loyalty.Notification{}, referees: map[loyalty.MemberID]loyalty.Referee{},
			months: map[string]loyalty.ReferralMonth{}, feedback: map[string]loyalty.PurchaseFeedback{}}
		s.members[id] = m
	}
	return m
}

// lookup returns id's partition or nil, without making it. The caller holds mu.
func (s *Store) lookup(id loyalty.MemberID) *member { return s.members[id] }

// live starts every call: it yields the processor, as a round trip to
// DynamoDB would, so that concurrent goroutines interleave between the reads
// of one plan as they do on the real store, and it fails like a DynamoDB
// call on a context that has ended.
func live(ctx context.Context) error {
	runtime.Gosched()
	if err := ctx.Err(); err != nil {
		return loyalty.Transient(err, "timed out")
	}
	return nil
}

// Apply implements loyalty.Store like the DynamoDB store's planned path:
// read the op's entry (a replay if it exists) and the account, plan, and
// write entry, account and everything else the change carries at once, only
// if the entry is new, every promotion budget it takes from has room (else
// *loyalty.BudgetSpentError), the account still has the version read and
// every other item is as the plan saw it; otherwise plan again.
// Errors: whatever Plan returns, CodeIdempotencyReuse, BudgetSpentError,
// CodeMemberErased (nothing is planned or written, replays included),
// CodeUnavailable.
func (s *Store) Apply(ctx context.Context, op loyalty.Op) (loyalty.Result, error) {
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = 60
	}
	for attempt := 0; ; attempt++ {
		if attempt >= attempts {
			return loyalty.Result{}, loyalty.Transient(nil, "too much contention on member %s, retry later", op.Member)
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return loyalty.Result{}, err
			}
		}
		if err := live(ctx); err != nil {
			return loyalty.Result{}, err
		}
		s.mu.Lock()
		if s.isErased(op.Member) {
			s.mu.Unlock()
			return loyalty.Result{}, errErased() // replays included: nothing of the member is kept
		}
		acct, exists := loyalty.Account{MemberID: op.Member}, false
		var prior *loyalty.Entry
		if m := s.lookup(op.Member); m != nil {
			if e, ok := m.entries[op.Key]; ok {
				e = cloneEntry(e)
				prior = &e
			}
			if m.account != nil {
				acct, exists = cloneAccount(*m.account), true
			}
		}
		s.mu.Unlock()
		if prior != nil {
			return replay(*prior, op.Fingerprint)
		}
		runtime.Gosched() // the read's round trip
		change, err := op.Plan(acct, exists)
		if err != nil {
			return loyalty.Result{}, err
		}
		change.Entry.Fingerprint = op.Fingerprint
		res, settled, err := s.commit(op, acct, exists, change)
		if err != nil || settled {
			return res, err
		}
	}
}

// commit writes a planned change if every condition of the DynamoDB
// transaction holds. settled is false when one failed: plan again.
func (s *Store) commit(op loyalty.Op, before loyalty.Account, exists bool, c loyalty.Change) (res loyalty.Result, settled bool, err error) {
	if c.Account.Balance < 0 && c.Account.Deficit <= 0 {
		// Stricter than DynamoDB, which writes what it is given: a negative
		// balance must be a deficit the refund policy allowed.
		return loyalty.Result{}, true, &loyalty.Error{Code: loyalty.CodeInternal, Message: "internal error",
			Err: fmt.Errorf("change of member %s leaves balance %d without a deficit", c.Account.MemberID, c.Account.Balance)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(op.Member) {
		return loyalty.Result{}, true, errErased()
	}
	if m := s.lookup(c.Entry.MemberID); m != nil {
		if prior, ok := m.entries[c.Entry.Key]; ok {
			res, err := replay(cloneEntry(prior), op.Fingerprint)
			return res, true, err
		}
	}
	if op.Code != "" && s.till.used[op.Code] != "" {
		return loyalty.Result{}, true, loyalty.CodeUsed()
	}
	for _, b := range c.Budgets {
		// A promotion's budget is checked before anything else moved: a
		// spent budget is the answer even when the account moved too.
		if s.budgets[b.Promotion]+b.Points > b.Budget {
			return loyalty.Result{}, true, &loyalty.BudgetSpentError{Promotion: b.Promotion}
		}
	}
	if !s.holds(before, exists, c) {
		return loyalty.Result{}, false, nil
	}

	if op.Code != "" {
		s.till.use(op.Code, op.Key)
	}
	m := s.member(c.Entry.MemberID)
	m.entries[c.Entry.Key] = normEntry(c.Entry)
	acct := normAccount(c.Account)
	acct.Version = before.Version + 1
	s.member(acct.MemberID).account = &acct
	if r := c.Redemption; r != nil {
		s.member(r.MemberID).redemptions[r.ID] = normRedemption(*r)
	}
	for _, r := range c.Issued {
		s.member(r.MemberID).redemptions[r.ID] = normRedemption(r)
	}
	if o := c.Original; o != nil {
		om := s.member(o.MemberID)
		stored := om.entries[o.Key]
		stored.Reversed = o.Reversed
		if o.Refund != nil {
			stored.Refund = normRefund(o.Refund)
		}
		om.entries[o.Key] = stored
	}
	if pay := c.Referral; pay != nil {
		if pay.Entry != nil && pay.Account != nil {
			s.member(pay.Entry.MemberID).entries[pay.Entry.Key] = normEntry(*pay.Entry)
			ra := normAccount(*pay.Account)
			ra.Version = pay.Account.Version + 1
			s.member(ra.MemberID).account = &ra
		}
		rm := s.member(pay.Referee.Referrer)
		month := rm.months[pay.Month]
		month.Month = pay.Month
		if pay.Capped {
			month.Capped++
		} else {
			month.Paid++
		}
		rm.months[pay.Month] = month
		rm.referees[pay.Referee.Member] = normReferee(pay.Referee)
	}
	for _, b := range c.Budgets {
		s.budgets[b.Promotion] += b.Points
	}
	if fb := c.Feedback; fb != nil {
		n := normFeedback(*fb)
		s.member(fb.MemberID).feedback[fb.PurchaseID] = n
		day := s.feedbackDay[fb.Day]
		if day == nil {
			day = map[string]loyalty.PurchaseFeedback{}
			s.feedbackDay[fb.Day] = day
		}
		day[feedbackDaySK(n)] = n
	}
	return loyalty.Result{Entry: c.Entry}, true, nil
}

// holds checks the conditions of the change's transaction (besides the
// entry's own): the account's version, the redemptions, the original entry
// a reversal updates, the referrer's side of a payout and new feedback.
func (s *Store) holds(before loyalty.Account, exists bool, c loyalty.Change) bool {
	var cur *loyalty.Account
	if m := s.lookup(c.Account.MemberID); m != nil {
		cur = m.account
	}
	if exists != (cur != nil) || (exists && cur.Version != before.Version) {
		return false
	}
	redemption := func(member loyalty.MemberID, id string) (loyalty.Redemption, bool) {
		m := s.lookup(member)
		if m == nil {
			return loyalty.Redemption{}, false
		}
		r, ok := m.redemptions[id]
		return r, ok
	}
	if r := c.Redemption; r != nil {
		stored, ok := redemption(r.MemberID, r.ID)
		if c.RedemptionIsNew && ok || !c.RedemptionIsNew && (!ok || stored.State != c.RedemptionStateBefore) {
			return false
		}
	}
	for _, r := range c.Issued {
		if _, ok := redemption(r.MemberID, r.ID); ok {
			return false
		}
	}
	entry := func(member loyalty.MemberID, key string) (loyalty.Entry, bool) {
		m := s.lookup(member)
		if m == nil {
			return loyalty.Entry{}, false
		}
		e, ok := m.entries[key]
		return e, ok
	}
	if o := c.Original; o != nil {
		stored, ok := entry(o.MemberID, o.Key)
		if !ok || stored.Reversed != c.OriginalReversedBefore {
			return false
		}
		if o.Refund != nil {
			// Concurrent refunds of one purchase: its refund state moved on by one.
			if seq := o.Refund.Seq - 1; seq <= 0 && stored.Refund != nil || seq > 0 && (stored.Refund == nil || stored.Refund.Seq != seq) {
				return false
			}
		}
	}
	if pay := c.Referral; pay != nil {
		if pay.Entry != nil && pay.Account != nil {
			if _, ok := entry(pay.Entry.MemberID, pay.Entry.Key); ok {
				return false
			}
			m := s.lookup(pay.Account.MemberID)
			if m == nil || m.account == nil || m.account.Version != pay.Account.Version {
				return false
			}
		}
		rm := s.lookup(pay.Referee.Referrer)
		if !pay.Capped && rm != nil && rm.months[pay.Month].Paid >= pay.Cap {
			return false
		}
		// The referrer's record of the referee exists since the enrolment;
		// gone, the referrer was erased meanwhile.
		if rm == nil {
			return false
		}
		if _, ok := rm.referees[pay.Referee.Member]; !ok {
			return false
		}
	}
	if fb := c.Feedback; fb != nil {
		if m := s.lookup(fb.MemberID); m != nil {
			if _, ok := m.feedback[fb.PurchaseID]; ok {
				return false
			}
		}
		if _, ok := s.feedbackDay[fb.Day][feedbackDaySK(normFeedback(*fb))]; ok {
			return false
		}
	}
	return true
}

func replay(prior loyalty.Entry, fingerprint string) (loyalty.Result, error) {
	if prior.Fingerprint != fingerprint {
		return loyalty.Result{}, loyalty.Errorf(loyalty.CodeIdempotencyReuse,
			"key %s was already used for a different request", prior.Key)
	}
	return loyalty.Result{Entry: prior, Replayed: true}, nil
}

// backoff sleeps with full jitter before another plan, growing to 2 ms: the
// DynamoDB store's curve, a hundred times shorter.
func backoff(ctx context.Context, attempt int) error {
	ceil := min(time.Duration(2<<min(attempt, 7))*10*time.Microsecond, 2*time.Millisecond)
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceil)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return loyalty.Transient(ctx.Err(), "timed out")
	case <-t.C:
		return nil
	}
}
