package pages_test

import (
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/pages"
)

type item struct {
	at  time.Time
	key string
}

// Pages cover every item once, newest first (ties by key, descending), and
// the last page hands out no cursor; a made-up cursor is invalid.
func TestNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	items := []item{{t0, "a"}, {t0.Add(time.Second), "b"}, {t0, "c"}, {t0.Add(2 * time.Second), "d"}, {t0.Add(time.Second), "e"}}
	var got []string
	var from *pages.Cursor
	for n := 0; ; n++ {
		page, next := pages.NewestFirst(items, func(i item) time.Time { return i.at }, func(i item) string { return i.key }, from, 2)
		for _, i := range page {
			got = append(got, i.key)
		}
		if next == "" || n > 5 {
			break
		}
		var err error
		if from, err = pages.ParseCursor(next); err != nil {
			t.Fatal(err)
		}
	}
	if want := "[d e b c a]"; fmtKeys(got) != want {
		t.Errorf("pages: got %v, want %s", got, want)
	}
	if _, err := pages.ParseCursor("not-a-cursor"); loyalty.ErrorCode(err) != loyalty.CodeInvalid {
		t.Errorf("made-up cursor: got %v, want %s", err, loyalty.CodeInvalid)
	}
}

func fmtKeys(k []string) string {
	s := "["
	for i, v := range k {
		if i > 0 {
			s += " "
		}
		s += v
	}
	return s + "]"
}
