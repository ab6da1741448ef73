package dynamo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func TestSameAccrualDelivered50TimesCreditsOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.purchase("m-50", "evt-1", 12_345, f.clock.Now()) // 123.45 EUR -> 123 points

	var wg sync.WaitGroup
	results := make([]loyalty.Result, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.svc.Accrue(ctx, p)
		}()
	}
	wg.Wait()
	firsts := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if !results[i].Replayed {
			firsts++
		}
		if results[i].Entry.Delta != 123 {
			t.Errorf("delivery %d: got delta %d, want 123", i, results[i].Entry.Delta)
		}
	}
	if firsts != 1 {
		t.Errorf("got %d first deliveries, want 1", firsts)
	}
	if got := f.balance(t, "m-50"); got != 123 {
		t.Fatalf("balance after 50 deliveries: got %d, want 123", got)
	}

	f.clock.Advance(24 * time.Hour)
	again, err := f.svc.Accrue(ctx, p)
	if err != nil {
		t.Fatalf("replay a day later: %v", err)
	}
	if !again.Replayed || again.Entry.Delta != 123 || !again.Entry.At.Equal(results[0].Entry.At) {
		t.Errorf("replay a day later: got replayed=%v delta=%d at=%s, want the first result (delta 123 at %s)",
			again.Replayed, again.Entry.Delta, again.Entry.At, results[0].Entry.At)
	}
	if got := f.balance(t, "m-50"); got != 123 {
		t.Errorf("balance after the replay: got %d, want 123", got)
	}
	t.Logf("50 concurrent deliveries: %d credited, balance %d; replay after 24h: replayed=%v", firsts, f.balance(t, "m-50"), again.Replayed)
	f.audit(t)
}

func TestReusedKeyWithOtherPayloadIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.purchase("m-reuse", "evt-1", 1000, f.clock.Now())
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Spend.Minor = 9000
	_, err := f.svc.Accrue(ctx, p)
	if got := loyalty.ErrorCode(err); got != loyalty.CodeIdempotencyReuse {
		t.Fatalf("got code %q (%v), want %q", got, err, loyalty.CodeIdempotencyReuse)
	}
	if got := f.balance(t, "m-reuse"); got != 10 {
		t.Errorf("balance: got %d, want 10", got)
	}
}

func TestConcurrentRedemptionsNeverOverspend(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "coffee", 10)
	if _, err := f.svc.Accrue(ctx, f.purchase("m-95", "evt-95", 9_500, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	var (
		wg                    sync.WaitGroup
		mu                    sync.Mutex
		ok, insufficient, bad int
	)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.svc.Redeem(ctx, "m-95", fmt.Sprintf("key-%03d", i), "coffee")
			mu.Lock()
			defer mu.Unlock()
			switch loyalty.ErrorCode(err) {
			case "":
				ok++
			case loyalty.CodeInsufficientPoints:
				insufficient++
			default:
				bad++
				t.Errorf("redemption %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != 9 || insufficient != 91 || bad != 0 {
		t.Errorf("got %d successes, %d insufficient, %d other; want 9, 91, 0", ok, insufficient, bad)
	}
	if got := f.balance(t, "m-95"); got != 5 {
		t.Errorf("balance: got %d, want 5", got)
	}
	reds, err := f.store.Redemptions(ctx, "m-95")
	if err != nil || len(reds) != 9 {
		t.Errorf("redemptions stored: got %d (%v), want 9", len(reds), err)
	}
	t.Logf("100 concurrent redemptions of 10 on 95 points: %d ok, %d insufficient_points, balance %d", ok, insufficient, f.balance(t, "m-95"))
	f.audit(t)
}

func TestRedemptionAboveBalanceChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "bike", 500)
	if _, err := f.svc.Accrue(ctx, f.purchase("m-poor", "evt-1", 4_000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	before, _ := f.store.Account(ctx, "m-poor")
	_, _, err := f.svc.Redeem(ctx, "m-poor", "k1", "bike")
	if got := loyalty.ErrorCode(err); got != loyalty.CodeInsufficientPoints {
		t.Fatalf("got code %q (%v), want %q", got, err, loyalty.CodeInsufficientPoints)
	}
	after, _ := f.store.Account(ctx, "m-poor")
	if after.Balance != 40 || after.Version != before.Version {
		t.Errorf("account after refused redemption: got balance %d version %d, want 40 and version %d", after.Balance, after.Version, before.Version)
	}
	if _, err := f.store.Entry(ctx, "m-poor", "r:k1"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("ledger entry of the refused redemption: got %v, want not_found", err)
	}
	reds, _ := f.store.Redemptions(ctx, "m-poor")
	if len(reds) != 0 {
		t.Errorf("redemptions: got %d, want 0", len(reds))
	}
}

func TestRedemptionConsumesOldestExpiringLotsFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "mug", 250)
	// Three purchases in three months: lots expire end of Mar, Apr and May 2027.
	for i, month := range []time.Month{3, 4, 5} {
		at := time.Date(2026, month, 15, 10, 0, 0, 0, time.UTC)
		f.clock.now = at
		if _, err := f.svc.Accrue(ctx, f.purchase("m-lots", fmt.Sprintf("e%d", i), 10_000, at)); err != nil {
			t.Fatal(err)
		}
	}
	red, _, err := f.svc.Redeem(ctx, "m-lots", "k1", "mug")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.store.Account(ctx, "m-lots")
	want := []loyalty.Lot{{Expires: "2027-05-31", Points: 50}}
	if fmt.Sprint(a.Lots) != fmt.Sprint(want) {
		t.Errorf("lots after spending 250 of 3x100: got %v, want %v", a.Lots, want)
	}
	wantTaken := []loyalty.Lot{{Expires: "2027-03-31", Points: -100}, {Expires: "2027-04-30", Points: -100}, {Expires: "2027-05-31", Points: -50}}
	if fmt.Sprint(red.Lots) != fmt.Sprint(wantTaken) {
		t.Errorf("lots the redemption took: got %v, want %v", red.Lots, wantTaken)
	}
	// Cancelling gives the points back to the lots they came from.
	if _, _, err := f.svc.CancelRedemption(ctx, "m-lots", red.ID); err != nil {
		t.Fatal(err)
	}
	a, _ = f.store.Account(ctx, "m-lots")
	if a.Balance != 300 || len(a.Lots) != 3 {
		t.Errorf("after cancel: got balance %d lots %v, want 300 in 3 lots", a.Balance, a.Lots)
	}
	f.audit(t)
}

// An accrual writes two small items in one transaction (at most 4 billed
// table units), no read, and of the indexes only the history index (one
// entry, one unit); a duplicate writes nothing.
func TestAccrualWriteCapacity(t *testing.T) {
	units := &billedClient{Client: db}
	f := newFixtureOn(t, units)
	ctx := context.Background()
	at := f.clock.Now()
	// The member's first lot changes the due index: measured separately.
	c0 := f.store.Consumed()
	if _, err := f.svc.Accrue(ctx, f.purchase("m-wcu", "first", 1000, at)); err != nil {
		t.Fatal(err)
	}
	c1 := f.store.Consumed()
	units.take()
	p := f.purchase("m-wcu", "second", 2000, at)
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	c2 := f.store.Consumed()
	accrualTable, accrualIndexes := units.take()
	if _, err := f.svc.Accrue(ctx, p); err != nil {
		t.Fatal(err)
	}
	c3 := f.store.Consumed()
	dupTable, dupIndexes := units.take()
	firstLot, accrual, dup := c1.Write-c0.Write, c2.Write-c1.Write, c3.Write-c2.Write
	t.Logf("write units: member's first accrual %.1f (read %.1f), accrual %.1f (read %.1f; table %.1f, indexes %v), duplicate %.1f (read %.1f)",
		firstLot, c1.Read-c0.Read, accrual, c2.Read-c1.Read, accrualTable, accrualIndexes, dup, c3.Read-c2.Read)
	if accrualTable > 4 || accrualTable <= 0 || c2.Read != c1.Read {
		t.Errorf("accrual: got %.1f table write units and %.1f read, want 0 < wcu <= 4 and no read", accrualTable, c2.Read-c1.Read)
	}
	for ix, u := range accrualIndexes {
		if ix != dynamo.IndexHistory && u != 0 {
			t.Errorf("accrual: got %.1f write units on index %s, want none but on the history index", u, ix)
		}
	}
	if accrualIndexes[dynamo.IndexHistory] <= 0 {
		t.Errorf("accrual: got no write on the history index, want its entry")
	}
	if accrualIndexes[dynamo.IndexHistory] != 1 {
		t.Errorf("accrual: got %.1f billed units on the history index, want 1 (an entry under 1 KB)", accrualIndexes[dynamo.IndexHistory])
	}
	// A duplicate is a cancelled transaction: DynamoDB Local reports
	// nothing; AWS bills its prepare phase, two small items.
	if dup != 0 || dupTable != 2 || len(dupIndexes) > 0 {
		t.Errorf("duplicate: got %.1f reported and %.1f billed write units (indexes %v), want 0 and 2", dup, dupTable, dupIndexes)
	}
	if got := f.balance(t, "m-wcu"); got != 30 {
		t.Errorf("balance: got %d, want 30", got)
	}
}

func TestRandomMixKeepsTheAuditClean(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "r5", 5)
	f.putReward(t, "r20", 20)
	rng := rand.New(rand.NewPCG(7, 42))
	type op struct {
		kind   int
		member string
		n      int
		orig   int // the accrual a reversal takes back from
	}
	ops := make([]op, 2000)
	bought := map[string][]int{} // member -> indexes of their accruals so far
	for i := range ops {
		o := op{kind: rng.IntN(10), member: fmt.Sprintf("m-%02d", rng.IntN(50)), n: i, orig: -1}
		if o.kind < 5 {
			bought[o.member] = append(bought[o.member], i)
		} else if o.kind >= 8 && len(bought[o.member]) > 0 {
			o.orig = bought[o.member][rng.IntN(len(bought[o.member]))]
		}
		ops[i] = o
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[string]int{}
	)
	work := make(chan op)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				var (
					err  error
					what string
				)
				switch {
				case o.kind < 5:
					what = "accrual"
					_, err = f.svc.Accrue(ctx, f.purchase(o.member, fmt.Sprintf("e%d", o.n), int64(100+o.n*7%5000), f.clock.Now()))
				case o.kind < 8:
					what = "redemption"
					reward := "r5"
					if o.kind == 7 {
						reward = "r20"
					}
					_, _, err = f.svc.Redeem(ctx, loyalty.MemberID(o.member), fmt.Sprintf("k%d", o.n), reward)
				default:
					what = "reversal"
					// Take 7 points back from an earlier purchase of the member
					// (not_found when it has not been processed yet).
					orig := fmt.Sprintf("e%d", o.orig)
					_, err = f.svc.Reverse(ctx, loyalty.Reversal{Key: fmt.Sprintf("x%d", o.n), MemberID: loyalty.MemberID(o.member),
						OriginalKey: loyalty.PurchaseKey("shop1", orig), Points: 7, Reason: "refund", Actor: "test"})
				}
				code := loyalty.ErrorCode(err)
				mu.Lock()
				counts[what+":"+string(code)]++
				mu.Unlock()
				if code != "" && code != loyalty.CodeInsufficientPoints && code != loyalty.CodeNotFound {
					t.Errorf("%s %d: %v", what, o.n, err)
				}
			}
		}()
	}
	for _, o := range ops {
		work <- o
	}
	close(work)
	wg.Wait()
	rep := f.audit(t)
	t.Logf("2000 mixed operations over 50 members: %v; audit checked %d members, %d problems", counts, rep.Members, len(rep.Problems))
	if rep.Members != 50 {
		t.Errorf("audit checked %d members, want 50", rep.Members)
	}
}

// A DynamoDB that cannot be reached (connection refused) is a transient
// failure, retried by the queue and the scheduler, never "internal".
func TestUnreachableDynamoDBIsTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + addr),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""), RetryMaxAttempts: 1})
	st := dynamo.New(client, "no-table")
	_, err = st.Account(context.Background(), "m-1")
	if loyalty.ErrorCode(err) != loyalty.CodeUnavailable || !loyalty.Retryable(err) {
		t.Errorf("read from an unreachable DynamoDB: got %v (code %q), want %s, retryable", err, loyalty.ErrorCode(err), loyalty.CodeUnavailable)
	}
	svc := &loyalty.Service{Store: st, Program: testProgram(t), Clock: loyalty.SystemClock{}}
	_, err = svc.Accrue(context.Background(), loyalty.Purchase{Key: loyalty.PurchaseKey("shop", "e1"), MemberID: "m-1", Ref: "shop:e1",
		Spend: loyalty.Money{Minor: 1000, Currency: "EUR"}, OccurredAt: time.Now(), Actor: "partner:shop"})
	if loyalty.ErrorCode(err) != loyalty.CodeUnavailable {
		t.Errorf("accrual against an unreachable DynamoDB: got %v, want %s", err, loyalty.CodeUnavailable)
	}
}

// 160 concurrent cancels of one redemption (a retrying app, a double tap)
// all answer as the first: the same cancel entry, the redemption cancelled,
// the points back once. Before, a cancel that re-planned after another one
// committed answered 409 "is cancelled and cannot be cancelled".
func TestConcurrentDuplicateCancelsAllGetTheFirstResult(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.putReward(t, "coffee", 10)
	if _, err := f.svc.Accrue(ctx, f.purchase("m-cancel", "evt-1", 5_000, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	before := f.balance(t, "m-cancel")
	red, _, err := f.svc.Redeem(ctx, "m-cancel", "key-1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	const n = 160
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		keys   = map[string]int{}
		fails  []error
		firsts int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, res, err := f.svc.CancelRedemption(ctx, "m-cancel", red.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
				return
			}
			if got.State != loyalty.RedemptionCancelled {
				fails = append(fails, fmt.Errorf("state %s", got.State))
			}
			keys[res.Entry.Key+fmt.Sprint(res.Entry.Delta)]++
			if !res.Replayed {
				firsts++
			}
		}()
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Errorf("cancels: got %d failures (first: %v), want none", len(fails), fails[0])
	}
	if len(keys) != 1 || firsts != 1 {
		t.Errorf("cancels: got results %v with %d not replayed, want one result, written once", keys, firsts)
	}
	if got := f.balance(t, "m-cancel"); got != before {
		t.Errorf("balance after the cancels: got %d, want %d (the 10 points back once)", got, before)
	}
	f.audit(t)
}

// A one-trip credit (no read) forgets qualifying months no tier window can
// count any more, so the account's map stays bounded on the blind path too.
func TestOneTripCreditForgetsStaleQualifyingMonths(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old := time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)
	f.clock.Advance(old.Sub(f.clock.Now()))
	if _, err := f.svc.Accrue(ctx, f.purchase("m-months", "old", 1_000, old)); err != nil {
		t.Fatal(err)
	}
	// The old lot expires, a later purchase leaves a lot that is not due:
	// the quick form holds for the next one (an overdue lot would be moved
	// to today's expiry run by the planner).
	expiry := time.Date(2025, 7, 1, 3, 0, 0, 0, time.UTC)
	f.clock.Advance(expiry.Sub(f.clock.Now()))
	if _, ok, err := f.svc.ExpireDue(ctx, "m-months", "2025-07-01"); err != nil || !ok {
		t.Fatalf("expire the old lot: got ok %v, %v", ok, err)
	}
	mid := time.Date(2025, 12, 10, 12, 0, 0, 0, time.UTC)
	f.clock.Advance(mid.Sub(f.clock.Now()))
	if _, err := f.svc.Accrue(ctx, f.purchase("m-months", "mid", 1_000, mid)); err != nil {
		t.Fatal(err)
	}
	before := f.store.Consumed()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	f.clock.Advance(now.Sub(f.clock.Now()))
	if _, err := f.svc.Accrue(ctx, f.purchase("m-months", "new", 1_000, now)); err != nil {
		t.Fatal(err)
	}
	if read := f.store.Consumed().ItemsRead - before.ItemsRead; read != 0 {
		t.Fatalf("second accrual: got %d items read, want 0 (the one-trip credit this test is about)", read)
	}
	a, err := f.store.Account(ctx, "m-months")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Qualifying["2024-05"]; ok || a.Qualifying["2026-03"] != 10 || a.Qualifying["2025-12"] != 10 {
		t.Errorf("qualifying months: got %v, want 2024-05 forgotten, 2025-12 and 2026-03 = 10", a.Qualifying)
	}
}

// A page size below 1 is invalid input, not a crash.
func TestPageSizeBelowOneIsInvalid(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, _, err := f.store.Activity(ctx, "m-1", "", 0); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
		t.Errorf("activity with limit 0: got %v, want %s", err, loyalty.CodeInvalid)
	}
	if _, _, err := f.store.Notifications(ctx, "m-1", "", -1, f.clock.Now()); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
		t.Errorf("notifications with limit -1: got %v, want %s", err, loyalty.CodeInvalid)
	}
}

// updateRecorder keeps the account updates of the transactions it passes on.
type updateRecorder struct {
	dynamo.Client
	mu      sync.Mutex
	updates []string
}

func (c *updateRecorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.mu.Lock()
	for _, it := range in.TransactItems {
		if it.Update != nil {
			c.updates = append(c.updates, aws.ToString(it.Update.UpdateExpression))
		}
	}
	c.mu.Unlock()
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

func (c *updateRecorder) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.updates) == 0 {
		return ""
	}
	return c.updates[len(c.updates)-1]
}

// The stale qualifying months are removed by a store's first one-trip
// credit of a member in a month, not by every one: the second credit of the
// month carries no REMOVE, the first of the next month does again, and a
// second store (another Lambda container) removes them on its own first.
func TestStaleMonthsAreRemovedOncePerMonth(t *testing.T) {
	rec := &updateRecorder{Client: db}
	table := newTable(t)
	f := newFixtureOn(t, rec)
	f.store = dynamo.New(rec, table)
	ctx := context.Background()
	credit := func(st *dynamo.Store, event string) string {
		t.Helper()
		svc := *f.svc
		svc.Store, svc.Referrals = st, st
		if _, err := svc.Accrue(ctx, f.purchase("m-prune", event, 1_000, f.clock.Now())); err != nil {
			t.Fatal(err)
		}
		return rec.last()
	}
	credit(f.store, "enrol") // the first credit plans: the account is new
	if u := credit(f.store, "march-1"); !strings.Contains(u, "REMOVE") {
		t.Errorf("first one-trip credit of March: got %q, want the stale months removed", u)
	}
	if u := credit(f.store, "march-2"); strings.Contains(u, "REMOVE") {
		t.Errorf("second credit of March: got %q, want no REMOVE", u)
	}
	other := dynamo.New(rec, table) // a store that never read the member: its credits are all quick
	if u := credit(other, "march-3"); !strings.Contains(u, "REMOVE") {
		t.Errorf("another store's first credit of March: got %q, want the stale months removed", u)
	}
	if u := credit(other, "march-4"); strings.Contains(u, "REMOVE") {
		t.Errorf("that store's second credit of March: got %q, want no REMOVE", u)
	}
	f.clock.Advance(31 * 24 * time.Hour)
	if u := credit(f.store, "april-1"); !strings.Contains(u, "REMOVE") {
		t.Errorf("first credit of April: got %q, want the stale months removed", u)
	}
	if u := credit(f.store, "april-2"); strings.Contains(u, "REMOVE") {
		t.Errorf("second credit of April: got %q, want no REMOVE", u)
	}
}
