package dynamo_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// A member above the base tier buys coffee: each purchase is still one
// transaction without a read (the quick form names the member's tier and
// applies its multiplier), and each entry is the one the full planner
// writes on the account as it stood. A second process, whose store has
// never seen the member, pays one cancelled transaction for its first
// purchase (the base tier's form fails; the account the failure returned
// names the tier) and no read.
func TestCoffeePurchasesAboveTheBaseTierAreOneTransactionEach(t *testing.T) {
	ctx := context.Background()
	cc := &dynamotest.Counting{Client: db}
	table := newTable(t)
	prog := testProgram(t)
	prog.Rewards = []loyalty.Reward{{ID: "free-coffee", Name: "Free coffee", Kind: loyalty.RewardFreeProduct, Cost: 0, Active: true, ValidDays: 30}}
	prog.StampCards = []loyalty.StampCard{{ID: "coffee-card", Name: "7+1", Stamps: 7, Categories: []string{"coffee"},
		RewardID: "free-coffee", OnRefund: loyalty.StampRefundRevoke}}
	prog.Promotions = []loyalty.Promotion{{ID: "welcome-bonus", Name: "50 bonus", From: "2026-01-01", BonusPoints: 50,
		MinSpendMinor: 1000, LimitPerMember: 3}}
	prog.Tiers = loyalty.Tiers{Window: loyalty.WindowRolling12, Levels: []loyalty.TierLevel{{ID: "bronze", Name: "Bronze"},
		{ID: "silver", Name: "Silver", Threshold: 100, Multiplier: 1250}, {ID: "gold", Name: "Gold", Threshold: 100_000, Multiplier: 1500}}}
	if err := prog.Validate(); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	service := func(st *dynamo.Store) *loyalty.Service {
		return &loyalty.Service{Store: st, Referrals: st, Snapshots: st, Catalog: st, Erasures: st, ErasureLog: st, Program: prog, Clock: clock}
	}
	st := dynamo.New(cc, table)
	f := fixture{store: st, clock: clock, svc: service(st)}
	observer := dynamo.New(db, table) // reads the account between purchases, outside the count
	// 5 points, then 120: the member reaches silver (a planned write).
	for i, minor := range []int64{500, 12_000} {
		if _, err := f.svc.Accrue(ctx, f.purchase("m-silver", fmt.Sprint("big", i), minor, clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	buy := func(svc *loyalty.Service, event string) {
		t.Helper()
		before, err := observer.Account(ctx, "m-silver")
		if err != nil {
			t.Fatal(err)
		}
		p := f.coffee("m-silver", event)
		want, err := loyalty.PlanEarning(before, prog, p, clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.Accrue(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Entry.Delta != want.Entry.Delta || !reflect.DeepEqual(res.Entry.Rules, want.Entry.Rules) {
			t.Fatalf("%s: got %d points by %+v, want %d by %+v (planner)", event, res.Entry.Delta, res.Entry.Rules, want.Entry.Delta, want.Entry.Rules)
		}
	}
	writes, reads := cc.Transactions.Load(), cc.Requests()-cc.Transactions.Load()
	for i := range 10 {
		buy(f.svc, fmt.Sprintf("c%02d", i))
	}
	if got := cc.Requests() - cc.Transactions.Load() - reads; got != 0 {
		t.Errorf("reads: got %d requests that read, want 0", got)
	}
	if got := cc.Transactions.Load() - writes; got != 10 {
		t.Errorf("transactions: got %d, want 10, one per purchase", got)
	}
	a, err := observer.Account(ctx, "m-silver")
	if err != nil {
		t.Fatal(err)
	}
	if a.Tier != "silver" || a.PromoUses["welcome-bonus"] != 3 || a.Stamps["coffee-card"] != 3 {
		t.Errorf("account: tier %q, %d bonus uses, %d stamps; want silver, 3, 3", a.Tier, a.PromoUses["welcome-bonus"], a.Stamps["coffee-card"])
	}

	cold := service(dynamo.New(cc, table))
	writes, reads = cc.Transactions.Load(), cc.Requests()-cc.Transactions.Load()
	buy(cold, "cold0")
	buy(cold, "cold1")
	if got := cc.Requests() - cc.Transactions.Load() - reads; got != 0 {
		t.Errorf("cold store: got %d requests that read, want 0", got)
	}
	if got := cc.Transactions.Load() - writes; got != 3 {
		t.Errorf("cold store: got %d transactions for 2 purchases, want 3 (one cancelled on the tier, then one each)", got)
	}
	f.audit(t)
}
