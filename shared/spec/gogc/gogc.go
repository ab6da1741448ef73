// Package gogc holds the garbage collector settings every function runs
// with, as the environment the CDK stack gives it (infra/stacks/service.go)
// and the local stack passes on from the template. The bench applies the
// same settings to its own process (Apply), so that what it measures of a
// handler is what the function spends.
//
// Why: a function's live heap is a few MiB (the program, the SDK, the
// schemas) against the 256 or 512 MiB it is given, and with Go's default
// (GOGC=100) the collector runs each time the heap doubles, every few
// hundred messages. GOGC=400 lets it grow five times the live heap before a
// cycle; GOMEMLIMIT, three quarters of the function's memory, makes the
// collector work harder before that memory is reached, whatever GOGC says.
// Both are the Go runtime's own knobs, read at start; an operator can
// change them on the function like any variable.
//
// It imports only the standard library.
package gogc

import (
	"runtime/debug"
	"strconv"
)

// Percent is GOGC.
const Percent = 400

// LimitMiB is GOMEMLIMIT in MiB for a function of memoryMB (Lambda's "MB"
// are MiB): three quarters of it, the rest left to the runtime's own
// memory outside the heap and to the Lambda runtime client.
func LimitMiB(memoryMB int) int { return memoryMB * 3 / 4 }

// Env is the environment that sets both for a function of memoryMB.
func Env(memoryMB int) map[string]string {
	return map[string]string{
		"GOGC":       strconv.Itoa(Percent),
		"GOMEMLIMIT": strconv.Itoa(LimitMiB(memoryMB)) + "MiB",
	}
}

// Apply sets both on the running process, as Env does for a function of
// memoryMB, and returns a function that restores what was set before.
func Apply(memoryMB int) (restore func()) {
	percent := debug.SetGCPercent(Percent)
	limit := debug.SetMemoryLimit(int64(LimitMiB(memoryMB)) << 20)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
