package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// limitedFixture is the store fixture with a daily cap on purchases.
func limitedFixture(tb testing.TB, onExcess string, dayCap loyalty.Points) fixture {
	tb.Helper()
	f := newFixture(tb)
	prog := testProgram(tb)
	prog.Limits = &loyalty.Limits{OnExcess: onExcess, PerMember: map[loyalty.LimitSource]loyalty.PeriodCaps{loyalty.SourcePurchases: {Day: dayCap}}}
	if err := prog.Validate(); err != nil {
		tb.Fatal(err)
	}
	f.svc.Program = prog
	return f
}

// accrueRetrying delivers a purchase until it is not transient, as the
// partner queue redelivers one.
func accrueRetrying(ctx context.Context, svc *loyalty.Service, p loyalty.Purchase) (loyalty.Result, error) {
	for {
		res, err := svc.Accrue(ctx, p)
		if loyalty.ErrorCode(err) != loyalty.CodeUnavailable {
			return res, err
		}
	}
}

// 32 concurrent purchases of 15 points each, against a daily cap of 100:
// the member is credited exactly the cap, the cut purchases say what they
// would have earned (cap), or exactly six purchases count and the rest are
// refused (refuse). The cap is checked in the credit's own transaction, so
// no two purchases both take the last points. The audit stays clean.
func TestConcurrentPurchasesCreditExactlyTheDailyCap(t *testing.T) {
	for _, onExcess := range []string{loyalty.ExcessCap, loyalty.ExcessRefuse} {
		t.Run(onExcess, func(t *testing.T) {
			f := limitedFixture(t, onExcess, 100)
			ctx := context.Background()
			const n = 32
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				credited loyalty.Points
				refused  int
				cut      int
				fails    []error
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := accrueRetrying(ctx, f.svc, f.purchase("m-cap", fmt.Sprintf("cap-%02d", i), 1_500, f.clock.Now()))
					mu.Lock()
					defer mu.Unlock()
					switch {
					case loyalty.ErrorCode(err) == loyalty.CodeLimitExceeded:
						refused++
					case err != nil:
						fails = append(fails, err)
					default:
						credited += res.Entry.Earned
						if res.Entry.Uncapped > res.Entry.Earned {
							cut++
						}
					}
				}()
			}
			wg.Wait()
			if len(fails) > 0 {
				t.Fatalf("purchases: got %d failures (first %v), want none", len(fails), fails[0])
			}
			want := loyalty.Points(100)
			if onExcess == loyalty.ExcessRefuse {
				want = 90
			}
			if got := f.balance(t, "m-cap"); got != want || credited != want {
				t.Errorf("balance: got %d (entries credit %d), want exactly %d (the cap, or what fits whole purchases)", got, credited, want)
			}
			switch onExcess {
			case loyalty.ExcessCap:
				// 6 x 15 = 90, one cut to 10, the other 25 cut to 0.
				if cut != n-6 || refused != 0 {
					t.Errorf("cap: got %d cut and %d refused, want %d cut, none refused", cut, refused, n-6)
				}
			case loyalty.ExcessRefuse:
				// 6 x 15 = 90; a 7th would pass 100: refused, like all after it.
				if refused != n-6 || cut != 0 {
					t.Errorf("refuse: got %d refused and %d cut, want %d refused, none cut", refused, cut, n-6)
				}
			}
			acct, err := f.store.Account(ctx, "m-cap")
			if err != nil {
				t.Fatal(err)
			}
			wantCount := loyalty.Points(100)
			if onExcess == loyalty.ExcessRefuse {
				wantCount = 90
			}
			if got := acct.Earned["purchases/d2026-03-10"]; got != wantCount {
				t.Errorf("day counter: got %d, want %d", got, wantCount)
			}
			f.audit(t)
		})
	}
}

// A promotion with a budget of 500 points, 50 bonus points per purchase:
// 40 concurrent purchases by 40 members give the bonus exactly 10 times;
// the others earn without it. A redelivery takes nothing more.
func TestPromotionBudgetHoldsUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	prog := testProgram(t)
	prog.Promotions = []loyalty.Promotion{{ID: "launch", Name: "Launch bonus", From: "2026-01-01", BonusPoints: 50, BudgetPoints: 500}}
	if err := prog.Validate(); err != nil {
		t.Fatal(err)
	}
	f.svc.Program = prog
	ctx := context.Background()
	const n = 40
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		bonuses int
		fails   []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := accrueRetrying(ctx, f.svc, f.purchase(fmt.Sprintf("m-budget-%02d", i), "b1", 1_000, f.clock.Now()))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fails = append(fails, err)
				return
			}
			if ruleOf(res.Entry, "promo:launch") == 50 {
				bonuses++
			} else if res.Entry.Earned != 10 {
				fails = append(fails, fmt.Errorf("member %s earned %d without the bonus, want 10", res.Entry.MemberID, res.Entry.Earned))
			}
		}()
	}
	wg.Wait()
	if len(fails) > 0 {
		t.Fatalf("purchases: got %d failures (first %v), want none", len(fails), fails[0])
	}
	if bonuses != 10 {
		t.Errorf("bonuses: got %d, want exactly 10 (500 / 50)", bonuses)
	}
	for i := range n {
		res, err := f.svc.Accrue(ctx, f.purchase(fmt.Sprintf("m-budget-%02d", i), "b1", 1_000, f.clock.Now()))
		if err != nil || !res.Replayed {
			t.Fatalf("redelivery %d: got %+v, %v; want a replay", i, res, err)
		}
	}
	f.audit(t)
}
