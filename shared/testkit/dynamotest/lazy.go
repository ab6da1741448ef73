package dynamotest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
)

// Lazy is a DynamoDB Local for a package whose tests run partly on the
// in-memory store: it starts when a test first asks for a client, so a run
// of the memory tests alone (-run) starts no Java. The zero value is ready.
type Lazy struct {
	once sync.Once
	s    *dynamolocal.Server
	err  error
}

// Client starts the server on first use and returns its client; it fails
// tb when the server does not start.
func (l *Lazy) Client(tb testing.TB) *dynamodb.Client {
	tb.Helper()
	l.once.Do(func() { l.s, l.err = dynamolocal.Start(context.Background(), dynamolocal.Options{}) })
	if l.err != nil {
		tb.Fatalf("dynamolocal: %v", l.err)
	}
	return l.s.Client()
}

// Run is for TestMain: it runs the tests, stops the server if one started
// and returns the exit code for os.Exit.
func (l *Lazy) Run(m *testing.M) int {
	defer func() { // also on a panic in a test
		if l.s != nil {
			_ = l.s.Stop()
		}
	}()
	code := m.Run()
	if l.s != nil {
		if err := l.s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
