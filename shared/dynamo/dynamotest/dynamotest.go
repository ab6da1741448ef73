// Package dynamotest gives the tests of the store, the adapters and the jobs
// a fresh table on DynamoDB Local, built from dynamo.Schema like the real
// one. It is imported by tests only.
package dynamotest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
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
