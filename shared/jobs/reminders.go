package jobs

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// SendReminders sends the program's reminders for req.Day, each once per
// occasion (the notification id names it, and the inbox stores an id once):
//
//   - points expiring: members whose oldest lot's last day is
//     pointsExpiringDays away, found in the due index under the day after
//     it (occasion: the lot's last day);
//   - rewards ending: issued rewards whose last valid day is
//     rewardExpiringDays away, found in the due index by that day
//     (occasion: the redemption);
//   - rewards now affordable: members active this ISO week or the day
//     before (activity index) whose balance covers a reward it did not
//     cover when the job last looked (occasion: the day).
//
// The LookbackDays before req.Day are covered too, as long as their
// occasion is still ahead.
func (j *Jobs) SendReminders(ctx context.Context, req Request) (*Report, error) {
	if err := j.checkDay(SendReminders, req); err != nil {
		return nil, err
	}
	prog := j.Service.Program
	pol := prog.EngagementRules().Reminders
	rep := &Report{Job: SendReminders}
	var scopes []scope
	shards := j.shardsOf(req)
	lookback := days(req.Day.AddDays(-j.Config.LookbackDays), req.Day)

	if n := pol.PointsExpiringDays; n > 0 {
		handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
			return j.pointsExpiring(ctx, rep, req.Day, hits)
		}
		for _, run := range lookback {
			lastDay := run.AddDays(n)
			if lastDay < req.Day {
				continue
			}
			for _, shard := range shards {
				scopes = append(scopes, scope{name: fmt.Sprintf("expiring/%s/%02d", lastDay, shard), handle: handle,
					page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
						return j.Store.DueAccounts(ctx, lastDay.AddDays(1), shard, cursor, j.Config.PageSize)
					}})
			}
		}
	}
	if n := pol.RewardExpiringDays; n > 0 {
		handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
			return j.rewardsEnding(ctx, stop, rep, req.Day, hits)
		}
		for _, run := range lookback {
			lastDay := run.AddDays(n)
			if lastDay < req.Day {
				continue
			}
			for _, shard := range shards {
				scopes = append(scopes, scope{name: fmt.Sprintf("reward/%s/%02d", lastDay, shard), handle: handle,
					page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
						return j.Store.RewardsEnding(ctx, lastDay, shard, cursor, j.Config.PageSize)
					}})
			}
		}
	}
	if pol.Affordable {
		var (
			catalog     []loyalty.Reward
			catalogErr  error
			catalogOnce sync.Once
		)
		handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
			catalogOnce.Do(func() {
				all, err := j.Store.Rewards(ctx)
				for _, r := range all {
					if r.Active {
						catalog = append(catalog, r)
					}
				}
				sort.Slice(catalog, func(a, b int) bool { return catalog[a].Cost < catalog[b].Cost })
				catalogErr = err
			})
			if catalogErr != nil {
				return catalogErr
			}
			return j.affordable(ctx, stop, rep, req.Day, hits, catalog)
		}
		// This week and the day before's week: on a Monday, also last week.
		weeks := map[string]bool{loyalty.WeekOf(req.Day): true, loyalty.WeekOf(req.Day.AddDays(-1)): true}
		for _, week := range sortedKeys(weeks) {
			for _, shard := range shards {
				scopes = append(scopes, scope{name: fmt.Sprintf("affordable/%s/%02d", week, shard), handle: handle,
					page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
						return j.Store.ActiveInWeek(ctx, week, shard, cursor, j.Config.PageSize)
					}})
			}
		}
	}
	return j.run(ctx, rep, req, scopes)
}

// accountsOf reads the accounts of a page's members in batches.
func (j *Jobs) accountsOf(ctx context.Context, rep *Report, hits []loyalty.DueItem) ([]loyalty.MemberID, map[loyalty.MemberID]loyalty.Account, error) {
	ids := make([]loyalty.MemberID, len(hits))
	for i, h := range hits {
		ids[i] = h.MemberID
	}
	accounts, err := j.Store.Accounts(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	rep.add(func(r *Report) { r.Seen += len(hits); r.Read += len(accounts) })
	return ids, accounts, nil
}

func (j *Jobs) pointsExpiring(ctx context.Context, rep *Report, today loyalty.Date, hits []loyalty.DueItem) error {
	_, accounts, err := j.accountsOf(ctx, rep, hits)
	if err != nil {
		return err
	}
	var ns []loyalty.Notification
	for _, h := range hits {
		a, ok := accounts[h.MemberID]
		if !ok || len(a.Lots) == 0 || a.Lots[0].Expires == loyalty.NoExpiry || a.Lots[0].Expires < today {
			continue // erased, spent or already expired since the index was written
		}
		lot := a.Lots[0]
		left := loyalty.DaysBetween(today, lot.Expires)
		if left > j.Service.Program.EngagementRules().Reminders.PointsExpiringDays {
			continue // the index lags a change that moved the oldest lot
		}
		ns = append(ns, j.titled(ctx, loyalty.NewNotification(j.Service.Program, a.MemberID, loyalty.NotePointsExpiring, string(lot.Expires),
			fmt.Sprintf("%d points expire on %s", lot.Points, lot.Expires),
			map[string]any{"points": int64(lot.Points), "expires": string(lot.Expires), "daysLeft": left}, j.Service.Clock.Now())))
	}
	return j.notify(ctx, rep, ns)
}

func (j *Jobs) rewardsEnding(ctx context.Context, stop time.Time, rep *Report, today loyalty.Date, hits []loyalty.DueItem) error {
	ns := make([]*loyalty.Notification, len(hits))
	err := j.each(ctx, stop, rep, len(hits), func(ctx context.Context, i int) error {
		h := hits[i]
		rep.add(func(r *Report) { r.Seen++ })
		red, err := j.Store.Redemption(ctx, h.MemberID, h.RedemptionID)
		if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if red.State != loyalty.RedemptionIssued || red.ValidUntil == "" || red.ValidUntil < today {
			return nil
		}
		n := loyalty.NewNotification(j.Service.Program, h.MemberID, loyalty.NoteRewardExpiring, red.ID,
			fmt.Sprintf("Your %s is valid until %s", red.RewardName, red.ValidUntil),
			map[string]any{"redemptionId": red.ID, "rewardId": red.RewardID, "rewardName": red.RewardName,
				"validUntil": string(red.ValidUntil), "daysLeft": loyalty.DaysBetween(today, red.ValidUntil)}, j.Service.Clock.Now())
		n = j.titled(ctx, n)
		ns[i] = &n
		return nil
	})
	if nerr := j.notify(context.WithoutCancel(ctx), rep, compact(ns)); nerr != nil && err == nil {
		err = nerr
	}
	return err
}

// affordable tells members whose balance now covers rewards it did not
// cover when the job last looked, then remembers the balance it saw.
func (j *Jobs) affordable(ctx context.Context, stop time.Time, rep *Report, today loyalty.Date, hits []loyalty.DueItem, catalog []loyalty.Reward) error {
	ids, accounts, err := j.accountsOf(ctx, rep, hits)
	if err != nil {
		return err
	}
	seen, err := j.Store.AffordSeen(ctx, ids)
	if err != nil {
		return err
	}
	var ns []loyalty.Notification
	var changed []loyalty.MemberID
	for _, id := range ids {
		a, ok := accounts[id]
		if !ok {
			continue
		}
		before, known := seen[id]
		if known && before == a.Balance {
			continue
		}
		changed = append(changed, id)
		var newly []map[string]any
		var top loyalty.Reward
		for _, r := range catalog {
			if r.Cost > before && r.Cost <= a.Balance {
				newly = append(newly, map[string]any{"rewardId": r.ID, "name": r.Name, "cost": int64(r.Cost)})
				top = r
			}
		}
		if len(newly) == 0 {
			continue
		}
		ns = append(ns, j.titled(ctx, loyalty.NewNotification(j.Service.Program, id, loyalty.NoteRewardAffordable, string(today),
			fmt.Sprintf("You can now afford %s", top.Name),
			map[string]any{"balance": int64(a.Balance), "rewards": newly}, j.Service.Clock.Now())))
	}
	if err := j.notify(ctx, rep, ns); err != nil {
		return err
	}
	return j.each(ctx, stop, rep, len(changed), func(ctx context.Context, i int) error {
		return j.Store.PutAffordSeen(ctx, changed[i], accounts[changed[i]].Balance, today)
	})
}

func compact(ns []*loyalty.Notification) []loyalty.Notification {
	var out []loyalty.Notification
	for _, n := range ns {
		if n != nil {
			out = append(out, *n)
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
