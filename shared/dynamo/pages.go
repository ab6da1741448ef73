package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/pages"
)

// queryDecoded reads every item of a partition whose sort key has prefix
// and decodes each with decode.
func queryDecoded[T any](ctx context.Context, s *Store, pk, prefix string, decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	items, err := s.queryAll(ctx, pk, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(items))
	for _, it := range items {
		v, err := decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// ErrBadCursor is returned for a cursor this store did not hand out.
var ErrBadCursor = pages.ErrBadCursor
