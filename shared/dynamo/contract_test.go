package dynamo_test

import (
	"testing"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

var _ storecontract.Store = (*dynamo.Store)(nil)

// TestContract holds the store, on a fresh DynamoDB Local table per
// subtest, to the guarantees every store keeps (shared/testkit/storecontract).
func TestContract(t *testing.T) {
	storecontract.Run(t, func(t *testing.T) storecontract.Store { return dynamo.New(db, newTable(t)) })
}
