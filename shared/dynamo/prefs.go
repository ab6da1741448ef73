package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

var _ loyalty.Preferences = (*Store)(nil)

// prefsRecord is the stored shape of a member's preferences. It lives in
// the member's partition, so an erasure takes it with the rest.
type prefsRecord struct {
	PK     string    `dynamodbav:"pk"`
	SK     string    `dynamodbav:"sk"`
	Locale string    `dynamodbav:"loc"`
	At     time.Time `dynamodbav:"at"`
}

// PreferredLocale implements loyalty.Preferences with one eventually
// consistent read: a choice made a moment ago may show a moment later.
func (s *Store) PreferredLocale(ctx context.Context, member loyalty.MemberID) (string, error) {
	item, err := s.get(ctx, memberPK(member), skPrefs, false)
	if err != nil || item == nil {
		return "", err
	}
	var r prefsRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return "", fmt.Errorf("decode preferences of member %s: %w", member, err)
	}
	return r.Locale, nil
}

// SetPreferredLocale implements loyalty.Preferences with one transaction: the
// put and the check that the member was never erased, so an erasure that
// began leaves nothing behind.
func (s *Store) SetPreferredLocale(ctx context.Context, member loyalty.MemberID, locale string, at time.Time) error {
	item, err := attributevalue.MarshalMap(prefsRecord{PK: memberPK(member), SK: skPrefs, Locale: locale, At: at.UTC()})
	if err != nil {
		return fmt.Errorf("encode preferences of member %s: %w", member, err)
	}
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item}},
		s.notErased(member),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 1):
		return errErased()
	case err != nil:
		return s.classify(err, "set the preferred locale of member %s", member)
	}
	s.meter(out.ConsumedCapacity...)
	return nil
}
