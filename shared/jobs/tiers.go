package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// ReviewTiers reviews the tier of every member whose cycle ends on req.Day
// (and the LookbackDays before, so a missed run is caught up), found through
// the sparse review index, shard by shard. A member whose qualifying points
// no longer hold the tier goes down one level, never more per cycle
// (loyalty.PlanTierReview); each review is a ledger entry keyed by the day,
// so a rerun replays. A change of tier is a tier_changed notification and a
// member.tier_changed.v1 event.
func (j *Jobs) ReviewTiers(ctx context.Context, req Request) (*Report, error) {
	if err := j.checkDay(TierReview, req); err != nil {
		return nil, err
	}
	idx := j.Store
	rep := &Report{Job: TierReview}
	handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
		var (
			mu      sync.Mutex
			changed []loyalty.Notification
		)
		err := j.each(ctx, stop, rep, len(hits), func(ctx context.Context, i int) error {
			res, ok, err := j.Service.ReviewTier(ctx, hits[i].MemberID, req.Day)
			rep.add(func(r *Report) {
				r.Seen++
				switch {
				case ok && res.Replayed:
					r.Replayed++
				case ok && res.Entry.Tier != "":
					r.Changed++
				}
			})
			if err != nil || !ok || res.Replayed || res.Entry.Tier == "" {
				return err
			}
			from := j.Service.Program.TierAbove(res.Entry.Tier) // a review moves down one level, never more
			n := loyalty.NewNotification(j.Service.Program, hits[i].MemberID, loyalty.NoteTierChanged, string(req.Day),
				fmt.Sprintf("Your tier is now %s", res.Entry.Tier),
				map[string]any{"from": from, "to": res.Entry.Tier, "reviewedOn": string(req.Day), "entryKey": res.Entry.Key}, res.Entry.At)
			n = j.titled(ctx, n)
			mu.Lock()
			changed = append(changed, n)
			mu.Unlock()
			return nil
		})
		if nerr := j.notify(ctx, rep, changed); nerr != nil && err == nil {
			err = nerr
		}
		return err
	}
	var scopes []scope
	for _, day := range days(req.Day.AddDays(-j.Config.LookbackDays), req.Day) {
		for _, shard := range j.shardsOf(req) {
			scopes = append(scopes, scope{name: fmt.Sprintf("review/%s/%02d", day, shard), handle: handle,
				page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
					return idx.ReviewAccounts(ctx, day, shard, cursor, j.Config.PageSize)
				}})
		}
	}
	return j.run(ctx, rep, req, scopes)
}
