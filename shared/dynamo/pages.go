package dynamo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
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

// pageCursor is the opaque position in a newest-first list: the time and
// key of the last item a page handed out.
type pageCursor struct {
	At  time.Time `json:"t"`
	Key string    `json:"k"`
}

// ErrBadCursor is returned for a cursor this store did not hand out.
var ErrBadCursor = loyalty.Invalid("cursor", "the cursor is not valid")

// parseCursor decodes a cursor; "" is the first page (nil).
func parseCursor(s string) (*pageCursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c pageCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Key == "" {
		return nil, ErrBadCursor
	}
	return &c, nil
}

// newestFirst sorts items newest first (by time, then key, both
// descending) and returns the page of at most limit items after from, with
// the cursor of the next page ("" on the last page). The lists it pages (a
// ledger, an inbox) are read whole by one Query: their keys are not times.
func newestFirst[T any](items []T, at func(T) time.Time, key func(T) string, from *pageCursor, limit int) ([]T, string) {
	newer := func(t1 time.Time, k1 string, t2 time.Time, k2 string) bool {
		if !t1.Equal(t2) {
			return t1.After(t2)
		}
		return k1 > k2
	}
	sort.Slice(items, func(i, j int) bool { return newer(at(items[i]), key(items[i]), at(items[j]), key(items[j])) })
	var page []T
	for _, it := range items {
		if from != nil && !newer(from.At, from.Key, at(it), key(it)) {
			continue
		}
		if len(page) == limit {
			last := page[len(page)-1]
			b, _ := json.Marshal(pageCursor{At: at(last), Key: key(last)})
			return page, base64.RawURLEncoding.EncodeToString(b)
		}
		page = append(page, it)
	}
	return page, ""
}
