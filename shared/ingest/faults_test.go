package ingest_test

import (
	"context"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

// fault is what faultyClient does to one call.
type fault int

const (
	noFault    fault = iota
	failBefore       // the call never reaches DynamoDB
	failAfter        // the call succeeds, the caller is told it failed
)

// faultRule decides the fault of a call: op is the API name, pks the
// partition keys the call touches.
type faultRule func(ctx context.Context, op string, pks []string) fault

// faultyClient wraps the DynamoDB client and injects server errors, which
// the store must treat as transient: a failed call is retried by SQS, and a
// call that succeeded but was reported failed is replayed, never counted twice.
type faultyClient struct {
	dynamo.Client
	rule                  faultRule
	injectedBefore, after atomic.Int64
}

func injected() error {
	return &types.InternalServerError{Message: aws.String("injected fault")}
}

func pkOf(item map[string]types.AttributeValue) string {
	if v, ok := item["pk"].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (c *faultyClient) decide(ctx context.Context, op string, pks []string) fault {
	if c.rule == nil {
		return noFault
	}
	f := c.rule(ctx, op, pks)
	if f == failBefore {
		c.injectedBefore.Add(1)
	}
	return f
}

func (c *faultyClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	var pks []string
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			pks = append(pks, pkOf(it.Put.Item))
		case it.Update != nil:
			pks = append(pks, pkOf(it.Update.Key))
		}
	}
	f := c.decide(ctx, "TransactWriteItems", pks)
	if f == failBefore {
		return nil, injected()
	}
	out, err := c.Client.TransactWriteItems(ctx, in, opts...)
	if err == nil && f == failAfter {
		c.after.Add(1)
		return nil, injected()
	}
	return out, err
}

func (c *faultyClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f := c.decide(ctx, "UpdateItem", []string{pkOf(in.Key)})
	if f == failBefore {
		return nil, injected()
	}
	out, err := c.Client.UpdateItem(ctx, in, opts...)
	if err == nil && f == failAfter {
		c.after.Add(1)
		return nil, injected()
	}
	return out, err
}

func (c *faultyClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if c.decide(ctx, "GetItem", []string{pkOf(in.Key)}) == failBefore {
		return nil, injected()
	}
	return c.Client.GetItem(ctx, in, opts...)
}

func (c *faultyClient) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	var pks []string
	for _, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			pks = append(pks, pkOf(k))
		}
	}
	if c.decide(ctx, "BatchGetItem", pks) == failBefore {
		return nil, injected()
	}
	return c.Client.BatchGetItem(ctx, in, opts...)
}
