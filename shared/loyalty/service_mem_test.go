package loyalty_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// The use cases of loyalty.Service on the memory store, which keeps the
// DynamoDB store's guarantees (storecontract) without Java. The program is
// storecontract.ProgramJSON: 1 point per EUR, lots expiring at the end of the
// month a year on, refunds of spent points as a negative balance, a stamp
// card of two coffees, referrals of 100 + 50 points (2 a month, from 5 EUR).

var ctx = context.Background()

type env struct {
	st    *memstore.Store
	svc   *loyalty.Service
	clock *storecontract.Clock
}

func newEnv(tb testing.TB, programJSON string) *env {
	tb.Helper()
	st := memstore.New()
	clock := storecontract.NewClock(storecontract.Start)
	return &env{st: st, clock: clock, svc: storecontract.Service(st, storecontract.Program(tb, programJSON), clock)}
}

func (e *env) accrue(tb testing.TB, member, event string, minor int64, lines ...loyalty.Line) loyalty.Result {
	tb.Helper()
	res, err := e.svc.Accrue(ctx, storecontract.Purchase(member, event, minor, e.clock.Now(), lines...))
	if err != nil {
		tb.Fatalf("accrue %s for %s: %v", event, member, err)
	}
	return res
}

func (e *env) reward(tb testing.TB, id string, cost loyalty.Points, active bool) {
	tb.Helper()
	if err := e.svc.PutReward(ctx, loyalty.Reward{ID: id, Name: "Reward " + id, Kind: loyalty.RewardFreeProduct, Cost: cost, ValidDays: 30, Active: active}); err != nil {
		tb.Fatalf("put reward %s: %v", id, err)
	}
}

func (e *env) account(tb testing.TB, member string) loyalty.Account {
	tb.Helper()
	a, err := e.st.Account(ctx, loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("account of %s: %v", member, err)
	}
	return a
}

func (e *env) audit(tb testing.TB, members ...string) {
	tb.Helper()
	for _, m := range members {
		p, err := e.st.AuditMember(ctx, loyalty.MemberID(m))
		if err != nil {
			tb.Fatalf("audit %s: %v", m, err)
		}
		if p != nil {
			tb.Errorf("audit of %s: got %v, want no problem", m, p.Problems)
		}
	}
}

func wantCode(tb testing.TB, what string, err error, code loyalty.Code) {
	tb.Helper()
	if got := loyalty.ErrorCode(err); got != code {
		tb.Errorf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}

// twoLots gives member 100 points expiring 2027-03-31 and, 30 days later,
// 50 expiring 2027-04-30.
func (e *env) twoLots(tb testing.TB, member string) {
	tb.Helper()
	e.accrue(tb, member, "march", 10_000)
	e.clock.Advance(30 * 24 * time.Hour) // 2026-04-09
	e.accrue(tb, member, "april", 5_000)
}

var rewardCode = regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`)

func TestServiceRedeem(t *testing.T) {
	redeemFirst := func(t *testing.T, e *env) {
		if _, _, err := e.svc.Redeem(ctx, "m", "k1", "mug"); err != nil {
			t.Fatalf("first redemption: %v", err)
		}
	}
	for _, c := range []struct {
		name         string
		before       func(t *testing.T, e *env)
		key, reward  string
		want         loyalty.Code
		wantReplayed bool
		wantBalance  loyalty.Points
		wantTaken    string // lots the redemption took
	}{
		{name: "spends the oldest-expiring lots first", key: "k1", reward: "mug", wantBalance: 30,
			wantTaken: "[{2027-03-31 -100} {2027-04-30 -20}]"},
		{name: "refuses what the balance does not cover", key: "k1", reward: "bike", want: loyalty.CodeInsufficientPoints, wantBalance: 150},
		{name: "unknown reward", key: "k1", reward: "nope", want: loyalty.CodeNotFound, wantBalance: 150},
		{name: "inactive reward", key: "k1", reward: "retired", want: loyalty.CodeConflict, wantBalance: 150},
		{name: "malformed Idempotency-Key", key: "k 1", reward: "mug", want: loyalty.CodeInvalid, wantBalance: 150},
		{name: "the same key again answers the first redemption", before: redeemFirst, key: "k1", reward: "mug", wantReplayed: true,
			wantBalance: 30, wantTaken: "[{2027-03-31 -100} {2027-04-30 -20}]"},
		{name: "the same key for another reward is refused", before: redeemFirst, key: "k1", reward: "cup", want: loyalty.CodeIdempotencyReuse, wantBalance: 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storecontract.ProgramJSON)
			e.reward(t, "mug", 120, true)
			e.reward(t, "cup", 10, true)
			e.reward(t, "bike", 500, true)
			e.reward(t, "retired", 10, false)
			e.twoLots(t, "m")
			if c.before != nil {
				c.before(t, e)
			}
			before := e.account(t, "m")
			red, res, err := e.svc.Redeem(ctx, "m", c.key, c.reward)
			wantCode(t, "redeem", err, c.want)
			after := e.account(t, "m")
			if after.Balance != c.wantBalance {
				t.Errorf("balance: got %d, want %d", after.Balance, c.wantBalance)
			}
			if c.want != "" || c.wantReplayed {
				if after.Version != before.Version {
					t.Errorf("account version: got %d, want %d (nothing written)", after.Version, before.Version)
				}
				if c.want != "" {
					return
				}
			}
			if res.Replayed != c.wantReplayed {
				t.Errorf("replayed: got %v, want %v", res.Replayed, c.wantReplayed)
			}
			if got := fmt.Sprint(red.Lots); got != c.wantTaken {
				t.Errorf("lots taken: got %s, want %s", got, c.wantTaken)
			}
			if red.State != loyalty.RedemptionIssued || red.Cost != 120 || red.ValidUntil != "2026-05-09" || !rewardCode.MatchString(red.Code) {
				t.Errorf("redemption: got %s cost %d valid until %s code %q, want issued, 120, 2026-05-09 and a code like ABCD-EFGH-IJKL-MNOP",
					red.State, red.Cost, red.ValidUntil, red.Code)
			}
			stored, err := e.st.Redemption(ctx, "m", red.ID)
			if err != nil || stored.Code != red.Code || res.Entry.RedemptionID != red.ID || res.Entry.Delta != -120 {
				t.Errorf("stored: got %+v (%v), entry %s delta %d; want the redemption and an entry of -120 naming it",
					stored, err, res.Entry.RedemptionID, res.Entry.Delta)
			}
			e.audit(t, "m")
		})
	}
}

func TestServiceCancelRedemption(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, e *env, red loyalty.Redemption)
	}{
		{"gives the points back to the lots they came from", func(t *testing.T, e *env, red loyalty.Redemption) {
			got, res, err := e.svc.CancelRedemption(ctx, "m", red.ID)
			if err != nil || got.State != loyalty.RedemptionCancelled || res.Replayed || res.Entry.Delta != 120 {
				t.Fatalf("cancel: got state %s replayed=%v delta %d (%v), want cancelled, written, +120", got.State, res.Replayed, res.Entry.Delta, err)
			}
			a := e.account(t, "m")
			if a.Balance != 150 || fmt.Sprint(a.Lots) != "[{2027-03-31 100} {2027-04-30 50}]" {
				t.Errorf("account: got %d in %v, want 150 in [{2027-03-31 100} {2027-04-30 50}]", a.Balance, a.Lots)
			}
		}},
		{"twice answers the first cancellation", func(t *testing.T, e *env, red loyalty.Redemption) {
			_, first, err := e.svc.CancelRedemption(ctx, "m", red.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			got, again, err := e.svc.CancelRedemption(ctx, "m", red.ID)
			if err != nil || !again.Replayed || again.Entry.Key != first.Entry.Key || !again.Entry.At.Equal(first.Entry.At) || got.State != loyalty.RedemptionCancelled {
				t.Errorf("second cancel: got replayed=%v %s at %s state %s (%v), want the first (%s at %s)",
					again.Replayed, again.Entry.Key, again.Entry.At, got.State, err, first.Entry.Key, first.Entry.At)
			}
			if b := e.account(t, "m").Balance; b != 150 {
				t.Errorf("balance: got %d, want 150 (given back once)", b)
			}
		}},
		{"unknown redemption", func(t *testing.T, e *env, _ loyalty.Redemption) {
			_, _, err := e.svc.CancelRedemption(ctx, "m", "nope")
			wantCode(t, "cancel", err, loyalty.CodeNotFound)
		}},
		{"another member's redemption", func(t *testing.T, e *env, red loyalty.Redemption) {
			_, _, err := e.svc.CancelRedemption(ctx, "intruder", red.ID)
			wantCode(t, "cancel", err, loyalty.CodeNotFound)
			if r, _ := e.st.Redemption(ctx, "m", red.ID); r.State != loyalty.RedemptionIssued {
				t.Errorf("the owner's redemption: got %s, want issued", r.State)
			}
		}},
		{"malformed id", func(t *testing.T, e *env, _ loyalty.Redemption) {
			_, _, err := e.svc.CancelRedemption(ctx, "m", "a b")
			wantCode(t, "cancel", err, loyalty.CodeInvalid)
		}},
		{"points of a lot whose day passed are due at once", func(t *testing.T, e *env, red loyalty.Redemption) {
			e.clock.Set(time.Date(2027, 4, 5, 8, 0, 0, 0, time.UTC))
			if _, _, err := e.svc.CancelRedemption(ctx, "m", red.ID); err != nil {
				t.Fatal(err)
			}
			a := e.account(t, "m")
			if a.DueOn != "2027-04-05" || a.Balance != 150 {
				t.Fatalf("after the cancel: got due %q balance %d, want due today (2027-04-05) with 150", a.DueOn, a.Balance)
			}
			res, ok, _, err := e.svc.ExpireDueFrom(ctx, "m", nil, "2027-04-05", nil)
			if err != nil || !ok || res.Entry.Delta != -100 {
				t.Errorf("expiry: got ok=%v delta %d (%v), want the March lot's 100 expired", ok, res.Entry.Delta, err)
			}
		}},
		{"a reward a refund revoked cannot be cancelled", func(t *testing.T, e *env, _ loyalty.Redemption) {
			coffee := loyalty.Line{ID: "1", Category: "coffee", Quantity: 1, Minor: 300}
			e.accrue(t, "m", "c1", 300, coffee)
			second := e.accrue(t, "m", "c2", 300, coffee) // fills the card
			card := second.Entry.Stamps[0].RedemptionID
			if _, err := e.svc.Refund(ctx, storecontract.RefundOf("m", "r2", "c2", 300, e.clock.Now())); err != nil {
				t.Fatal(err)
			}
			_, _, err := e.svc.CancelRedemption(ctx, "m", card)
			wantCode(t, "cancel of the revoked reward", err, loyalty.CodeConflict)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storecontract.ProgramJSON)
			e.reward(t, "mug", 120, true)
			e.twoLots(t, "m")
			red, _, err := e.svc.Redeem(ctx, "m", "k1", "mug")
			if err != nil {
				t.Fatal(err)
			}
			c.run(t, e, red)
			e.audit(t, "m")
		})
	}
}

// gatedStore holds the first redemption read of a call whose context
// carries holdKey until release is closed, and says on entered when it
// holds it.
type gatedStore struct {
	*memstore.Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

type holdKey struct{}

func (g *gatedStore) Redemption(c context.Context, id loyalty.MemberID, rid string) (loyalty.Redemption, error) {
	if c.Value(holdKey{}) != nil {
		g.once.Do(func() {
			g.entered <- struct{}{}
			<-g.release
		})
	}
	return g.Store.Redemption(c, id, rid)
}

// Duplicate cancels at once all answer the first cancellation: 20 at once,
// and the worst interleaving forced (a duplicate reads the account before
// the first cancel is written and the redemption after).
func TestServiceConcurrentDuplicateCancels(t *testing.T) {
	t.Run("20 at once", func(t *testing.T) {
		e := newEnv(t, storecontract.ProgramJSON)
		e.reward(t, "mug", 120, true)
		e.twoLots(t, "m")
		red, _, err := e.svc.Redeem(ctx, "m", "k1", "mug")
		if err != nil {
			t.Fatal(err)
		}
		results := make([]loyalty.Result, 20)
		errs := make([]error, 20)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() { _, results[i], errs[i] = e.svc.CancelRedemption(ctx, "m", red.ID) })
		}
		wg.Wait()
		written := 0
		for i := range 20 {
			if errs[i] != nil || results[i].Entry.Delta != 120 {
				t.Errorf("cancel %d: got delta %d (%v), want the first cancellation (+120)", i, results[i].Entry.Delta, errs[i])
			}
			if !results[i].Replayed {
				written++
			}
		}
		if written != 1 || e.account(t, "m").Balance != 150 {
			t.Errorf("got %d cancellations written and balance %d, want 1 and 150", written, e.account(t, "m").Balance)
		}
		e.audit(t, "m")
	})
	t.Run("a duplicate that reads the redemption after the first cancel", func(t *testing.T) {
		e := newEnv(t, storecontract.ProgramJSON)
		e.reward(t, "mug", 120, true)
		e.twoLots(t, "m")
		red, _, err := e.svc.Redeem(ctx, "m", "k1", "mug")
		if err != nil {
			t.Fatal(err)
		}
		gated := &gatedStore{Store: e.st, entered: make(chan struct{}), release: make(chan struct{})}
		slow := *e.svc
		slow.Store = gated
		var (
			late    loyalty.Result
			lateErr error
			done    = make(chan struct{})
		)
		go func() {
			defer close(done)
			_, late, lateErr = slow.CancelRedemption(context.WithValue(ctx, holdKey{}, true), "m", red.ID)
		}()
		<-gated.entered // the duplicate planned on the account before the first cancel
		_, first, err := e.svc.CancelRedemption(ctx, "m", red.ID)
		if err != nil {
			t.Fatal(err)
		}
		close(gated.release)
		<-done
		if lateErr != nil || !late.Replayed || late.Entry.Key != first.Entry.Key || late.Entry.Delta != first.Entry.Delta {
			t.Errorf("the duplicate: got replayed=%v %s delta %d (%v), want the first cancellation %s +%d",
				late.Replayed, late.Entry.Key, late.Entry.Delta, lateErr, first.Entry.Key, first.Entry.Delta)
		}
		e.audit(t, "m")
	})
}

func TestServiceReverseAndRefund(t *testing.T) {
	debtProgram := strings.Replace(storecontract.ProgramJSON, `"negative_balance"`, `"record_debt"`, 1)
	purchase := loyalty.PurchaseKey("shop1", "e1")
	reverse := func(e *env, key string, points loyalty.Points) (loyalty.Result, error) {
		return e.svc.Reverse(ctx, loyalty.Reversal{Key: key, MemberID: "m", OriginalKey: purchase, Points: points, Reason: "goodwill undone", Actor: "ops:test"})
	}
	refund := func(e *env, event string, minor int64, lines ...loyalty.RefundLine) (loyalty.Result, error) {
		return e.svc.Refund(ctx, storecontract.RefundOf("m", event, "e1", minor, e.clock.Now(), lines...))
	}
	lines := []loyalty.Line{{ID: "a", Quantity: 2, Minor: 6_000}, {ID: "b", Quantity: 1, Minor: 4_000}}
	for _, c := range []struct {
		name     string
		program  string
		spend    loyalty.Points // redeemed before the refund
		steps    func(e *env) (loyalty.Result, error)
		want     loyalty.Code
		delta    loyalty.Points // of the last step
		balance  loyalty.Points
		deficit  loyalty.Points
		debt     loyalty.Points
		reversed loyalty.Points // of the purchase
	}{
		{name: "a partial reversal", steps: func(e *env) (loyalty.Result, error) { return reverse(e, "x1", 30) },
			delta: -30, balance: 70, reversed: 30},
		{name: "a reversal never takes more than is left of the credit", steps: func(e *env) (loyalty.Result, error) {
			if _, err := reverse(e, "x1", 30); err != nil {
				return loyalty.Result{}, err
			}
			return reverse(e, "x2", 500)
		}, delta: -70, balance: 0, reversed: 100},
		{name: "a reversal of a redemption is refused", steps: func(e *env) (loyalty.Result, error) {
			_, res, err := e.svc.Redeem(ctx, "m", "k1", "mug")
			if err != nil {
				return res, err
			}
			return e.svc.Reverse(ctx, loyalty.Reversal{Key: "x1", MemberID: "m", OriginalKey: res.Entry.Key, Points: 5})
		}, want: loyalty.CodeConflict, balance: 90},
		{name: "a reversal of an unknown entry", steps: func(e *env) (loyalty.Result, error) {
			return e.svc.Reverse(ctx, loyalty.Reversal{Key: "x1", MemberID: "m", OriginalKey: "p:shop1:nope", Points: 5})
		}, want: loyalty.CodeNotFound, balance: 100},
		{name: "a full refund by amount", steps: func(e *env) (loyalty.Result, error) { return refund(e, "r1", 10_000) },
			delta: -100, balance: 0, reversed: 100},
		{name: "partial refunds by amount add up", steps: func(e *env) (loyalty.Result, error) {
			if _, err := refund(e, "r1", 2_500); err != nil {
				return loyalty.Result{}, err
			}
			return refund(e, "r2", 2_500)
		}, delta: -25, balance: 50, reversed: 50},
		{name: "a refund of one item of a line", steps: func(e *env) (loyalty.Result, error) {
			return refund(e, "r1", 0, loyalty.RefundLine{ID: "a", Quantity: 1}) // 30 EUR of 100: 30 points
		}, delta: -30, balance: 70, reversed: 30},
		{name: "a refund of points already spent goes negative", spend: 80,
			steps: func(e *env) (loyalty.Result, error) { return refund(e, "r1", 10_000) },
			delta: -100, balance: -80, deficit: 80, reversed: 100},
		{name: "a refund of points already spent records debt", program: debtProgram, spend: 80,
			steps: func(e *env) (loyalty.Result, error) { return refund(e, "r1", 10_000) },
			delta: -20, balance: 0, debt: 80, reversed: 100},
		{name: "a redelivered refund replays", steps: func(e *env) (loyalty.Result, error) {
			if _, err := refund(e, "r1", 2_500); err != nil {
				return loyalty.Result{}, err
			}
			res, err := refund(e, "r1", 2_500)
			if err == nil && !res.Replayed {
				return res, fmt.Errorf("the redelivery was not a replay")
			}
			return res, err
		}, delta: -25, balance: 75, reversed: 25},
		{name: "a refund event reused for another amount is refused", steps: func(e *env) (loyalty.Result, error) {
			if _, err := refund(e, "r1", 2_500); err != nil {
				return loyalty.Result{}, err
			}
			return refund(e, "r1", 5_000)
		}, want: loyalty.CodeIdempotencyReuse, balance: 75, reversed: 25},
		{name: "a refund in another currency", steps: func(e *env) (loyalty.Result, error) {
			r := storecontract.RefundOf("m", "r1", "e1", 0, e.clock.Now())
			r.Amount = &loyalty.Money{Minor: 100, Currency: "USD"}
			return e.svc.Refund(ctx, r)
		}, want: loyalty.CodeInvalid, balance: 100},
		{name: "a refund of a purchase not recorded (yet)", steps: func(e *env) (loyalty.Result, error) {
			return e.svc.Refund(ctx, storecontract.RefundOf("m", "r1", "later", 500, e.clock.Now()))
		}, want: loyalty.CodeNotFound, balance: 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			program := c.program
			if program == "" {
				program = storecontract.ProgramJSON
			}
			e := newEnv(t, program)
			e.reward(t, "mug", 10, true)
			e.reward(t, "spend", c.spend, true)
			e.accrue(t, "m", "e1", 10_000, lines...)
			if c.spend > 0 {
				if _, _, err := e.svc.Redeem(ctx, "m", "spend", "spend"); err != nil {
					t.Fatal(err)
				}
			}
			res, err := c.steps(e)
			wantCode(t, "last step", err, c.want)
			if c.want == "" && res.Entry.Delta != c.delta {
				t.Errorf("last step: got delta %d, want %d", res.Entry.Delta, c.delta)
			}
			a := e.account(t, "m")
			if a.Balance != c.balance || a.Deficit != c.deficit || a.Debt != c.debt {
				t.Errorf("account: got balance %d deficit %d debt %d, want %d, %d, %d", a.Balance, a.Deficit, a.Debt, c.balance, c.deficit, c.debt)
			}
			orig, err := e.st.Entry(ctx, "m", purchase)
			if err != nil || orig.Reversed != c.reversed {
				t.Errorf("purchase: got reversed %d (%v), want %d", orig.Reversed, err, c.reversed)
			}
			e.audit(t, "m")
		})
	}
}

func TestServiceAdjust(t *testing.T) {
	adj := func(key string, points loyalty.Points, reason string) loyalty.Adjustment {
		return loyalty.Adjustment{Key: key, MemberID: "m", Points: points, Reason: reason, Actor: "ops:test"}
	}
	for _, c := range []struct {
		name         string
		before       []loyalty.Adjustment
		ad           loyalty.Adjustment
		want         loyalty.Code
		wantReplayed bool
		balance      loyalty.Points
		lots         string
	}{
		{name: "a credit is a lot expiring like an accrual", ad: adj("a1", 25, "goodwill"), balance: 175,
			lots: "[{2027-03-31 100} {2027-04-30 75}]"},
		{name: "a debit takes the oldest lots first", ad: adj("a1", -120, "fraud"), balance: 30, lots: "[{2027-04-30 30}]"},
		{name: "a debit beyond the balance is refused", ad: adj("a1", -151, "fraud"), want: loyalty.CodeInsufficientPoints, balance: 150,
			lots: "[{2027-03-31 100} {2027-04-30 50}]"},
		{name: "a reason is required", ad: adj("a1", 5, "x"), want: loyalty.CodeInvalid, balance: 150, lots: "[{2027-03-31 100} {2027-04-30 50}]"},
		{name: "zero points", ad: adj("a1", 0, "nothing"), want: loyalty.CodeInvalid, balance: 150, lots: "[{2027-03-31 100} {2027-04-30 50}]"},
		{name: "the same adjustment again replays", before: []loyalty.Adjustment{adj("a1", 25, "goodwill")}, ad: adj("a1", 25, "goodwill"),
			wantReplayed: true, balance: 175, lots: "[{2027-03-31 100} {2027-04-30 75}]"},
		{name: "the same key with other points is refused", before: []loyalty.Adjustment{adj("a1", 25, "goodwill")}, ad: adj("a1", 50, "goodwill"),
			want: loyalty.CodeIdempotencyReuse, balance: 175, lots: "[{2027-03-31 100} {2027-04-30 75}]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storecontract.ProgramJSON)
			e.twoLots(t, "m")
			for _, b := range c.before {
				if _, err := e.svc.Adjust(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			res, err := e.svc.Adjust(ctx, c.ad)
			wantCode(t, "adjust", err, c.want)
			if c.want == "" && (res.Replayed != c.wantReplayed || res.Entry.Delta != c.ad.Points || res.Entry.Reason != c.ad.Reason) {
				t.Errorf("adjust: got replayed=%v delta %d reason %q, want replayed=%v %d %q", res.Replayed, res.Entry.Delta, res.Entry.Reason,
					c.wantReplayed, c.ad.Points, c.ad.Reason)
			}
			a := e.account(t, "m")
			if a.Balance != c.balance || fmt.Sprint(a.Lots) != c.lots {
				t.Errorf("account: got %d in %v, want %d in %s", a.Balance, a.Lots, c.balance, c.lots)
			}
			e.audit(t, "m")
		})
	}
}

func TestServiceExpiry(t *testing.T) {
	tell := func(prog *loyalty.Program) func(loyalty.Entry) loyalty.Notification {
		return func(e loyalty.Entry) loyalty.Notification {
			return loyalty.NewNotification(prog, e.MemberID, loyalty.NotePointsExpired, string(loyalty.DateOf(e.At, time.UTC)), "points expired", nil, e.At)
		}
	}
	for _, c := range []struct {
		name      string
		snapshots bool // the service writes from the due index's copy
		at        time.Time
		wantOK    bool
		delta     loyalty.Points
		balance   loyalty.Points
		due       loyalty.Date
		told      bool
	}{
		{"the due lot expires, told in the same write", true, time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC), true, -100, 50, "2027-05-01", true},
		{"without snapshots the account is read", false, time.Date(2027, 4, 1, 1, 0, 0, 0, time.UTC), true, -100, 50, "2027-05-01", false},
		{"the lot's last day is not due", true, time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC), false, 0, 150, "2027-04-01", false},
		{"both lots, a month later", true, time.Date(2027, 5, 1, 1, 0, 0, 0, time.UTC), true, -150, 0, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storecontract.ProgramJSON)
			e.twoLots(t, "m")
			if !c.snapshots {
				e.svc.Snapshots = nil
			}
			var lots []loyalty.Lot
			for shard := range memstore.DueShards {
				hits, _, err := e.st.DueAccounts(ctx, "2027-04-01", shard, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hits {
					lots = h.Lots
				}
			}
			e.clock.Set(c.at)
			today := e.svc.Program.Today(c.at)
			for run := range 2 { // a rerun the same day replays
				res, ok, _, err := e.svc.ExpireDueFrom(ctx, "m", lots, today, tell(e.svc.Program))
				if err != nil || ok != c.wantOK || (ok && (res.Entry.Delta != c.delta || res.Replayed != (run == 1))) {
					t.Errorf("run %d: got ok=%v delta %d replayed=%v (%v), want ok=%v delta %d replayed=%v",
						run, ok, res.Entry.Delta, res.Replayed, err, c.wantOK, c.delta, run == 1)
				}
			}
			a := e.account(t, "m")
			if a.Balance != c.balance || a.DueOn != c.due {
				t.Errorf("account: got balance %d due %q, want %d due %q", a.Balance, a.DueOn, c.balance, c.due)
			}
			ns, _, err := e.st.Notifications(ctx, "m", "", 10, c.at)
			if err != nil || (len(ns) == 1) != c.told {
				t.Errorf("inbox: got %d notifications (%v), want told=%v", len(ns), err, c.told)
			}
			e.audit(t, "m")
		})
	}
}

func TestServiceTierReview(t *testing.T) {
	for _, c := range []struct {
		name     string
		buy      []int64 // purchases in March 2026, minor units
		later    int64   // a purchase in February 2027
		day      loyalty.Date
		wantOK   bool
		moveTo   string // the entry's Tier: "" when kept
		tier     string
		reviewOn loyalty.Date
	}{
		{name: "nothing left in the window: down one tier", buy: []int64{12_000}, day: "2027-03-10", wantOK: true,
			moveTo: "bronze", tier: "", reviewOn: ""},
		{name: "still qualifying: kept a cycle more", buy: []int64{12_000}, later: 6_000, day: "2027-03-10", wantOK: true,
			tier: "silver", reviewOn: "2028-03-10"},
		{name: "before the cycle end: not due", buy: []int64{12_000}, day: "2027-03-09", tier: "silver", reviewOn: "2027-03-10"},
		{name: "the base tier is never reviewed", buy: []int64{5_000}, day: "2027-03-10", tier: "", reviewOn: ""},
		{name: "an upgrade at once when a purchase crosses the threshold", buy: []int64{6_000, 3_000, 2_000}, day: "2027-03-09",
			tier: "silver", reviewOn: "2027-03-10"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, storecontract.TierProgramJSON)
			for i, minor := range c.buy {
				e.accrue(t, "m", fmt.Sprintf("b%d", i), minor)
			}
			if c.later > 0 {
				e.clock.Set(time.Date(2027, 2, 20, 11, 0, 0, 0, time.UTC))
				e.accrue(t, "m", "later", c.later) // 60 points at x2: 120 in the window
			}
			e.clock.Set(time.Date(2027, 3, 10, 2, 0, 0, 0, time.UTC))
			for run := range 2 {
				res, ok, err := e.svc.ReviewTier(ctx, "m", c.day)
				if err != nil || ok != c.wantOK || res.Entry.Tier != c.moveTo || (ok && res.Replayed != (run == 1)) {
					t.Errorf("review run %d: got ok=%v tier %q replayed=%v (%v), want ok=%v tier %q replayed=%v",
						run, ok, res.Entry.Tier, res.Replayed, err, c.wantOK, c.moveTo, run == 1)
				}
			}
			a := e.account(t, "m")
			if a.Tier != c.tier || a.TierReviewOn != c.reviewOn {
				t.Errorf("account: got tier %q review %q, want %q %q", a.Tier, a.TierReviewOn, c.tier, c.reviewOn)
			}
			found := false
			for shard := range memstore.DueShards {
				hits, _, err := e.st.ReviewAccounts(ctx, a.TierReviewOn, shard, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				found = found || len(hits) > 0
			}
			if found != (c.reviewOn != "") {
				t.Errorf("review index on %q: got found=%v, want %v", c.reviewOn, found, c.reviewOn != "")
			}
			e.audit(t, "m")
		})
	}
}

func TestServiceReferrals(t *testing.T) {
	enrol := func(t *testing.T, e *env, member string) string {
		t.Helper()
		if _, err := e.svc.Enrol(ctx, loyalty.MemberID(member)); err != nil {
			t.Fatal(err)
		}
		st, err := e.svc.ReferralStatus(ctx, loyalty.MemberID(member))
		if err != nil {
			t.Fatal(err)
		}
		return st.Code
	}
	refer := func(t *testing.T, e *env, member, code string) {
		t.Helper()
		if _, created, err := e.svc.EnrolReferral(ctx, loyalty.MemberID(member), code); err != nil || !created {
			t.Fatalf("%s enrols with %s: got created=%v (%v), want created", member, code, created, err)
		}
	}

	t.Run("enrolments the programme refuses", func(t *testing.T) {
		e := newEnv(t, storecontract.ProgramJSON)
		codeA := enrol(t, e, "ref-a")
		codeB := enrol(t, e, "ref-b")
		refer(t, e, "ref-b", codeA)
		codeC := enrol(t, e, "ref-c")
		refer(t, e, "ref-c", codeB) // A -> B -> C
		codeD := enrol(t, e, "ref-d")
		e.accrue(t, "shopper", "e1", 1_000)
		for _, c := range []struct {
			name, member, code string
			want               loyalty.Code
		}{
			{"own code", "ref-a", codeA, loyalty.CodeSelfReferral},
			{"own code typed in lower case with a dash", "ref-a", strings.ToLower(codeA[:5]) + "-" + codeA[5:], loyalty.CodeSelfReferral},
			{"the code of one the member referred", "ref-a", codeB, loyalty.CodeReferralLoop},
			{"a loop through another member", "ref-a", codeC, loyalty.CodeReferralLoop},
			{"already referred with another code", "ref-b", codeD, loyalty.CodeAlreadyReferred},
			{"after the first purchase", "shopper", codeA, loyalty.CodeAlreadyPurchased},
			{"unknown code", "ref-new", "ZZZZZZZZZZ", loyalty.CodeNotFound},
			{"malformed code", "ref-new", "abc", loyalty.CodeInvalid},
		} {
			_, _, err := e.svc.EnrolReferral(ctx, loyalty.MemberID(c.member), c.code)
			wantCode(t, c.name, err, c.want)
		}
		st, created, err := e.svc.EnrolReferral(ctx, "ref-b", codeA)
		if err != nil || created || !st.Referred || !st.BonusPending {
			t.Errorf("the same enrolment again: got created=%v %+v (%v), want not created, referred, bonus pending", created, st, err)
		}
	})

	t.Run("the first qualifying purchase pays both, once", func(t *testing.T) {
		e := newEnv(t, storecontract.ProgramJSON)
		refer(t, e, "newbie", enrol(t, e, "boss"))
		small := e.accrue(t, "newbie", "small", 499) // below 5 EUR: nothing yet
		if small.Entry.Delta != 4 || e.account(t, "newbie").ReferredBy != "boss" {
			t.Errorf("a purchase of 4.99: got delta %d referred by %q, want 4 and still pending", small.Entry.Delta, e.account(t, "newbie").ReferredBy)
		}
		p := storecontract.Purchase("newbie", "first", 1_000, e.clock.Now())
		var wg sync.WaitGroup
		results := make([]loyalty.Result, 5)
		for i := range 5 {
			wg.Go(func() {
				res, err := e.svc.Accrue(ctx, p)
				if err != nil {
					t.Errorf("delivery %d: %v", i, err)
				}
				results[i] = res
			})
		}
		wg.Wait()
		written := 0
		for i, res := range results {
			if res.Entry.Delta != 60 {
				t.Errorf("delivery %d: got delta %d, want 60 (10 + 50 referee bonus)", i, res.Entry.Delta)
			}
			if !res.Replayed {
				written++
			}
		}
		later := e.accrue(t, "newbie", "second", 2_000)
		if written != 1 || later.Entry.Delta != 20 {
			t.Errorf("got %d deliveries written and a second purchase of %d, want 1 and 20 (no bonus again)", written, later.Entry.Delta)
		}
		if b, n := e.account(t, "boss").Balance, e.account(t, "newbie").Balance; b != 100 || n != 4+60+20 {
			t.Errorf("balances: got referrer %d referee %d, want 100 and 84", b, n)
		}
		e.audit(t, "boss", "newbie")
	})

	t.Run("the referrer's monthly cap", func(t *testing.T) {
		e := newEnv(t, storecontract.ProgramJSON)
		code := enrol(t, e, "boss")
		for i, r := range []string{"r1", "r2", "r3"} {
			refer(t, e, r, code)
			e.clock.Advance(time.Minute)
			e.accrue(t, r, "first", 1_000)
			if got, want := e.account(t, "boss").Balance, loyalty.Points(100*min(i+1, 2)); got != want {
				t.Errorf("referrer after %s: got %d, want %d", r, got, want)
			}
			if got := e.account(t, r).Balance; got != 60 {
				t.Errorf("%s: got %d, want 60 (the referee is paid beyond the cap too)", r, got)
			}
		}
		st, err := e.svc.ReferralStatus(ctx, "boss")
		if err != nil || st.Referees != 3 || st.BonusesThisMonth != 2 || st.CappedThisMonth != 1 || st.Pending != 0 {
			t.Errorf("status: got %+v (%v), want 3 referees, 2 bonuses, 1 capped, 0 pending", st, err)
		}
		e.clock.Advance(31 * 24 * time.Hour) // a new month has room again
		refer(t, e, "r4", code)
		e.accrue(t, "r4", "first", 800)
		if got := e.account(t, "boss").Balance; got != 300 {
			t.Errorf("referrer after a referee next month: got %d, want 300", got)
		}
		e.audit(t, "boss", "r1", "r2", "r3", "r4")
	})
}
