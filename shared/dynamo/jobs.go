package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// What the scheduled jobs read and write: pages of the sparse indexes (never
// a Scan), the expiry written from the due index's copy of the lots,
// checkpoints, batched reads, the customer class and the balance the
// affordability reminder last saw.

// attribute names of the jobs' items and of the index copies on accounts.
const (
	aSnapshot = table.AttrLotsCopy // copy of the lots, projected into the due index
	aActKey   = "ak"               // activity index key
)

// activityKeyOf files a member under the UTC week of their last activity.
func activityKeyOf(id loyalty.MemberID, last time.Time) string {
	if last.IsZero() {
		return ""
	}
	return ActivityKey(loyalty.WeekOfTime(last), DueShard(id))
}

// DueAccounts returns one page (at most limit) of the accounts whose due day
// is day in one shard of the due index, with the copy of their lots the
// index carries, and the cursor of the next page ("" after the last).
func (s *Store) DueAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.indexPage(ctx, IndexDue, AttrDue, DueKey(day, shard), cursor, limit)
}

// RewardsEnding returns one page of the issued rewards whose last valid day
// is day, in one shard of the due index.
func (s *Store) RewardsEnding(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.indexPage(ctx, IndexDue, AttrDue, RewardDueKey(day, shard), cursor, limit)
}

// ActiveInWeek returns one page of the members whose last activity falls in
// the ISO week (UTC), in one shard of the activity index.
func (s *Store) ActiveInWeek(ctx context.Context, week string, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.indexPage(ctx, IndexActivity, AttrActivity, ActivityKey(week, shard), cursor, limit)
}

func (s *Store) indexPage(ctx context.Context, index, attr, value, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key(attr).Equal(expression.Value(value))).Build()
	if err != nil {
		return nil, "", fmt.Errorf("build index query: %w", err)
	}
	in := &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(index), KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal}
	if limit > 0 {
		in.Limit = aws.Int32(int32(limit))
	}
	if cursor != "" {
		start, err := decodeIndexCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.client.Query(ctx, in)
	if err != nil {
		return nil, "", s.classify(err, "query index %s for %s", index, value)
	}
	s.mu.Lock()
	s.consumed.Queries++
	s.mu.Unlock()
	if out.ConsumedCapacity != nil {
		s.meterRead(int64(out.Count), *out.ConsumedCapacity)
	} else {
		s.meterRead(int64(out.Count))
	}
	hits := make([]loyalty.DueItem, 0, len(out.Items))
	for _, it := range out.Items {
		id, ok := memberFromPK(stringAttr(it, "pk"))
		if !ok {
			continue
		}
		h := loyalty.DueItem{MemberID: id}
		sk := stringAttr(it, "sk")
		if id, ok := strings.CutPrefix(sk, prefixRedemption); ok {
			h.RedemptionID = id
		} else if id, ok := strings.CutPrefix(sk, prefixNotification); ok {
			h.NotificationID = id
		}
		if m, ok := it[aSnapshot].(*types.AttributeValueMemberM); ok {
			var lots map[string]int64
			if err := attributevalue.Unmarshal(m, &lots); err != nil {
				return nil, "", fmt.Errorf("decode lots copy of member %s: %w", id, err)
			}
			for d, p := range lots {
				h.Lots = append(h.Lots, loyalty.Lot{Expires: loyalty.Date(d), Points: loyalty.Points(p)})
			}
			sortLots(h.Lots)
		}
		hits = append(hits, h)
	}
	next, err := encodeIndexCursor(out.LastEvaluatedKey)
	return hits, next, err
}

func encodeIndexCursor(lek map[string]types.AttributeValue) (string, error) {
	if len(lek) == 0 {
		return "", nil
	}
	m := make(map[string]string, len(lek))
	for k, v := range lek {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("index cursor: key attribute %s is not a string", k)
		}
		m[k] = s.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeIndexCursor(c string) (map[string]types.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	var m map[string]string
	if err != nil || json.Unmarshal(b, &m) != nil || len(m) == 0 {
		return nil, loyalty.Invalid("cursor", "the index cursor is not valid")
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out, nil
}

// ExpireFromSnapshot implements loyalty.SnapshotStore: the ledger entry, an
// UpdateItem of the account and the notification (in the outbox until its
// event is published) in one transaction, without reading the account. The update holds only while the account has as many lots as the
// snapshot and every expiring lot still holds what the snapshot says; a
// plain credit to a later lot (the common case) leaves both true, a credit
// that opened a new lot or touched an expiring one does not, and then
// nothing is written and applied is false.
func (s *Store) ExpireFromSnapshot(ctx context.Context, op loyalty.Op, snapshot []loyalty.Lot, c loyalty.Change, note *loyalty.Notification) (loyalty.Result, bool, error) {
	if len(c.Entry.Lots) == 0 {
		return loyalty.Result{}, false, nil
	}
	put, err := s.putEntry(c.Entry)
	if err != nil {
		return loyalty.Result{}, false, err
	}
	cond := expression.AttributeExists(expression.Name("pk")).
		And(expression.Name(aLots).Size().Equal(expression.Value(len(snapshot))))
	var upd expression.UpdateBuilder
	for i, l := range c.Entry.Lots {
		path := expression.Name(aLots + "." + string(l.Expires))
		cond = cond.And(path.Equal(expression.Value(int64(-l.Points))))
		if i == 0 {
			upd = expression.Remove(path)
		} else {
			upd = upd.Remove(path)
		}
	}
	upd = upd.Add(expression.Name(aBalance), expression.Value(int64(c.Entry.Delta))).
		Add(expression.Name(aVersion), expression.Value(1))
	a := c.Account
	if next := a.NextExpiry(); next != "" {
		upd = upd.Set(expression.Name(aNextExp), expression.Value(string(next)))
	} else {
		upd = upd.Remove(expression.Name(aNextExp))
	}
	if a.DueOn != "" {
		lots := make(map[string]int64, len(a.Lots))
		for _, l := range a.Lots {
			lots[string(l.Expires)] = int64(l.Points)
		}
		upd = upd.Set(expression.Name(aDueOn), expression.Value(string(a.DueOn))).
			Set(expression.Name(AttrDue), expression.Value(DueKey(a.DueOn, DueShard(op.Member)))).
			Set(expression.Name(aSnapshot), expression.Value(lots))
	} else {
		upd = upd.Remove(expression.Name(aDueOn)).Remove(expression.Name(AttrDue)).Remove(expression.Name(aSnapshot))
	}
	ex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return loyalty.Result{}, false, fmt.Errorf("build expiry expression: %w", err)
	}
	update := &types.Update{TableName: &s.table, Key: s.key(memberPK(op.Member), skAccount),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}
	items := []types.TransactWriteItem{{Put: put}, {Update: update}}
	if note != nil {
		it, err := notificationItem(*note)
		if err != nil {
			return loyalty.Result{}, false, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it}})
	}
	for attempt := 0; ; attempt++ {
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: items, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return loyalty.Result{Entry: c.Entry}, true, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return loyalty.Result{}, false, s.classify(err, "expire lots of member %s", op.Member)
		}
		reasons := tce.CancellationReasons
		if len(reasons) >= 2 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			prior, err := decodeEntry(reasons[0].Item)
			if err != nil {
				return loyalty.Result{}, false, err
			}
			res, err := s.replay(prior, op.Fingerprint)
			return res, true, err
		}
		if len(reasons) >= 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			return loyalty.Result{}, false, nil // the account moved on: plan from a read
		}
		if !conflicted(reasons) || attempt+1 >= 4 {
			return loyalty.Result{}, false, s.classify(err, "expire lots of member %s", op.Member)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return loyalty.Result{}, false, err
		}
	}
}

// checkpointRecord is the stored shape of loyalty.Checkpoint.
type checkpointRecord struct {
	PK     string    `dynamodbav:"pk"`
	SK     string    `dynamodbav:"sk"`
	Done   bool      `dynamodbav:"done"`
	Cursor string    `dynamodbav:"cur,omitempty"`
	N      int       `dynamodbav:"n"`
	At     time.Time `dynamodbav:"at"`
	TTL    int64     `dynamodbav:"ttl"`
}

// checkpointKeep is how long a run's checkpoints outlive it: longer than any
// catch-up window.
const checkpointKeep = 40 * 24 * time.Hour

// Checkpoints returns the checkpoints of one run (job and run day) by scope,
// with one Query.
func (s *Store) Checkpoints(ctx context.Context, job string, run loyalty.Date) (map[string]loyalty.Checkpoint, error) {
	items, err := s.queryAll(ctx, jobPK(job, run), "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]loyalty.Checkpoint, len(items))
	for _, it := range items {
		var r checkpointRecord
		if err := attributevalue.UnmarshalMap(it, &r); err != nil {
			return nil, fmt.Errorf("decode checkpoint: %w", err)
		}
		out[r.SK] = loyalty.Checkpoint{Scope: r.SK, Done: r.Done, Cursor: r.Cursor, Processed: r.N, UpdatedAt: r.At}
	}
	return out, nil
}

// SaveCheckpoint records how far a run got through one scope.
func (s *Store) SaveCheckpoint(ctx context.Context, job string, run loyalty.Date, cp loyalty.Checkpoint) error {
	item, err := attributevalue.MarshalMap(checkpointRecord{PK: jobPK(job, run), SK: cp.Scope, Done: cp.Done, Cursor: cp.Cursor,
		N: cp.Processed, At: cp.UpdatedAt.UTC(), TTL: cp.UpdatedAt.Add(checkpointKeep).Unix()})
	if err != nil {
		return err
	}
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return s.classify(err, "save checkpoint %s of %s", cp.Scope, job)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return nil
}

// batchGet reads up to any number of items, 100 per BatchGetItem, eventually
// consistent, retrying what DynamoDB leaves unprocessed.
func (s *Store) batchGet(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for len(keys) > 0 {
		n := min(len(keys), 100)
		req := map[string]types.KeysAndAttributes{s.table: {Keys: keys[:n]}}
		keys = keys[n:]
		for attempt := 0; len(req) > 0; attempt++ {
			out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
			if err != nil {
				return nil, s.classify(err, "batch read %d items", n)
			}
			s.meterRead(int64(len(out.Responses[s.table])), out.ConsumedCapacity...)
			items = append(items, out.Responses[s.table]...)
			req = out.UnprocessedKeys
			if len(req) > 0 {
				if err := backoff(ctx, attempt+1); err != nil {
					return nil, err
				}
			}
		}
	}
	return items, nil
}

// Accounts reads the accounts of members (eventually consistent, batched);
// members without an account are missing from the map.
func (s *Store) Accounts(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Account, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	seen := map[loyalty.MemberID]bool{}
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			keys = append(keys, s.key(memberPK(id), skAccount))
		}
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[loyalty.MemberID]loyalty.Account, len(items))
	for _, it := range items {
		a, err := decodeAccount(it)
		if err != nil {
			return nil, err
		}
		out[a.MemberID] = a
	}
	return out, nil
}

// classOptions encode the class record with its JSON names.
func classOptions(o *attributevalue.EncoderOptions) { o.TagKey = "json" }

// MemberClass returns the member's recorded customer class; ok is false when
// none was recorded yet.
func (s *Store) MemberClass(ctx context.Context, id loyalty.MemberID) (loyalty.MemberClass, bool, error) {
	item, err := s.get(ctx, memberPK(id), skClass, true)
	if err != nil || item == nil {
		return loyalty.MemberClass{}, false, err
	}
	var c loyalty.MemberClass
	if err := attributevalue.UnmarshalWithOptions(item["c"], &c, func(o *attributevalue.DecoderOptions) { o.TagKey = "json" }); err != nil {
		return loyalty.MemberClass{}, false, fmt.Errorf("decode class of member %s: %w", id, err)
	}
	return c, true, nil
}

// PutMemberClass records the member's customer class; for an erased
// member it records nothing.
func (s *Store) PutMemberClass(ctx context.Context, id loyalty.MemberID, c loyalty.MemberClass) error {
	av, err := attributevalue.MarshalWithOptions(c, classOptions)
	if err != nil {
		return err
	}
	item := s.key(memberPK(id), skClass)
	item["c"] = av
	return s.putUnlessErased(ctx, id, item, "record class of member %s")
}

// putUnlessErased puts a job's record of a member in one transaction with
// the check that the member was never erased: a job that read the member
// just before the erasure began puts nothing back. An erased member's
// record is quietly not written.
func (s *Store) putUnlessErased(ctx context.Context, id loyalty.MemberID, item map[string]types.AttributeValue, what string) error {
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item}}, s.notErased(id),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 1):
		return nil
	case err != nil:
		return s.classify(err, what, id)
	}
	s.meter(out.ConsumedCapacity...)
	return nil
}

type affordRecord struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Balance int64  `dynamodbav:"bal"`
	On      string `dynamodbav:"on"`
}

// AffordSeen returns, per member, the balance the affordability reminder saw
// last; members it never looked at are missing.
func (s *Store) AffordSeen(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Points, error) {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, s.key(memberPK(id), skAfford))
	}
	items, err := s.batchGet(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[loyalty.MemberID]loyalty.Points, len(items))
	for _, it := range items {
		var r affordRecord
		if err := attributevalue.UnmarshalMap(it, &r); err != nil {
			return nil, fmt.Errorf("decode affordability record: %w", err)
		}
		id, _ := memberFromPK(r.PK)
		out[id] = loyalty.Points(r.Balance)
	}
	return out, nil
}

// PutAffordSeen records the balance the affordability reminder saw on day;
// for an erased member it records nothing.
func (s *Store) PutAffordSeen(ctx context.Context, id loyalty.MemberID, balance loyalty.Points, day loyalty.Date) error {
	item, err := attributevalue.MarshalMap(affordRecord{PK: memberPK(id), SK: skAfford, Balance: int64(balance), On: string(day)})
	if err != nil {
		return err
	}
	return s.putUnlessErased(ctx, id, item, "record affordability of member %s")
}
