package bench

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

// Counts is what a Meter saw: calls per DynamoDB operation, the items read,
// and the capacity units DynamoDB reported in ConsumedCapacity.
type Counts struct {
	Get, BatchGet, Query, Scan      int64
	Put, Update, Delete, Transact   int64
	ItemsRead                       int64   // items returned by GetItem, BatchGetItem and Query
	ReadUnits, WriteUnits           float64 // as reported, table and indexes; a cancelled transaction reports none
	IndexReadUnits, IndexWriteUnits float64 // the part of those spent on global secondary indexes
	TransactCancelled               int64   // TransactWriteItems answered with TransactionCanceledException
	CancelledOnEntry                int64   // ... because the first item (the ledger entry) exists: a duplicate
	CancelledOnOther                int64   // ... because another item's condition failed or it conflicted: the store plans again
	CancelledOnConflict             int64   // ... of those, with a TransactionConflict reason (another transaction held an item)
	TransactItems                   int64   // items in all TransactWriteItems requests, cancelled or not
	// Billed units (billing.go), counted only by a Meter with billing on.
	BilledRead, BilledWrite float64
	BilledIndexWrite        float64 // the part of BilledWrite spent on global secondary indexes
}

// Sub returns c minus d, for the counts of one stretch of work.
func (c Counts) Sub(d Counts) Counts {
	return Counts{
		Get: c.Get - d.Get, BatchGet: c.BatchGet - d.BatchGet, Query: c.Query - d.Query, Scan: c.Scan - d.Scan,
		Put: c.Put - d.Put, Update: c.Update - d.Update, Delete: c.Delete - d.Delete, Transact: c.Transact - d.Transact,
		ItemsRead: c.ItemsRead - d.ItemsRead, ReadUnits: c.ReadUnits - d.ReadUnits, WriteUnits: c.WriteUnits - d.WriteUnits,
		IndexReadUnits: c.IndexReadUnits - d.IndexReadUnits, IndexWriteUnits: c.IndexWriteUnits - d.IndexWriteUnits,
		TransactCancelled: c.TransactCancelled - d.TransactCancelled, CancelledOnEntry: c.CancelledOnEntry - d.CancelledOnEntry,
		CancelledOnOther: c.CancelledOnOther - d.CancelledOnOther, CancelledOnConflict: c.CancelledOnConflict - d.CancelledOnConflict, TransactItems: c.TransactItems - d.TransactItems,
		BilledRead: c.BilledRead - d.BilledRead, BilledWrite: c.BilledWrite - d.BilledWrite, BilledIndexWrite: c.BilledIndexWrite - d.BilledIndexWrite,
	}
}

// Requests is the number of DynamoDB requests counted.
func (c Counts) Requests() int64 {
	return c.Get + c.BatchGet + c.Query + c.Scan + c.Put + c.Update + c.Delete + c.Transact
}

// Meter is a dynamo.Client that passes every call on and counts it. It is
// how the bench reads capacity per operation and the conflicts the store
// retried, without any change to the store. Where the caller asks for
// consumed capacity it asks for it per index (INDEXES instead of TOTAL),
// which changes nothing but the detail of the answer.
type Meter struct {
	next dynamo.Client
	bill bool // compute billed units too (billing.go): two reads more per item written
	mu   sync.Mutex
	c    Counts
}

// Bill turns on the billed units, which read every item a write touches
// before and after it (uncounted): for the capacity figure, not for the
// throughput runs.
func (m *Meter) Bill() { m.bill = true }

// NewMeter wraps next.
func NewMeter(next dynamo.Client) *Meter { return &Meter{next: next} }

// Counts returns the counts so far.
func (m *Meter) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

func (m *Meter) add(f func(c *Counts)) {
	m.mu.Lock()
	f(&m.c)
	m.mu.Unlock()
}

func units(cc *types.ConsumedCapacity) (read, write float64) {
	if cc == nil {
		return 0, 0
	}
	return aws.ToFloat64(cc.ReadCapacityUnits), aws.ToFloat64(cc.WriteCapacityUnits)
}

// readUnits is the read capacity of a read operation's report: the total,
// or the read part when DynamoDB split it.
func readUnits(cc *types.ConsumedCapacity) float64 {
	if cc == nil {
		return 0
	}
	if r, _ := units(cc); r > 0 {
		return r
	}
	return aws.ToFloat64(cc.CapacityUnits)
}

func writeUnits(cc *types.ConsumedCapacity) float64 {
	if cc == nil {
		return 0
	}
	if _, w := units(cc); w > 0 {
		return w
	}
	return aws.ToFloat64(cc.CapacityUnits)
}

func indexUnits(cc *types.ConsumedCapacity) float64 {
	if cc == nil {
		return 0
	}
	var u float64
	for _, ix := range cc.GlobalSecondaryIndexes {
		u += aws.ToFloat64(ix.CapacityUnits)
	}
	return u
}

// perIndex is the ReturnConsumedCapacity the meter sends for want.
func perIndex(want types.ReturnConsumedCapacity) types.ReturnConsumedCapacity {
	if want == "" || want == types.ReturnConsumedCapacityNone {
		return want
	}
	return types.ReturnConsumedCapacityIndexes
}

func (m *Meter) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	out, err := m.next.GetItem(ctx, &req, opts...)
	m.add(func(c *Counts) {
		c.Get++
		if err == nil {
			if out.Item != nil {
				c.ItemsRead++
			}
			if m.bill {
				c.BilledRead += dynamo.BilledReads([]map[string]types.AttributeValue{out.Item}, aws.ToBool(in.ConsistentRead))
			}
			c.ReadUnits += readUnits(out.ConsumedCapacity)
			c.IndexReadUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	var out *dynamodb.PutItemOutput
	err := m.billed(ctx, []target{{in.TableName, itemKey(in.Item)}}, 1, func() (err error) {
		out, err = m.next.PutItem(ctx, &req, opts...)
		return err
	})
	m.add(func(c *Counts) {
		c.Put++
		if err == nil {
			c.WriteUnits += writeUnits(out.ConsumedCapacity)
			c.IndexWriteUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	var out *dynamodb.UpdateItemOutput
	err := m.billed(ctx, []target{{in.TableName, in.Key}}, 1, func() (err error) {
		out, err = m.next.UpdateItem(ctx, &req, opts...)
		return err
	})
	m.add(func(c *Counts) {
		c.Update++
		if err == nil {
			c.WriteUnits += writeUnits(out.ConsumedCapacity)
			c.IndexWriteUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	var out *dynamodb.DeleteItemOutput
	err := m.billed(ctx, []target{{in.TableName, in.Key}}, 1, func() (err error) {
		out, err = m.next.DeleteItem(ctx, &req, opts...)
		return err
	})
	m.add(func(c *Counts) {
		c.Delete++
		if err == nil {
			c.WriteUnits += writeUnits(out.ConsumedCapacity)
			c.IndexWriteUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	out, err := m.next.Query(ctx, &req, opts...)
	m.add(func(c *Counts) {
		c.Query++
		if err == nil {
			c.ItemsRead += int64(out.Count)
			if m.bill {
				c.BilledRead += dynamo.BilledQuery(out.Items, in.IndexName == nil && aws.ToBool(in.ConsistentRead))
			}
			c.ReadUnits += readUnits(out.ConsumedCapacity)
			c.IndexReadUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	req := *in
	req.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	out, err := m.next.Scan(ctx, &req, opts...)
	m.add(func(c *Counts) {
		c.Scan++
		if err == nil {
			c.ItemsRead += int64(out.Count)
			if m.bill {
				c.BilledRead += dynamo.BilledQuery(out.Items, aws.ToBool(in.ConsistentRead))
			}
			c.ReadUnits += readUnits(out.ConsumedCapacity)
			c.IndexReadUnits += indexUnits(out.ConsumedCapacity)
		}
	})
	return out, err
}

func (m *Meter) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	bc := *in
	bc.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	out, err := m.next.BatchGetItem(ctx, &bc, opts...)
	m.add(func(c *Counts) {
		c.BatchGet++
		if err == nil {
			for name, items := range out.Responses {
				c.ItemsRead += int64(len(items))
				if m.bill {
					c.BilledRead += dynamo.BilledReads(items, aws.ToBool(in.RequestItems[name].ConsistentRead))
				}
			}
			for i := range out.ConsumedCapacity {
				c.ReadUnits += readUnits(&out.ConsumedCapacity[i])
				c.IndexReadUnits += indexUnits(&out.ConsumedCapacity[i])
			}
		}
	})
	return out, err
}

// BatchWriteItem passes through uncounted: only seeding uses it.
func (m *Meter) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return m.next.BatchWriteItem(ctx, in, opts...)
}

func (m *Meter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	tc := *in
	tc.ReturnConsumedCapacity = perIndex(in.ReturnConsumedCapacity)
	var out *dynamodb.TransactWriteItemsOutput
	err := m.billed(ctx, transactTargets(in), 2, func() (err error) {
		out, err = m.next.TransactWriteItems(ctx, &tc, opts...)
		return err
	})
	m.add(func(c *Counts) {
		c.Transact++
		c.TransactItems += int64(len(in.TransactItems))
		if err == nil {
			for i := range out.ConsumedCapacity {
				c.WriteUnits += writeUnits(&out.ConsumedCapacity[i])
				c.IndexWriteUnits += indexUnits(&out.ConsumedCapacity[i])
			}
			return
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return
		}
		c.TransactCancelled++
		reasons := tce.CancellationReasons
		if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			c.CancelledOnEntry++
			return
		}
		c.CancelledOnOther++
		for _, r := range reasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				c.CancelledOnConflict++
				break
			}
		}
	})
	return out, err
}

var _ dynamo.Client = (*Meter)(nil)
