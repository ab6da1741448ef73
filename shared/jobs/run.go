package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/schedules"
)

// Job names (package schedules): the function names, the checkpoint
// prefixes and the "job" of a scheduled event's detail.
const (
	ExpirePoints  = schedules.ExpirePoints
	SendReminders = schedules.SendReminders
	WinBack       = schedules.WinBack
	TierReview    = schedules.TierReview
)

// Schedule and Schedules are when the jobs run (package schedules).
type Schedule = schedules.Schedule

// Schedules are the jobs' schedules.
var Schedules = schedules.All

// Store is what the jobs read and write beyond the domain's ports.
// *dynamo.Store implements it (asserted where the jobs are wired, in
// shared/jobrun).
type Store interface {
	loyalty.Store
	loyalty.Inbox
	loyalty.SnapshotStore
	// DueAccounts pages through one day and shard of the due index.
	DueAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	// RewardsEnding pages through the issued rewards whose last day is day.
	RewardsEnding(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	// ActiveInWeek pages through the members last active in an ISO week.
	ActiveInWeek(ctx context.Context, week string, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	// ReviewAccounts pages through the members whose tier cycle ends on day.
	ReviewAccounts(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	Checkpoints(ctx context.Context, job string, run loyalty.Date) (map[string]loyalty.Checkpoint, error)
	SaveCheckpoint(ctx context.Context, job string, run loyalty.Date, cp loyalty.Checkpoint) error
	Accounts(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Account, error)
	// PreferredLocale is the language the member chose (titles.go).
	PreferredLocale(ctx context.Context, member loyalty.MemberID) (string, error)
	Ledger(ctx context.Context, id loyalty.MemberID) ([]loyalty.Entry, error)
	Rewards(ctx context.Context) ([]loyalty.Reward, error)
	MemberClass(ctx context.Context, id loyalty.MemberID) (loyalty.MemberClass, bool, error)
	PutMemberClass(ctx context.Context, id loyalty.MemberID, c loyalty.MemberClass) error
	AffordSeen(ctx context.Context, ids []loyalty.MemberID) (map[loyalty.MemberID]loyalty.Points, error)
	// Unpublished pages through the notifications made on day (UTC) whose
	// event is not published yet: the outbox.
	Unpublished(ctx context.Context, day loyalty.Date, shard int, cursor string, limit int) ([]loyalty.DueItem, string, error)
	Notification(ctx context.Context, member loyalty.MemberID, id string) (loyalty.Notification, error)
	PutAffordSeen(ctx context.Context, id loyalty.MemberID, balance loyalty.Points, day loyalty.Date) error
}

// Config tunes how a job works; zero values take the defaults.
type Config struct {
	// Shards is how many shards the indexes have (dynamo.DueShards).
	Shards int
	// Concurrency bounds the members worked on at once; default 8.
	Concurrency int
	// PageSize is how many index entries one Query returns; default 100.
	PageSize int
	// LookbackDays is how many earlier days a run covers too, so a missed
	// run is caught up; default 7.
	LookbackDays int
	// StopMargin: no new page or member is started this close to the
	// invocation's deadline; default 10 s.
	StopMargin time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
	if c.LookbackDays < 0 {
		c.LookbackDays = 0
	} else if c.LookbackDays == 0 {
		c.LookbackDays = 7
	}
	if c.StopMargin <= 0 {
		c.StopMargin = 10 * time.Second
	}
	if c.Shards <= 0 {
		c.Shards = 1
	}
	return c
}

// Jobs runs the scheduled jobs of one program.
type Jobs struct {
	Store    Store
	Service  *loyalty.Service
	Notifier *loyalty.Notifier
	Config   Config
	Log      *slog.Logger
	// Metrics, when set, gets one EMF line per run of the Handler
	// (MembersChanged, PointsExpired for the expiry, JobRunsIncomplete),
	// which the dashboard and the incomplete-run alarms read.
	Metrics *emf.Writer

	sem chan struct{} // bounds the members worked on at once, across pages

	textsOnce sync.Once // the program's texts for stored titles (titles.go)
	catalog   *locale.Catalog
}

// New wires the jobs on a store, the program and the event publisher.
func New(store Store, program *loyalty.Program, clock loyalty.Clock, publisher loyalty.Publisher, cfg Config, log *slog.Logger) *Jobs {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Jobs{Store: store, Service: &loyalty.Service{Store: store, Snapshots: store, Program: program, Clock: clock},
		Notifier: &loyalty.Notifier{Inbox: store, Publisher: publisher, Program: program},
		Config:   cfg, Log: log, sem: make(chan struct{}, cfg.Concurrency)}
}

// Request is one run: the program-local day it is for and the shards of the
// indexes it covers (nil: all), so a large day can be split over several
// invocations.
type Request struct {
	Day    loyalty.Date
	Shards []int
}

// Report says what a run did. It is the function's response and its log.
type Report struct {
	Job      string       `json:"job"`
	Day      loyalty.Date `json:"day"`
	Complete bool         `json:"complete"` // every scope done; false: a later run resumes
	Scopes   int          `json:"scopes"`   // index partitions of this run
	Done     int          `json:"scopesDone"`
	Seen     int          `json:"seen"`    // index entries worked on
	Changed  int          `json:"changed"` // lots expired, members classified, offers made
	Replayed int          `json:"replayed"`
	Read     int          `json:"accountsRead"` // expiry: members whose account had to be read
	Notified int          `json:"notified"`     // new notifications
	Points   int64        `json:"points"`       // expiry: points the run expired
	Repeated int          `json:"repeated"`     // occasions already notified
	Failed   int          `json:"failed"`       // members left for the next run
	// Republished counts events of earlier runs' notifications published now.
	Republished int    `json:"republished"`
	Took        string `json:"took"`

	mu sync.Mutex
}

func (r *Report) add(f func(r *Report)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

// scope is one index partition a run walks, page by page, and what to do
// with a page: work on its members (through each, below) and return
// errStopped or an error to leave the page for the next run.
type scope struct {
	name   string
	always bool // walked on every run: no checkpoint
	page   func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error)
	handle pageFunc
}

type pageFunc func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error

// errStopped says a run stopped before the deadline; the next run resumes.
var errStopped = errors.New("stopped before the deadline")

// checkDay refuses a run for a day after today in the program's timezone:
// a job works on what is due up to its day, so a run dated ahead would
// expire lots that are still valid, remind of occasions not yet near and
// downgrade tiers before their cycle ends. Nothing is read or written first.
// Errors: invalid (final) for a day after today.
func (j *Jobs) checkDay(job string, req Request) error {
	today := j.Service.Program.Today(j.Service.Clock.Now())
	if today.Before(req.Day) {
		return loyalty.Invalid("day", "%s cannot run for %s: it is after today (%s in %s)", job, req.Day, today, j.Service.Program.Location())
	}
	return nil
}

// shardsOf is the request's shards, all of them by default.
func (j *Jobs) shardsOf(req Request) []int {
	if len(req.Shards) > 0 {
		return req.Shards
	}
	all := make([]int, j.Config.Shards)
	for i := range all {
		all[i] = i
	}
	return all
}

// run walks the scopes of one run of rep.Job: first the outbox (events an
// earlier run stored but could not publish), then the job's scopes. Scopes a
// checkpoint says are done are skipped, the others go page by page from
// their checkpoint, and after each page whose every member was handled the
// checkpoint moves on.
func (j *Jobs) run(ctx context.Context, rep *Report, req Request, work []scope) (*Report, error) {
	start := time.Now()
	job := rep.Job
	outbox := j.outboxScopes(rep, req)
	rep.Day, rep.Scopes = req.Day, len(outbox)+len(work)
	stop := time.Now().Add(100 * 365 * 24 * time.Hour)
	if dl, ok := ctx.Deadline(); ok {
		stop = dl.Add(-j.Config.StopMargin)
	}
	cps, err := j.Store.Checkpoints(ctx, job, req.Day)
	if err != nil {
		return rep, fmt.Errorf("%s %s: read checkpoints: %w", job, req.Day, err)
	}
	var (
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil || errors.Is(first, errStopped) {
			first = err
		}
		mu.Unlock()
	}
	for _, phase := range [][]scope{outbox, work} {
		queue := make(chan scope)
		var wg sync.WaitGroup
		for range min(4, max(len(phase), 1)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for sc := range queue {
					if err := j.walk(ctx, job, req.Day, stop, sc, cps[sc.name], rep); err != nil {
						fail(err)
					}
				}
			}()
		}
		for _, sc := range phase {
			if cps[sc.name].Done {
				rep.add(func(r *Report) { r.Done++ })
				continue
			}
			queue <- sc
		}
		close(queue)
		wg.Wait()
	}
	rep.Complete = rep.Done == rep.Scopes
	rep.Took = time.Since(start).Round(time.Millisecond).String()
	level := slog.LevelInfo
	if !rep.Complete {
		level = slog.LevelWarn
	}
	j.Log.Log(ctx, level, "job run", "job", job, "day", req.Day, "complete", rep.Complete, "scopes", rep.Scopes, "scopesDone", rep.Done,
		"seen", rep.Seen, "changed", rep.Changed, "replayed", rep.Replayed, "accountsRead", rep.Read, "notified", rep.Notified,
		"failed", rep.Failed, "took", rep.Took)
	if first != nil && !errors.Is(first, errStopped) {
		return rep, first
	}
	return rep, ctx.Err()
}

func (j *Jobs) walk(ctx context.Context, job string, run loyalty.Date, stop time.Time, sc scope, cp loyalty.Checkpoint, rep *Report) error {
	cp.Scope = sc.name
	for {
		if ctx.Err() != nil || time.Now().After(stop) {
			return errStopped
		}
		hits, next, err := sc.page(ctx, cp.Cursor)
		if err != nil {
			return fmt.Errorf("%s %s: read %s: %w", job, run, sc.name, err)
		}
		if len(hits) > 0 {
			if err := sc.handle(ctx, stop, hits); err != nil {
				return err
			}
		}
		cp.Cursor, cp.Done, cp.Processed = next, next == "", cp.Processed+len(hits)
		cp.UpdatedAt = time.Now().UTC()
		if !sc.always && (len(hits) > 0 || cp.Done) {
			// An empty partition is marked done too, so reruns skip it.
			if err := j.Store.SaveCheckpoint(context.WithoutCancel(ctx), job, run, cp); err != nil {
				return fmt.Errorf("%s %s: save checkpoint %s: %w", job, run, sc.name, err)
			}
		}
		if cp.Done {
			rep.add(func(r *Report) { r.Done++ })
			return nil
		}
	}
}

// each runs fn for every item with at most Config.Concurrency at once,
// shared by all the pages of a run. It starts nothing past stop or after
// ctx ends, and reports errStopped or the first error then; the page is
// then not checkpointed and the next run does it again (every fn is
// idempotent).
func (j *Jobs) each(ctx context.Context, stop time.Time, rep *Report, n int, fn func(ctx context.Context, i int) error) error {
	sem := j.sem
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for i := range n {
		if ctx.Err() != nil || time.Now().After(stop) {
			mu.Lock()
			if first == nil {
				first = errStopped
			}
			mu.Unlock()
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				rep.add(func(r *Report) { r.Failed++ })
				j.Log.Warn("member left for the next run", "job", rep.Job, "error", err.Error())
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// outboxScopes walk the outbox of the run's lookback days: notifications an
// earlier run stored but whose event it could not publish.
func (j *Jobs) outboxScopes(rep *Report, req Request) []scope {
	handle := func(ctx context.Context, stop time.Time, hits []loyalty.DueItem) error {
		var pending []loyalty.Notification
		for _, h := range hits {
			n, err := j.Store.Notification(ctx, h.MemberID, h.NotificationID)
			if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
				continue
			}
			if err != nil {
				return err
			}
			if !n.Published {
				pending = append(pending, n)
			}
		}
		published, err := j.Notifier.Publish(ctx, pending)
		rep.add(func(r *Report) { r.Republished += published })
		return err
	}
	var scopes []scope
	for _, day := range days(req.Day.AddDays(-j.Config.LookbackDays-1), req.Day) {
		for _, shard := range j.shardsOf(req) {
			scopes = append(scopes, scope{name: fmt.Sprintf("outbox/%s/%02d", day, shard), handle: handle, always: true,
				page: func(ctx context.Context, cursor string) ([]loyalty.DueItem, string, error) {
					return j.Store.Unpublished(ctx, day, shard, cursor, j.Config.PageSize)
				}})
		}
	}
	return scopes
}

// publish publishes stored notifications' events; those it cannot stay in
// the outbox for the next run.
func (j *Jobs) publish(ctx context.Context, pending []loyalty.Notification) error {
	_, err := j.Notifier.Publish(context.WithoutCancel(ctx), pending)
	return err
}

// notify hands a page's notifications to the notifier and counts.
func (j *Jobs) notify(ctx context.Context, rep *Report, ns []loyalty.Notification) error {
	if len(ns) == 0 {
		return nil
	}
	res, err := j.Notifier.Notify(ctx, ns)
	rep.add(func(r *Report) { r.Notified += res.Stored; r.Repeated += res.Repeated })
	return err
}

// days lists from..to, oldest first.
func days(from, to loyalty.Date) []loyalty.Date {
	var out []loyalty.Date
	for d := from; d <= to; d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// ParseShards reads "0-15", "3" or "0-3,8-11" into shard numbers below n.
func ParseShards(s string, n int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	set := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(hi)
		}
		if err != nil || a < 0 || b >= n || a > b {
			return nil, loyalty.Invalid("shards", "shards must be numbers or ranges from 0 to %d, like \"0-7\"; got %q", n-1, s)
		}
		for i := a; i <= b; i++ {
			set[i] = true
		}
	}
	out := make([]int, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Ints(out)
	return out, nil
}
