package jobs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// WinBack classifies members into the program's customer classes by recency,
// frequency and spend, records the class on the member (a class_changed
// notification and member.class_changed.v1 when it changes) and gives lapsed
// members the program's win-back bonus, once per lapse (winback_offered,
// winback.offered.v1).
//
// It looks only at members whose class can have changed since last week:
// those active in the last week (activity index), and those whose last
// activity is one of the class boundaries (or the lapse) away, i.e. whose
// recency crossed it by time passing. The LookbackDays widen both windows so
// that a missed weekly run is caught up.
func (j *Jobs) WinBack(ctx context.Context, req Request) (*Report, error) {
	if err := j.checkDay(WinBack, req); err != nil {
		return nil, err
	}
	rep := &Report{Job: WinBack}
	e := j.Service.Program.EngagementRules()
	span := 7 + j.Config.LookbackDays
	weeks := map[string]bool{}
	addDays := func(from, to loyalty.Date) {
		// One day more on each side: the index files weeks in UTC, the
		// program counts days in its timezone.
		for _, d := range days(from.AddDays(-1), to.AddDays(1)) {
			weeks[loyalty.WeekOf(d)] = true
		}
	}
	addDays(req.Day.AddDays(-span), req.Day)
	for _, b := range e.RecencyBoundaries() {
		addDays(req.Day.AddDays(-b-span), req.Day.AddDays(-b))
	}
	handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
		_, accounts, err := j.accountsOf(ctx, rep, hits)
		if err != nil {
			return err
		}
		outcomes := make([]outcome, len(hits))
		err = j.each(ctx, stop, rep, len(hits), func(ctx context.Context, i int) error {
			a, ok := accounts[hits[i].MemberID]
			if !ok {
				return nil
			}
			o, err := j.review(ctx, req.Day, a)
			outcomes[i] = o
			return err
		})
		// Tell first, record after: a run that fails in between tells again
		// (once, the inbox keeps ids) instead of never.
		var all []loyalty.Notification
		for _, o := range outcomes {
			all = append(all, o.notes...)
		}
		ctx = context.WithoutCancel(ctx)
		if nerr := j.notify(ctx, rep, all); nerr != nil {
			return nerr
		}
		for i, o := range outcomes {
			if o.record == nil {
				continue
			}
			if perr := j.Store.PutMemberClass(ctx, hits[i].MemberID, *o.record); perr != nil && err == nil {
				err = perr
			}
			rep.add(func(r *Report) { r.Changed++ })
		}
		return err
	}
	var scopes []scope
	for _, week := range sortedKeys(weeks) {
		for _, shard := range j.shardsOf(req) {
			scopes = append(scopes, scope{name: fmt.Sprintf("active/%s/%02d", week, shard), handle: handle,
				page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
					return j.Store.ActiveInWeek(ctx, week, shard, cursor, j.Config.PageSize)
				}})
		}
	}
	return j.run(ctx, rep, req, scopes)
}

// outcome is what a review decided for one member: what to tell them and
// the class record to write once they were told (nil: unchanged).
type outcome struct {
	notes  []loyalty.Notification
	record *loyalty.MemberClass
}

// review classifies one member and makes the win-back offer when it is due.
// Every step is idempotent: the class record changes with the class only,
// the offer's ledger key names the lapse (a repeat replays the first offer),
// and each notification's id names its occasion.
func (j *Jobs) review(ctx context.Context, today loyalty.Date, a loyalty.Account) (outcome, error) {
	prog := j.Service.Program
	e := prog.EngagementRules()
	ledger, err := j.Store.Ledger(ctx, a.MemberID)
	if err != nil {
		return outcome{}, err
	}
	m := prog.MetricsOf(a, ledger, today)
	class := e.Classify(m)
	prev, _, err := j.Store.MemberClass(ctx, a.MemberID)
	if err != nil {
		return outcome{}, err
	}
	now := j.Service.Clock.Now()
	var o outcome
	rec := prev
	if class != prev.Class {
		rec.Class, rec.Since, rec.Metrics, rec.ReviewedOn = class, today, m, today
		o.notes = append(o.notes, j.titled(ctx, loyalty.NewNotification(prog, a.MemberID, loyalty.NoteClassChanged, string(today),
			fmt.Sprintf("Your member status is now %s", strings.ReplaceAll(class, "_", " ")),
			map[string]any{"from": prev.Class, "to": class, "recencyDays": m.RecencyDays, "purchases": m.Purchases,
				"spendMinor": m.SpendMinor, "currency": prog.Currency}, now)))
	}
	if e.Lapsed(m) {
		res, err := j.Service.OfferWinBack(ctx, a.MemberID, m.LastActive)
		if err != nil {
			return outcome{}, err
		}
		rec.WinBackFor = m.LastActive
		o.notes = append(o.notes, j.titled(ctx, loyalty.NewNotification(prog, a.MemberID, loyalty.NoteWinBackOffered, string(m.LastActive),
			fmt.Sprintf("We miss you: %d bonus points", res.Entry.Earned),
			map[string]any{"points": int64(res.Entry.Earned), "reason": res.Entry.Reason, "lastActive": string(m.LastActive),
				"entryKey": res.Entry.Key}, now)))
	}
	if rec != prev {
		rec.ReviewedOn = today
		o.record = &rec
	}
	return o, nil
}
