// Package dynamotest gives the tests of the store, the adapters and the jobs
// a fresh table on DynamoDB Local, built from dynamo.Schema like the real
// one. It is imported by tests only.
package dynamotest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
)

var seq atomic.Int64

// NewTable creates a table no other test uses and returns its name.
func NewTable(tb testing.TB, db *dynamodb.Client, prefix string) string {
	tb.Helper()
	name := fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), seq.Add(1))
	if _, err := db.CreateTable(context.Background(), dynamo.Schema.CreateTableInput(name)); err != nil {
		tb.Fatalf("create table %s: %v", name, err)
	}
	return name
}

// RunTests is for TestMain: it starts a server, calls setup with it (setup may
// be nil), runs the tests, stops the server and returns the exit code for os.Exit.
func RunTests(m *testing.M, setup func(*dynamolocal.Server)) int {
	s, err := dynamolocal.Start(context.Background(), dynamolocal.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
		return 1
	}
	defer s.Stop() // also on a panic in setup or in a test
	if setup != nil {
		setup(s)
	}
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
