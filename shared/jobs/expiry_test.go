package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// seedMembers writes n members the way the store writes them, one lot each,
// and every every-th one with a lot due on 2026-04-01 (last day 2026-03-31)
// plus a later lot. It returns the members with lots due.
func seedMembers(tb testing.TB, e *env, n, every int) []loyalty.MemberID {
	tb.Helper()
	start := time.Now()
	created := time.Date(2025, 3, 5, 10, 0, 0, 0, time.UTC)
	var (
		accounts []loyalty.Account
		entries  []loyalty.Entry
		due      []loyalty.MemberID
	)
	for i := range n {
		id := loyalty.MemberID(fmt.Sprintf("m%05d", i))
		a := loyalty.NewAccount(id, created)
		a.Version = 1
		var lots []loyalty.Lot
		if i%every == 0 {
			lots = []loyalty.Lot{{Expires: "2026-03-31", Points: 30}, {Expires: "2026-11-30", Points: 12}}
			due = append(due, id)
		} else {
			lots = []loyalty.Lot{{Expires: loyalty.Date("2026-05-31").AddMonths(i % 6).EndOfMonth(), Points: 25}}
		}
		for k, l := range lots {
			a.Balance += l.Points
			a.Lifetime += l.Points
			entries = append(entries, loyalty.Entry{MemberID: id, Key: fmt.Sprintf("p:seed:%d", k), Kind: loyalty.KindAccrual,
				Delta: l.Points, Earned: l.Points, At: created, Lots: []loyalty.Lot{l}, Actor: "seed"})
		}
		a.Lots = lots
		a.DueOn = lots[0].Expires.AddDays(1)
		accounts = append(accounts, a)
	}
	if err := e.store.Seed(context.Background(), accounts, entries); err != nil {
		tb.Fatalf("seed: %v", err)
	}
	tb.Logf("seeded %d members (%d with a lot due, %d items) in %s", n, len(due), len(accounts)+len(entries), time.Since(start).Round(time.Millisecond))
	return due
}

// runDay is the expiry run of 2026-04-01, at 00:05 in Berlin.
var runDay = loyalty.Date("2026-04-01")

func expiryRunTime() time.Time { return time.Date(2026, 3, 31, 22, 5, 0, 0, time.UTC) }

// 20,000 members, 1,000 with lots due: the job finds them through the due
// index only, reads at most 1.2 items per due lot and never Scans; a second
// run changes nothing.
func TestExpiry20000Members(t *testing.T) {
	e := newEnv(t, jobs.Config{})
	ctx := context.Background()
	due := seedMembers(t, e, 20_000, 20)
	// A tenth of them bought something after their copy of the lots was
	// made, opening a new lot: a quick accrual (no read) the index does not
	// see, so the job must read those accounts. (A seeded account's first
	// accrual, in February, is planned, which refreshes the copy; the
	// second, in March, is quick and opens the lot of March.)
	active := due[:len(due)/10]
	for _, id := range active {
		e.accrue(t, string(id), "february", 1_000, time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC))
		e.accrue(t, string(id), "march", 1_000, time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC))
	}
	e.clock.Set(expiryRunTime())

	before := e.jstore.Consumed()
	rep, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay})
	if err != nil {
		t.Fatal(err)
	}
	c := e.jstore.Consumed()
	items, queries, scans := c.ItemsRead-before.ItemsRead, c.Queries-before.Queries, c.Scans-before.Scans
	perLot := float64(items) / float64(len(due))
	t.Logf("first run: %d due lots expired in %s; %d items read (%.3f per due lot) by %d Queries, %d Scans; %d accounts read (copy out of date); read %.1f RCU, write %.1f WCU; %d notified",
		rep.Changed, rep.Took, items, perLot, queries, scans, rep.Read, c.Read-before.Read, c.Write-before.Write, rep.Notified)
	if !rep.Complete || rep.Changed != len(due) || rep.Notified != len(due) {
		t.Errorf("report: got complete=%v changed=%d notified=%d, want complete with %d of each", rep.Complete, rep.Changed, rep.Notified, len(due))
	}
	if perLot > 1.2 {
		t.Errorf("items read per due lot: got %.3f, want <= 1.2", perLot)
	}
	if scans != 0 {
		t.Errorf("scans: got %d, want 0", scans)
	}
	if rep.Read != len(active) {
		t.Errorf("accounts read: got %d, want %d (the members who opened a lot since)", rep.Read, len(active))
	}

	second := e.jstore.Consumed()
	rep2, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay})
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.jstore.Consumed()
	t.Logf("second run: %d changed, %d notified, %d items read, %.1f WCU", rep2.Changed, rep2.Notified, c2.ItemsRead-second.ItemsRead, c2.Write-second.Write)
	if rep2.Changed != 0 || rep2.Notified != 0 || rep2.Seen != 0 || c2.Write != second.Write {
		t.Errorf("second run: got %d changed, %d notified, %d seen, %.1f WCU; want nothing", rep2.Changed, rep2.Notified, rep2.Seen, c2.Write-second.Write)
	}
	if got := e.sink.byType(t)[loyalty.EventPointsExpired]; got != len(due) {
		t.Errorf("points.expired.v1 events: got %d, want %d", got, len(due))
	}
	// Every due member lost the March lot, kept the November one, and is due
	// again the day after it.
	accounts, err := e.store.Accounts(ctx, due)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range due {
		a := accounts[id]
		want := loyalty.Points(12)
		if a.Balance != want && a.Balance != want+20 {
			t.Errorf("%s: got balance %d, want %d (+20 for the March buyers)", id, a.Balance, want)
		}
		if a.DueOn != "2026-12-01" {
			t.Errorf("%s: got due %s, want 2026-12-01", id, a.DueOn)
		}
	}
	ns := e.inbox(t, due[3])
	if len(ns) != 1 || ns[0].Kind != loyalty.NotePointsExpired || ns[0].Data["points"] != 30.0 {
		t.Errorf("inbox of %s: got %+v, want one points_expired of 30", due[3], ns)
	}
	e.audit(t, due...)
	e.audit(t, "m00001", "m00002", "m19999")
}

// countingStore cancels the run after n expiries, as if the function were
// killed half-way.
type countingStore struct {
	*dynamo.Store
	n      int64
	done   atomic.Int64
	cancel context.CancelFunc
}

func (s *countingStore) ExpireFromSnapshot(ctx context.Context, op loyalty.Op, snap []loyalty.Lot, c loyalty.Change, note *loyalty.Notification) (loyalty.Result, bool, error) {
	if s.done.Add(1) == s.n {
		s.cancel()
	}
	return s.Store.ExpireFromSnapshot(ctx, op, snap, c, note)
}

// A run killed half-way leaves checkpoints; the next run finishes the job,
// each member expired and told once, and the audit is clean.
func TestExpiryKilledHalfWayFinishesOnRerun(t *testing.T) {
	e := newEnv(t, jobs.Config{PageSize: 25, Concurrency: 4})
	ctx := context.Background()
	due := seedMembers(t, e, 2_000, 5) // 400 due
	e.clock.Set(expiryRunTime())

	runCtx, cancel := context.WithCancel(ctx)
	cs := &countingStore{Store: e.jstore, n: 150, cancel: cancel}
	killed := jobs.New(cs, e.svc.Program, e.clock, e.sink, jobs.Config{Shards: dynamo.DueShards, PageSize: 25, Concurrency: 4}, nil)
	rep, err := killed.ExpirePoints(runCtx, jobs.Request{Day: runDay})
	t.Logf("killed run: complete=%v, %d expired, %d of %d scopes done, err=%v", rep.Complete, rep.Changed, rep.Done, rep.Scopes, err)
	if err == nil || rep.Complete || rep.Changed == 0 || rep.Changed >= len(due) {
		t.Fatalf("killed run: got complete=%v changed=%d err=%v, want an incomplete run with some expired", rep.Complete, rep.Changed, err)
	}

	rep2, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay})
	if err != nil {
		t.Fatal(err)
	}
	// Transactions cut off in flight may have committed without the killed
	// run knowing: their members left the index, and their notifications
	// (written in the same transaction) wait in the outbox.
	inFlight := len(due) - rep.Changed - rep2.Changed
	t.Logf("rerun: complete=%v, %d expired, %d replayed, %d scopes skipped as done; %d committed in flight, %d events published from the outbox",
		rep2.Complete, rep2.Changed, rep2.Replayed, rep.Done, inFlight, rep2.Republished)
	if !rep2.Complete || inFlight < 0 || inFlight > killed.Config.Concurrency || rep2.Republished < inFlight {
		t.Errorf("rerun: got complete=%v, %d+%d expired, %d republished; want complete, at most %d in flight, all of them republished",
			rep2.Complete, rep.Changed, rep2.Changed, rep2.Republished, killed.Config.Concurrency)
	}
	if got := e.sink.byType(t)[loyalty.EventPointsExpired]; got != len(due) {
		t.Errorf("points.expired.v1 events: got %d, want %d", got, len(due))
	}
	for _, id := range due {
		entries, err := e.store.Ledger(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, en := range entries {
			if en.Kind == loyalty.KindExpiry {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: got %d expiry entries, want 1", id, n)
		}
	}
	rep3, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay})
	if err != nil || rep3.Changed != 0 || rep3.Seen != 0 {
		t.Errorf("third run: got %d changed, %d seen (%v), want nothing", rep3.Changed, rep3.Seen, err)
	}
	e.clock.Set(expiryRunTime().AddDate(0, 0, 1))
	rep4, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay.AddDays(1)})
	if err != nil || rep4.Changed != 0 {
		t.Fatalf("next day's run: got %+v (%v), want nothing changed", rep4, err)
	}
	e.audit(t, due...)
}

// A run that has less time left than the stop margin starts nothing and
// says so; the next run does the work.
func TestExpiryStopsBeforeTheDeadline(t *testing.T) {
	e := newMemEnv(t, jobs.Config{StopMargin: time.Minute})
	due := seedMembers(t, e, 200, 4)
	e.clock.Set(expiryRunTime())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: runDay})
	if err != nil || rep.Complete || rep.Changed != 0 {
		t.Fatalf("short run: got complete=%v changed=%d err=%v, want an incomplete run that did nothing", rep.Complete, rep.Changed, err)
	}
	rep, err = e.jobs.ExpirePoints(context.Background(), jobs.Request{Day: runDay})
	if err != nil || !rep.Complete || rep.Changed != len(due) {
		t.Errorf("next run: got complete=%v changed=%d err=%v, want %d expired", rep.Complete, rep.Changed, err, len(due))
	}
}

// A run cut short by the deadline, and one that fails, each emit
// JobRunsIncomplete 1 by Stage and Job; the run that finishes emits 0, so
// the alarm on the last resumption of the day sees what that run left.
func TestHandlerEmitsIncompleteRuns(t *testing.T) {
	e := newMemEnv(t, jobs.Config{StopMargin: time.Minute})
	seedMembers(t, e, 200, 4)
	e.clock.Set(expiryRunTime())
	var metrics bytes.Buffer
	e.jobs.Metrics = &emf.Writer{W: &metrics, Stage: "test"}
	handler := e.jobs.Handler(jobs.ExpirePoints)
	ev := events.EventBridgeEvent{ID: "run", Time: expiryRunTime(), Detail: json.RawMessage(`{"job":"expire-points","attempt":"1"}`)}

	short, cancelShort := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelShort()
	failed, cancelFailed := context.WithCancel(context.Background())
	cancelFailed()
	for _, run := range []struct {
		name     string
		ctx      context.Context
		wantErr  bool
		complete bool
	}{
		{"short of the stop margin", short, false, false},
		{"cancelled before it read its checkpoints", failed, true, false},
		{"with time to finish", context.Background(), false, true},
	} {
		metrics.Reset()
		rep, err := handler(run.ctx, ev)
		if (err != nil) != run.wantErr || rep == nil || rep.Complete != run.complete {
			t.Fatalf("run %s: got %+v (%v), want complete=%v, error=%v", run.name, rep, err, run.complete, run.wantErr)
		}
		want := int64(1)
		if run.complete {
			want = 0
		}
		line := emfLine(t, metrics.Bytes())
		if line.JobRunsIncomplete == nil || *line.JobRunsIncomplete != want || line.Job != jobs.ExpirePoints || line.Stage != "test" {
			t.Errorf("run %s: got metrics %s, want JobRunsIncomplete %d for Stage test, Job %s", run.name, metrics.String(), want, jobs.ExpirePoints)
		}
		if !line.publishes(emf.JobRunsIncomplete, emf.StageDimension, emf.JobDimension) {
			t.Errorf("run %s: got directives %+v, want %s by [Stage Job] in namespace %s", run.name, line.AWS.CloudWatchMetrics, emf.JobRunsIncomplete, emf.Namespace)
		}
	}
}

// emfMetricLine is what the tests read of a job's metric line.
type emfMetricLine struct {
	AWS struct {
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name string }
		}
	} `json:"_aws"`
	Stage, Job        string
	JobRunsIncomplete *int64
}

// publishes reports whether the line publishes metric by exactly dims.
func (l emfMetricLine) publishes(metric string, dims ...string) bool {
	for _, d := range l.AWS.CloudWatchMetrics {
		if d.Namespace != emf.Namespace || !slices.ContainsFunc(d.Metrics, func(m struct{ Name string }) bool { return m.Name == metric }) {
			continue
		}
		if slices.ContainsFunc(d.Dimensions, func(set []string) bool { return slices.Equal(set, dims) }) {
			return true
		}
	}
	return false
}

// emfLine decodes the one metric line a run wrote.
func emfLine(tb testing.TB, out []byte) emfMetricLine {
	tb.Helper()
	if n := bytes.Count(out, []byte("\n")); n != 1 {
		tb.Fatalf("metrics: got %d lines (%q), want one per run", n, out)
	}
	var l emfMetricLine
	if err := json.Unmarshal(out, &l); err != nil {
		tb.Fatalf("metrics: got %q, want a JSON line: %v", out, err)
	}
	return l
}

// Shards split across two invocations cover the day once.
func TestExpirySplitAcrossInvocations(t *testing.T) {
	e := newMemEnv(t, jobs.Config{})
	due := seedMembers(t, e, 400, 4)
	e.clock.Set(expiryRunTime())
	total := 0
	for _, shards := range []string{"0-7", "8-15"} {
		s, err := jobs.ParseShards(shards, dynamo.DueShards)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := e.jobs.ExpirePoints(context.Background(), jobs.Request{Day: runDay, Shards: s})
		if err != nil || !rep.Complete {
			t.Fatalf("shards %s: got complete=%v (%v)", shards, rep.Complete, err)
		}
		total += rep.Changed
	}
	if total != len(due) {
		t.Errorf("two halves: got %d expired, want %d", total, len(due))
	}
}
