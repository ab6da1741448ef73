package dynamo_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// coffeeFixture is the store fixture on a counting client with a coffee
// card of 7 stamps and a welcome bonus limited to 3 uses per member.
func coffeeFixture(tb testing.TB) (fixture, *dynamotest.Counting) {
	tb.Helper()
	f, cc, _ := coffeeFixtureTable(tb)
	return f, cc
}

// coffeeFixtureTable is coffeeFixture and the name of its table.
func coffeeFixtureTable(tb testing.TB) (fixture, *dynamotest.Counting, string) {
	tb.Helper()
	cc := &dynamotest.Counting{Client: db}
	table := newTable(tb)
	st := dynamo.New(cc, table)
	prog := testProgram(tb)
	prog.Rewards = []loyalty.Reward{{ID: "free-coffee", Name: "Free coffee", Kind: loyalty.RewardFreeProduct, Cost: 0, Active: true, ValidDays: 30}}
	prog.StampCards = []loyalty.StampCard{{ID: "coffee-card", Name: "7+1", Stamps: 7, Categories: []string{"coffee"},
		RewardID: "free-coffee", OnRefund: loyalty.StampRefundRevoke}}
	prog.Promotions = []loyalty.Promotion{{ID: "welcome-bonus", Name: "50 bonus", From: "2026-01-01", BonusPoints: 50,
		MinSpendMinor: 1000, LimitPerMember: 3}}
	if err := prog.Validate(); err != nil {
		tb.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	f := fixture{store: st, clock: clock, svc: &loyalty.Service{Store: st, Referrals: st, Snapshots: st, Catalog: st,
		Erasures: st, ErasureLog: st, Program: prog, Clock: clock}}
	// The member's first purchase (no coffee, below the bonus's minimum)
	// makes the account; what follows is the common case.
	if _, err := f.svc.Accrue(context.Background(), f.purchase("m-coffee", "first", 500, clock.Now())); err != nil {
		tb.Fatal(err)
	}
	return f, cc, table
}

// coffee is a purchase of 15 EUR with a coffee line: 15 points, a stamp,
// and the welcome bonus while the member has uses left.
func (f fixture) coffee(member, event string) loyalty.Purchase {
	p := f.purchase(member, event, 1_500, f.clock.Now())
	p.Lines = []loyalty.Line{{ID: "1", SKU: "ESP", Category: "coffee", Quantity: 1, Minor: 1_500}}
	return p
}

// Twenty coffee purchases in a row: each is one transaction without a read,
// also the 7th and 14th, which fill the card (the reward is put in the same
// transaction), and the 4th, the first past the bonus's limit: the store
// knows the member's counters from the account it wrote first and follows
// them through its own credits, so it chooses the right form each time.
func TestCoffeePurchasesAreOneTransactionEach(t *testing.T) {
	f, cc := coffeeFixture(t)
	ctx := context.Background()
	writes, reads := cc.Transactions.Load(), cc.Requests()-cc.Transactions.Load()
	var bonuses, issued int
	for i := range 20 {
		res, err := f.svc.Accrue(ctx, f.coffee("m-coffee", fmt.Sprintf("c%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Entry.Rules {
			if r.Rule == "promo:welcome-bonus" {
				bonuses++
			}
		}
		for _, m := range res.Entry.Stamps {
			if m.RedemptionID != "" {
				issued++
			}
		}
	}
	if got := cc.Requests() - cc.Transactions.Load() - reads; got != 0 {
		t.Errorf("reads: got %d requests that read, want 0", got)
	}
	if got := cc.Transactions.Load() - writes; got != 20 {
		t.Errorf("transactions: got %d, want 20, one per purchase", got)
	}
	a, err := f.store.Account(ctx, "m-coffee")
	if err != nil {
		t.Fatal(err)
	}
	if bonuses != 3 || a.PromoUses["welcome-bonus"] != 3 {
		t.Errorf("welcome bonus: got %d entries with it and %d uses, want 3 and 3", bonuses, a.PromoUses["welcome-bonus"])
	}
	if issued != 2 || a.Stamps["coffee-card"] != 6 {
		t.Errorf("stamps: got %d rewards issued and %d on the card, want 2 and 6", issued, a.Stamps["coffee-card"])
	}
	if want := loyalty.Points(5 + 20*15 + 3*50); a.Balance != want {
		t.Errorf("balance: got %d, want %d", a.Balance, want)
	}
	f.audit(t)
}

// Two processes (two stores, as two Lambda containers) buy for one member
// in turn: each one's counters go stale with the other's credits, so at a
// threshold its quick credit's condition fails and it plans from the
// account the failure returned (no read). The outcome is exact all the
// same.
func TestCoffeePurchasesFromTwoProcessesStayExact(t *testing.T) {
	f, cc, table := coffeeFixtureTable(t)
	ctx := context.Background()
	other := dynamo.New(cc, table)
	svc2 := *f.svc
	svc2.Store, svc2.Referrals, svc2.Snapshots, svc2.Catalog, svc2.Erasures, svc2.ErasureLog = other, other, other, other, other, other
	reads, writes := cc.Requests()-cc.Transactions.Load(), cc.Transactions.Load()
	var bonuses, issued int
	for i := range 20 {
		svc := f.svc
		if i%3 == 1 {
			svc = &svc2
		}
		res, err := svc.Accrue(ctx, f.coffee("m-coffee", fmt.Sprintf("two-%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Entry.Rules {
			if r.Rule == "promo:welcome-bonus" {
				bonuses++
			}
		}
		for _, m := range res.Entry.Stamps {
			if m.RedemptionID != "" {
				issued++
			}
		}
	}
	if got := cc.Requests() - cc.Transactions.Load() - reads; got != 0 {
		t.Errorf("reads: got %d requests that read, want 0", got)
	}
	if got := cc.Transactions.Load() - writes; got <= 20 {
		t.Errorf("transactions: got %d, want more than 20 (stale counters fail a condition now and then)", got)
	}
	a, err := f.store.Account(ctx, "m-coffee")
	if err != nil {
		t.Fatal(err)
	}
	if bonuses != 3 || a.PromoUses["welcome-bonus"] != 3 || issued != 2 || a.Stamps["coffee-card"] != 6 {
		t.Errorf("got %d bonuses (%d uses), %d rewards and %d stamps on the card, want 3 (3), 2 and 6",
			bonuses, a.PromoUses["welcome-bonus"], issued, a.Stamps["coffee-card"])
	}
	if want := loyalty.Points(5 + 20*15 + 3*50); a.Balance != want {
		t.Errorf("balance: got %d, want %d", a.Balance, want)
	}
	f.audit(t)
}

// 32 concurrent coffee purchases for one member: exactly 32 stamps (4
// filled cards, 4 on the card), the welcome bonus exactly 3 times, never
// more, the balance exact and the audit clean, with the stamp and use
// counters written in the purchase's own transaction.
func TestConcurrentCoffeePurchasesCountExactly(t *testing.T) {
	f, _ := coffeeFixture(t)
	ctx := context.Background()
	const n = 32
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		fails   []error
		bonuses int
		issued  []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := accrueRetrying(ctx, f.svc, f.coffee("m-coffee", fmt.Sprintf("cc-%02d", i)))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
				return
			}
			for _, r := range res.Entry.Rules {
				if r.Rule == "promo:welcome-bonus" {
					bonuses++
				}
			}
			for _, m := range res.Entry.Stamps {
				if m.RedemptionID != "" {
					issued = append(issued, m.RedemptionID)
				}
			}
		}()
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("purchases: got %d failures (first %v), want none", len(fails), fails[0])
	}
	a, err := f.store.Account(ctx, "m-coffee")
	if err != nil {
		t.Fatal(err)
	}
	if bonuses != 3 || a.PromoUses["welcome-bonus"] != 3 {
		t.Errorf("welcome bonus: got %d entries with it and %d uses, want exactly 3 and 3", bonuses, a.PromoUses["welcome-bonus"])
	}
	if len(issued) != 4 || a.Stamps["coffee-card"] != 4 {
		t.Errorf("stamps: got %d rewards issued and %d on the card, want 4 and 4 (32 stamps)", len(issued), a.Stamps["coffee-card"])
	}
	for _, id := range issued {
		if red, err := f.store.Redemption(ctx, "m-coffee", id); err != nil || !strings.HasPrefix(red.Source, "stamp_card:") {
			t.Errorf("issued reward %s: got %+v, %v, want a stamp card's reward", id, red, err)
		}
	}
	if want := loyalty.Points(5 + n*15 + 3*50); a.Balance != want {
		t.Errorf("balance: got %d, want %d", a.Balance, want)
	}
	f.audit(t)
}

// A redemption is two requests: the read (account, entry and reward in one
// BatchGetItem) and the write.
func TestRedemptionIsOneReadAndOneWrite(t *testing.T) {
	f, cc := coffeeFixture(t)
	ctx := context.Background()
	f.putReward(t, "mug", 3)
	before := cc.Requests()
	red, _, err := f.svc.Redeem(ctx, "m-coffee", "idem-1", "mug")
	if err != nil {
		t.Fatal(err)
	}
	if got := cc.Requests() - before; got != 2 {
		t.Errorf("requests: got %d, want 2 (one read, one write)", got)
	}
	if red.RewardID != "mug" || red.Cost != 3 || f.balance(t, "m-coffee") != 2 {
		t.Errorf("redemption: got %+v and balance %d, want the mug for 3 and balance 2", red, f.balance(t, "m-coffee"))
	}
	// The redemption kept the account's tier headroom: the next purchase
	// is still one transaction without a read.
	before = cc.Requests()
	writes := cc.Transactions.Load()
	if _, err := f.svc.Accrue(ctx, f.coffee("m-coffee", "after-redeem")); err != nil {
		t.Fatal(err)
	}
	if got, w := cc.Requests()-before, cc.Transactions.Load()-writes; got != 1 || w != 1 {
		t.Errorf("the purchase after a redemption: got %d requests (%d transactions), want 1", got, w)
	}
	// An unknown reward is still not found.
	if _, _, err := f.svc.Redeem(ctx, "m-coffee", "idem-2", "no-such"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("unknown reward: got %v, want %s", err, loyalty.CodeNotFound)
	}
}

// billedClient sums the write units AWS bills for each transaction
// (billing.go), table and each index apart, from the images of the items
// before and after it: DynamoDB Local's own figure charges a transaction
// that writes an index several times over.
type billedClient struct {
	dynamo.Client
	mu    sync.Mutex
	table float64
	index map[string]float64
}

func (c *billedClient) image(ctx context.Context, name *string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	out, err := c.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: name, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil
	}
	return out.Item
}

func (c *billedClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	type target struct {
		name *string
		key  map[string]types.AttributeValue
	}
	var ts []target
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			ts = append(ts, target{it.Put.TableName, map[string]types.AttributeValue{"pk": it.Put.Item["pk"], "sk": it.Put.Item["sk"]}})
		case it.Update != nil:
			ts = append(ts, target{it.Update.TableName, it.Update.Key})
		case it.Delete != nil:
			ts = append(ts, target{it.Delete.TableName, it.Delete.Key})
		case it.ConditionCheck != nil:
			ts = append(ts, target{it.ConditionCheck.TableName, it.ConditionCheck.Key})
		}
	}
	before := make([]map[string]types.AttributeValue, len(ts))
	for i, t := range ts {
		before[i] = c.image(ctx, t.name, t.key)
	}
	out, err := c.Client.TransactWriteItems(ctx, in, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, t := range ts {
		if err != nil {
			c.table += dynamo.BilledFailedWrite(before[i])
			continue
		}
		after := c.image(ctx, t.name, t.key)
		tu, _ := dynamo.BilledWrite(before[i], after, 2)
		c.table += tu
		for ix, u := range dynamo.BilledIndexWrites(before[i], after) {
			if c.index == nil {
				c.index = map[string]float64{}
			}
			c.index[ix] += u
		}
	}
	return out, err
}

// take returns the units since the last take and starts again.
func (c *billedClient) take() (float64, map[string]float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ix := c.table, c.index
	c.table, c.index = 0, nil
	return t, ix
}

// A purchase its queue delivers again (Purchase.Redelivered): when it was
// credited, the store answers the replay from one eventually consistent
// BatchGetItem and writes nothing (a cancelled transaction is billed as a
// write of both its items); when it was not, the read finds nothing and
// the purchase is credited once, in its one transaction. The same key with
// another purchase is still refused.
func TestRedeliveredPurchaseReadsInsteadOfWriting(t *testing.T) {
	f, cc := coffeeFixture(t)
	ctx := context.Background()
	p := f.coffee("m-coffee", "r1")
	first, err := f.svc.Accrue(ctx, p)
	if err != nil || first.Replayed {
		t.Fatalf("first delivery: %+v, %v", first, err)
	}
	p.Redelivered = true
	writes, batchGets, gets := cc.Transactions.Load(), cc.BatchGets.Load(), cc.Gets.Load()
	again, err := f.svc.Accrue(ctx, p)
	if err != nil || !again.Replayed || again.Entry.Key != first.Entry.Key || again.Entry.Delta != first.Entry.Delta {
		t.Fatalf("redelivery: got %+v, %v, want the replay of %+v", again, err, first.Entry)
	}
	if w, b, g := cc.Transactions.Load()-writes, cc.BatchGets.Load()-batchGets, cc.Gets.Load()-gets; w != 0 || b != 1 || g != 0 {
		t.Errorf("redelivery of a credited purchase: %d transactions, %d BatchGetItem, %d GetItem; want 0, 1, 0", w, b, g)
	}
	other := f.coffee("m-coffee", "r1")
	other.Spend.Minor++
	other.Redelivered = true
	_, err = f.svc.Accrue(ctx, other)
	if loyalty.ErrorCode(err) != loyalty.CodeIdempotencyReuse {
		t.Errorf("a redelivered key with another purchase: got %v, want %s", err, loyalty.CodeIdempotencyReuse)
	}
	fresh := f.coffee("m-coffee", "r2")
	fresh.Redelivered = true // redelivered, never credited: the first attempt failed before its write
	writes, batchGets = cc.Transactions.Load(), cc.BatchGets.Load()
	res, err := f.svc.Accrue(ctx, fresh)
	if err != nil || res.Replayed {
		t.Fatalf("a redelivered purchase never credited: got %+v, %v, want it credited", res, err)
	}
	if w, b := cc.Transactions.Load()-writes, cc.BatchGets.Load()-batchGets; w != 1 || b != 1 {
		t.Errorf("a redelivered purchase never credited: %d transactions, %d BatchGetItem; want 1 and 1", w, b)
	}
	a, err := f.store.Account(ctx, "m-coffee")
	if err != nil {
		t.Fatal(err)
	}
	if want := loyalty.Points(5 + 2*15 + 2*50); a.Balance != want {
		t.Errorf("balance: got %d, want %d (the first purchase and two coffees, each once)", a.Balance, want)
	}
	f.audit(t)
}
