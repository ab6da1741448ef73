package memstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// DueShards is how many shards a day of the sparse indexes spreads over:
// the DynamoDB store's dynamo.DueShards, so that jobs.Config.Shards and the
// schedules' shard ranges mean the same on both stores.
const DueShards = table.Shards

// DueShard is the shard of the indexes a member goes to: the DynamoDB
// store's dynamo.DueShard (FNV-1a of the member id), so that the same
// member is found in the same shard on both stores.
func DueShard(id loyalty.MemberID) int { return table.Shard(string(id)) }

// indexItem is one entry of a sparse index, ordered as DynamoDB orders a
// partition of a global index: by the item's table key.
type indexItem struct {
	hit loyalty.DueItem
	sk  string // the item's sort key in the member's partition
}

// indexCursor is the opaque position after the last item a page handed out.
type indexCursor struct {
	Member loyalty.MemberID `json:"m"`
	SK     string           `json:"s"`
}

// indexPage returns the items of one index partition after cursor, at most
// limit (a limit below 1: all), and the cursor of the next page. Like a
// DynamoDB Query, a page that reaches its limit hands out a cursor even when
// nothing follows; the next page is then empty.
func indexPage(items []indexItem, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].hit.MemberID != items[j].hit.MemberID {
			return items[i].hit.MemberID < items[j].hit.MemberID
		}
		return items[i].sk < items[j].sk
	})
	var from *indexCursor
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		var c indexCursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.Member == "" {
			return nil, "", loyalty.Invalid("cursor", "the index cursor is not valid")
		}
		from = &c
	}
	hits := make([]loyalty.DueItem, 0, len(items))
	for _, it := range items {
		if from != nil && (it.hit.MemberID < from.Member || it.hit.MemberID == from.Member && it.sk <= from.SK) {
			continue
		}
		hits = append(hits, it.hit)
		if limit > 0 && len(hits) == limit {
			b, _ := json.Marshal(indexCursor{Member: it.hit.MemberID, SK: it.sk})
			return hits, base64.RawURLEncoding.EncodeToString(b), nil
		}
	}
	return hits, "", nil
}

// accountIndex pages through the accounts of one shard that match.
func (s *Store) accountIndex(ctx context.Context, shard int, cursor string, limit int, match func(a *loyalty.Account) bool, lots bool) ([]loyalty.DueItem, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []indexItem
	for id, m := range s.members {
		if m.account == nil || DueShard(id) != shard || !match(m.account) {
			continue
		}
		h := loyalty.DueItem{MemberID: id}
		if lots {
			h.Lots = copySlice(m.account.Lots)
		}
		items = append(items, indexItem{hit: h, sk: "A"})
	}
	return indexPage(items, cursor, limit)
}

// DueAccounts returns one page of the accounts whose due day is day in one
// shard of the due index, with a copy of their lots, and the cursor of the
// next page ("" after the last).
func (s *Store) DueAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.accountIndex(ctx, shard, cursor, limit, func(a *loyalty.Account) bool { return a.DueOn != "" && a.DueOn == day }, true)
}

// ReviewAccounts returns one page of the members whose tier is reviewed on
// day, in one shard of the review index.
func (s *Store) ReviewAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.accountIndex(ctx, shard, cursor, limit, func(a *loyalty.Account) bool { return a.TierReviewOn != "" && a.TierReviewOn == day }, false)
}

// ActiveInWeek returns one page of the members whose last activity falls in
// the ISO week (UTC), in one shard of the activity index.
func (s *Store) ActiveInWeek(ctx context.Context, week string, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	return s.accountIndex(ctx, shard, cursor, limit, func(a *loyalty.Account) bool {
		return !a.LastActivity.IsZero() && loyalty.WeekOfTime(a.LastActivity) == week
	}, false)
}

// RewardsEnding returns one page of the issued rewards whose last valid day
// is day, in one shard of the due index.
func (s *Store) RewardsEnding(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []indexItem
	for id, m := range s.members {
		if DueShard(id) != shard {
			continue
		}
		for rid, r := range m.redemptions {
			if r.State == loyalty.RedemptionIssued && r.ValidUntil != "" && r.ValidUntil == day {
				items = append(items, indexItem{hit: loyalty.DueItem{MemberID: id, RedemptionID: rid}, sk: "R#" + rid})
			}
		}
	}
	return indexPage(items, cursor, limit)
}

// Unpublished returns one page of the notifications made on day (UTC) in one
// shard whose event is not published yet: the outbox.
func (s *Store) Unpublished(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error) {
	if err := live(ctx); err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []indexItem
	for id, m := range s.members {
		if DueShard(id) != shard {
			continue
		}
		for nid, n := range m.inbox {
			if !n.Published && loyalty.DateOf(n.CreatedAt, time.UTC) == day {
				items = append(items, indexItem{hit: loyalty.DueItem{MemberID: id, NotificationID: nid}, sk: "N#" + nid})
			}
		}
	}
	return indexPage(items, cursor, limit)
}

// ExpireFromSnapshot implements loyalty.SnapshotStore with the DynamoDB
// store's conditions: the account exists, holds as many lots as the
// snapshot, and every expiring lot still holds what the snapshot says. Then
// it writes the entry, takes the expiring lots and their points off the
// account (nothing else of it changes but its due day and version) and puts
// note, all at once; otherwise it writes nothing and applied is false.
func (s *Store) ExpireFromSnapshot(ctx context.Context, op loyalty.Op, snapshot []loyalty.Lot, c loyalty.Change, note *loyalty.Notification) (loyalty.Result, bool, error) {
	if len(c.Entry.Lots) == 0 {
		return loyalty.Result{}, false, nil
	}
	if err := live(ctx); err != nil {
		return loyalty.Result{}, false, err
	}
	var stored loyalty.Notification
	if note != nil {
		n, err := normNotification(*note)
		if err != nil {
			return loyalty.Result{}, false, err
		}
		stored = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(c.Entry.MemberID); m != nil {
		if prior, ok := m.entries[c.Entry.Key]; ok {
			res, err := replay(cloneEntry(prior), op.Fingerprint)
			return res, true, err
		}
	}
	m := s.lookup(op.Member)
	if m == nil || m.account == nil || len(m.account.Lots) != len(snapshot) {
		return loyalty.Result{}, false, nil
	}
	a := cloneAccount(*m.account)
	held := map[loyalty.Date]loyalty.Points{}
	for _, l := range a.Lots {
		held[l.Expires] = l.Points
	}
	gone := map[loyalty.Date]bool{}
	for _, l := range c.Entry.Lots {
		if p, ok := held[l.Expires]; !ok || p != -l.Points {
			return loyalty.Result{}, false, nil // the account moved on: plan from a read
		}
		gone[l.Expires] = true
	}
	left := a.Lots[:0]
	for _, l := range a.Lots {
		if !gone[l.Expires] {
			left = append(left, l)
		}
	}
	a.Lots = copySlice(left)
	a.Balance += c.Entry.Delta
	a.Version++
	a.DueOn = c.Account.DueOn
	s.member(c.Entry.MemberID).entries[c.Entry.Key] = normEntry(c.Entry)
	m.account = &a
	if note != nil {
		s.member(note.MemberID).inbox[note.ID] = stored
	}
	return loyalty.Result{Entry: c.Entry}, true, nil
}

func checkpointKey(job string, run loyalty.Date) string { return job + "#" + string(run) }

// Checkpoints returns the checkpoints of one run (job and run day) by scope.
func (s *Store) Checkpoints(ctx context.Context, job string, run loyalty.Date) (map[string]loyalty.Checkpoint, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stored := s.checkpoints[checkpointKey(job, run)]
	out := make(map[string]loyalty.Checkpoint, len(stored))
	for scope, cp := range stored {
		out[scope] = cp
	}
	return out, nil
}

// SaveCheckpoint records how far a run got through one scope.
func (s *Store) SaveCheckpoint(ctx context.Context, job string, run loyalty.Date, cp loyalty.Checkpoint) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := checkpointKey(job, run)
	if s.checkpoints[k] == nil {
		s.checkpoints[k] = map[string]loyalty.Checkpoint{}
	}
	cp.UpdatedAt = utc(cp.UpdatedAt)
	s.checkpoints[k][cp.Scope] = cp
	return nil
}

// MemberClass returns the member's recorded customer class; ok is false
// when none was recorded yet.
func (s *Store) MemberClass(ctx context.Context, id loyalty.MemberID) (loyalty.MemberClass, bool, error) {
	if err := live(ctx); err != nil {
		return loyalty.MemberClass{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.lookup(id); m != nil && m.class != nil {
		c := *m.class
		c.Metrics.EverBought = false // not stored: it has no JSON name
		return c, true, nil
	}
	return loyalty.MemberClass{}, false, nil
}

// PutMemberClass records the member's customer class; for an erased member
// it records nothing.
func (s *Store) PutMemberClass(ctx context.Context, id loyalty.MemberID, c loyalty.MemberClass) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(id) {
		return nil // a job that read the member before the erasure puts nothing back
	}
	s.member(id).class = &c
	return nil
}

// AffordSeen returns, per member, the balance the affordability reminder
// saw last; members it never looked at are missing.
func (s *Store) AffordSeen(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Points, error) {
	if err := live(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[loyalty.MemberID]loyalty.Points, len(ids))
	for _, id := range ids {
		if m := s.lookup(id); m != nil && m.afford != nil {
			out[id] = m.afford.Balance
		}
	}
	return out, nil
}

// PutAffordSeen records the balance the affordability reminder saw on day;
// for an erased member it records nothing.
func (s *Store) PutAffordSeen(ctx context.Context, id loyalty.MemberID, balance loyalty.Points, day loyalty.Date) error {
	if err := live(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isErased(id) {
		return nil // a job that read the member before the erasure puts nothing back
	}
	s.member(id).afford = &affordRecord{Balance: balance, On: day}
	return nil
}
