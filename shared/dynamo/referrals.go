package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The store keeps referrals for loyalty.Service (loyalty.ReferralStore).
var _ loyalty.ReferralStore = (*Store)(nil)

// codeRecord maps a referral code to its member (RC#<code>), and the member
// to their code (M#<member>/RC), so that an erasure finds the code.
type codeRecord struct {
	PK     string    `dynamodbav:"pk"`
	SK     string    `dynamodbav:"sk"`
	Code   string    `dynamodbav:"code"`
	Member string    `dynamodbav:"m"`
	At     time.Time `dynamodbav:"at"`
}

// refereeRecord is one referral: under the referee (RB: who referred them,
// kept for good) and under the referrer (RE#<referee>: where it stands).
type refereeRecord struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Referrer string    `dynamodbav:"rr"`
	Referee  string    `dynamodbav:"re"`
	Code     string    `dynamodbav:"code"`
	Enrolled time.Time `dynamodbav:"at"`
	State    string    `dynamodbav:"st,omitempty"`
	Settled  string    `dynamodbav:"set,omitempty"` // RFC 3339
	Purchase string    `dynamodbav:"pur,omitempty"`
	Reason   string    `dynamodbav:"rsn,omitempty"`
}

// refMonthRecord counts a referrer's settled referrals of one month.
type refMonthRecord struct {
	Paid   int `dynamodbav:"paid"`
	Capped int `dynamodbav:"capped"`
}

const (
	aPaid   = "paid"
	aCapped = "capped"
)

func refereeItem(pk, sk string, r loyalty.Referee) (map[string]types.AttributeValue, error) {
	rec := refereeRecord{PK: pk, SK: sk, Referrer: string(r.Referrer), Referee: string(r.Member), Code: r.Code,
		Enrolled: r.EnrolledAt.UTC(), State: string(r.State), Purchase: r.PurchaseKey, Reason: r.Reason}
	if !r.SettledAt.IsZero() {
		rec.Settled = r.SettledAt.UTC().Format(time.RFC3339Nano)
	}
	return attributevalue.MarshalMap(rec)
}

func decodeReferee(item map[string]types.AttributeValue) (loyalty.Referee, error) {
	var rec refereeRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return loyalty.Referee{}, fmt.Errorf("decode referral: %w", err)
	}
	r := loyalty.Referee{Referrer: loyalty.MemberID(rec.Referrer), Member: loyalty.MemberID(rec.Referee), Code: rec.Code,
		EnrolledAt: rec.Enrolled, State: loyalty.ReferralState(rec.State), PurchaseKey: rec.Purchase, Reason: rec.Reason}
	if rec.Settled != "" {
		t, err := time.Parse(time.RFC3339Nano, rec.Settled)
		if err != nil {
			return loyalty.Referee{}, fmt.Errorf("decode referral: settled %q: %w", rec.Settled, err)
		}
		r.SettledAt = t
	}
	return r, nil
}

// CodeOwner implements loyalty.ReferralStore.
func (s *Store) CodeOwner(ctx context.Context, code string) (loyalty.MemberID, error) {
	item, err := s.get(ctx, codePK(code), skCode, true)
	if err != nil {
		return "", err
	}
	if item == nil {
		return "", loyalty.Errorf(loyalty.CodeNotFound, "no referral code %s", code)
	}
	var rec codeRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return "", fmt.Errorf("decode referral code: %w", err)
	}
	return loyalty.MemberID(rec.Member), nil
}

// ClaimCode implements loyalty.ReferralStore: the code item and the
// member's copy are written together, the code only if it is free or the
// member's already, and neither for an erased member (CodeMemberErased).
func (s *Store) ClaimCode(ctx context.Context, code string, member loyalty.MemberID, at time.Time) (bool, error) {
	now := at.UTC()
	byCode, err := attributevalue.MarshalMap(codeRecord{PK: codePK(code), SK: skCode, Code: code, Member: string(member), At: now})
	if err != nil {
		return false, err
	}
	byMember, err := attributevalue.MarshalMap(codeRecord{PK: memberPK(member), SK: skReferralCode, Code: code, Member: string(member), At: now})
	if err != nil {
		return false, err
	}
	cond := expression.AttributeNotExists(expression.Name("pk")).Or(expression.Name("m").Equal(expression.Value(string(member))))
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build code condition: %w", err)
	}
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: byCode, ConditionExpression: ex.Condition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
		{Put: &types.Put{TableName: &s.table, Item: byMember}},
		s.notErased(member),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 2):
		return false, errErased()
	case errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed":
		return false, nil
	case err != nil:
		return false, s.classify(err, "claim referral code for member %s", member)
	}
	s.meter(out.ConsumedCapacity...)
	return true, nil
}

// Referral implements loyalty.ReferralStore.
func (s *Store) Referral(ctx context.Context, member loyalty.MemberID) (loyalty.Referee, bool, error) {
	item, err := s.get(ctx, memberPK(member), skReferredBy, true)
	if err != nil || item == nil {
		return loyalty.Referee{}, false, err
	}
	r, err := decodeReferee(item)
	return r, err == nil, err
}

// Referees implements loyalty.ReferralStore.
func (s *Store) Referees(ctx context.Context, referrer loyalty.MemberID) ([]loyalty.Referee, error) {
	return queryDecoded(ctx, s, memberPK(referrer), prefixReferee, decodeReferee)
}

// ReferralMonth implements loyalty.ReferralStore.
func (s *Store) ReferralMonth(ctx context.Context, referrer loyalty.MemberID, month string) (loyalty.ReferralMonth, error) {
	item, err := s.get(ctx, memberPK(referrer), refMonthSK(month), true)
	if err != nil || item == nil {
		return loyalty.ReferralMonth{Month: month}, err
	}
	var rec refMonthRecord
	if err := attributevalue.UnmarshalMap(item, &rec); err != nil {
		return loyalty.ReferralMonth{}, fmt.Errorf("decode referral month: %w", err)
	}
	return loyalty.ReferralMonth{Month: month, Paid: rec.Paid, Capped: rec.Capped}, nil
}

// HasEntries implements loyalty.ReferralStore with one Query of at most one
// key of the member's ledger.
func (s *Store) HasEntries(ctx context.Context, member loyalty.MemberID, keyPrefix string) (bool, error) {
	kc := expression.Key("pk").Equal(expression.Value(memberPK(member))).And(expression.Key("sk").BeginsWith(entrySK(keyPrefix)))
	ex, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(expression.NamesList(expression.Name("sk"))).Build()
	if err != nil {
		return false, fmt.Errorf("build ledger query: %w", err)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
		ProjectionExpression: ex.Projection(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		Limit: aws.Int32(1), ConsistentRead: aws.Bool(true), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return false, s.classify(err, "query ledger of member %s", member)
	}
	s.mu.Lock()
	s.consumed.Queries++
	s.mu.Unlock()
	if out.ConsumedCapacity != nil {
		s.meterRead(int64(out.Count), *out.ConsumedCapacity)
	}
	return out.Count > 0, nil
}

// EnrolReferral implements loyalty.ReferralStore in one transaction.
func (s *Store) EnrolReferral(ctx context.Context, ref loyalty.Referee, acctVersion int64, chainEnd loyalty.MemberID) error {
	cond := expression.Name(aVersion).Equal(expression.Value(acctVersion)).And(expression.AttributeNotExists(expression.Name(aReferredBy)))
	upd := expression.Set(expression.Name(aReferredBy), expression.Value(string(ref.Referrer))).Add(expression.Name(aVersion), expression.Value(1))
	ex, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("build referral expression: %w", err)
	}
	permanent := ref
	permanent.State = "" // the referee's copy only says who referred them; the referrer's says where it stands
	referredBy, err := refereeItem(memberPK(ref.Member), skReferredBy, permanent)
	if err != nil {
		return err
	}
	referee, err := refereeItem(memberPK(ref.Referrer), refereeSK(ref.Member), ref)
	if err != nil {
		return err
	}
	isNew := aws.String("attribute_not_exists(pk)")
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: s.key(memberPK(ref.Member), skAccount), ConditionExpression: ex.Condition(),
			UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
		{Put: &types.Put{TableName: &s.table, Item: referredBy, ConditionExpression: isNew}},
		{Put: &types.Put{TableName: &s.table, Item: referee, ConditionExpression: isNew}},
	}
	if chainEnd != "" {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table,
			Key: s.key(memberPK(chainEnd), skReferredBy), ConditionExpression: isNew}})
	}
	// The referrer must not be erased meanwhile, or their record of the
	// referee would land in a partition the erasure has swept already.
	items = append(items, s.notErased(ref.Referrer))
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "", "None", "ConditionalCheckFailed", "TransactionConflict":
			default:
				return s.classify(err, "enrol referral of member %s", ref.Member)
			}
		}
		return &loyalty.Error{Code: loyalty.CodeConflict, Message: "the member or the referral chain changed", Err: err}
	}
	if err != nil {
		return s.classify(err, "enrol referral of member %s", ref.Member)
	}
	s.meter(out.ConsumedCapacity...)
	return nil
}

// referralItems are the referrer's side of a payout, for the purchase's
// transaction: their entry and account (at the version read), the month's
// counter (under the cap only while it still is) and their record of the
// referee.
func (s *Store) referralItems(pay *loyalty.ReferralPayout) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	referrer := pay.Referee.Referrer
	if pay.Entry != nil && pay.Account != nil {
		put, err := s.putEntry(*pay.Entry)
		if err != nil {
			return nil, err
		}
		put.ReturnValuesOnConditionCheckFailure = ""
		acct := *pay.Account
		before := acct.Version
		acct.Version++
		acctItem, err := accountItem(acct)
		if err != nil {
			return nil, err
		}
		ex, err := expression.NewBuilder().WithCondition(expression.Name(aVersion).Equal(expression.Value(before))).Build()
		if err != nil {
			return nil, fmt.Errorf("build referrer condition: %w", err)
		}
		items = append(items, types.TransactWriteItem{Put: put}, types.TransactWriteItem{Put: &types.Put{TableName: &s.table,
			Item: acctItem, ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})
	}
	var ex expression.Expression
	var err error
	if pay.Capped {
		ex, err = expression.NewBuilder().WithUpdate(expression.Add(expression.Name(aCapped), expression.Value(1))).Build()
	} else {
		cond := expression.AttributeNotExists(expression.Name(aPaid)).Or(expression.Name(aPaid).LessThan(expression.Value(pay.Cap)))
		ex, err = expression.NewBuilder().WithCondition(cond).WithUpdate(expression.Add(expression.Name(aPaid), expression.Value(1))).Build()
	}
	if err != nil {
		return nil, fmt.Errorf("build referral counter: %w", err)
	}
	items = append(items, types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: s.key(memberPK(referrer), refMonthSK(pay.Month)),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})
	rec, err := refereeItem(memberPK(referrer), refereeSK(pay.Referee.Member), pay.Referee)
	if err != nil {
		return nil, err
	}
	// The record exists since the enrolment; that it still does means the
	// referrer was not erased meanwhile (which would make this plan again).
	return append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: rec,
		ConditionExpression: aws.String("attribute_exists(pk)")}}), nil
}
