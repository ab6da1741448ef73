package memstore

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The store keeps values as the DynamoDB store reads them back: times in UTC
// (the table holds RFC 3339 text), an entry's and a redemption's lots merged
// by day and sorted (the table holds a map), empty lists and maps absent,
// notification data through JSON (numbers come back as float64) and its
// expiry in whole seconds (the TTL attribute). Every read hands out a copy.

func utc(t time.Time) time.Time { return t.UTC() }

// lotsByDay merges lots of the same day and sorts them by day.
func lotsByDay(lots []loyalty.Lot, dropEmpty bool) []loyalty.Lot {
	if len(lots) == 0 {
		return nil
	}
	sum := map[loyalty.Date]loyalty.Points{}
	for _, l := range lots {
		sum[l.Expires] += l.Points
	}
	out := make([]loyalty.Lot, 0, len(sum))
	for d, p := range sum {
		if dropEmpty && p == 0 {
			continue
		}
		out = append(out, loyalty.Lot{Expires: d, Points: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires < out[j].Expires })
	if len(out) == 0 {
		return nil
	}
	return out
}

func copyMap[V any](m map[string]V, keepEmpty bool) map[string]V {
	if len(m) == 0 {
		if keepEmpty {
			return map[string]V{}
		}
		return nil
	}
	c := make(map[string]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func copySlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

func normAccount(a loyalty.Account) loyalty.Account {
	a.Lots = lotsByDay(a.Lots, true)
	a.Qualifying = copyMap(a.Qualifying, true)
	a.Stamps = copyMap(a.Stamps, false)
	a.PromoUses = copyMap(a.PromoUses, false)
	a.Earned = copyMap(a.Earned, false)
	a.CreatedAt, a.LastActivity = utc(a.CreatedAt), utc(a.LastActivity)
	return a
}

// cloneAccount copies a stored account, so that callers never alias it.
func cloneAccount(a loyalty.Account) loyalty.Account {
	a.Lots = copySlice(a.Lots)
	a.Qualifying = copyMap(a.Qualifying, true)
	a.Stamps = copyMap(a.Stamps, false)
	a.PromoUses = copyMap(a.PromoUses, false)
	a.Earned = copyMap(a.Earned, false)
	return a
}

func normRefund(r *loyalty.RefundState) *loyalty.RefundState {
	if r == nil {
		return nil
	}
	c := *r
	c.Lines = copyMap(r.Lines, false)
	return &c
}

func normEntry(e loyalty.Entry) loyalty.Entry {
	e.Lots = lotsByDay(e.Lots, false)
	e.At = utc(e.At)
	if e.Spend != nil {
		sp := *e.Spend
		e.Spend = &sp
	}
	e.Rules = copySlice(e.Rules)
	e.Lines = copySlice(e.Lines)
	e.Stamps = copySlice(e.Stamps)
	e.Refund = normRefund(e.Refund)
	return e
}

// cloneEntry copies a stored entry, so that callers never alias it.
func cloneEntry(e loyalty.Entry) loyalty.Entry { return normEntry(e) }

func normRedemption(r loyalty.Redemption) loyalty.Redemption {
	r.Lots = lotsByDay(r.Lots, false)
	r.IssuedAt, r.ChangedAt = utc(r.IssuedAt), utc(r.ChangedAt)
	return r
}

func normReward(r loyalty.Reward) loyalty.Reward {
	if r.Value != nil {
		v := *r.Value
		r.Value = &v
	}
	return r
}

// normNotification is n as the table gives it back. Data that JSON cannot
// encode is an error, as it is for the DynamoDB store.
func normNotification(n loyalty.Notification) (loyalty.Notification, error) {
	b, err := json.Marshal(n.Data)
	if err != nil {
		return loyalty.Notification{}, fmt.Errorf("encode notification %s: %w", n.ID, err)
	}
	n.Data = nil
	if err := json.Unmarshal(b, &n.Data); err != nil {
		return loyalty.Notification{}, fmt.Errorf("decode notification %s data: %w", n.ID, err)
	}
	n.CreatedAt = utc(n.CreatedAt)
	if n.ReadAt != nil {
		r := utc(*n.ReadAt)
		n.ReadAt = &r
	}
	n.ExpiresAt = time.Unix(n.ExpiresAt.Unix(), 0).UTC()
	return n, nil
}

func cloneNotification(n loyalty.Notification) loyalty.Notification {
	c, err := normNotification(n)
	if err != nil { // stored values were encoded once already
		panic("memstore: " + err.Error())
	}
	return c
}

func normReferee(r loyalty.Referee) loyalty.Referee {
	r.EnrolledAt, r.SettledAt = utc(r.EnrolledAt), utc(r.SettledAt)
	return r
}

func normFeedback(fb loyalty.PurchaseFeedback) loyalty.PurchaseFeedback {
	fb.At = utc(fb.At)
	return fb
}

// feedbackAtLayout is fixed width, so that sort keys sort by time.
const feedbackAtLayout = "2006-01-02T15:04:05.000000000Z"

// feedbackDaySK orders a day's feedback: time, member, purchase.
func feedbackDaySK(fb loyalty.PurchaseFeedback) string {
	return fb.At.UTC().Format(feedbackAtLayout) + "#" + string(fb.MemberID) + "#" + fb.PurchaseID
}

// maxRejectionBody is where the DynamoDB store cuts a rejection's body.
const maxRejectionBody = 300 << 10

func normRejection(r loyalty.Rejection) loyalty.Rejection {
	for _, t := range []*time.Time{&r.SentAt, &r.FirstSeen, &r.LastSeen, &r.ReplayedAt} {
		*t = utc(*t)
	}
	return r
}
