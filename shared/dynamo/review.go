package dynamo

import (
	"context"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ReviewAccounts returns one page of the members whose tier is reviewed on
// day, in one shard of the review index: a Query of a sparse index, never a
// Scan, so the cost follows the members due, not the size of the program.
func (s *Store) ReviewAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.indexPage(ctx, IndexReview, AttrReview, ReviewKey(day, shard), cursor, limit)
}
