package loyalty

import "time"

// Clock tells the time. Production uses SystemClock; tests inject a fixed or
// stepping clock so that "a day later" is a line of code, not a sleep.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock in UTC.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now().UTC() }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

func (f ClockFunc) Now() time.Time { return f() }
