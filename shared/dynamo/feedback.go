package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// feedbackRecord is a loyalty.PurchaseFeedback, stored twice: in the
// member's partition (FB#<purchase>, whose condition makes it once per
// purchase) and in the partition of its day (FB#<day>), where ops list it.
type feedbackRecord struct {
	PK       string    `dynamodbav:"pk"`
	SK       string    `dynamodbav:"sk"`
	Member   string    `dynamodbav:"m"`
	Purchase string    `dynamodbav:"pur"`
	Ref      string    `dynamodbav:"ref,omitempty"`
	Rating   int       `dynamodbav:"r"`
	Comment  string    `dynamodbav:"c,omitempty"`
	At       time.Time `dynamodbav:"at"`
	Day      string    `dynamodbav:"day"`
	Bonus    int64     `dynamodbav:"b"`
}

func feedbackItem(pk, sk string, fb loyalty.PurchaseFeedback) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(feedbackRecord{PK: pk, SK: sk, Member: string(fb.MemberID), Purchase: fb.PurchaseID,
		Ref: fb.PurchaseRef, Rating: fb.Rating, Comment: fb.Comment, At: fb.At.UTC(), Day: string(fb.Day), Bonus: int64(fb.Bonus)})
}

func decodeFeedback(item map[string]types.AttributeValue) (loyalty.PurchaseFeedback, error) {
	var r feedbackRecord
	if err := attributevalue.UnmarshalMap(item, &r); err != nil {
		return loyalty.PurchaseFeedback{}, fmt.Errorf("decode feedback: %w", err)
	}
	return loyalty.PurchaseFeedback{MemberID: loyalty.MemberID(r.Member), PurchaseID: r.Purchase, PurchaseRef: r.Ref,
		Rating: r.Rating, Comment: r.Comment, At: r.At, Day: loyalty.Date(r.Day), Bonus: loyalty.Points(r.Bonus)}, nil
}

// feedbackItems are the two copies of new feedback, for the transaction of
// its ledger entry.
func (s *Store) feedbackItems(fb loyalty.PurchaseFeedback) ([]types.TransactWriteItem, error) {
	own, err := feedbackItem(memberPK(fb.MemberID), feedbackSK(fb.PurchaseID), fb)
	if err != nil {
		return nil, err
	}
	byDay, err := feedbackItem(feedbackDayPK(fb.Day), feedbackDaySK(fb), fb)
	if err != nil {
		return nil, err
	}
	isNew := aws.String("attribute_not_exists(pk)")
	return []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.table, Item: own, ConditionExpression: isNew}},
		{Put: &types.Put{TableName: &s.table, Item: byDay, ConditionExpression: isNew}},
	}, nil
}

// changeItems are the items a Change carries beyond the member's own entry,
// account, redemptions and original entry: a referral payout's referrer side
// and new feedback.
func (s *Store) changeItems(c loyalty.Change) ([]types.TransactWriteItem, error) {
	var items []types.TransactWriteItem
	if c.Referral != nil {
		more, err := s.referralItems(c.Referral)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	if c.Feedback != nil {
		more, err := s.feedbackItems(*c.Feedback)
		if err != nil {
			return nil, err
		}
		items = append(items, more...)
	}
	return items, nil
}

// MemberFeedback lists a member's feedback, newest first.
func (s *Store) MemberFeedback(ctx context.Context, id loyalty.MemberID) ([]loyalty.PurchaseFeedback, error) {
	out, err := queryDecoded(ctx, s, memberPK(id), prefixFeedback, decodeFeedback)
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

type feedbackCursor struct {
	Day string `json:"d"`
	SK  string `json:"k"`
}

// MaxFeedbackDays bounds the days one listing of feedback may span: each
// day is one Query, even when it is empty.
const MaxFeedbackDays = 366

// Feedback lists the feedback given from day from to day to (inclusive,
// program-local days), oldest first, one page of at most limit, with the
// opaque cursor of the next page ("" on the last). Each day is a partition
// of its own: a page costs one Query per day it covers, never a Scan.
func (s *Store) Feedback(ctx context.Context, from, to loyalty.Date, after string, limit int) ([]loyalty.PurchaseFeedback, string, error) {
	if to < from {
		return nil, "", loyalty.Invalid("to", "to (%s) is before from (%s)", to, from)
	}
	var cur feedbackCursor
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || json.Unmarshal(b, &cur) != nil {
			return nil, "", ErrBadCursor
		}
		if _, err := loyalty.ParseDate(cur.Day); err != nil || loyalty.Date(cur.Day) < from || loyalty.Date(cur.Day) > to {
			return nil, "", ErrBadCursor
		}
	}
	if from.AddDays(MaxFeedbackDays-1) < to {
		return nil, "", loyalty.Invalid("to", "list at most %d days at a time", MaxFeedbackDays)
	}
	day, start := from, ""
	if after != "" {
		day, start = loyalty.Date(cur.Day), cur.SK
	}
	out := []loyalty.PurchaseFeedback{}
	for day <= to {
		items, more, err := s.feedbackPage(ctx, day, start, limit-len(out))
		if err != nil {
			return nil, "", err
		}
		for _, it := range items {
			fb, err := decodeFeedback(it)
			if err != nil {
				return nil, "", err
			}
			out = append(out, fb)
			start = stringAttr(it, "sk")
		}
		if !more {
			day, start = day.AddDays(1), ""
		}
		if len(out) == limit {
			if day > to {
				return out, "", nil
			}
			b, _ := json.Marshal(feedbackCursor{Day: string(day), SK: start})
			return out, base64.RawURLEncoding.EncodeToString(b), nil
		}
	}
	return out, "", nil
}

// feedbackPage reads up to limit items of a day after sort key start; more
// says the day may hold more.
func (s *Store) feedbackPage(ctx context.Context, day loyalty.Date, start string, limit int) ([]map[string]types.AttributeValue, bool, error) {
	kc := expression.Key("pk").Equal(expression.Value(feedbackDayPK(day)))
	if start != "" {
		kc = kc.And(expression.Key("sk").GreaterThan(expression.Value(start)))
	}
	ex, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, false, fmt.Errorf("build feedback query: %w", err)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{TableName: &s.table, KeyConditionExpression: ex.KeyCondition(),
		ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(), Limit: aws.Int32(int32(limit)),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return nil, false, s.classify(err, "query feedback of %s", day)
	}
	s.mu.Lock()
	s.consumed.Queries++
	s.mu.Unlock()
	if out.ConsumedCapacity != nil {
		s.meterRead(int64(out.Count), *out.ConsumedCapacity)
	}
	return out.Items, out.LastEvaluatedKey != nil, nil
}

// linkedItem is the key of the item outside a member's partition that one
// of the partition's items points to and that names the member: the day
// copy of their feedback, their referral code, their referrer's record of
// them. An erasure deletes it with the partition's item, in one
// transaction, so the pointer is never lost before what it points to.
func linkedItem(it map[string]types.AttributeValue) (map[string]types.AttributeValue, bool, error) {
	key := func(pk, sk string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}}
	}
	sk := stringAttr(it, "sk")
	switch {
	case strings.HasPrefix(sk, prefixFeedback):
		fb, err := decodeFeedback(it)
		if err != nil {
			return nil, false, err
		}
		return key(feedbackDayPK(fb.Day), feedbackDaySK(fb)), true, nil
	case sk == skReferralCode:
		return key(codePK(stringAttr(it, "code")), skCode), true, nil
	case strings.HasPrefix(sk, prefixMemberCard): // the card number goes with the member (cards.go)
		return key(cardPK(loyalty.CardNumber(strings.TrimPrefix(sk, prefixMemberCard))), skCard), true, nil
	case strings.HasPrefix(sk, prefixShortCode):
		return key(shortCodePK(strings.TrimPrefix(sk, prefixShortCode)), skCard), true, nil
	case sk == skReferredBy:
		r, err := decodeReferee(it)
		if err != nil {
			return nil, false, err
		}
		if r.Referrer == loyalty.ErasedMember || r.Referrer == "" {
			return nil, false, nil // the referrer was erased first and took their record along
		}
		return key(memberPK(r.Referrer), refereeSK(r.Member)), true, nil
	}
	return nil, false, nil
}
