package gogc

import (
	"runtime/debug"
	"testing"
)

// TestEnvAndApplyAgree: the environment a function gets and what Apply sets
// on the bench's process are the same two numbers, and Apply's restore puts
// back what was there.
func TestEnvAndApplyAgree(t *testing.T) {
	env := Env(256)
	if env["GOGC"] != "400" || env["GOMEMLIMIT"] != "192MiB" || len(env) != 2 {
		t.Fatalf("Env(256) = %v, want GOGC=400 and GOMEMLIMIT=192MiB", env)
	}
	beforePercent := debug.SetGCPercent(100)
	debug.SetGCPercent(beforePercent)
	beforeLimit := debug.SetMemoryLimit(-1)
	restore := Apply(256)
	if got := debug.SetGCPercent(-1); got != Percent {
		t.Errorf("after Apply: GC percent %d, want %d", got, Percent)
	}
	debug.SetGCPercent(Percent)
	if got := debug.SetMemoryLimit(-1); got != 192<<20 {
		t.Errorf("after Apply: memory limit %d, want %d", got, 192<<20)
	}
	restore()
	if got := debug.SetGCPercent(-1); got != beforePercent {
		t.Errorf("after restore: GC percent %d, want %d", got, beforePercent)
	}
	debug.SetGCPercent(beforePercent)
	if got := debug.SetMemoryLimit(-1); got != beforeLimit {
		t.Errorf("after restore: memory limit %d, want %d", got, beforeLimit)
	}
}
