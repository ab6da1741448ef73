package jobs_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/events/domain"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// local is DynamoDB Local, started by the first test on the table (newEnv).
var local dynamotest.Lazy

func TestMain(m *testing.M) {
	os.Exit(local.Run(m))
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// sink is an in-memory event bus.
type sink struct {
	mu     sync.Mutex
	events []loyalty.DomainEvent
}

func (s *sink) Publish(_ context.Context, evs []loyalty.DomainEvent) error {
	s.mu.Lock()
	s.events = append(s.events, evs...)
	s.mu.Unlock()
	return nil
}

// byType counts the events of each type; it fails on a repeated id and on
// an event whose detail does not match its published schema.
func (s *sink) byType(tb testing.TB) map[string]int {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := map[string]bool{}
	out := map[string]int{}
	for _, e := range s.events {
		if ids[e.ID] {
			tb.Errorf("event %s (%s for %s) published twice", e.ID, e.Type, e.MemberID)
		}
		ids[e.ID] = true
		out[e.Type]++
		detail, err := json.Marshal(e.Body())
		if err != nil {
			tb.Fatal(err)
		}
		if err := domain.Validate(e.Type, detail); err != nil {
			tb.Errorf("event %s for %s: %v", e.ID, e.MemberID, err)
		}
	}
	return out
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

type env struct {
	table  string
	store  envStore   // what the test reads and writes with (mem_test.go)
	jobs   *jobs.Jobs // runs on its own store, so its consumption is its own
	jstore *dynamo.Store
	svc    *loyalty.Service
	clock  *clock
	sink   *sink
}

func newEnv(tb testing.TB, cfg jobs.Config) *env {
	tb.Helper()
	db := local.Client(tb)
	name := dynamotest.NewTable(tb, db, "jobs-test")
	e := &env{table: name, store: dynamo.New(db, name), clock: &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}, sink: &sink{}}
	prog := testProgram(tb)
	e.svc = &loyalty.Service{Store: e.store, Referrals: e.store, Snapshots: e.store, Program: prog, Clock: e.clock}
	e.jstore = dynamo.New(db, name)
	cfg.Shards = dynamo.DueShards
	e.jobs = jobs.New(e.jstore, prog, e.clock, e.sink, cfg, nil)
	return e
}

// accrue credits a purchase of minor cents made at t (the clock moves to t).
func (e *env) accrue(tb testing.TB, member, event string, minor int64, t time.Time) loyalty.Result {
	tb.Helper()
	e.clock.Set(t)
	res, err := e.svc.Accrue(context.Background(), loyalty.Purchase{Key: loyalty.PurchaseKey("shop", event), MemberID: loyalty.MemberID(member),
		Ref: "shop:" + event, Spend: loyalty.Money{Minor: minor, Currency: "EUR"}, OccurredAt: t, Actor: "partner:shop"})
	if err != nil {
		tb.Fatalf("accrue %s for %s: %v", event, member, err)
	}
	return res
}

func (e *env) audit(tb testing.TB, members ...loyalty.MemberID) {
	tb.Helper()
	for _, id := range members {
		p, err := e.store.AuditMember(context.Background(), id)
		if err != nil {
			tb.Fatalf("audit %s: %v", id, err)
		}
		if p != nil {
			tb.Errorf("audit: member %s: %v", id, p.Problems)
		}
	}
}

func (e *env) inbox(tb testing.TB, member loyalty.MemberID) []loyalty.Notification {
	tb.Helper()
	ns, _, err := e.store.Notifications(context.Background(), member, "", 100, e.clock.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return ns
}

func day(s string) loyalty.Date { return loyalty.Date(s) }
