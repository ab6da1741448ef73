package dynamo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
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

// Apply implements loyalty.Store. A credit is first written blind: one
// TransactWriteItems with the entry put only if its key is new and the
// account updated only if the credit is plain for it. Otherwise, or when that
// condition fails, the account is read, op.Plan computes the change, and the
// change is written only if the account's version did not move.
func (s *Store) Apply(ctx context.Context, op loyalty.Op) (loyalty.Result, error) {
	var known *loyalty.Account // account state learnt from a failed condition
	exists := false
	if op.Credit != nil {
		res, state, err := s.blindCredit(ctx, op)
		switch {
		case err != nil:
			return loyalty.Result{}, err
		case res != nil:
			return *res, nil
		case state != nil:
			known, exists = state, true
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
			acct, known = *known, nil
		} else {
			prior, a, ok, err := s.readForApply(ctx, op.Member, op.Key)
			if err != nil {
				return loyalty.Result{}, err
			}
			if prior != nil {
				if !ok {
					// The entry without its account: an erasure may be
					// taking the partition. Its keys are spent, but
					// nothing of the member is answered any more.
					if err := s.erasedOr(ctx, op.Member, nil); err != nil {
						return loyalty.Result{}, err
					}
				}
				return s.replay(*prior, op.Fingerprint)
			}
			acct, exists = a, ok
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
		res, err := s.write(ctx, op, acct, exists, change)
		if err != nil {
			return loyalty.Result{}, err
		}
		if res != nil {
			return *res, nil
		}
	}
}

// staleQualifyingSpan is how many stale months a one-trip credit removes
// from the qualifying-points map: two years of them, so an account credited
// at least every two years never keeps a month out of every window.
const staleQualifyingSpan = 24

// blindCredit tries the one-round-trip credit. It returns the result when the
// write or a replay settled the op, or the account's state when the account
// condition failed and the op needs the planned path.
func (s *Store) blindCredit(ctx context.Context, op loyalty.Op) (*loyalty.Result, *loyalty.Account, error) {
	e := *op.Credit
	e.Fingerprint = op.Fingerprint
	if len(e.Lots) != 1 || e.Lots[0].Points != e.Delta || e.DeficitDelta != 0 || e.DebtDelta != 0 {
		return nil, nil, nil // not a plain credit: plan it
	}
	put, err := s.putEntry(e)
	if err != nil {
		return nil, nil, err
	}
	lot := e.Lots[0]
	cond := expression.AttributeExists(expression.Name("pk")).
		And(expression.Name(aNextExp).LessThanEqual(expression.Value(string(lot.Expires)))).
		And(expression.Name(aDeficit).Equal(expression.Value(0))).
		And(expression.Name(aDebt).Equal(expression.Value(0))).
		And(expression.Name(aTier).Equal(expression.Value(op.CreditTier))).
		And(expression.Name(aRoom).GreaterThan(expression.Value(int64(op.CreditQualifying)))).
		And(expression.AttributeNotExists(expression.Name(aReferredBy)))
	upd := expression.Add(expression.Name(aBalance), expression.Value(int64(e.Delta))).
		Add(expression.Name(aLifetime), expression.Value(int64(e.Earned))).
		Add(expression.Name(aLots+"."+string(lot.Expires)), expression.Value(int64(lot.Points))).
		Add(expression.Name(aVersion), expression.Value(1)).
		Set(expression.Name(aActivity), expression.Value(e.At.UTC())).
		// The same value all week: only a member's first credit of a week
		// writes the activity index (jobs.go).
		Set(expression.Name(aActKey), expression.Value(activityKeyOf(e.MemberID, e.At)))
	if op.CreditQualifying != 0 {
		upd = upd.Add(expression.Name(aQualifying+"."+op.CreditMonth), expression.Value(int64(op.CreditQualifying))).
			Add(expression.Name(aRoom), expression.Value(-int64(op.CreditQualifying)))
		// Forget months no tier window can count any more, so the map stays
		// bounded without a read (removing an absent key is a no-op).
		for _, m := range loyalty.StaleQualifyingMonths(e.At, staleQualifyingSpan) {
			if m != op.CreditMonth {
				upd = upd.Remove(expression.Name(aQualifying + "." + m))
			}
		}
	}
	ex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return nil, nil, fmt.Errorf("build credit expression: %w", err)
	}
	update := &types.Update{TableName: &s.table, Key: s.key(memberPK(e.MemberID), skAccount),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
	for attempt := 0; ; attempt++ {
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:          []types.TransactWriteItem{{Put: put}, {Update: update}},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			return &loyalty.Result{Entry: e}, nil, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, nil, s.classify(err, "credit member %s", e.MemberID)
		}
		reasons := tce.CancellationReasons
		if len(reasons) == 2 && failedAt(tce, 0) && failedAt(tce, 1) && len(reasons[1].Item) == 0 {
			// The entry without its account: see Apply.
			if err := s.erasedOr(ctx, e.MemberID, nil); err != nil {
				return nil, nil, err
			}
		}
		if len(reasons) == 2 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed" {
			prior, err := decodeEntry(reasons[0].Item)
			if err != nil {
				return nil, nil, err
			}
			res, err := s.replay(prior, op.Fingerprint)
			return &res, nil, err
		}
		if len(reasons) == 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed" {
			if len(reasons[1].Item) == 0 {
				return nil, nil, nil // no account yet
			}
			a, err := decodeAccount(reasons[1].Item)
			if err != nil {
				return nil, nil, err
			}
			return nil, &a, nil
		}
		if !conflicted(reasons) || attempt+1 >= 8 {
			return nil, nil, s.classify(err, "credit member %s", e.MemberID)
		}
		if err := backoff(ctx, attempt+1); err != nil {
			return nil, nil, err
		}
	}
}

// readForApply reads the op's entry (a replay if it exists) and the account
// with one strongly consistent BatchGetItem.
func (s *Store) readForApply(ctx context.Context, member loyalty.MemberID, key string) (*loyalty.Entry, loyalty.Account, bool, error) {
	pk := memberPK(member)
	keys := []map[string]types.AttributeValue{s.key(pk, skAccount), s.key(pk, entrySK(key))}
	var items []map[string]types.AttributeValue
	req := map[string]types.KeysAndAttributes{s.table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	for attempt := 0; len(req) > 0; attempt++ {
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			return nil, loyalty.Account{}, false, s.classify(err, "read member %s", member)
		}
		s.meterRead(int64(len(out.Responses[s.table])), out.ConsumedCapacity...)
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
		if len(req) > 0 {
			if err := backoff(ctx, attempt+1); err != nil {
				return nil, loyalty.Account{}, false, err
			}
		}
	}
	var (
		acct   loyalty.Account
		exists bool
		prior  *loyalty.Entry
	)
	for _, it := range items {
		switch sk := stringAttr(it, "sk"); sk {
		case skAccount:
			a, err := decodeAccount(it)
			if err != nil {
				return nil, loyalty.Account{}, false, err
			}
			acct, exists = a, true
		default:
			e, err := decodeEntry(it)
			if err != nil {
				return nil, loyalty.Account{}, false, err
			}
			prior = &e
		}
	}
	if !exists {
		acct = loyalty.Account{MemberID: member}
	}
	return prior, acct, exists, nil
}

// write puts a planned change in one transaction. res is set when the op is
// settled (written or replayed); nil res and nil error mean "plan again".
func (s *Store) write(ctx context.Context, op loyalty.Op, before loyalty.Account, exists bool, c loyalty.Change) (*loyalty.Result, error) {
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
