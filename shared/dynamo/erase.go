package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

type erasureRecord struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Entries  int       `dynamodbav:"n"`
	Balance  int64     `dynamodbav:"bal"`
	Lifetime int64     `dynamodbav:"life"`
	ErasedAt time.Time `dynamodbav:"at"`
}

// EraseMember deletes every item of the member's partition (account, ledger
// with its purchase references, redemptions) after writing the anonymised
// totals under a random id. Erasing an unknown member is CodeNotFound.
func (s *Store) EraseMember(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Erasure, error) {
	acct, err := s.Account(ctx, id)
	if err != nil {
		return loyalty.Erasure{}, err
	}
	items, err := s.queryAll(ctx, memberPK(id), "")
	if err != nil {
		return loyalty.Erasure{}, err
	}
	linked, err := linkedItems(items) // outside the partition: feedback by day, referral code, the referrer's record (feedback.go)
	if err != nil {
		return loyalty.Erasure{}, err
	}
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return loyalty.Erasure{}, err
	}
	er := loyalty.Erasure{AnonymousID: hex.EncodeToString(rnd[:]), Balance: acct.Balance, Lifetime: acct.Lifetime, ErasedAt: now.UTC()}
	for _, it := range items {
		if sk := stringAttr(it, "sk"); len(sk) > len(prefixEntry) && sk[:len(prefixEntry)] == prefixEntry {
			er.Entries++
		}
	}
	rec, err := attributevalue.MarshalMap(erasureRecord{PK: pkErased, SK: er.AnonymousID, Entries: er.Entries,
		Balance: int64(er.Balance), Lifetime: int64(er.Lifetime), ErasedAt: er.ErasedAt})
	if err != nil {
		return loyalty.Erasure{}, err
	}
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: rec}); err != nil {
		return loyalty.Erasure{}, s.classify(err, "record erasure")
	}
	for _, it := range append(items, linked...) {
		_, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.table,
			Key: map[string]types.AttributeValue{"pk": it["pk"], "sk": it["sk"]}})
		if err != nil {
			return loyalty.Erasure{}, s.classify(err, "erase member %s", id)
		}
	}
	return er, nil
}
