package loyalty

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestPointsInt64AgreesWithBig: the int64 arithmetic of points gives what
// big integers give, for every rounding, on amounts, rates and multipliers
// up to and past where a product overflows.
func TestPointsInt64AgreesWithBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edge := func() int64 {
		switch r.IntN(6) {
		case 0:
			return r.Int64N(10)
		case 1:
			return r.Int64N(1_000_000)
		case 2:
			return math.MaxInt64 - r.Int64N(3)
		case 3:
			return 1 << (r.IntN(62) + 1)
		default:
			return r.Int64N(10_000_000_000_000)
		}
	}
	fast, slow := 0, 0
	for i := range 200_000 {
		p := &Program{Earn: EarnRate{Points: 1 + r.Int64N(100), PerMinor: 1 + r.Int64N(1000), Rounding: []Rounding{RoundDown, RoundUp, RoundHalfUp}[i%3]}}
		if i%7 == 0 {
			p.Earn.Points, p.Earn.PerMinor = edge(), 1+edge()%math.MaxInt64
		}
		amount := edge()
		if r.IntN(4) == 0 {
			amount = -amount
		}
		var factors []Multiplier
		for range r.IntN(4) {
			f := Multiplier(r.Int64N(5000))
			if r.IntN(10) == 0 {
				f = Multiplier(edge())
			}
			if r.IntN(5) == 0 {
				f = -f
			}
			factors = append(factors, f)
		}
		want := p.pointsBig(amount, factors)
		got, ok := p.pointsInt64(amount, factors)
		if !ok {
			slow++
			continue
		}
		fast++
		if got != want {
			t.Fatalf("amount %d, earn %d per %d, rounding %v, factors %v: int64 %d, big %d", amount, p.Earn.Points, p.Earn.PerMinor, p.Earn.Rounding, factors, got, want)
		}
	}
	t.Logf("%d cases in int64, %d left to big integers", fast, slow)
	if fast < 100_000 || slow < 1000 {
		t.Errorf("fast %d, slow %d: the cases should take both ways often", fast, slow)
	}
}

// TestMonthKeyIsFormat: monthKey writes what time.Format("2006-01") does.
func TestMonthKeyIsFormat(t *testing.T) {
	for y := -2; y <= 10001; y += 1 + (y+7)%7 {
		for m := time.January; m <= time.December; m++ {
			want := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
			if got := monthKey(y, m); got != want {
				t.Fatalf("monthKey(%d, %d): got %q, want %q", y, m, got, want)
			}
		}
	}
}
