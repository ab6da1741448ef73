// Package pages is the newest-first paging both stores share: a list read
// whole (a member's ledger, an inbox) sorted by time then key, cut into
// pages, with an opaque cursor naming the last item a page handed out. The
// DynamoDB store and the in-memory store use the same code, so their
// pages and cursors agree.
//
// It imports the standard library and the domain (for its error) only.
package pages

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Cursor is the position after the last item a page handed out.
type Cursor struct {
	At  time.Time `json:"t"`
	Key string    `json:"k"`
}

// ErrBadCursor is returned for a cursor this package did not hand out.
var ErrBadCursor = loyalty.Invalid("cursor", "the cursor is not valid")

// ParseCursor decodes a cursor; "" is the first page (nil).
func ParseCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.Key == "" {
		return nil, ErrBadCursor
	}
	return &c, nil
}

func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewestFirst sorts items newest first (by time, then key, both
// descending) and returns the page of at most limit items after from, with
// the cursor of the next page ("" on the last page). limit must be at
// least 1.
func NewestFirst[T any](items []T, at func(T) time.Time, key func(T) string, from *Cursor, limit int) ([]T, string) {
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
			return page, Cursor{At: at(last), Key: key(last)}.String()
		}
		page = append(page, it)
	}
	return page, ""
}
