package memstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// MemberFeedback lists a member's feedback, newest first.
func (s *Store) MemberFeedback(ctx context.Context, id loyalty.MemberID) ([]loyalty.PurchaseFeedback, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []loyalty.PurchaseFeedback{}
	if m := s.lookup(id); m != nil {
		for _, fb := range m.feedback {
			out = append(out, fb)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.After(out[j].At)
		}
		return out[i].PurchaseID < out[j].PurchaseID
	})
	return out, nil
}

type feedbackCursor struct {
	Day string `json:"d"`
	SK  string `json:"k"`
}

// MaxFeedbackDays bounds the days one listing of feedback may span, as in
// the DynamoDB store.
const MaxFeedbackDays = 366

// Feedback lists the feedback given from day from to day to (inclusive,
// program-local days), oldest first, one page of at most limit, with the
// opaque cursor of the next page ("" on the last). It pages day by day as
// the DynamoDB store's one Query per day does, so a page that fills up on a
// day's last item still hands out a cursor.
// Errors: CodeInvalid (to before from, more than MaxFeedbackDays, a cursor
// this store did not hand out, a limit below 1).
func (s *Store) Feedback(ctx context.Context, from, to loyalty.Date, after string, limit int) ([]loyalty.PurchaseFeedback, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	if to < from {
		return nil, "", loyalty.Invalid("to", "to (%s) is before from (%s)", to, from)
	}
	var cur feedbackCursor
	if after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		if err != nil || json.Unmarshal(b, &cur) != nil {
			return nil, "", errBadCursor
		}
		if _, err := loyalty.ParseDate(cur.Day); err != nil || loyalty.Date(cur.Day) < from || loyalty.Date(cur.Day) > to {
			return nil, "", errBadCursor
		}
	}
	if from.AddDays(MaxFeedbackDays-1) < to {
		return nil, "", loyalty.Invalid("to", "list at most %d days at a time", MaxFeedbackDays)
	}
	if limit < 1 {
		return nil, "", errBadLimit
	}
	day, start := from, ""
	if after != "" {
		day, start = loyalty.Date(cur.Day), cur.SK
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []loyalty.PurchaseFeedback{}
	for day <= to {
		keys := make([]string, 0, len(s.feedbackDay[day]))
		for k := range s.feedbackDay[day] {
			if k > start {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		room := limit - len(out)
		more := len(keys) >= room // a Query that reached its limit says there may be more
		keys = keys[:min(len(keys), room)]
		for _, k := range keys {
			out = append(out, s.feedbackDay[day][k])
			start = k
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
