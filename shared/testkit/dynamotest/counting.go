package dynamotest

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

// Counting is a dynamo.Client that counts the requests a store sends, by
// kind, and passes every one on.
type Counting struct {
	dynamo.Client
	Transactions, BatchGets, Gets, Queries atomic.Int64
}

// TransactWriteItems counts and passes on.
func (c *Counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.Transactions.Add(1)
	return c.Client.TransactWriteItems(ctx, in, opts...)
}

// BatchGetItem counts and passes on.
func (c *Counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.BatchGets.Add(1)
	return c.Client.BatchGetItem(ctx, in, opts...)
}

// GetItem counts and passes on.
func (c *Counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.Gets.Add(1)
	return c.Client.GetItem(ctx, in, opts...)
}

// Query counts and passes on.
func (c *Counting) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.Queries.Add(1)
	return c.Client.Query(ctx, in, opts...)
}

// Requests is the number of requests counted.
func (c *Counting) Requests() int64 {
	return c.Transactions.Load() + c.BatchGets.Load() + c.Gets.Load() + c.Queries.Load()
}
