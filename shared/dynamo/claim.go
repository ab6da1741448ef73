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

// PutUnclaimedCard implements loyalty.CardStore: the card item only, put
// only if the number is new. The anonymous account comes with the card's
// first purchase, as any member's does.
func (s *Store) PutUnclaimedCard(ctx context.Context, c loyalty.Card) error {
	item, err := attributevalue.MarshalMap(cardRecord{PK: cardPK(c.Number), SK: skCard, Number: string(c.Number), Member: string(c.Member),
		State: string(c.State), IssuedAt: c.IssuedAt.UTC(), ClaimHash: c.ClaimHash})
	if err != nil {
		return fmt.Errorf("encode card: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return loyalty.Errorf(loyalty.CodeConflict, "the card number is taken")
	}
	return s.classify(err, "put card %s", c.Number)
}

// maxClaimItems is what one TransactWriteItems holds.
const maxClaimItems = 100

// ClaimCard implements loyalty.CardStore. It reads the anonymous partition
// (account, entries, rewards; one Query) and the member's account, merges
// in the domain, and writes in one transaction:
//
//	the card         unclaimed -> the member's, only while unclaimed
//	anonymous A      deleted, only at the version read (a purchase since: read again)
//	its mark         ERASURE#<fp of the anonymous id>, put: the id takes no more changes
//	member A         put merged, only at the version read (or if new)
//	member's mark    checked absent (never erased)
//	MC#<number>      the member's copy of the card, for the erasure
//	each entry and reward: put under the member (only if new), deleted from the anonymous partition
//
// Anything else of the anonymous partition (notifications, the class) is
// deleted with it.
func (s *Store) ClaimCard(ctx context.Context, c loyalty.Card, member loyalty.MemberID, now time.Time,
	merge func(mine loyalty.Account, exists bool, anon loyalty.Account) loyalty.Account) (loyalty.CardClaim, error) {
	anonID := c.Member
	for attempt := 0; ; attempt++ {
		if attempt >= s.MaxAttempts {
			return loyalty.CardClaim{}, loyalty.Transient(nil, "too much contention on card %s, retry later", c.Number)
		}
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return loyalty.CardClaim{}, err
			}
		}
		items, err := s.wholePartition(ctx, anonID)
		if err != nil {
			return loyalty.CardClaim{}, err
		}
		var (
			anon       loyalty.Account
			anonExists bool
			entries    []loyalty.Entry
			rewards    []loyalty.Redemption
			others     []map[string]types.AttributeValue
		)
		for _, it := range items {
			switch sk := stringAttr(it, "sk"); {
			case sk == skAccount:
				if anon, err = decodeAccount(it); err != nil {
					return loyalty.CardClaim{}, err
				}
				anonExists = true
			case strings.HasPrefix(sk, prefixEntry):
				e, err := decodeEntry(it)
				if err != nil {
					return loyalty.CardClaim{}, err
				}
				entries = append(entries, e)
			case strings.HasPrefix(sk, prefixRedemption):
				r, err := decodeRedemption(it)
				if err != nil {
					return loyalty.CardClaim{}, err
				}
				rewards = append(rewards, r)
			default:
				others = append(others, it)
			}
		}
		if anonExists {
			// A Query is read-committed per item: a purchase's entry and
			// its account update may show half. Only a consistent picture
			// is merged.
			if p := loyalty.AuditAccount(anon, entries); p != nil {
				continue
			}
		}
		if n := 6 + 2*(len(entries)+len(rewards)) + len(others); n > maxClaimItems {
			return loyalty.CardClaim{}, loyalty.Errorf(loyalty.CodeConflict, "card %s has more history than one claim moves (%d items)", c.Number.Printable(), n)
		}
		mine, mineExists := loyalty.Account{MemberID: member}, false
		if item, err := s.get(ctx, memberPK(member), skAccount, true); err != nil {
			return loyalty.CardClaim{}, err
		} else if item != nil {
			if mine, err = decodeAccount(item); err != nil {
				return loyalty.CardClaim{}, err
			}
			mineExists = true
		}
		merged := merge(mine, mineExists, anon)
		merged.Version = mine.Version + 1
		tx, err := s.claimItems(c, member, anonID, anon, anonExists, mine, mineExists, merged, entries, rewards, others, now)
		if err != nil {
			return loyalty.CardClaim{}, err
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			claimed := c
			claimed.Member, claimed.State = member, loyalty.CardActive
			return loyalty.CardClaim{Card: claimed, Points: anon.Balance, Entries: len(entries)}, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return loyalty.CardClaim{}, s.classify(err, "claim card %s for member %s", c.Number, member)
		}
		switch {
		case failedAt(tce, 0):
			return loyalty.CardClaim{}, loyalty.Errorf(loyalty.CodeConflict, "card %s was claimed meanwhile", c.Number.Printable())
		case failedAt(tce, 4):
			return loyalty.CardClaim{}, errErased()
		}
		// A purchase moved the anonymous account, or the member's: again.
	}
}

// wholePartition reads every item of a member's partition, consistently.
func (s *Store) wholePartition(ctx context.Context, id loyalty.MemberID) ([]map[string]types.AttributeValue, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(memberPK(id)))).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	var items []map[string]types.AttributeValue
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ConsistentRead: aws.Bool(true),
			ExclusiveStartKey: start, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			return nil, s.classify(err, "read the partition of %s", id)
		}
		s.mu.Lock()
		s.consumed.Queries++
		s.mu.Unlock()
		if out.ConsumedCapacity != nil {
			s.meterRead(int64(out.Count), *out.ConsumedCapacity)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 || len(items) > maxClaimItems {
			return items, nil
		}
		start = out.LastEvaluatedKey
	}
}

// claimItems is the claim's transaction; the card is item 0 and the
// member's erasure check item 4 (ClaimCard reads the failures by index).
func (s *Store) claimItems(c loyalty.Card, member, anonID loyalty.MemberID, anon loyalty.Account, anonExists bool,
	mine loyalty.Account, mineExists bool, merged loyalty.Account, entries []loyalty.Entry, rewards []loyalty.Redemption,
	others []map[string]types.AttributeValue, now time.Time) ([]types.TransactWriteItem, error) {
	cardEx, err := expression.NewBuilder().
		WithCondition(expression.Name(aState).Equal(expression.Value(string(loyalty.CardUnclaimed)))).
		WithUpdate(expression.Set(expression.Name(aState), expression.Value(string(loyalty.CardActive))).
			Set(expression.Name("m"), expression.Value(string(member))).
			Set(expression.Name("cat"), expression.Value(now.UTC()))).Build() // the claim hash stays: a retry is recognised
	if err != nil {
		return nil, fmt.Errorf("build card claim: %w", err)
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{TableName: &s.table, Key: s.key(cardPK(c.Number), skCard),
		ConditionExpression: cardEx.Condition(), UpdateExpression: cardEx.Update(),
		ExpressionAttributeNames: cardEx.Names(), ExpressionAttributeValues: cardEx.Values()}}}
	// 1: the anonymous account, at the version read (or still absent).
	if anonExists {
		ex, err := expression.NewBuilder().WithCondition(expression.Name(aVersion).Equal(expression.Value(anon.Version))).Build()
		if err != nil {
			return nil, err
		}
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: s.key(memberPK(anonID), skAccount),
			ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})
	} else {
		tx = append(tx, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &s.table,
			Key: s.key(memberPK(anonID), skAccount), ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	}
	// 2: the anonymous id's mark: it takes no more changes.
	mark, err := attributevalue.MarshalMap(erasureRecord{PK: erasurePK(anonID), SK: skErasure, State: "merged", Requested: now.UTC(),
		Balance: int64(anon.Balance), Lifetime: int64(anon.Lifetime), Erased: now.UTC().Format(time.RFC3339Nano)})
	if err != nil {
		return nil, err
	}
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: mark, ConditionExpression: aws.String("attribute_not_exists(pk)")}})
	// 3: the member's account, merged.
	acctItem, err := accountItem(merged)
	if err != nil {
		return nil, err
	}
	cond := expression.AttributeNotExists(expression.Name("pk"))
	if mineExists {
		cond = expression.Name(aVersion).Equal(expression.Value(mine.Version))
	}
	ex, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, err
	}
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: acctItem,
		ConditionExpression: ex.Condition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}})
	// 4: the member was never erased; 5: the member's copy of the card.
	tx = append(tx, s.notErased(member))
	mc, err := attributevalue.MarshalMap(cardRecord{PK: memberPK(member), SK: memberCardSK(c.Number), Number: string(c.Number),
		State: string(loyalty.CardActive), IssuedAt: c.IssuedAt.UTC()})
	if err != nil {
		return nil, err
	}
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: mc}})
	isNew := aws.String("attribute_not_exists(pk)")
	for _, e := range entries {
		old := e.Key
		e.MemberID = member
		it, err := entryItem(e)
		if err != nil {
			return nil, err
		}
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it, ConditionExpression: isNew}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: s.key(memberPK(anonID), entrySK(old))}})
	}
	for _, r := range rewards {
		id := r.ID
		r.MemberID = member
		it, err := redemptionItem(r)
		if err != nil {
			return nil, err
		}
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: it, ConditionExpression: isNew}},
			types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: s.key(memberPK(anonID), redemptionSK(id))}})
	}
	for _, it := range others {
		tx = append(tx, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}}})
	}
	return tx, nil
}
