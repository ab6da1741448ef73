package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Client is the part of the DynamoDB API the store uses. *dynamodb.Client
// satisfies it; tests wrap it to inject faults.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Capacity is consumed capacity and request counts, as DynamoDB reported them.
type Capacity struct {
	Read, Write float64 // capacity units, table and indexes
	ItemsRead   int64   // items returned by GetItem, BatchGetItem and Query
	Queries     int64
	Scans       int64
}

// Store implements loyalty.Store on one DynamoDB table.
type Store struct {
	client Client
	table  string

	// MaxAttempts bounds the optimistic retries of one Apply.
	MaxAttempts int
	// EraseReserve is the time an erasure leaves before its context's
	// deadline: it starts no page later than that and answers the erasure
	// in progress instead, so an API call ends before its timeout.
	EraseReserve time.Duration

	mu       sync.Mutex
	consumed Capacity
	counts   map[loyalty.MemberID]*memberCounts // stamp and use counters as last known (quickhints.go)
}

// New returns a store on table.
func New(client Client, table string) *Store {
	return &Store{client: client, table: table, MaxAttempts: 60, EraseReserve: 2 * time.Second}
}

// Consumed returns the capacity consumed since the store was made.
func (s *Store) Consumed() Capacity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.consumed
}

func (s *Store) meter(ccs ...types.ConsumedCapacity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cc := range ccs {
		if cc.ReadCapacityUnits != nil || cc.WriteCapacityUnits != nil {
			s.consumed.Read += aws.ToFloat64(cc.ReadCapacityUnits)
			s.consumed.Write += aws.ToFloat64(cc.WriteCapacityUnits)
			continue
		}
		// Operations that report only a total: reads for Get/Query, writes otherwise.
		s.consumed.Write += aws.ToFloat64(cc.CapacityUnits)
	}
}

func (s *Store) meterRead(items int64, ccs ...types.ConsumedCapacity) {
	s.mu.Lock()
	s.consumed.ItemsRead += items
	for _, cc := range ccs {
		s.consumed.Read += aws.ToFloat64(cc.CapacityUnits)
	}
	s.mu.Unlock()
}

// Apply implements loyalty.Store. A credit with quick forms (op.Quick) is
// first written without a read in the form the store's memory of the
// member says (quickForm, quickCredit). Otherwise, or when its
// condition fails, the account is read, op.Plan computes the change, and the
// change is written only if the account's version did not move.
func (s *Store) Apply(ctx context.Context, op loyalty.Op) (loyalty.Result, error) {
	var known *loyalty.Account // account state learnt from a failed condition
	var knownRoom, room *int64 // the stored tier headroom with it (quickCredit)
	exists := false
	if op.Quick != nil && op.Redelivered {
		// A cancelled quick credit is billed as a write of both items; a
		// look for the entry is one eventually consistent read.
		if res, ok, err := s.replayOfRedelivery(ctx, op); err != nil || ok {
			return res, err
		}
	}
	if op.Quick != nil {
		// The form the counts say; when its condition fails, the form the
		// account the failure returned holds, if one does: a concurrent
		// credit moved a counter, and a quick credit (ADDs) does not lose
		// to the next one as a planned write (a version check) would.
		q := s.quickForm(op)
		for try := 0; q != nil && try < 3; try++ {
			prune := s.pruneStale(op.Member, q.Month)
			res, state, r, err := s.quickCredit(ctx, op, q, prune)
			if err != nil {
				return loyalty.Result{}, err
			}
			if res != nil {
				if !res.Replayed {
					s.countQuick(op.Member, q, prune && q.Qualifying != 0) // a credit without qualifying points removes nothing
				}
				return *res, nil
			}
			if state == nil {
				break
			}
			known, knownRoom, exists = state, r, true
			s.learnCounts(op.Member, *state)
			q = quickFormFor(op, *state, r)
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt >= s.MaxAttempts {
			return loyalty.Result{}, loyalty.Transient(nil, "too much contention on member %s, retry later", op.Member)
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return loyalty.Result{}, err
			}
		}
		var acct loyalty.Account
		if known != nil {
			acct, room, known = *known, knownRoom, nil
		} else {
			prior, a, r, ok, err := s.readForApply(ctx, op, attempt == 0)
			if err != nil {
				return loyalty.Result{}, err
			}
			if prior != nil {
				return s.replayOf(ctx, op.Member, *prior, ok, op.Fingerprint)
			}
			acct, room, exists = a, r, ok
			if ok {
				s.learnCounts(op.Member, acct)
			}
		}
		change, err := op.Plan(acct, exists)
		if err != nil {
			// A member without an account may have been erased: that, not
			// what the plan made of an empty account, is the answer.
			if !exists {
				return loyalty.Result{}, s.erasedOr(ctx, op.Member, err)
			}
			return loyalty.Result{}, err
		}
		change.Entry.Fingerprint = op.Fingerprint
		res, err := s.write(ctx, op, acct, room, exists, change)
		if err != nil {
			return loyalty.Result{}, err
		}
		if res != nil {
			if !res.Replayed {
				s.learnCounts(op.Member, change.Account)
			}
			return *res, nil
		}
	}
}

// staleQualifyingSpan is how many stale months a quick credit removes from
// the qualifying-points map: two years of them, so an account credited at
// least every two years never keeps a month out of every window.
const staleQualifyingSpan = 24

// quickCredit writes q, a form of op.Quick, in one TransactWriteItems: the
// entry put only if its key is new, and the account updated only if it is
// in the state the form names (loyalty.QuickCredit.Holds), as conditions:
//
//	exists, def = 0, debt = 0, no pending referral (rfp), tier = Tier
//	OldestFrom <= nx <= the credit's lot       (the oldest lot, not yet due)
//	room > Qualifying                          (room: the tier headroom, below)
//	stp.<card> < Limit, pu.<promotion> < Limit (Stamps, Uses; absent is 0)
//	pu.<promotion> >= Limit                    (Reached)
//	stp.<card> = Limit                         (Filling: SET to 0, and the
//	                                            card's reward put as new)
//
// and the change as ADDs: balance, lifetime, the lot, the month's
// qualifying points, each counter; room goes down by the qualifying points.
// A purchase made with a rotating code also puts the code's use, only if
// the code is unspent (codeUse): a spent code is loyalty.CodeUsed.
// room is the account's tier headroom as the last planned accrual computed
// it (write); a planned write of another op keeps it when the change
// cannot raise it and removes it otherwise, so the next credit plans once.
// It returns the result when the write or a replay settled the op, or the
// account's state and stored headroom when a condition failed (another
// form fits, a tier is reached, ...).
func (s *Store) quickCredit(ctx context.Context, op loyalty.Op, q *loyalty.QuickCredit, prune bool) (*loyalty.Result, *loyalty.Account, *int64, error) {
	e := q.Entry
	e.Fingerprint = op.Fingerprint
	put, err := s.putEntry(e)
	if err != nil {
		return nil, nil, nil, err
	}
	lot := q.Lot()
	x := newExprWriter()
	x.exists(x.path("pk", ""), true)
	nx := x.path(aNextExp, "")
	x.compare(nx, "<=", x.str(string(lot.Expires)))
	x.compare(nx, ">=", x.str(string(q.OldestFrom)))
	x.compare(x.path(aDeficit, ""), "=", x.num(0))
	x.compare(x.path(aDebt, ""), "=", x.num(0))
	x.compare(x.path(aTier, ""), "=", x.str(q.Tier))
	room := x.path(aRoom, "")
	x.compare(room, ">", x.num(int64(q.Qualifying)))
	x.exists(x.path(aReferredBy, ""), false)
	x.addTo(x.path(aBalance, ""), x.num(int64(e.Delta)))
	x.addTo(x.path(aLifetime, ""), x.num(int64(e.Earned)))
	x.addTo(x.path(aLots, string(lot.Expires)), x.num(int64(lot.Points)))
	x.addTo(x.path(aVersion, ""), x.num(1))
	x.setTo(x.path(aActivity, ""), x.str(e.At.UTC().Format(time.RFC3339Nano)))
	// The same value all week: only a member's first credit of a week
	// writes the activity index (jobs.go).
	x.setTo(x.path(aActKey, ""), x.str(activityKeyOf(e.MemberID, e.At)))
	counters := func(attr string, cs []loyalty.Counter) {
		if len(cs) == 0 {
			return
		}
		// ADD to a key of a map needs the map: every account item has it.
		x.exists(x.path(attr, ""), true)
		for _, c := range cs {
			n := x.path(attr, c.ID)
			x.absentOrBelow(n, x.num(int64(c.Limit)))
			x.addTo(n, x.num(1))
		}
	}
	counters(aStamps, q.Stamps)
	counters(aPromoUses, q.Uses)
	for _, c := range q.Reached {
		x.compare(x.path(aPromoUses, c.ID), ">=", x.num(int64(c.Limit)))
	}
	for _, c := range q.Filling {
		n := x.path(aStamps, c.ID)
		x.compare(n, "=", x.num(int64(c.Limit)))
		x.setTo(n, x.num(0))
	}
	if q.Qualifying != 0 {
		x.addTo(x.path(aQualifying, q.Month), x.num(int64(q.Qualifying)))
		x.addTo(room, x.num(-int64(q.Qualifying)))
		// Forget months no tier window can count any more, so the map stays
		// bounded without a read (removing an absent key is a no-op); once a
		// month is enough (pruneStale).
		if prune {
			for _, m := range loyalty.StaleQualifyingMonths(e.At, staleQualifyingSpan) {
				if m != q.Month {
					x.drop(x.path(aQualifying, m))
				}
			}
		}
	}
	update := &types.Update{TableName: &s.table, Key: s.key(memberPK(e.MemberID), skAccount),
		ConditionExpression: aws.String(x.condition()), UpdateExpression: aws.String(x.update()),
		ExpressionAttributeNames: x.names(), ExpressionAttributeValues: x.values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	items := []types.TransactWriteItem{{Put: put}, {Update: update}}
	for _, red := range q.Issued { // a filled card's reward, new
		it, err := redemptionItem(red)
		if err != nil {
			return nil, nil, nil, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it,
			ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	codeUse := -1 // the rotating code the purchase spends, in the same transaction (cards.go)
	if op.Code != "" {
		codeUse = len(items)
		items = append(items, s.codeUse(op))
	}
	for attempt := 0; ; attempt++ {
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:          items,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return &loyalty.Result{Entry: e}, nil, nil, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, nil, nil, s.classify(err, "credit member %s", e.MemberID)
		}
		reasons := tce.CancellationReasons
		if len(reasons) >= 2 && failedAt(tce, 0) {
			prior, err := decodeEntry(reasons[0].Item)
			if err != nil {
				return nil, nil, nil, err
			}
			account := !(failedAt(tce, 1) && len(reasons[1].Item) == 0) // its condition returned no item: there is none
			res, err := s.replayOf(ctx, e.MemberID, prior, account, op.Fingerprint)
			if err != nil {
				return nil, nil, nil, err
			}
			return &res, nil, nil, nil
		}
		if codeUse >= 0 && failedAt(tce, codeUse) {
			return nil, nil, nil, loyalty.CodeUsed() // another purchase spent the code
		}
		if len(reasons) >= 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			if len(reasons[1].Item) == 0 {
				return nil, nil, nil, nil // no account yet
			}
			a, err := decodeAccount(reasons[1].Item)
			if err != nil {
				return nil, nil, nil, err
			}
			return nil, &a, roomOf(reasons[1].Item), nil
		}
		for _, r := range reasons[min(2, len(reasons)):] {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return nil, nil, nil, nil // a reward already there: plan it from a read
			}
		}
		if !conflicted(reasons) || attempt+1 >= 8 {
			return nil, nil, nil, s.classify(err, "credit member %s", e.MemberID)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return nil, nil, nil, err
		}
	}
}

// readForApply reads the op's entry (a replay if it exists) and the account
// with one strongly consistent BatchGetItem; on the first read also the
// reward the op names, which it hands to op.Fetched (a redemption is then
// this read and its write).
func (s *Store) readForApply(ctx context.Context, op loyalty.Op, first bool) (*loyalty.Entry, loyalty.Account, *int64, bool, error) {
	member := op.Member
	pk := memberPK(member)
	keys := []map[string]types.AttributeValue{s.key(pk, skAccount), s.key(pk, entrySK(op.Key))}
	if first && op.Reward != "" && op.Fetched != nil {
		keys = append(keys, s.key(pkCatalog, rewardSK(op.Reward)))
	}
	var items []map[string]types.AttributeValue
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			return nil, loyalty.Account{}, nil, false, s.classify(err, "read member %s", member)
		}
		s.meterRead(int64(len(out.Responses[s.table])), out.ConsumedCapacity...)
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
		if len(req) > 0 {
			if err := backoff(ctx, attempt+1); err != nil {
				return nil, loyalty.Account{}, nil, false, err
			}
		}
	}
	var (
		acct   loyalty.Account
		exists bool
		prior  *loyalty.Entry
		room   *int64
	)
	for _, it := range items {
		if stringAttr(it, "pk") == pkCatalog {
			r, err := decodeReward(it)
			if err != nil {
				return nil, loyalty.Account{}, nil, false, err
			}
			op.Fetched(r)
			continue
		}
		switch sk := stringAttr(it, "sk"); sk {
		case skAccount:
			a, err := decodeAccount(it)
			if err != nil {
				return nil, loyalty.Account{}, nil, false, err
			}
			acct, exists, room = a, true, roomOf(it)
		default:
			e, err := decodeEntry(it)
			if err != nil {
				return nil, loyalty.Account{}, nil, false, err
			}
			prior = &e
		}
	}
	if !exists {
		acct = loyalty.Account{MemberID: member}
	}
	return prior, acct, room, exists, nil
}

// write puts a planned change in one transaction. res is set when the op is
// settled (written or replayed); nil res and nil error mean "plan again".
func (s *Store) write(ctx context.Context, op loyalty.Op, before loyalty.Account, room *int64, exists bool, c loyalty.Change) (*loyalty.Result, error) {
	put, err := s.putEntry(c.Entry)
	if err != nil {
		return nil, err
	}
	items := []types.TransactWriteItem{{Put: put}}

	acct := c.Account
	acct.Version = before.Version + 1
	acctItem, err := accountItem(acct)
	if err != nil {
		return nil, err
	}
	switch {
	case op.Quick != nil:
		// The tier headroom after this change, for the quick credits that
		// follow (quickCredit).
		acctItem[aRoom] = &types.AttributeValueMemberN{Value: strconv.FormatInt(int64(op.Quick.Headroom(acct, c.Entry.At)), 10)}
	case room != nil && keepsHeadroom(before, acct):
		// A change that neither changes the tier nor adds qualifying points
		// (a redemption, an expiry, a refund) leaves the stored headroom
		// true or too small, never too large: keep it.
		acctItem[aRoom] = &types.AttributeValueMemberN{Value: strconv.FormatInt(*room, 10)}
	}
	var cond expression.ConditionBuilder
	if exists {
		cond = expression.Name(aVersion).Equal(expression.Value(before.Version))
	} else {
		cond = expression.AttributeNotExists(expression.Name("pk"))
	}
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build account condition: %w", err)
	}
	items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: acctItem,
		ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})

	if c.Redemption != nil {
		it, err := redemptionItem(*c.Redemption)
		if err != nil {
			return nil, err
		}
		var rc expression.ConditionBuilder
		if c.RedemptionIsNew {
			rc = expression.AttributeNotExists(expression.Name("pk"))
		} else {
			rc = expression.Name(aState).Equal(expression.Value(string(c.RedemptionStateBefore)))
		}
		rex, err := expression.NewBuilder().WithCondition(rc).Build()
		if err != nil {
			return nil, fmt.Errorf("build redemption condition: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it,
			ConditionExpression: rex.Condition(), ExpressionAttributeNames: rex.Names(), ExpressionAttributeValues: rex.Values()}})
	}
	for _, red := range c.Issued {
		it, err := redemptionItem(red)
		if err != nil {
			return nil, err
		}
		items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it,
			ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	if c.Original != nil {
		cond, upd := withRefundState(*c.Original,
			expression.Name(aReversed).Equal(expression.Value(int64(c.OriginalReversedBefore))),
			expression.Set(expression.Name(aReversed), expression.Value(int64(c.Original.Reversed))))
		oex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
		if err != nil {
			return nil, fmt.Errorf("build reversal expression: %w", err)
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.table,
			Key: s.key(memberPK(c.Original.MemberID), entrySK(c.Original.Key)), ConditionExpression: oex.Condition(),
			UpdateExpression: oex.Update(), ExpressionAttributeNames: oex.Names(), ExpressionAttributeValues: oex.Values()}})
	}
	more, err := s.changeItems(c) // a referrer's side of a payout, feedback (feedback.go)
	if err != nil {
		return nil, err
	}
	items = append(items, more...)
	codeUse := -1 // the rotating code the op spends, once (cards.go)
	if op.Code != "" {
		codeUse = len(items)
		items = append(items, s.codeUse(op))
	}
	// A new account is the only way an erased member's id could come back:
	// the transaction holds only if the member was never erased, which
	// keeps their idempotency keys spent after the erasure took the entries.
	erasedCheck := -1
	if !exists {
		erasedCheck = len(items)
		items = append(items, s.notErased(op.Member))
	}
	// Promotion budgets: one counter per promotion, in the same transaction,
	// taken only while it has room for this change's points.
	firstBudget := len(items)
	for _, b := range c.Budgets {
		if b.Points > b.Budget {
			return nil, &loyalty.BudgetSpentError{Promotion: b.Promotion}
		}
		bex, err := expression.NewBuilder().
			WithCondition(expression.AttributeNotExists(expression.Name(aBudgetUsed)).
				Or(expression.Name(aBudgetUsed).LessThanEqual(expression.Value(int64(b.Budget - b.Points))))).
			WithUpdate(expression.Add(expression.Name(aBudgetUsed), expression.Value(int64(b.Points)))).Build()
		if err != nil {
			return nil, fmt.Errorf("build budget expression: %w", err)
		}
		items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.table,
			Key: s.key(pkCatalog, prefixBudget+b.Promotion), ConditionExpression: bex.Condition(),
			UpdateExpression: bex.Update(), ExpressionAttributeNames: bex.Names(), ExpressionAttributeValues: bex.Values()}})
	}

	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err == nil {
		s.meter(out.ConsumedCapacity...)
		return &loyalty.Result{Entry: c.Entry}, nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return nil, s.classify(err, "write %s for member %s", c.Entry.Kind, c.Entry.MemberID)
	}
	reasons := tce.CancellationReasons
	if erasedCheck >= 0 && failedAt(tce, erasedCheck) {
		return nil, errErased()
	}
	if len(reasons) > 0 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
		prior, err := decodeEntry(reasons[0].Item)
		if err != nil {
			return nil, err
		}
		res, err := s.replay(prior, op.Fingerprint)
		return &res, err
	}
	if codeUse >= 0 && failedAt(tce, codeUse) {
		return nil, loyalty.CodeUsed()
	}
	for i, b := range c.Budgets {
		if j := firstBudget + i; j < len(reasons) && aws.ToString(reasons[j].Code) == "ConditionalCheckFailed" {
			return nil, &loyalty.BudgetSpentError{Promotion: b.Promotion}
		}
	}
	// The account, the redemption or the original moved under us, or another
	// transaction held an item: read again and plan again.
	for _, r := range reasons {
		switch aws.ToString(r.Code) {
		case "", "None", "ConditionalCheckFailed", "TransactionConflict":
		default:
			return nil, s.classify(err, "write %s for member %s", c.Entry.Kind, c.Entry.MemberID)
		}
	}
	return nil, nil
}

func (s *Store) putEntry(e loyalty.Entry) (*types.Put, error) {
	item, err := entryItem(e)
	if err != nil {
		return nil, err
	}
	return &types.Put{TableName: &s.table, Item: item,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}, nil
}

// replayOfRedelivery looks for the entry of a redelivered op (and its
// account) with one eventually consistent BatchGetItem: found, it answers
// the replay Apply would; not found (not written, or written too recently
// for the read to see it), ok is false and Apply writes as usual, whose
// conditions still keep the key spent once.
func (s *Store) replayOfRedelivery(ctx context.Context, op loyalty.Op) (loyalty.Result, bool, error) {
	pk := memberPK(op.Member)
	out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
		s.table: {Keys: []map[string]types.AttributeValue{s.key(pk, entrySK(op.Key)), s.key(pk, skAccount)}}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return loyalty.Result{}, false, s.classify(err, "read member %s", op.Member)
	}
	items := out.Responses[s.table]
	s.meterRead(int64(len(items)), out.ConsumedCapacity...)
	var prior *loyalty.Entry
	account := false
	for _, it := range items {
		switch stringAttr(it, "sk") {
		case skAccount:
			account = true
		case entrySK(op.Key):
			e, err := decodeEntry(it)
			if err != nil {
				return loyalty.Result{}, false, err
			}
			prior = &e
		}
	}
	if prior == nil {
		return loyalty.Result{}, false, nil // unprocessed keys too: the write decides
	}
	res, err := s.replayOf(ctx, op.Member, *prior, account, op.Fingerprint)
	return res, true, err
}

// replayOf answers an op whose key prior spent: its replay, unless the
// entry stands without its account (account false) and the member's
// erasure started. An erasure may be taking the partition: the member's
// keys stay spent, but nothing of the member is answered any more.
func (s *Store) replayOf(ctx context.Context, member loyalty.MemberID, prior loyalty.Entry, account bool, fingerprint string) (loyalty.Result, error) {
	if !account {
		if err := s.erasedOr(ctx, member, nil); err != nil {
			return loyalty.Result{}, err
		}
	}
	return s.replay(prior, fingerprint)
}

func (s *Store) replay(prior loyalty.Entry, fingerprint string) (loyalty.Result, error) {
	if prior.Fingerprint != fingerprint {
		return loyalty.Result{}, loyalty.Errorf(loyalty.CodeIdempotencyReuse,
			"key %s was already used for a different request", prior.Key)
	}
	return loyalty.Result{Entry: prior, Replayed: true}, nil
}

func conflicted(reasons []types.CancellationReason) bool {
	for _, r := range reasons {
		if aws.ToString(r.Code) == "TransactionConflict" {
			return true
		}
	}
	return false
}

// classify turns an AWS error into a domain error: throttling, conflicts and
// server faults are transient, everything else is internal.
func (s *Store) classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return loyalty.Transient(err, "timed out")
	}
	var (
		tce      *types.TransactionCanceledException
		thr      *types.ProvisionedThroughputExceededException
		lim      *types.RequestLimitExceeded
		ise      *types.InternalServerError
		inProg   *types.TransactionInProgressException
		throttle *types.ThrottlingException
	)
	switch {
	case errors.As(err, &tce) && conflicted(tce.CancellationReasons),
		errors.As(err, &thr), errors.As(err, &lim), errors.As(err, &ise), errors.As(err, &inProg), errors.As(err, &throttle):
		return loyalty.Transient(err, "storage is busy, retry later")
	}
	// A request that never got an answer (connection refused or reset, a
	// DNS failure, a closed connection) may succeed later: transient.
	var (
		sendErr *smithyhttp.RequestSendError
		opErr   *net.OpError
	)
	if errors.As(err, &sendErr) || errors.As(err, &opErr) || errors.Is(err, io.ErrUnexpectedEOF) {
		return loyalty.Transient(err, "storage is unreachable, retry later")
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultServer {
		return loyalty.Transient(err, "storage is unavailable, retry later")
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() >= 500 {
		return loyalty.Transient(err, "storage is unavailable, retry later")
	}
	return &loyalty.Error{Code: loyalty.CodeInternal, Message: "internal error", Err: fmt.Errorf(format+": %w", append(args, err)...)}
}

// backoff sleeps with full jitter, growing to 200 ms.
func backoff(ctx context.Context, attempt int) error {
	ceil := time.Duration(2<<min(attempt, 7)) * time.Millisecond
	if ceil > 200*time.Millisecond {
		ceil = 200 * time.Millisecond
	}
	t := time.NewTimer(time.Duration(rand.Int64N(int64(ceil)) + 1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return loyalty.Transient(ctx.Err(), "timed out")
	case <-t.C:
		return nil
	}
}

func (s *Store) key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// The domain's ports the store implements (the adapters' own interfaces,
// httpapi's and the jobs', are asserted where they are wired).
var (
	_ loyalty.Store         = (*Store)(nil)
	_ loyalty.ReferralStore = (*Store)(nil)
	_ loyalty.SnapshotStore = (*Store)(nil)
	_ loyalty.Inbox         = (*Store)(nil)
	_ loyalty.Catalog       = (*Store)(nil)
	_ loyalty.Eraser        = (*Store)(nil)
	_ loyalty.ErasureLog    = (*Store)(nil)
)
