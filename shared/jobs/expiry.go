package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ExpirePoints expires every lot due on req.Day: the accounts the due index
// files under that day and the LookbackDays before (a missed run is caught
// up), shard by shard. Each member's lots go in one ledger entry written in
// the same transaction as the balance (loyalty.Service.ExpireDueFrom, keyed
// by the day, so a rerun replays) together with a points_expired
// notification; its points.expired.v1 event follows (or, if the bus fails,
// goes out from the outbox on the next run). The account is read only when
// the index's copy of the lots is out of date.
func (j *Jobs) ExpirePoints(ctx context.Context, req Request) (*Report, error) {
	if err := j.checkDay(ExpirePoints, req); err != nil {
		return nil, err
	}
	rep := &Report{Job: ExpirePoints}
	handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
		var (
			mu      sync.Mutex
			pending []loyalty.Notification
		)
		err := j.each(ctx, stop, rep, len(hits), func(ctx context.Context, i int) error {
			h := hits[i]
			var note loyalty.Notification
			tell := func(e loyalty.Entry) loyalty.Notification {
				note = j.expiredNotification(e, req.Day)
				return note
			}
			// The notification is written with the expiry, in the outbox
			// until its event is out: however a run ends, no member is
			// expired untold.
			res, ok, read, err := j.Service.ExpireDueFrom(ctx, h.MemberID, h.Lots, req.Day, tell)
			rep.add(func(r *Report) {
				r.Seen++
				if read {
					r.Read++
				}
				switch {
				case ok && res.Replayed:
					r.Replayed++
				case ok:
					r.Changed++
					r.Notified++
					r.Points += int64(-res.Entry.Delta)
				}
			})
			if ok && !res.Replayed {
				mu.Lock()
				pending = append(pending, note)
				mu.Unlock()
			}
			return err
		})
		if perr := j.publish(ctx, pending); perr != nil && err == nil {
			err = perr
		}
		return err
	}
	var scopes []scope
	for _, day := range days(req.Day.AddDays(-j.Config.LookbackDays), req.Day) {
		for _, shard := range j.shardsOf(req) {
			scopes = append(scopes, scope{name: fmt.Sprintf("due/%s/%02d", day, shard), handle: handle,
				page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
					return j.Store.DueAccounts(ctx, day, shard, cursor, j.Config.PageSize)
				}})
		}
	}
	return j.run(ctx, rep, req, scopes)
}

func (j *Jobs) expiredNotification(e loyalty.Entry, day loyalty.Date) loyalty.Notification {
	lots := make([]map[string]any, 0, len(e.Lots))
	for _, l := range e.Lots {
		lots = append(lots, map[string]any{"expires": string(l.Expires), "points": int64(-l.Points)})
	}
	pts := int64(-e.Delta)
	return j.titledDefault(loyalty.NewNotification(j.Service.Program, e.MemberID, loyalty.NotePointsExpired, string(day),
		fmt.Sprintf("%d points expired", pts),
		map[string]any{"points": pts, "expiredBefore": string(day), "lots": lots, "entryKey": e.Key}, e.At))
}
