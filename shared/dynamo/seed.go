package dynamo

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Seed writes accounts and ledger entries as they are, with BatchWriteItem
// (25 items a call, a few calls at once), encoded exactly as the store
// encodes them, indexes included. It is for tests, benchmarks and the local
// stack, where thousands of members must exist in seconds: it bypasses the
// transactions that keep a member's account and ledger in step, so the
// caller hands over accounts and entries that agree (the audit tells).
func (s *Store) Seed(ctx context.Context, accounts []loyalty.Account, entries []loyalty.Entry) error {
	items := make([]map[string]types.AttributeValue, 0, len(accounts)+len(entries))
	for _, a := range accounts {
		if a.Version == 0 {
			a.Version = 1
		}
		it, err := accountItem(a)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	for _, e := range entries {
		it, err := entryItem(e)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	batches := make(chan []map[string]types.AttributeValue)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := s.writeBatch(ctx, b); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for len(items) > 0 {
		n := min(len(items), 25)
		batches <- items[:n]
		items = items[n:]
	}
	close(batches)
	wg.Wait()
	return first
}

func (s *Store) writeBatch(ctx context.Context, items []map[string]types.AttributeValue) error {
	bw := s.client
	reqs := make([]types.WriteRequest, len(items))
	for i, it := range items {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: it}}
	}
	pending := map[string][]types.WriteRequest{s.table: reqs}
	for attempt := 0; len(pending) > 0; attempt++ {
		out, err := bw.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return s.classify(err, "seed %d items", len(items))
		}
		pending = out.UnprocessedItems
		if len(pending) > 0 {
			if attempt > 20 {
				return fmt.Errorf("seed: %d items still unprocessed", len(pending[s.table]))
			}
			if err := backoff(ctx, attempt+1); err != nil {
				return err
			}
		}
	}
	return nil
}
