package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// rejectionRecord is the stored shape of loyalty.Rejection.
type rejectionRecord struct {
	PK           string    `dynamodbav:"pk"`
	SK           string    `dynamodbav:"sk"`
	Source       string    `dynamodbav:"src,omitempty"`
	Body         string    `dynamodbav:"body"`
	Reason       string    `dynamodbav:"rsn"`
	Message      string    `dynamodbav:"msg"`
	PartnerID    string    `dynamodbav:"ptn,omitempty"`
	EventType    string    `dynamodbav:"et,omitempty"`
	EventID      string    `dynamodbav:"eid,omitempty"`
	MemberID     string    `dynamodbav:"mem,omitempty"`
	SentAt       time.Time `dynamodbav:"sent,omitempty"`
	FirstSeen    time.Time `dynamodbav:"first"`
	LastSeen     time.Time `dynamodbav:"last"`
	ReceiveCount int       `dynamodbav:"rc"`
	State        string    `dynamodbav:"st"`
	ReplayedAt   time.Time `dynamodbav:"rat,omitempty"`
	ReplayedAs   string    `dynamodbav:"ras,omitempty"`
	ReplayedBy   string    `dynamodbav:"rby,omitempty"`
}

// maxRejectionBody keeps a rejection item under DynamoDB's 400 KB item limit
// (an SQS message is at most 256 KiB, so this never cuts a real body).
const maxRejectionBody = 300 << 10

// RecordRejection stores a refused queue message. Recording the same message
// again (a redelivery) refreshes reason, body, last-seen time and receive
// count and keeps its first-seen time and its state, so it is idempotent.
// A rejection naming an erased member is recorded without anything of them:
// no body, no member or event id, the id taken out of the message (the
// check is in the write's transaction, so an erasure sweeping rejections
// cannot miss one). Errors: CodeInvalid (no message id), CodeUnavailable.
func (s *Store) RecordRejection(ctx context.Context, r loyalty.Rejection) error {
	if r.MessageID == "" {
		return loyalty.Invalid("messageId", "a rejection needs the message id")
	}
	if r.MemberID == "" {
		return s.updateRejection(ctx, r)
	}
	ex, err := rejectionUpdate(r)
	if err != nil {
		return err
	}
	out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.table, Key: s.key(rejectionPK(r.MessageID), r.MessageID),
			UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values()}},
		s.notErased(r.MemberID),
	}, ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var tce *types.TransactionCanceledException
	switch {
	case errors.As(err, &tce) && failedAt(tce, 1):
		erased := r
		erased.Body, erased.EventID, erased.MemberID = "", "", ""
		erased.Message = strings.ReplaceAll(r.Message, string(r.MemberID), string(loyalty.ErasedMember))
		return s.updateRejection(ctx, erased)
	case err != nil:
		return s.classify(err, "record rejection of message %s", r.MessageID)
	}
	s.meter(out.ConsumedCapacity...)
	return nil
}

// rejectionUpdate is the update that records r. Without a member id it
// removes one recorded before, with the event id (a rejection of an erased
// member's message).
func rejectionUpdate(r loyalty.Rejection) (expression.Expression, error) {
	body := r.Body
	if len(body) > maxRejectionBody {
		body = body[:maxRejectionBody]
	}
	upd := expression.Set(expression.Name("body"), expression.Value(body)).
		Set(expression.Name("rsn"), expression.Value(string(r.Reason))).
		Set(expression.Name("msg"), expression.Value(r.Message)).
		Set(expression.Name("last"), expression.Value(r.LastSeen.UTC())).
		Set(expression.Name("rc"), expression.Value(r.ReceiveCount)).
		Set(expression.Name("first"), expression.IfNotExists(expression.Name("first"), expression.Value(r.FirstSeen.UTC()))).
		Set(expression.Name("st"), expression.IfNotExists(expression.Name("st"), expression.Value(string(loyalty.RejectionOpen))))
	for name, v := range map[string]string{"src": r.Source, "ptn": r.PartnerID, "et": r.EventType, "eid": r.EventID, "mem": string(r.MemberID)} {
		if v != "" {
			upd = upd.Set(expression.Name(name), expression.Value(v))
		}
	}
	if !r.SentAt.IsZero() {
		upd = upd.Set(expression.Name("sent"), expression.Value(r.SentAt.UTC()))
	}
	if r.MemberID == "" && r.EventID == "" {
		upd = upd.Remove(expression.Name("mem")).Remove(expression.Name("eid"))
	}
	ex, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return expression.Expression{}, fmt.Errorf("build rejection update: %w", err)
	}
	return ex, nil
}

func (s *Store) updateRejection(ctx context.Context, r loyalty.Rejection) error {
	ex, err := rejectionUpdate(r)
	if err != nil {
		return err
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(rejectionPK(r.MessageID), r.MessageID),
		UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return s.classify(err, "record rejection of message %s", r.MessageID)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return nil
}

// Rejection returns one recorded rejection. Errors: CodeNotFound, CodeUnavailable.
func (s *Store) Rejection(ctx context.Context, messageID string) (loyalty.Rejection, error) {
	item, err := s.get(ctx, rejectionPK(messageID), messageID, true)
	if err != nil {
		return loyalty.Rejection{}, err
	}
	if item == nil {
		return loyalty.Rejection{}, loyalty.Errorf(loyalty.CodeNotFound, "no rejected message %s", messageID)
	}
	return decodeRejection(item)
}

// Rejections lists recorded rejections matching f, oldest first. It is an
// ops command: one Query per shard, reading every rejection recorded.
func (s *Store) Rejections(ctx context.Context, f loyalty.RejectionFilter) ([]loyalty.Rejection, error) {
	var out []loyalty.Rejection
	for shard := range RejectionShards {
		items, err := s.queryPartition(ctx, fmt.Sprintf("%s%d", prefixRejection, shard))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			r, err := decodeRejection(it)
			if err != nil {
				return nil, err
			}
			if f.Match(r) {
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].MessageID < out[j].MessageID
	})
	return out, nil
}

// MarkRejectionReplayed records that ops sent the rejected message (or a
// fixed body) to the queue again as message replayedAs. Only an open
// rejection can be marked, so two operators never both replay one message.
// Errors: CodeNotFound, CodeConflict (already replayed), CodeUnavailable.
func (s *Store) MarkRejectionReplayed(ctx context.Context, messageID, replayedAs, by string, at time.Time) error {
	ex, err := expression.NewBuilder().
		WithCondition(expression.Name("st").Equal(expression.Value(string(loyalty.RejectionOpen)))).
		WithUpdate(expression.Set(expression.Name("st"), expression.Value(string(loyalty.RejectionReplayed))).
			Set(expression.Name("rat"), expression.Value(at.UTC())).
			Set(expression.Name("ras"), expression.Value(replayedAs)).
			Set(expression.Name("rby"), expression.Value(by))).Build()
	if err != nil {
		return fmt.Errorf("build replay update: %w", err)
	}
	out, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &s.table, Key: s.key(rejectionPK(messageID), messageID),
		ConditionExpression: ex.Condition(), UpdateExpression: ex.Update(), ExpressionAttributeNames: ex.Names(),
		ExpressionAttributeValues: ex.Values(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		if len(ccf.Item) == 0 {
			return loyalty.Errorf(loyalty.CodeNotFound, "no rejected message %s", messageID)
		}
		return loyalty.Errorf(loyalty.CodeConflict, "rejected message %s was replayed already", messageID)
	case err != nil:
		return s.classify(err, "mark rejection %s replayed", messageID)
	}
	if out.ConsumedCapacity != nil {
		s.meter(*out.ConsumedCapacity)
	}
	return nil
}

// queryPartition reads every item of a partition.
func (s *Store) queryPartition(ctx context.Context, pk string) ([]map[string]types.AttributeValue, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key("pk").Equal(expression.Value(pk))).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var items []map[string]types.AttributeValue
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classify(err, "query %s", pk)
		}
		if out.ConsumedCapacity != nil {
			s.meterRead(int64(out.Count), *out.ConsumedCapacity)
		}
		items = append(items, out.Items...)
	}
	return items, nil
}

func decodeRejection(item map[string]types.AttributeValue) (loyalty.Rejection, error) {
	var r rejectionRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.Rejection{}, fmt.Errorf("decode rejection: %w", err)
	}
	return loyalty.Rejection{MessageID: r.SK, Source: r.Source, Body: r.Body, Reason: loyalty.RejectReason(r.Reason),
		Message: r.Message, PartnerID: r.PartnerID, EventType: r.EventType, EventID: r.EventID, MemberID: loyalty.MemberID(r.MemberID),
		SentAt: r.SentAt, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, ReceiveCount: r.ReceiveCount,
		State: loyalty.RejectionState(r.State), ReplayedAt: r.ReplayedAt, ReplayedAs: r.ReplayedAs, ReplayedBy: r.ReplayedBy}, nil
}
