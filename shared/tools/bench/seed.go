package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

// item is one DynamoDB item.
type item = map[string]types.AttributeValue

// renamed copies it with its key attributes rewritten by r. The bench never
// spells the store's key formats: it takes items the store wrote and swaps
// the member id or the idempotency key inside their keys.
func renamed(it item, r *strings.Replacer) item {
	c := make(item, len(it))
	for k, v := range it {
		c[k] = v
	}
	for _, k := range []string{dynamo.AttrPK, dynamo.AttrSK} {
		if s, ok := it[k].(*types.AttributeValueMemberS); ok {
			c[k] = &types.AttributeValueMemberS{Value: r.Replace(s.Value)}
		}
	}
	return c
}

func stringOf(it item, name string) string {
	if s, ok := it[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// batchWrite puts items with BatchWriteItem, 25 at a time from workers
// callers, retrying what DynamoDB leaves unprocessed.
func batchWrite(ctx context.Context, ddb *dynamodb.Client, table string, items []item, workers int) error {
	chunks := make(chan []item)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				reqs := make([]types.WriteRequest, len(chunk))
				for i, it := range chunk {
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
				}
				pending := map[string][]types.WriteRequest{table: reqs}
				for attempt := 0; len(pending) > 0; attempt++ {
					out, err := ddb.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
					if err != nil {
						errs <- fmt.Errorf("seed %s: %w", table, err)
						return
					}
					pending = out.UnprocessedItems
					if len(pending) > 0 {
						if attempt > 20 {
							errs <- fmt.Errorf("seed %s: items stay unprocessed", table)
							return
						}
						time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
					}
				}
			}
		}()
	}
	var err error
feed:
	for i := 0; i < len(items); i += 25 {
		select {
		case chunks <- items[i:min(i+25, len(items))]:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	close(errs)
	if err != nil {
		return err
	}
	return <-errs // nil when the channel is empty and closed
}

// forEach runs f for 0..n-1 from workers goroutines and returns the first error.
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
