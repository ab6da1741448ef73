package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ReviewDue lists the members whose tier is reviewed on day in one shard of
// the review index: a Query of a sparse index, never a Scan, so the cost
// follows the members due, not the members of the program.
func (s *Store) ReviewDue(ctx context.Context, day loyalty.Date, shard int) ([]loyalty.MemberID, error) {
	ex, err := expression.NewBuilder().WithKeyCondition(expression.Key(AttrReview).Equal(expression.Value(ReviewKey(day, shard)))).Build()
	if err != nil {
		return nil, fmt.Errorf("build review query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{TableName: &s.table, IndexName: aws.String(IndexReview),
		KeyConditionExpression: ex.KeyCondition(), ExpressionAttributeNames: ex.Names(), ExpressionAttributeValues: ex.Values(),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	var ids []loyalty.MemberID
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classify(err, "query review index %s", ReviewKey(day, shard))
		}
		s.mu.Lock()
		s.consumed.Queries++
		s.mu.Unlock()
		if out.ConsumedCapacity != nil {
			s.meterRead(int64(out.Count), *out.ConsumedCapacity)
		} else {
			s.meterRead(int64(out.Count))
		}
		for _, it := range out.Items {
			if id, ok := memberFromPK(stringAttr(it, "pk")); ok {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}
