package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sample is repeated measurements of one quantity.
type Sample []float64

// Median is the middle value (the mean of the two middle ones for an even count).
func (s Sample) Median() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := slices.Clone(s)
	slices.Sort(c)
	n := len(c)
	if n%2 == 1 {
		return c[n/2]
	}
	return (c[n/2-1] + c[n/2]) / 2
}

// Min is the smallest value.
func (s Sample) Min() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Min(s)
}

// Max is the largest value.
func (s Sample) Max() float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	return slices.Max(s)
}

// Spread is (max-min)/median: how far apart the rounds were.
func (s Sample) Spread() float64 {
	m := s.Median()
	if m == 0 || math.IsNaN(m) {
		return math.NaN()
	}
	return (s.Max() - s.Min()) / m
}

// Quantile is the q-quantile (0..1), interpolated between neighbours.
func (s Sample) Quantile(q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	c := slices.Clone(s)
	slices.Sort(c)
	pos := q * float64(len(c)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(c)-1)
	return c[lo] + (c[hi]-c[lo])*(pos-float64(lo))
}

// Format prints the median with its range, e.g. "0.93 (0.90–0.95, n=5)".
func (s Sample) Format(format string) string {
	if len(s) == 0 {
		return "–"
	}
	if len(s) == 1 {
		return fmt.Sprintf(format, s[0])
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+", n=%d)", s.Median(), s.Min(), s.Max(), len(s))
}

// FormatIQR prints the median, the middle half and the range, e.g.
// "0.93 (mid 0.91–0.94, all 0.80–1.10, n=20)": on a busy machine the
// middle half says more than the extremes.
func (s Sample) FormatIQR(format string) string {
	if len(s) < 4 {
		return s.Format(format)
	}
	return fmt.Sprintf(format+" (mid "+format+"–"+format+", all "+format+"–"+format+", n=%d)",
		s.Median(), s.Quantile(0.25), s.Quantile(0.75), s.Min(), s.Max(), len(s))
}

// loopResult is one closed-loop run.
type loopResult struct {
	units   int64 // operations (messages, requests) completed inside the window
	errors  int64
	elapsed time.Duration // the window
	err     error         // the first error seen
}

func (r loopResult) rate() float64 { return float64(r.units) / r.elapsed.Seconds() }

// closedLoop runs op from workers callers, each calling it again as soon as
// it returns, and counts the units progress reports as done between warm
// and warm+d after the start. Counting inside a window, rather than whole
// calls, keeps an invocation of ten messages from weighing differently
// than a single transaction: what is still in flight at either edge is not
// counted on either side. Errors are counted over the whole run.
func closedLoop(ctx context.Context, workers int, warm, d time.Duration, op func(ctx context.Context, worker int) (done, failed int, err error), progress func() int64) loopResult {
	var (
		mu   sync.Mutex
		res  loopResult
		wg   sync.WaitGroup
		stop atomic.Bool
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errs int64
			var first error
			for !stop.Load() && ctx.Err() == nil {
				_, failed, err := op(ctx, w)
				errs += int64(failed)
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
				}
			}
			mu.Lock()
			res.errors += errs
			if res.err == nil {
				res.err = first
			}
			mu.Unlock()
		}()
	}
	sleepCtx(ctx, warm)
	u0, t0 := progress(), time.Now()
	sleepCtx(ctx, d)
	u1, t1 := progress(), time.Now()
	stop.Store(true)
	wg.Wait()
	res.units, res.elapsed = u1-u0, t1.Sub(t0)
	return res
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
