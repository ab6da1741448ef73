package dynamo_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

var db *dynamodb.Client

func TestMain(m *testing.M) {
	os.Exit(dynamotest.RunTests(m, func(s *dynamolocal.Server) { db = s.Client() }))
}

// newTable creates a fresh table from the shared schema and returns its name.
func newTable(tb testing.TB) string {
	tb.Helper()
	name := dynamotest.NewTable(tb, db, "loyalty-test")
	return name
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testProgram(tb testing.TB) *loyalty.Program {
	tb.Helper()
	p := &loyalty.Program{Version: 1, ID: "demo", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   loyalty.EarnRate{Points: 1, PerMinor: 100, Rounding: loyalty.RoundDown},
		Expiry: loyalty.ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: loyalty.RefundNegative}
	if err := p.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

type fixture struct {
	store *dynamo.Store
	svc   *loyalty.Service
	clock *testClock
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	return newFixtureOn(tb, db)
}

// newFixtureOn is newFixture with the store on client (a wrapper of db).
func newFixtureOn(tb testing.TB, client dynamo.Client) fixture {
	tb.Helper()
	st := dynamo.New(client, newTable(tb))
	clock := &testClock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	return fixture{store: st, clock: clock, svc: &loyalty.Service{Store: st, Referrals: st, Snapshots: st, Catalog: st, Erasures: st, ErasureLog: st, Program: testProgram(tb), Clock: clock}}
}

func (f fixture) purchase(member, event string, minor int64, at time.Time) loyalty.Purchase {
	return loyalty.Purchase{Key: loyalty.PurchaseKey("shop1", event), MemberID: loyalty.MemberID(member), Ref: "shop1:" + event,
		Spend: loyalty.Money{Minor: minor, Currency: "EUR"}, OccurredAt: at, Actor: "partner:shop1"}
}

func (f fixture) balance(tb testing.TB, member string) loyalty.Points {
	tb.Helper()
	a, err := f.store.Account(context.Background(), loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("account %s: %v", member, err)
	}
	return a.Balance
}

func (f fixture) putReward(tb testing.TB, id string, cost loyalty.Points) {
	tb.Helper()
	r := loyalty.Reward{ID: id, Name: "Reward " + id, Kind: loyalty.RewardFreeProduct, Cost: cost, Active: true, ValidDays: 30}
	if err := f.store.PutReward(context.Background(), r); err != nil {
		tb.Fatalf("put reward: %v", err)
	}
}

func (f fixture) audit(tb testing.TB) dynamo.AuditReport {
	tb.Helper()
	rep, err := f.store.Audit(context.Background(), 4)
	if err != nil {
		tb.Fatalf("audit: %v", err)
	}
	for _, p := range rep.Problems {
		tb.Errorf("audit: member %s: %v", p.MemberID, p.Problems)
	}
	return rep
}
