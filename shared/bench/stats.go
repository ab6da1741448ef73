package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
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

// loopResult is one closed-loop run.
type loopResult struct {
	units   int64 // operations (messages, requests) completed
	errors  int64
	elapsed time.Duration
	err     error // the first error seen
}

func (r loopResult) rate() float64 { return float64(r.units) / r.elapsed.Seconds() }

// closedLoop runs op from workers callers, each calling it again as soon as
// it returns, until d has passed; calls in flight at the end finish and
// count. op returns how many units it completed and how many failed.
func closedLoop(ctx context.Context, workers int, d time.Duration, op func(ctx context.Context, worker int) (done, failed int, err error)) loopResult {
	var (
		mu  sync.Mutex
		res loopResult
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var units, errs int64
			var first error
			for time.Now().Before(deadline) && ctx.Err() == nil {
				done, failed, err := op(ctx, w)
				units += int64(done)
				errs += int64(failed)
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
				}
			}
			mu.Lock()
			res.units += units
			res.errors += errs
			if res.err == nil {
				res.err = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}
