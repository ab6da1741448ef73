package ingest

import (
	"runtime"
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
