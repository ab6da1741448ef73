package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ExpirePoints expires every lot due on req.Day: the accounts the due index
// files under that day and the LookbackDays before (a missed run is caught
// up), shard by shard. Each member's lots go in one ledger entry written in
// the same transaction as the balance (loyalty.Service.ExpireDueFrom, keyed
// by the day, so a rerun replays), then a points_expired notification and
// its points.expired.v1 event. The account is read only when the index's
// copy of the lots is out of date.
func (j *Jobs) ExpirePoints(ctx context.Context, req Request) (*Report, error) {
	rep := &Report{Job: ExpirePoints}
	handle := func(ctx context.Context, stop time.Time, hits []loyalty.IndexHit) error {
		ns := make([]*loyalty.Notification, len(hits))
		err := j.each(ctx, stop, rep, len(hits), func(ctx context.Context, i int) error {
			h := hits[i]
			res, ok, read, err := j.Service.ExpireDueFrom(ctx, h.MemberID, h.Lots, req.Day)
			rep.add(func(r *Report) {
				r.Seen++
				if read {
					r.Read++
				}
				if ok && res.Replayed {
					r.Replayed++
				} else if ok {
					r.Changed++
				}
			})
			if err != nil || !ok {
				return err
			}
			n := j.expiredNotification(res.Entry, req.Day)
			ns[i] = &n
			return nil
		})
		var out []loyalty.Notification
		for _, n := range ns {
			if n != nil {
				out = append(out, *n)
			}
		}
		// Notify what was expired even when the page stops half-way: the
		// rerun replays those members and notifies again, once.
		if nerr := j.notify(context.WithoutCancel(ctx), rep, out); nerr != nil && err == nil {
			err = nerr
		}
		return err
	}
	var scopes []scope
	for _, day := range days(req.Day.AddDays(-j.Config.LookbackDays), req.Day) {
		for _, shard := range j.shardsOf(req) {
			scopes = append(scopes, scope{name: fmt.Sprintf("due/%s/%02d", day, shard), handle: handle,
				page: func(ctx context.Context, cursor string) ([]loyalty.IndexHit, string, error) {
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
	return loyalty.NewNotification(j.Service.Program, e.MemberID, loyalty.NotePointsExpired, string(day),
		fmt.Sprintf("%d points expired", pts),
		map[string]any{"points": pts, "expiredBefore": string(day), "lots": lots, "entryKey": e.Key}, e.At)
}
