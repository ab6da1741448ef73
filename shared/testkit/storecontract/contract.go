// Package storecontract holds every store of the loyalty engine to the data
// guarantees of DESIGN.md: the DynamoDB store (shared/dynamo) on DynamoDB
// Local and the in-memory store (shared/testkit/memstore) run the same
// subtests, so a test that passes on the memory store tells the truth about
// production. Run is called from each store's tests; the operations come from
// the domain (loyalty.Service on a program parsed from a JSON literal, with a
// settable clock), as in the store's own tests.
//
// It is imported by tests only. It imports the domain and the standard
// library: never a store, so that no store's quirks become the contract, and
// never the AWS SDK, so that the domain's tests on the memory store link none.
package storecontract

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Store is what the contract exercises: the domain's ports and the reads
// and writes the jobs, the APIs and the ingest use.
type Store interface {
	loyalty.Store
	loyalty.ReferralStore
	loyalty.SnapshotStore
	loyalty.Inbox
	loyalty.CardStore
	loyalty.Preferences

	PutReward(ctx context.Context, r loyalty.Reward) error
	Rewards(ctx context.Context) ([]loyalty.Reward, error)
	Ledger(ctx context.Context, id loyalty.MemberID) ([]loyalty.Entry, error)
	Activity(ctx context.Context, id loyalty.MemberID, cursor string, limit int) ([]loyalty.Entry, string, error)
	Redemptions(ctx context.Context, id loyalty.MemberID) ([]loyalty.Redemption, error)
	Accounts(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Account, error)
	AuditMember(ctx context.Context, id loyalty.MemberID) (*loyalty.AuditProblem, error)
	loyalty.Eraser
	loyalty.ErasureLog
	Seed(ctx context.Context, accounts []loyalty.Account, entries []loyalty.Entry) error

	DueAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	RewardsEnding(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	ActiveInWeek(ctx context.Context, week string, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	ReviewAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	Unpublished(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	Checkpoints(ctx context.Context, job string, run loyalty.Date) (map[string]loyalty.Checkpoint, error)
	SaveCheckpoint(ctx context.Context, job string, run loyalty.Date, cp loyalty.Checkpoint) error
	MemberClass(ctx context.Context, id loyalty.MemberID) (loyalty.MemberClass, bool, error)
	PutMemberClass(ctx context.Context, id loyalty.MemberID, c loyalty.MemberClass) error
	AffordSeen(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Points, error)
	PutAffordSeen(ctx context.Context, id loyalty.MemberID, balance loyalty.Points, day loyalty.Date) error

	Notification(ctx context.Context, member loyalty.MemberID, id string) (loyalty.Notification, error)
	Notifications(ctx context.Context, member loyalty.MemberID, cursor string, limit int, now time.Time) ([]loyalty.Notification, string, error)
	MarkNotificationRead(ctx context.Context, member loyalty.MemberID, id string, at time.Time) (loyalty.Notification, error)

	RecordRejection(ctx context.Context, r loyalty.Rejection) error
	Rejection(ctx context.Context, messageID string) (loyalty.Rejection, error)
	Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error)
	MarkRejectionReplayed(ctx context.Context, messageID, replayedAs, by string, at time.Time) error

	Feedback(ctx context.Context, from, to loyalty.Date, cursor string, limit int) ([]loyalty.PurchaseFeedback, string, error)
	MemberFeedback(ctx context.Context, id loyalty.MemberID) ([]loyalty.PurchaseFeedback, error)
}

// Run runs the contract on fresh stores from newStore, one per subtest.
// The subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, f *fixture)
	}{
		{"AccrualAppliedOnceUnder50ConcurrentDeliveries", testAccrualOnce},
		{"ReplayMuchLaterReturnsTheFirstResult", testReplayMuchLater},
		{"SameKeyOtherRequestIsRefused", testKeyReuse},
		{"ConcurrentRedemptionsNeverOverspend", testNoOverspend},
		{"ConcurrentDuplicatesOfOneRedemption", testConcurrentDuplicates},
		{"ConcurrentCancelsOfOneRedemption", testConcurrentCancels},
		{"VersionConflictReplans", testVersionConflict},
		{"ContentionEndsUnavailable", testContention},
		{"ChangeIsWrittenWholeOrNotAtAll", testAtomicChange},
		{"ConcurrentRefundsTakeAPurchaseOnce", testConcurrentRefunds},
		{"BalanceEqualsLedgerEqualsLots", testBalanceLedgerLots},
		{"MissingThingsAreNotFound", testNotFound},
		{"EnrolIsIdempotent", testEnrol},
		{"ListsOrderAndPage", testLists},
		{"NotificationsOncePerOccasion", testNotifications},
		{"RejectionsRecordedOnceReplayedOnce", testRejections},
		{"CheckpointsAndJobRecords", testCheckpoints},
		{"DueIndexFindsLotsDueInTheirShard", testDueIndex},
		{"ExpiryFromAStaleSnapshotWritesNothing", testStaleSnapshot},
		{"RewardActivityAndReviewIndexes", testOtherIndexes},
		{"SeedWritesLikeTheStore", testSeed},
		{"ReferralCodeIsClaimedOnce", testClaimCode},
		{"ReferralEnrolmentConditions", testEnrolReferral},
		{"ReferralPaysOnceUnderTheCap", testReferralPayout},
		{"FeedbackOncePerPurchase", testFeedback},
		{"PromotionBudgetHoldsUnderConcurrency", testBudget},
		{"ErasureRemovesTheMemberAndKeepsTheirKeysSpent", testErase},
		{"CardIssuedOncePerMember", testCardIssuedOnce},
		{"ReplacedCardIsRefusedPointsStay", testCardReplaced},
		{"CodeUsedTwiceAtOnceCreditsOnce", testCodeUsedOnce},
		{"ExpiredAndForgedCodesAreRefused", testCodeExpiredForged},
		{"ShortCodesRateLimitedPerPartner", testShortCodeRateLimit},
		{"MemberIDsOnlyFromAllowedPartners", testMemberIDRefs},
		{"ErasureTakesCardsAndCodes", testEraseTill},
		{"ClaimRacing32PurchasesLosesNothing", testClaimRacingPurchases},
		{"LongClaimRacing32PurchasesLosesNothing", testLongClaimRacingPurchases},
		{"ClaimOf300EntriesCompletes", testClaimLongHistory},
		{"ClaimInterruptedAfterKPagesResumes", testClaimInterruptedResumes},
		{"ErasureMidClaimTakesTheCardsHistory", testErasureMidClaim},
		{"PreferredLocaleSetReadAndErased", testPreferredLocale},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, &fixture{newStore: newStore, t: t})
		})
	}
}

// ProgramJSON is the program of the contract: one point per euro, lots
// expiring at the end of the month a year on (Berlin), negative balances
// for refunds of spent points, a stamp card of two coffees, referrals
// (100 + 50 points, 2 referrer bonuses a month, from 5 EUR) and 10 points
// for feedback.
const ProgramJSON = `{
  "version": 1, "id": "contract", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": {"points": 1, "perMinor": 100, "rounding": "down"},
  "expiry": {"months": 12, "endOfMonth": true},
  "refund": "negative_balance",
  "rewards": [{"id": "free-coffee", "name": "Free coffee", "kind": "free_product", "cost": 0, "validDays": 30, "active": true}],
  "stampCards": [{"id": "coffee-card", "name": "Two coffees, the third is free", "stamps": 2,
    "categories": ["coffee"], "rewardId": "free-coffee", "onRefund": "revoke_reward"}],
  "referral": {"referrerBonus": 100, "refereeBonus": 50, "monthlyCapPerReferrer": 2, "minSpendMinor": 500},
  "feedback": {"bonusPoints": 10, "maxCommentLength": 200}
}`

// TierProgramJSON is ProgramJSON's rates with two tiers: silver from 100
// qualifying points in a rolling year, earning double.
const TierProgramJSON = `{
  "version": 1, "id": "contract-tiers", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": {"points": 1, "perMinor": 100, "rounding": "down"},
  "expiry": {"months": 12, "endOfMonth": true},
  "refund": "negative_balance",
  "tiers": {"window": "rolling_12_months", "levels": [
    {"id": "bronze", "name": "Bronze", "threshold": 0},
    {"id": "silver", "name": "Silver", "threshold": 100, "multiplier": "2"}]}
}`

// BudgetProgramJSON is ProgramJSON's rates with a launch promotion of 50
// bonus points a purchase from 5 EUR, 120 points in all: two purchases'
// worth.
const BudgetProgramJSON = `{
  "version": 1, "id": "contract-budget", "currency": "EUR", "timezone": "Europe/Berlin",
  "earn": {"points": 1, "perMinor": 100, "rounding": "down"},
  "expiry": {"months": 12, "endOfMonth": true},
  "refund": "negative_balance",
  "promotions": [{"id": "launch", "name": "Launch bonus", "from": "2026-01-01", "bonusPoints": 50,
    "minSpendMinor": 500, "budgetPoints": 120}]
}`

// Program parses a program file as the functions do at start
// (loyalty.ParseProgram, which config.ParseProgram is).
func Program(tb testing.TB, programJSON string) *loyalty.Program {
	tb.Helper()
	p, err := loyalty.ParseProgram("program.json", []byte(programJSON))
	if err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

// Start is the clock's time when a fixture begins: Tuesday 10 March 2026,
// 13:00 in Berlin, ISO week 2026-W11. Points earned now expire on
// 2027-03-31 and are due for expiry on 2027-04-01.
var Start = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements loyalty.Clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Service wires every port of store into a service on prog and clock.
func Service(store Store, prog *loyalty.Program, clock loyalty.Clock) *loyalty.Service {
	return &loyalty.Service{Store: store, Referrals: store, Snapshots: store, Catalog: store, Erasures: store,
		ErasureLog: store, Program: prog, Clock: clock}
}

// fixture is one subtest's store, service and clock.
type fixture struct {
	newStore func(t *testing.T) Store
	t        *testing.T
	st       Store
	svc      *loyalty.Service
	clock    *Clock
}

var ctx = context.Background()

// with makes the fixture's store and service on a program.
func (f *fixture) with(programJSON string) *fixture {
	f.t.Helper()
	f.st = f.newStore(f.t)
	f.clock = NewClock(Start)
	f.svc = Service(f.st, Program(f.t, programJSON), f.clock)
	return f
}

// Purchase is a purchase of minor cents at shop1 with event id event.
func Purchase(member, event string, minor int64, at time.Time, lines ...loyalty.Line) loyalty.Purchase {
	return loyalty.Purchase{Key: loyalty.PurchaseKey("shop1", event), MemberID: loyalty.MemberID(member), Ref: "shop1:" + event,
		Spend: loyalty.Money{Minor: minor, Currency: "EUR"}, OccurredAt: at, Actor: "partner:shop1", Lines: lines}
}

// RefundOf is shop1's refund event of the purchase orig, by amount (minor >
// 0) or by lines.
func RefundOf(member, event, orig string, minor int64, at time.Time, lines ...loyalty.RefundLine) loyalty.Refund {
	r := loyalty.Refund{Key: loyalty.RefundKey("shop1", event), MemberID: loyalty.MemberID(member),
		OriginalKey: loyalty.PurchaseKey("shop1", orig), Ref: "shop1:" + event, Lines: lines, OccurredAt: at, Actor: "partner:shop1"}
	if minor > 0 {
		r.Amount = &loyalty.Money{Minor: minor, Currency: "EUR"}
	}
	return r
}

func (f *fixture) accrue(tb testing.TB, member, event string, minor int64, lines ...loyalty.Line) loyalty.Result {
	tb.Helper()
	res, err := f.svc.Accrue(ctx, Purchase(member, event, minor, f.clock.Now(), lines...))
	if err != nil {
		tb.Fatalf("accrue %s for %s: %v", event, member, err)
	}
	return res
}

func (f *fixture) putReward(tb testing.TB, id string, cost loyalty.Points, validDays int) {
	tb.Helper()
	r := loyalty.Reward{ID: id, Name: "Reward " + id, Kind: loyalty.RewardFreeProduct, Cost: cost, Active: true, ValidDays: validDays}
	if err := f.st.PutReward(ctx, r); err != nil {
		tb.Fatalf("put reward %s: %v", id, err)
	}
}

func (f *fixture) account(tb testing.TB, member string) loyalty.Account {
	tb.Helper()
	a, err := f.st.Account(ctx, loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("account %s: %v", member, err)
	}
	return a
}

func (f *fixture) balance(tb testing.TB, member string) loyalty.Points {
	tb.Helper()
	return f.account(tb, member).Balance
}

// audit fails unless account, ledger and lots of every member agree.
func (f *fixture) audit(tb testing.TB, members ...string) {
	tb.Helper()
	for _, m := range members {
		p, err := f.st.AuditMember(ctx, loyalty.MemberID(m))
		if err != nil {
			tb.Fatalf("audit %s: %v", m, err)
		}
		if p != nil {
			tb.Errorf("audit of %s: got problems %v, want none", m, p.Problems)
		}
	}
}

func (f *fixture) ledger(tb testing.TB, member string) []loyalty.Entry {
	tb.Helper()
	l, err := f.st.Ledger(ctx, loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("ledger of %s: %v", member, err)
	}
	return l
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, what string, err error, code loyalty.Code) {
	tb.Helper()
	if got := loyalty.ErrorCode(err); got != code {
		tb.Errorf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}

// lotsOf is lots as text, for comparisons.
func lotsOf(lots []loyalty.Lot) string { return fmt.Sprint(lots) }
