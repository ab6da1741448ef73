package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/pages"
)

// notificationRecord is the stored shape of loyalty.Notification. It lives
// in the member's partition (an erasure takes it with the rest) and DynamoDB
// deletes it after TTL.
type notificationRecord struct {
	PK        string     `dynamodbav:"pk"`
	SK        string     `dynamodbav:"sk"`
	Kind      string     `dynamodbav:"k"`
	Title     string     `dynamodbav:"t"`
	Data      string     `dynamodbav:"d"` // JSON, so numbers come back as they went in
	At        time.Time  `dynamodbav:"at"`
	ReadAt    *time.Time `dynamodbav:"rd,omitempty"`
	Published bool       `dynamodbav:"pub"`
	TTL       int64      `dynamodbav:"ttl"`
	Outbox    string     `dynamodbav:"dk,omitempty"` // until published: the outbox partition
}

func notificationItem(n loyalty.Notification) (map[string]types.AttributeValue, error) {
	data, err := json.Marshal(n.Data)
	if err != nil {
		return nil, fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	r := notificationRecord{PK: memberPK(n.MemberID), SK: notificationSK(n.ID), Kind: string(n.Kind),
		Title: n.Title, Data: string(data), At: n.CreatedAt.UTC(), ReadAt: n.ReadAt, Published: n.Published, TTL: n.ExpiresAt.Unix()}
	if !n.Published {
		r.Outbox = OutboxKey(loyalty.DateOf(n.CreatedAt, time.UTC), DueShard(n.MemberID))
	}
	return attributevalue.MarshalMap(r)
}

func decodeNotification(item map[string]types.AttributeValue) (loyalty.Notification, error) {
	var r notificationRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.Notification{}, fmt.Errorf("decode notification: %w", err)
	}
	id, _ := memberFromPK(r.PK)
	n := loyalty.Notification{ID: r.SK[len(prefixNotification):], MemberID: id, Kind: loyalty.NotificationKind(r.Kind), Title: r.Title,
		CreatedAt: r.At, ReadAt: r.ReadAt, ExpiresAt: time.Unix(r.TTL, 0).UTC(), Published: r.Published}
	if err := json.Unmarshal([]byte(r.Data), &n.Data); err != nil {
		return loyalty.Notification{}, fmt.Errorf("decode notification %s data: %w", n.ID, err)
	}
	return n, nil
}

// Deliver implements loyalty.Inbox with one transaction: a conditional put
// (a repeat of an occasion writes nothing and hands back the stored
// notification) and the check that the member was never erased. A job that
// read an account just before its erasure began so cannot put anything
// back: for an erased member nothing is stored and the notification comes
// back as published, so that no event about them is sent either.
func (s *Store) Deliver(ctx context.Context, n loyalty.Notification) (loyalty.Notification, bool, error) {
	item, err := notificationItem(n)
	if err != nil {
		return loyalty.Notification{}, false, err
	}
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		s.notErased(n.MemberID),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 1):
		n.Published = true
		return n, false, nil
	case errors.As(err, &tce) && failedAt(tce, 0):
		if len(tce.CancellationReasons[0].Item) == 0 {
			return loyalty.Notification{}, false, fmt.Errorf("deliver %s: the existing notification was not returned", n.ID)
		}
		old, err := decodeNotification(tce.CancellationReasons[0].Item)
		return old, false, err
	case err != nil:
		return loyalty.Notification{}, false, s.classify(err, "deliver notification %s to member %s", n.ID, n.MemberID)
	}
	s.meter(out.ConsumedCapacity...)
	return n, true, nil
}

// MarkPublished implements loyalty.Inbox.
func (s *Store) MarkPublished(ctx context.Context, member loyalty.MemberID, id string) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(memberPK(member), notificationSK(id)),
		UpdateExpression: aws.String("SET pub = :t REMOVE dk"), ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // erased or expired meanwhile: nothing left to mark
	}
	if err != nil {
		return s.classify(err, "mark notification %s of member %s published", id, member)
	}
	return nil
}

// Notification returns one of the member's notifications; CodeNotFound if
// there is none.
func (s *Store) Notification(ctx context.Context, member loyalty.MemberID, id string) (loyalty.Notification, error) {
	item, err := s.get(ctx, memberPK(member), notificationSK(id), true)
	if err != nil {
		return loyalty.Notification{}, err
	}
	if item == nil {
		return loyalty.Notification{}, loyalty.Errorf(loyalty.CodeNotFound, "no notification %s", id)
	}
	return decodeNotification(item)
}

// Unpublished returns one page of the notifications made on day (UTC) in one
// shard whose event is not published yet: the outbox.
func (s *Store) Unpublished(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.indexPage(ctx, IndexDue, AttrDue, OutboxKey(day, shard), cursor, limit)
}

// Notifications returns one page of the member's inbox, newest first, and
// the opaque cursor of the next page ("" on the last page). Notifications
// past their TTL are left out even before DynamoDB deletes them. The inbox
// is small (TTL-bounded), so the order is made here from one Query.
// Errors: CodeInvalid for a cursor this store did not hand out.
func (s *Store) Notifications(ctx context.Context, member loyalty.MemberID, after string, limit int, now time.Time) ([]loyalty.Notification, string, error) {
	if limit < 1 {
		return nil, "", loyalty.Invalid("limit", "must be at least 1, got %d", limit)
	}
	from, err := pages.ParseCursor(after)
	if err != nil {
		return nil, "", err
	}
	stored, err := queryDecoded(ctx, s, memberPK(member), prefixNotification, decodeNotification)
	if err != nil {
		return nil, "", err
	}
	live := stored[:0]
	for _, n := range stored {
		if n.ExpiresAt.After(now) {
			live = append(live, n)
		}
	}
	page, next := pages.NewestFirst(live, func(n loyalty.Notification) time.Time { return n.CreatedAt },
		func(n loyalty.Notification) string { return n.ID }, from, limit)
	return page, next, nil
}

// MarkNotificationRead records that the member read a notification and
// returns it. Reading again keeps the first time. Errors: CodeNotFound when
// the member has no such notification (or it is past its TTL).
func (s *Store) MarkNotificationRead(ctx context.Context, member loyalty.MemberID, id string, at time.Time) (loyalty.Notification, error) {
	ex, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name("pk")).And(expression.Name(AttrTTL).GreaterThan(expression.Value(at.Unix())))).
		WithUpdate(expression.Set(expression.Name("rd"), expression.IfNotExists(expression.Name("rd"), expression.Value(at.UTC())))).Build()
	if err != nil {
		return loyalty.Notification{}, fmt.Errorf("build read expression: %w", err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(memberPK(member), notificationSK(id)),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(),
		ExpressionAttributeValues: ex.Values(), ReturnValues: types.ReturnValueAllNew, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return loyalty.Notification{}, loyalty.Errorf(loyalty.CodeNotFound, "no notification %s", id)
	case err != nil:
		return loyalty.Notification{}, s.classify(err, "mark notification %s of member %s read", id, member)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return decodeNotification(out.Attributes)
}
