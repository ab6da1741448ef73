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

// claimPage is how many items of a card's history one page moves: each
// is a put under the member and a delete from the anonymous partition, and
// with the check that the member was never erased one TransactWriteItems
// holds 100 items.
const claimPage = 48

// aHistory, on the member's copy of a claimed card (MC#), says the card's
// history is still in its anonymous partition; it goes when all is moved.
const aHistory = "hist"

// ClaimCard implements loyalty.CardStore. It reads the anonymous account
// and the member's, merges in the domain, and writes in one transaction:
//
//	the card         unclaimed -> the member's, only while unclaimed
//	anonymous A      deleted, only at the version read (a purchase since: read again)
//	its mark         ERASURE#<fp of the anonymous id>, put: the id takes no more changes
//	member A         put merged, only at the version read (or if new)
//	member's mark    checked absent (never erased)
//	MC#<number>      the member's copy of the card, hist = moving
//
// The entries, rewards and anything else of the anonymous partition stay;
// MoveClaimHistory moves them. They are final: the mark lets no purchase
// write there again.
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
		anon, anonExists := loyalty.Account{MemberID: anonID}, false
		if item, err := s.get(ctx, memberPK(anonID), skAccount, true); err != nil {
			return loyalty.CardClaim{}, err
		} else if item != nil {
			if anon, err = decodeAccount(item); err != nil {
				return loyalty.CardClaim{}, err
			}
			anonExists = true
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
		tx, err := s.claimItems(c, member, anonID, anon, anonExists, mine, mineExists, merged, now)
		if err != nil {
			return loyalty.CardClaim{}, err
		}
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			claimed := c
			claimed.Member, claimed.State = member, loyalty.CardActive
			return loyalty.CardClaim{Card: claimed, Points: anon.Balance, History: loyalty.ClaimMoving}, nil
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

// MoveClaimHistory implements loyalty.CardStore. A page is one consistent
// Query of at most claimPage items of the anonymous partition and one
// transaction: each entry and reward put under the owner (only if new) and
// deleted from the anonymous partition, anything else deleted. A page moved
// by someone else meanwhile fails the transaction as a whole and is read
// again. An empty partition ends it: the hist mark of MC#<number> goes.
// Each page checks that the member was never erased: an erasure that
// started meanwhile deletes what is left of the card's history itself
// (eraseMovingCards), and nothing is put under the erased id
// (CodeMemberErased).
func (s *Store) MoveClaimHistory(ctx context.Context, c loyalty.Card, pages int) (int, bool, error) {
	anonID, member := loyalty.AnonymousMember(c.Number), c.Member
	moved, conflicts := 0, 0
	for page := 0; page < pages; {
		ex, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(memberPK(anonID)))).Build()
		if err != nil {
			return moved, false, fmt.Errorf("build query: %w", err)
		}
		q, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
			ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ConsistentRead: aws.Bool(true),
			Limit: aws.Int32(claimPage), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err != nil {
			return moved, false, s.classify(err, "read the history of card %s", c.Number)
		}
		s.mu.Lock()
		s.consumed.Queries++
		s.mu.Unlock()
		if q.ConsumedCapacity != nil {
			s.meterRead(int64(q.Count), *q.ConsumedCapacity)
		}
		if len(q.Items) == 0 {
			return moved, true, s.claimDone(ctx, c.Number, member)
		}
		tx, entries, err := s.historyPage(q.Items, anonID, member)
		if err != nil {
			return moved, false, err
		}
		tx = append(tx, s.notErased(member)) // at most 2*claimPage+1 items
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
		if err == nil {
			s.meter(out.ConsumedCapacity...)
			moved += entries
			page++
			continue
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return moved, false, s.classify(err, "move the history of card %s", c.Number)
		}
		if failedAt(tce, len(tx)-1) {
			return moved, false, errErased()
		}
		// Another call moved this page meanwhile: read again.
		if conflicts++; conflicts >= s.MaxAttempts {
			return moved, false, loyalty.Transient(nil, "too much contention on the history of card %s, retry later", c.Number)
		}
		if err := backoff(ctx, conflicts); err != nil {
			return moved, false, err
		}
	}
	return moved, false, nil
}

// historyPage is one page's transaction and how many ledger entries it moves.
func (s *Store) historyPage(items []map[string]types.AttributeValue, anonID, member loyalty.MemberID) ([]types.TransactWriteItem, int, error) {
	isNew := aws.String("attribute_not_exists(pk)")
	var tx []types.TransactWriteItem
	entries := 0
	for _, it := range items {
		del := types.TransactWriteItem{Delete: &types.Delete{TableName: &s.table, Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]},
			ConditionExpression: aws.String("attribute_exists(pk)")}}
		switch sk := stringAttr(it, "sk"); {
		case strings.HasPrefix(sk, prefixEntry):
			e, err := decodeEntry(it)
			if err != nil {
				return nil, 0, err
			}
			e.MemberID = member
			put, err := entryItem(e)
			if err != nil {
				return nil, 0, err
			}
			tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: put, ConditionExpression: isNew}}, del)
			entries++
		case strings.HasPrefix(sk, prefixRedemption):
			r, err := decodeRedemption(it)
			if err != nil {
				return nil, 0, err
			}
			r.MemberID = member
			put, err := redemptionItem(r)
			if err != nil {
				return nil, 0, err
			}
			tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: put, ConditionExpression: isNew}}, del)
		default:
			tx = append(tx, del) // notifications, the class: the anonymous id's own
		}
	}
	return tx, entries, nil
}

// claimDone removes the hist mark from the member's copy of the card; a
// copy without it (done already, or the member erased since) is left.
func (s *Store) claimDone(ctx context.Context, n loyalty.CardNumber, member loyalty.MemberID) error {
	ex, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(aHistory))).
		WithUpdate(expression.Remove(expression.Name(aHistory))).Build()
	if err != nil {
		return fmt.Errorf("build claim done: %w", err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(memberPK(member), memberCardSK(n)),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(),
		ExpressionAttributeValues: ex.Values(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil
	}
	if err != nil {
		return s.classify(err, "record the claim of card %s done", n)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return nil
}

// pendingHistory is the ledger entries of the member's claimed cards whose
// history is still moving, read from their anonymous partitions: the
// member's, for the audit, until they move.
func (s *Store) pendingHistory(ctx context.Context, member loyalty.MemberID) ([]loyalty.Entry, error) {
	cards, err := s.queryAll(ctx, memberPK(member), prefixMemberCard)
	if err != nil {
		return nil, err
	}
	var out []loyalty.Entry
	for _, it := range cards {
		if stringAttr(it, aHistory) != loyalty.ClaimMoving {
			continue
		}
		entries, err := s.Ledger(ctx, loyalty.AnonymousMember(loyalty.CardNumber(stringAttr(it, "n"))))
		if err != nil {
			return nil, err
		}
		out = append(out, entries...)
	}
	return out, nil
}

// claimItems is the claim's transaction; the card is item 0 and the
// member's erasure check item 4 (ClaimCard reads the failures by index).
func (s *Store) claimItems(c loyalty.Card, member, anonID loyalty.MemberID, anon loyalty.Account, anonExists bool,
	mine loyalty.Account, mineExists bool, merged loyalty.Account, now time.Time) ([]types.TransactWriteItem, error) {
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
	mark, err := attributevalue.MarshalMap(erasureRecord{PK: erasurePK(anonID), SK: skErasure, State: string(loyalty.ErasureMerged), Requested: now.UTC(),
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
	mc[aHistory] = &types.AttributeValueMemberS{Value: loyalty.ClaimMoving}
	tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: mc}})
	return tx, nil
}
