// Package tail keeps the most recent output of a local process (DynamoDB
// Local, a function's bootstrap, a stack under test) for error messages.
package tail

import (
	"strings"
	"sync"
)

// Buffer keeps the last Max bytes written to it. It is safe for the copying
// goroutines of os/exec and for readers at the same time.
type Buffer struct {
	Max int

	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.Max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Contains reports whether what is kept holds s.
func (b *Buffer) Contains(s string) bool { return strings.Contains(b.String(), s) }
