package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// TestCoffeeContention runs coffee purchases (a stamp and the welcome
// bonus) through the ingest handler at 1, 8 and 32 callers on the bench's
// own members and counts, per purchase, the transactions, the cancelled
// ones (a condition that failed, a conflict with another transaction) and
// the reads: on figure 1's coffee members, whom the seed lifts to the top
// tier (checked here), and on members of the base tier (the plain members,
// after their own plain purchases). It asserts what does not depend on the
// machine: no purchase fails, each costs at least one transaction and at
// most 1.2 on average (a stale count, a card filled by another caller),
// and no purchase reads, except, for the base-tier members, after a tier
// crossing lost to a concurrent credit (at most one read per cancelled
// transaction).
func TestCoffeeContention(t *testing.T) {
	ctx := context.Background()
	l := testLab(t)
	tp, err := l.newThroughput(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{tp.coffeeMembers[0], tp.coffeeMembers[len(tp.coffeeMembers)-1]} {
		if a, err := tp.w.store.Account(ctx, loyalty.MemberID(m)); err != nil || a.Tier != "gold" {
			t.Fatalf("coffee member %s after the seed: tier %q, %v; want gold, the top tier", m, a.Tier, err)
		}
	}
	d := 750 * time.Millisecond
	closedLoop(ctx, 8, 0, d, tp.rawAccrual, tp.rawProgress)
	for _, k := range []struct {
		name    string
		basket  basket
		members []string
		crosses bool // the members cross a tier threshold while they buy
	}{
		{"plain", plainBasket, tp.plainMembers, false},
		{"coffee, top-tier members (figure 1's)", coffeeBasket, tp.coffeeMembers, false},
		{"coffee, base-tier members", coffeeBasket, tp.plainMembers, true},
	} {
		members := k.members
		var purchases atomic.Int64
		inner := tp.fullAccrual(k.basket, members)
		op := func(ctx context.Context, w int) (int, int, error) {
			done, failed, err := inner(ctx, w)
			purchases.Add(int64(done + failed))
			return done, failed, err
		}
		closedLoop(ctx, 8, 0, d, op, tp.fullDone)
		for _, c := range []int{1, 8, 32} {
			p0, m0 := purchases.Load(), tp.w.meter.Counts()
			f := closedLoop(ctx, c, 0, d, op, tp.fullDone)
			n, m := purchases.Load()-p0, tp.w.meter.Counts().Sub(m0)
			r := closedLoop(ctx, c, 0, d, tp.rawAccrual, tp.rawProgress)
			per := func(v int64) float64 { return float64(v) / float64(n) }
			t.Logf("%s c=%d: %d purchases, %.0f/s vs bare %.0f/s (ratio %.2f); per purchase %.3f transactions, %.3f cancelled on a condition, %.3f on a conflict, %.3f reads; errors %d %v",
				k.name, c, n, f.rate(), r.rate(), f.rate()/r.rate(), per(m.Transact), per(m.CancelledOnOther-m.CancelledOnConflict),
				per(m.CancelledOnConflict), per(m.BatchGet+m.Get), f.errors, f.err)
			if f.errors != 0 || n == 0 {
				t.Errorf("%s c=%d: %d errors (%v) over %d purchases", k.name, c, f.errors, f.err, n)
				continue
			}
			if tx := per(m.Transact); tx < 1 || tx > 1.2 {
				t.Errorf("%s c=%d: %.3f transactions per purchase, want 1 to 1.2", k.name, c, tx)
			}
			// Figure 1's members never cross a tier, so nothing of theirs
			// reads. Base-tier members cross silver's threshold while they
			// buy: a crossing is a planned write under a version check, and
			// one that loses to a concurrent credit of the member (a
			// cancelled transaction) reads the account before it plans again,
			// so there a read only follows a cancelled transaction.
			rd := m.BatchGet + m.Get
			if k.crosses && rd > m.TransactCancelled {
				t.Errorf("%s c=%d: %d reads over %d purchases and %d cancelled transactions, want at most one read per cancelled transaction", k.name, c, rd, n, m.TransactCancelled)
			} else if !k.crosses && rd > 0 {
				t.Errorf("%s c=%d: %d reads over %d purchases, want none", k.name, c, rd, n)
			}
		}
	}
}
