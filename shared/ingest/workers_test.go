package ingest

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkersRunTasksAtOnceAndAreReused: a task never waits for another
// one's worker (two batches at the same time each keep their concurrency),
// and tasks run one after another reuse the workers that wait.
func TestWorkersRunTasksAtOnceAndAreReused(t *testing.T) {
	w := workers{idle: make(chan func())}
	release, done := make(chan struct{}), make(chan struct{})
	w.run(func() { <-release })
	w.run(func() { close(release); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the second task did not run while the first waited for it")
	}
	before := runtime.NumGoroutine()
	for range 100 {
		finished := make(chan struct{})
		w.run(func() { close(finished) })
		<-finished
	}
	if grew := runtime.NumGoroutine() - before; grew > 50 {
		t.Errorf("100 tasks one after another started %d goroutines, want most of them run by waiting workers", grew)
	}
}

// TestEachRunsHereWithOneMessageOrOneAtATime: a batch of one message, or a
// handler that runs one message at a time, starts no goroutine (the old
// dispatch left a parked worker behind for either); a larger batch runs its
// messages at once, Concurrency of them.
func TestEachRunsHereWithOneMessageOrOneAtATime(t *testing.T) {
	for _, c := range []struct{ n, concurrency int }{{1, 10}, {5, 1}} {
		h := &Handler{cfg: Config{Concurrency: c.concurrency}, workers: workers{idle: make(chan func())}}
		before := runtime.NumGoroutine()
		var order []int
		h.each(c.n, func(i int) {
			if grew := runtime.NumGoroutine() - before; grew != 0 {
				t.Errorf("n=%d concurrency %d: %d goroutines more while message %d runs, want it run here", c.n, c.concurrency, grew, i)
			}
			order = append(order, i)
		})
		if len(order) != c.n {
			t.Errorf("n=%d concurrency %d: ran %v", c.n, c.concurrency, order)
		}
		for i, got := range order {
			if got != i {
				t.Errorf("n=%d concurrency %d: ran %v, want in order", c.n, c.concurrency, order)
				break
			}
		}
	}
	h := &Handler{cfg: Config{Concurrency: 3}, workers: workers{idle: make(chan func())}}
	var running, most atomic.Int32
	release := make(chan struct{})
	go func() { time.Sleep(200 * time.Millisecond); close(release) }()
	h.each(6, func(int) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
	})
	if m := most.Load(); m != 3 {
		t.Errorf("6 messages at concurrency 3: at most %d ran at once, want 3", m)
	}
}
