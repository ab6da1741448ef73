package bench

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// The Meter's billed units (Bill): the images of every item a write
// touches, read before and after it, priced by the store package's billing
// rules (shared/dynamo/billing.go, which cites them).

// itemKey is the table key of an item.
func itemKey(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{table.Definition.PartitionKey: item[table.Definition.PartitionKey],
		table.Definition.SortKey: item[table.Definition.SortKey]}
}

// image reads an item as it is now, uncounted; nil when it does not exist.
func (m *Meter) image(ctx context.Context, tableName *string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	out, err := m.next.GetItem(ctx, &dynamodb.GetItemInput{TableName: tableName, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		return nil
	}
	return out.Item
}

// target is one item a write request touches.
type target struct {
	table *string
	key   map[string]types.AttributeValue
}

func transactTargets(in *dynamodb.TransactWriteItemsInput) []target {
	var ts []target
	for _, it := range in.TransactItems {
		switch {
		case it.Put != nil:
			ts = append(ts, target{it.Put.TableName, itemKey(it.Put.Item)})
		case it.Update != nil:
			ts = append(ts, target{it.Update.TableName, it.Update.Key})
		case it.Delete != nil:
			ts = append(ts, target{it.Delete.TableName, it.Delete.Key})
		case it.ConditionCheck != nil:
			ts = append(ts, target{it.ConditionCheck.TableName, it.ConditionCheck.Key})
		}
	}
	return ts
}

// billed runs write with billing: the images of targets before and after,
// and the units their change costs. factor is 2 for a transaction.
func (m *Meter) billed(ctx context.Context, targets []target, factor float64, write func() error) error {
	if !m.bill {
		return write()
	}
	before := make([]map[string]types.AttributeValue, len(targets))
	for i, t := range targets {
		before[i] = m.image(ctx, t.table, t.key)
	}
	err := write()
	var tableUnits, indexUnits float64
	if err == nil {
		for i, t := range targets {
			tu, iu := dynamo.BilledWrite(before[i], m.image(ctx, t.table, t.key), factor)
			tableUnits, indexUnits = tableUnits+tu, indexUnits+iu
		}
	} else {
		// A failed condition still costs the write's check; a cancelled
		// transaction its prepare phase.
		for i := range targets {
			tableUnits += dynamo.BilledFailedWrite(before[i])
		}
	}
	m.add(func(c *Counts) {
		c.BilledWrite += tableUnits + indexUnits
		c.BilledIndexWrite += indexUnits
	})
	return err
}
