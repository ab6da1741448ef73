package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/pages"
)

func (s *Store) get(ctx context.Context, pk, sk string, consistent bool) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: s.key(pk, sk),
		ConsistentRead: aws.Bool(consistent), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return nil, s.classify(err, "get %s/%s", pk, sk)
	}
	var n int64
	if out.Item != nil {
		n = 1
	}
	if out.ConsumedCapacity != nil {
		s.meterRead(n, *out.ConsumedCapacity)
	} else {
		s.meterRead(n)
	}
	return out.Item, nil
}

// Account implements loyalty.Store.
func (s *Store) Account(ctx context.Context, id loyalty.MemberID) (loyalty.Account, error) {
	item, err := s.get(ctx, memberPK(id), skAccount, true)
	if err != nil {
		return loyalty.Account{}, err
	}
	if item == nil {
		return loyalty.Account{}, loyalty.Errorf(loyalty.CodeNotFound, "member %s is not enrolled", id)
	}
	return decodeAccount(item)
}

// Entry implements loyalty.Store.
func (s *Store) Entry(ctx context.Context, id loyalty.MemberID, key string) (loyalty.Entry, error) {
	item, err := s.get(ctx, memberPK(id), entrySK(key), true)
	if err != nil {
		return loyalty.Entry{}, err
	}
	if item == nil {
		return loyalty.Entry{}, loyalty.Errorf(loyalty.CodeNotFound, "no ledger entry %s", key)
	}
	return decodeEntry(item)
}

// Redemption implements loyalty.Store.
func (s *Store) Redemption(ctx context.Context, id loyalty.MemberID, redemptionID string) (loyalty.Redemption, error) {
	item, err := s.get(ctx, memberPK(id), redemptionSK(redemptionID), true)
	if err != nil {
		return loyalty.Redemption{}, err
	}
	if item == nil {
		return loyalty.Redemption{}, loyalty.Errorf(loyalty.CodeNotFound, "no redemption %s", redemptionID)
	}
	return decodeRedemption(item)
}

// Reward implements loyalty.Store.
func (s *Store) Reward(ctx context.Context, id string) (loyalty.Reward, error) {
	item, err := s.get(ctx, pkCatalog, rewardSK(id), false)
	if err != nil {
		return loyalty.Reward{}, err
	}
	if item == nil {
		return loyalty.Reward{}, loyalty.Errorf(loyalty.CodeNotFound, "no reward %s", id)
	}
	return decodeReward(item)
}

// PutReward adds or replaces a catalog item.
func (s *Store) PutReward(ctx context.Context, r loyalty.Reward) error {
	item, err := rewardItem(r)
	if err != nil {
		return err
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return s.classify(err, "put reward %s", r.ID)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return nil
}

// Rewards lists the catalog, ordered by id.
func (s *Store) Rewards(ctx context.Context) ([]loyalty.Reward, error) {
	return queryDecoded(ctx, s, pkCatalog, prefixReward, decodeReward)
}

// Enrol implements loyalty.Store: it creates the account once, never for
// an erased member (CodeMemberErased).
func (s *Store) Enrol(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Account, error) {
	a := loyalty.NewAccount(id, now)
	a.Version = 1
	item, err := accountItem(a)
	if err != nil {
		return loyalty.Account{}, err
	}
	// An erased member's id never gets an account again (erase.go).
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		s.notErased(id),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 1):
		return loyalty.Account{}, errErased()
	case errors.As(err, &tce) && failedAt(tce, 0):
		return s.Account(ctx, id)
	case err != nil:
		return loyalty.Account{}, s.classify(err, "enrol member %s", id)
	}
	s.meter(out.ConsumedCapacity...)
	return a, nil
}

// queryAll reads every item of a partition whose sort key has prefix.
func (s *Store) queryAll(ctx context.Context, pk, prefix string) ([]map[string]types.AttributeValue, error) {
	kc := expression.Key("pk").Equal(expression.Value(pk))
	if prefix != "" {
		kc = kc.And(expression.Key("sk").BeginsWith(prefix))
	}
	ex, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	var items []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classify(err, "query %s %s*", pk, prefix)
		}
		s.mu.Lock()
		s.consumed.Queries++
		s.mu.Unlock()
		if out.ConsumedCapacity != nil {
			s.meterRead(int64(out.Count), *out.ConsumedCapacity)
		} else {
			s.meterRead(int64(out.Count))
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

// Ledger returns all of a member's ledger entries, oldest first.
func (s *Store) Ledger(ctx context.Context, id loyalty.MemberID) ([]loyalty.Entry, error) {
	entries, err := queryDecoded(ctx, s, memberPK(id), prefixEntry, decodeEntry)
	if err != nil {
		return nil, err
	}
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].At.Equal(entries[j].At) {
			return entries[i].At.Before(entries[j].At)
		}
		return entries[i].Key < entries[j].Key
	})
	return entries, nil
}

// Activity returns one page of a member's ledger, newest first, and the
// opaque cursor of the next page ("" on the last page).
//
// Ledger entries are keyed by their idempotency key so that a replay can
// never write twice; the time order comes from the history index, which
// holds each entry under its time (historyKey) with the attributes a page
// shows (table.HistoryAttributes): one Query of limit+1 index entries, the
// same at any history length. The entries carry those attributes only.
func (s *Store) Activity(ctx context.Context, id loyalty.MemberID, after string, limit int) ([]loyalty.Entry, string, error) {
	if limit < 1 {
		return nil, "", loyalty.Invalid("limit", "must be at least 1, got %d", limit)
	}
	from, err := pages.ParseCursor(after)
	if err != nil {
		return nil, "", err
	}
	pk := memberPK(id)
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrPK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build history query: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexHistory), KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ScanIndexForward: aws.Bool(false),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	if from != nil {
		in.ExclusiveStartKey = map[string]types.AttributeValue{AttrPK: &types.AttributeValueMemberS{Value: pk},
			AttrSK: &types.AttributeValueMemberS{Value: entrySK(from.Key)}, AttrHistory: &types.AttributeValueMemberS{Value: historyKey(from.At, from.Key)}}
	}
	// One more than the page, to know whether a next page exists.
	var items []map[string]types.AttributeValue
	for len(items) <= limit {
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, "", s.classify(err, "query the history of %s", id)
		}
		s.mu.Lock()
		s.consumed.Queries++
		s.mu.Unlock()
		if out.ConsumedCapacity != nil {
			s.meterRead(int64(out.Count), *out.ConsumedCapacity)
		} else {
			s.meterRead(int64(out.Count))
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	page := make([]loyalty.Entry, 0, min(len(items), limit))
	for _, it := range items[:min(len(items), limit)] {
		e, err := decodeEntry(it)
		if err != nil {
			return nil, "", err
		}
		page = append(page, e)
	}
	next := ""
	if len(items) > limit {
		last := page[len(page)-1]
		next = pages.Cursor{At: last.At, Key: last.Key}.String()
	}
	return page, next, nil
}

// Redemptions lists a member's redemptions, newest first.
func (s *Store) Redemptions(ctx context.Context, id loyalty.MemberID) ([]loyalty.Redemption, error) {
	out, err := queryDecoded(ctx, s, memberPK(id), prefixRedemption, decodeRedemption)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IssuedAt.After(out[j].IssuedAt) })
	return out, nil
}
