package dynamo

import (
	"context"
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
)

var _ loyalty.CardStore = (*Store)(nil)

// cardRecord is the stored shape of a card, both as CARD#<number> and as
// the member's MC#<number>.
type cardRecord struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Number    string    `dynamodbav:"n"`
	Member    string    `dynamodbav:"m,omitempty"` // on CARD# only: the partition names the member otherwise
	State     string    `dynamodbav:"st"`
	IssuedAt  time.Time `dynamodbav:"at"`
	BlockedAt time.Time `dynamodbav:"bat,omitzero"`
	ClaimHash string    `dynamodbav:"ch,omitempty"` // a printed card's claim secret, hashed (claim.go)
}

type shortCodeRecord struct {
	PK      string    `dynamodbav:"pk"`
	SK      string    `dynamodbav:"sk"`
	CodeID  string    `dynamodbav:"cid,omitempty"`
	Member  string    `dynamodbav:"m,omitempty"`
	Digits  string    `dynamodbav:"d"`
	Expires time.Time `dynamodbav:"exp"`
	TTL     int64     `dynamodbav:"ttl"`
}

// codeTTLGrace keeps a code's items a day past its expiry: until then its
// expiry, not its absence, is the answer.
const codeTTLGrace = 24 * time.Hour

// MemberCard implements loyalty.CardStore: one read of the member's pointer
// and one of the card (both strongly consistent).
func (s *Store) MemberCard(ctx context.Context, id loyalty.MemberID) (loyalty.Card, error) {
	item, err := s.get(ctx, memberPK(id), skCardCurrent, true)
	if err != nil {
		return loyalty.Card{}, err
	}
	if item == nil {
		return loyalty.Card{}, loyalty.Errorf(loyalty.CodeNotFound, "the member has no card yet")
	}
	c, err := s.CardByNumber(ctx, loyalty.CardNumber(stringAttr(item, "n")))
	if err != nil {
		return loyalty.Card{}, err
	}
	if c.Member != id {
		return loyalty.Card{}, &loyalty.Error{Code: loyalty.CodeInternal, Message: "internal error",
			Err: fmt.Errorf("member %s's current card %s names another member", id, c.Number)}
	}
	return c, nil
}

// CardByNumber implements loyalty.CardStore with one read.
func (s *Store) CardByNumber(ctx context.Context, n loyalty.CardNumber) (loyalty.Card, error) {
	item, err := s.get(ctx, cardPK(n), skCard, true)
	if err != nil {
		return loyalty.Card{}, err
	}
	if item == nil {
		return loyalty.Card{}, loyalty.Errorf(loyalty.CodeNotFound, "no card has that number")
	}
	var r cardRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.Card{}, fmt.Errorf("decode card: %w", err)
	}
	return loyalty.Card{Number: loyalty.CardNumber(r.Number), Member: loyalty.MemberID(r.Member), State: loyalty.CardState(r.State),
		IssuedAt: r.IssuedAt, BlockedAt: r.BlockedAt, ClaimHash: r.ClaimHash}, nil
}

func (s *Store) cardPuts(c loyalty.Card) ([]types.TransactWriteItem, error) {
	card, err := attributevalue.MarshalMap(cardRecord{PK: cardPK(c.Number), SK: skCard, Number: string(c.Number), Member: string(c.Member),
		State: string(c.State), IssuedAt: c.IssuedAt.UTC()})
	if err != nil {
		return nil, fmt.Errorf("encode card: %w", err)
	}
	mine, err := attributevalue.MarshalMap(cardRecord{PK: memberPK(c.Member), SK: memberCardSK(c.Number), Number: string(c.Number),
		State: string(c.State), IssuedAt: c.IssuedAt.UTC()})
	if err != nil {
		return nil, fmt.Errorf("encode card: %w", err)
	}
	isNew := aws.String("attribute_not_exists(pk)")
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: card, ConditionExpression: isNew}},
		{Put: &types.Put{TableName: &s.table, Item: mine, ConditionExpression: isNew}},
	}, nil
}

// IssueCard implements loyalty.CardStore: the card, the member's copy and
// the member's pointer in one transaction, only if the number is new, the
// member has no card and was never erased.
func (s *Store) IssueCard(ctx context.Context, c loyalty.Card) error {
	items, err := s.cardPuts(c)
	if err != nil {
		return err
	}
	items = append(items,
		types.TransactWriteItem{Put: &types.Put{TableName: &s.table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: memberPK(c.Member)},
				"sk": &types.AttributeValueMemberS{Value: skCardCurrent}, "n": &types.AttributeValueMemberS{Value: string(c.Number)}}}},
		s.notErased(c.Member))
	return s.cardTransaction(ctx, items, 3, "issue a card to member %s", c.Member)
}

// ReplaceCard implements loyalty.CardStore: the old card and its copy are
// blocked (only while active and current), the new one put, and the
// pointer moved, in one transaction.
func (s *Store) ReplaceCard(ctx context.Context, old, next loyalty.Card, now time.Time) error {
	if old.Member != next.Member {
		return loyalty.Errorf(loyalty.CodeConflict, "a card is replaced by a card of the same member")
	}
	items, err := s.cardPuts(next)
	if err != nil {
		return err
	}
	block := func(pk, sk string) (types.TransactWriteItem, error) {
		ex, err := expression.NewBuilder().
			WithCondition(expression.Name(aState).Equal(expression.Value(string(loyalty.CardActive)))).
			WithUpdate(expression.Set(expression.Name(aState), expression.Value(string(loyalty.CardBlocked))).
				Set(expression.Name("bat"), expression.Value(now.UTC()))).Build()
		if err != nil {
			return types.TransactWriteItem{}, fmt.Errorf("build block expression: %w", err)
		}
		return types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: s.key(pk, sk),
			ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}}, nil
	}
	b1, err := block(cardPK(old.Number), skCard)
	if err != nil {
		return err
	}
	b2, err := block(memberPK(old.Member), memberCardSK(old.Number))
	if err != nil {
		return err
	}
	ptr, err := expression.NewBuilder().WithCondition(expression.Name("n").Equal(expression.Value(string(old.Number)))).
		WithUpdate(expression.Set(expression.Name("n"), expression.Value(string(next.Number)))).Build()
	if err != nil {
		return fmt.Errorf("build card pointer expression: %w", err)
	}
	items = append(items, b1, b2,
		types.TransactWriteItem{Update: &types.Update{TableName: &s.table, Key: s.key(memberPK(old.Member), skCardCurrent),
			ConditionExpression: ptr.Condition(), UpdateExpression: ptr.Update(),
			ExpressionAttributeNames: ptr.Names(), ExpressionAttributeValues: ptr.Values()}},
		s.notErased(old.Member))
	return s.cardTransaction(ctx, items, 5, "replace card of member %s", old.Member)
}

// cardTransaction writes items; the erasure check is item erasedAt, any
// other failed condition is a conflict.
func (s *Store) cardTransaction(ctx context.Context, items []types.TransactWriteItem, erasedAt int, format string, args ...any) error {
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err == nil {
		s.meter(out.ConsumedCapacity...)
		return nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && !conflicted(tce.CancellationReasons) {
		if failedAt(tce, erasedAt) {
			return errErased()
		}
		return loyalty.Errorf(loyalty.CodeConflict, "the card changed meanwhile")
	}
	return s.classify(err, format, args...)
}

// PutShortCode implements loyalty.CardStore: the code, put only if its
// digits are free or their code expired, and the member's pointer, with
// the erasure check, in one transaction.
func (s *Store) PutShortCode(ctx context.Context, c loyalty.ShortCode) error {
	ttl := c.Expires.Add(codeTTLGrace).Unix()
	code, err := attributevalue.MarshalMap(shortCodeRecord{PK: shortCodePK(c.Digits), SK: skCard, CodeID: c.CodeID, Member: string(c.Member),
		Digits: c.Digits, Expires: c.Expires.UTC(), TTL: ttl})
	if err != nil {
		return fmt.Errorf("encode short code: %w", err)
	}
	mine, err := attributevalue.MarshalMap(shortCodeRecord{PK: memberPK(c.Member), SK: shortCodePK(c.Digits), Digits: c.Digits,
		Expires: c.Expires.UTC(), TTL: ttl})
	if err != nil {
		return fmt.Errorf("encode short code: %w", err)
	}
	free, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name("pk")).
		// Codes live an hour at most: one that expired an hour before this
		// one expires is over, whatever the clocks say.
		Or(expression.Name("exp").LessThan(expression.Value(c.Expires.Add(-time.Hour).UTC())))).Build()
	if err != nil {
		return fmt.Errorf("build short code condition: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: code, ConditionExpression: free.Condition(),
			ExpressionAttributeNames: free.Names(), ExpressionAttributeValues: free.Values()}},
		{Put: &types.Put{TableName: &s.table, Item: mine}},
		s.notErased(c.Member),
	}
	return s.cardTransaction(ctx, items, 2, "put a short code of member %s", c.Member)
}

// ResolveShortCode implements loyalty.CardStore: one BatchGetItem reads the
// code and the partner's misses of this minute; a miss adds one to them.
func (s *Store) ResolveShortCode(ctx context.Context, partner, digits string, now time.Time, maxMisses int) (loyalty.ShortCode, error) {
	minute := now.UTC().Format("2006-01-02T15:04")
	missKey := s.key(shortMissesPK(partner, minute), skShortMisses)
	req := map[string]types.KeysAndAttributes{s.table: {Keys: []map[string]types.AttributeValue{s.key(shortCodePK(digits), skCard), missKey},
		ConsistentRead: aws.Bool(true)}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			return loyalty.ShortCode{}, s.classify(err, "resolve a short code of partner %s", partner)
		}
		s.meterRead(int64(len(out.Responses[s.table])), out.ConsumedCapacity...)
		items = append(items, out.Responses[s.table]...)
		req = out.UnprocessedKeys
		if len(req) > 0 {
			if err := backoff(ctx, attempt+1); err != nil {
				return loyalty.ShortCode{}, err
			}
		}
	}
	var code *shortCodeRecord
	misses := 0
	for _, it := range items {
		if strings.HasPrefix(stringAttr(it, "pk"), prefixShortMisses) {
			if v, ok := it["n"].(*types.AttributeValueMemberN); ok {
				fmt.Sscan(v.Value, &misses)
			}
			continue
		}
		var r shortCodeRecord
		if err := attributevalue.UnmarshalMap(it, &r); err != nil {
			return loyalty.ShortCode{}, fmt.Errorf("decode short code: %w", err)
		}
		code = &r
	}
	if misses >= maxMisses {
		return loyalty.ShortCode{}, loyalty.RateLimited(partner, maxMisses)
	}
	if code != nil {
		return loyalty.ShortCode{Digits: code.Digits, CodeID: code.CodeID, Member: loyalty.MemberID(code.Member), Expires: code.Expires}, nil
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: missKey,
		UpdateExpression:          aws.String("ADD n :one SET #ttl = :ttl"),
		ExpressionAttributeNames:  map[string]string{"#ttl": "ttl"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}, ":ttl": &types.AttributeValueMemberN{Value: fmt.Sprint(now.Add(time.Hour).Unix())}},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal})
	if err != nil {
		return loyalty.ShortCode{}, s.classify(err, "count a miss of partner %s", partner)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return loyalty.ShortCode{}, loyalty.Errorf(loyalty.CodeNotFound, "no live code has these digits")
}

// codeUse is the transaction item that spends op.Code: put only if no
// other op spent it. It names the ledger key, never the member.
// Its TTL, from the wall clock (DynamoDB's TTL runs on it), outlives any
// code issued before the purchase.
func (s *Store) codeUse(op loyalty.Op) types.TransactWriteItem {
	at := time.Now()
	return types.TransactWriteItem{Put: &types.Put{TableName: &s.table, ConditionExpression: aws.String("attribute_not_exists(pk)"),
		Item: map[string]types.AttributeValue{
			"pk":  &types.AttributeValueMemberS{Value: codeUsePK(op.Code)},
			"sk":  &types.AttributeValueMemberS{Value: skCodeUse},
			"k":   &types.AttributeValueMemberS{Value: op.Key},
			"ttl": &types.AttributeValueMemberN{Value: fmt.Sprint(at.Add(time.Hour + codeTTLGrace).Unix())},
		}}}
}
