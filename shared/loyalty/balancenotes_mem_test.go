package loyalty_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/events/domain"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// Every balance change made outside the jobs (a referral's bonuses, their
// clawback, a feedback bonus) lands in the member's inbox once, however
// often its operation is replayed, and its event goes out once, from the
// outbox the jobs drain.

// flakyInbox fails the first fail deliveries, as a throttled table would
// between the credit and the notification.
type flakyInbox struct {
	loyalty.Inbox
	mu   sync.Mutex
	fail int
}

func (f *flakyInbox) Deliver(ctx context.Context, n loyalty.Notification) (loyalty.Notification, bool, error) {
	f.mu.Lock()
	failing := f.fail > 0
	f.fail--
	f.mu.Unlock()
	if failing {
		return loyalty.Notification{}, false, loyalty.Transient(nil, "the inbox is throttled")
	}
	return f.Inbox.Deliver(ctx, n)
}

// bus records published events.
type bus struct {
	mu     sync.Mutex
	events []loyalty.DomainEvent
}

func (b *bus) Publish(_ context.Context, evs []loyalty.DomainEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, evs...)
	return nil
}

type notesEnv struct {
	*env
	bus  *bus
	jobs *jobs.Jobs
}

func newNotesEnv(t *testing.T) *notesEnv {
	t.Helper()
	e := newEnv(t, storecontract.ProgramJSON)
	e.svc.Inbox = e.st
	b := &bus{}
	return &notesEnv{env: e, bus: b,
		jobs: jobs.New(e.st, e.svc.Program, e.clock, b, jobs.Config{Shards: memstore.DueShards}, nil)}
}

func (e *notesEnv) enrol(t *testing.T, member string) string {
	t.Helper()
	st, err := e.svc.ReferralStatus(ctx, e.enrolled(t, member))
	if err != nil {
		t.Fatal(err)
	}
	return st.Code
}

func (e *notesEnv) enrolled(t *testing.T, member string) loyalty.MemberID {
	t.Helper()
	if _, err := e.svc.Enrol(ctx, loyalty.MemberID(member)); err != nil {
		t.Fatal(err)
	}
	return loyalty.MemberID(member)
}

func (e *notesEnv) refer(t *testing.T, member, code string) {
	t.Helper()
	if _, created, err := e.svc.EnrolReferral(ctx, loyalty.MemberID(member), code); err != nil || !created {
		t.Fatalf("%s enrols with %s: got created=%v (%v), want created", member, code, created, err)
	}
}

// inbox is the member's notifications by kind.
func (e *notesEnv) inbox(t *testing.T, member string) map[loyalty.NotificationKind][]loyalty.Notification {
	t.Helper()
	ns, _, err := e.st.Notifications(ctx, loyalty.MemberID(member), "", 100, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := map[loyalty.NotificationKind][]loyalty.Notification{}
	for _, n := range ns {
		out[n.Kind] = append(out[n.Kind], n)
	}
	return out
}

// drain runs a job, which publishes the outbox first, and returns the events
// published since the last drain by type; each must match its schema and
// none may repeat an earlier id.
func (e *notesEnv) drain(t *testing.T) map[string][]loyalty.DomainEvent {
	t.Helper()
	e.bus.mu.Lock()
	before := len(e.bus.events)
	e.bus.mu.Unlock()
	if _, err := e.jobs.ExpirePoints(ctx, jobs.Request{Day: e.svc.Program.Today(e.clock.Now())}); err != nil {
		t.Fatalf("job run: %v", err)
	}
	e.bus.mu.Lock()
	defer e.bus.mu.Unlock()
	seen := map[string]bool{}
	for _, ev := range e.bus.events[:before] {
		seen[ev.ID] = true
	}
	out := map[string][]loyalty.DomainEvent{}
	for _, ev := range e.bus.events[before:] {
		if seen[ev.ID] {
			t.Errorf("event %s (%s for %s) published again", ev.ID, ev.Type, ev.MemberID)
		}
		seen[ev.ID] = true
		raw, err := json.Marshal(ev.Body())
		if err != nil {
			t.Fatal(err)
		}
		if err := domain.Validate(ev.Type, raw); err != nil {
			t.Errorf("event %s for %s: %v", ev.Type, ev.MemberID, err)
		}
		out[ev.Type] = append(out[ev.Type], ev)
	}
	return out
}

func wantKinds(t *testing.T, who string, got map[loyalty.NotificationKind][]loyalty.Notification, want map[loyalty.NotificationKind]int) {
	t.Helper()
	for k, n := range want {
		if len(got[k]) != n {
			t.Errorf("inbox of %s: got %d %s, want %d", who, len(got[k]), k, n)
		}
	}
	for k, ns := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("inbox of %s: got %d unexpected %s", who, len(ns), k)
		}
	}
}

func wantEvents(t *testing.T, got map[string][]loyalty.DomainEvent, want map[string]int) {
	t.Helper()
	for typ, n := range want {
		if len(got[typ]) != n {
			t.Errorf("events %s: got %d, want %d", typ, len(got[typ]), n)
		}
	}
	for typ, evs := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("events: got %d unexpected %s", len(evs), typ)
		}
	}
}

func num(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return -1
}

func TestReferralPayoutNotifiesBothOnce(t *testing.T) {
	e := newNotesEnv(t)
	e.refer(t, "newbie", e.enrol(t, "boss"))
	p := storecontract.Purchase("newbie", "first", 1_000, e.clock.Now())
	var wg sync.WaitGroup
	for range 3 { // the queue delivers the purchase three times at once
		wg.Go(func() {
			if _, err := e.svc.Accrue(ctx, p); err != nil {
				t.Errorf("accrue: %v", err)
			}
		})
	}
	wg.Wait()
	if _, err := e.svc.Accrue(ctx, p); err != nil { // and once more later
		t.Fatal(err)
	}
	newbie, boss := e.inbox(t, "newbie"), e.inbox(t, "boss")
	wantKinds(t, "newbie", newbie, map[loyalty.NotificationKind]int{loyalty.NoteRefereeBonus: 1})
	wantKinds(t, "boss", boss, map[loyalty.NotificationKind]int{loyalty.NoteReferrerBonus: 1})
	if ns := newbie[loyalty.NoteRefereeBonus]; len(ns) == 1 {
		if d := ns[0].Data; num(d["points"]) != 50 || d["purchaseId"] != p.Key {
			t.Errorf("referee's notification data: got %v, want 50 points on %s", d, p.Key)
		}
	}
	if ns := boss[loyalty.NoteReferrerBonus]; len(ns) == 1 {
		d := ns[0].Data
		if num(d["points"]) != 100 || d["state"] != "paid" || d["month"] != "2026-03" || num(d["monthlyCap"]) != 2 || d["entryKey"] == nil {
			t.Errorf("referrer's notification data: got %v, want 100 points paid in 2026-03 of a cap of 2 with the entry key", d)
		}
		if _, err := e.st.Entry(ctx, "boss", d["entryKey"].(string)); err != nil {
			t.Errorf("referrer's bonus entry %v: %v", d["entryKey"], err)
		}
	}
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventRefereeBonus: 1, loyalty.EventReferrerBonus: 1})
	if _, err := e.svc.Accrue(ctx, p); err != nil { // a replay after publishing
		t.Fatal(err)
	}
	wantEvents(t, e.drain(t), map[string]int{})

	// An ordinary purchase tells nobody anything.
	e.accrue(t, "newbie", "second", 2_000)
	wantKinds(t, "newbie", e.inbox(t, "newbie"), map[loyalty.NotificationKind]int{loyalty.NoteRefereeBonus: 1})
}

func TestReferralPayoutDeliveredOnTheReplayOfAFailedRun(t *testing.T) {
	e := newNotesEnv(t)
	e.refer(t, "newbie", e.enrol(t, "boss"))
	e.svc.Inbox = &flakyInbox{Inbox: e.st, fail: 1}
	p := storecontract.Purchase("newbie", "first", 1_000, e.clock.Now())
	if _, err := e.svc.Accrue(ctx, p); loyalty.ErrorCode(err) != loyalty.CodeUnavailable {
		t.Fatalf("accrue with the inbox throttled: got %v, want %s (the queue redelivers)", err, loyalty.CodeUnavailable)
	}
	if got := e.account(t, "boss").Balance; got != 100 {
		t.Fatalf("referrer after the failed run: got %d, want 100 (the credit was written)", got)
	}
	res, err := e.svc.Accrue(ctx, p)
	if err != nil || !res.Replayed {
		t.Fatalf("redelivery: got replayed=%v (%v), want a replay", res.Replayed, err)
	}
	wantKinds(t, "newbie", e.inbox(t, "newbie"), map[loyalty.NotificationKind]int{loyalty.NoteRefereeBonus: 1})
	boss := e.inbox(t, "boss")
	wantKinds(t, "boss", boss, map[loyalty.NotificationKind]int{loyalty.NoteReferrerBonus: 1})
	if ns := boss[loyalty.NoteReferrerBonus]; len(ns) == 1 && (num(ns[0].Data["points"]) != 100 || ns[0].Data["state"] != "paid") {
		t.Errorf("referrer's notification rebuilt on the replay: got %v, want 100 points paid", ns[0].Data)
	}
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventRefereeBonus: 1, loyalty.EventReferrerBonus: 1})
}

func TestReferrerAtTheCapIsToldWhy(t *testing.T) {
	e := newNotesEnv(t)
	code := e.enrol(t, "boss")
	for _, r := range []string{"r1", "r2", "r3"} {
		e.refer(t, r, code)
		e.clock.Advance(time.Minute)
		e.accrue(t, r, "first", 1_000)
	}
	boss := e.inbox(t, "boss")[loyalty.NoteReferrerBonus]
	paid, capped := 0, 0
	for _, n := range boss {
		switch {
		case n.Data["state"] == "paid" && num(n.Data["points"]) == 100:
			paid++
		case n.Data["state"] == "capped" && num(n.Data["points"]) == 0 && n.Data["entryKey"] == nil:
			capped++
		default:
			t.Errorf("referrer's notification: got %v, want 100 points paid or 0 capped", n.Data)
		}
	}
	if paid != 2 || capped != 1 {
		t.Errorf("referrer's notifications: got %d paid and %d capped, want 2 and 1 (cap of 2)", paid, capped)
	}
	// The replay of the capped payout rebuilds the same notification.
	if _, err := e.svc.Accrue(ctx, storecontract.Purchase("r3", "first", 1_000, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if got := len(e.inbox(t, "boss")[loyalty.NoteReferrerBonus]); got != 3 {
		t.Errorf("referrer's notifications after a replay: got %d, want 3", got)
	}
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventRefereeBonus: 3, loyalty.EventReferrerBonus: 3})
}

func TestErasedReferrerGetsNothing(t *testing.T) {
	e := newNotesEnv(t)
	e.refer(t, "newbie", e.enrol(t, "boss"))
	if _, err := e.svc.Erase(ctx, "boss"); err != nil {
		t.Fatal(err)
	}
	e.accrue(t, "newbie", "first", 1_000)
	wantKinds(t, "newbie", e.inbox(t, "newbie"), map[loyalty.NotificationKind]int{loyalty.NoteRefereeBonus: 1})
	wantKinds(t, "boss", e.inbox(t, "boss"), map[loyalty.NotificationKind]int{})
	events := e.drain(t)
	wantEvents(t, events, map[string]int{loyalty.EventRefereeBonus: 1})
	for _, evs := range events {
		for _, ev := range evs {
			if ev.MemberID == "boss" {
				t.Errorf("event %s about the erased referrer", ev.Type)
			}
		}
	}
}

func TestErasedBetweenCreditAndNotification(t *testing.T) {
	e := newNotesEnv(t)
	e.refer(t, "newbie", e.enrol(t, "boss"))
	e.svc.Inbox = &flakyInbox{Inbox: e.st, fail: 1}
	p := storecontract.Purchase("newbie", "first", 1_000, e.clock.Now())
	if _, err := e.svc.Accrue(ctx, p); err == nil {
		t.Fatal("accrue with the inbox throttled: got nil, want an error")
	}
	if _, err := e.svc.Erase(ctx, "boss"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Accrue(ctx, p); err != nil {
		t.Fatalf("redelivery after the referrer's erasure: %v", err)
	}
	wantKinds(t, "newbie", e.inbox(t, "newbie"), map[loyalty.NotificationKind]int{loyalty.NoteRefereeBonus: 1})
	wantKinds(t, "boss", e.inbox(t, "boss"), map[loyalty.NotificationKind]int{})
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventRefereeBonus: 1})
}

func TestReferralClawbackNotifiesOnce(t *testing.T) {
	e := newNotesEnv(t)
	e.refer(t, "newbie", e.enrol(t, "boss"))
	e.accrue(t, "newbie", "first", 1_000)
	e.drain(t)
	e.svc.Inbox = &flakyInbox{Inbox: e.st, fail: 1}
	r := storecontract.RefundOf("newbie", "refund-1", "first", 1_000, e.clock.Now())
	if _, err := e.svc.Refund(ctx, r); err == nil {
		t.Fatal("refund with the inbox throttled: got nil, want an error")
	}
	for range 2 { // the redelivery, and one more
		if _, err := e.svc.Refund(ctx, r); err != nil {
			t.Fatalf("redelivered refund: %v", err)
		}
	}
	if got := e.account(t, "boss").Balance; got != 0 {
		t.Errorf("referrer after the clawback: got %d, want 0", got)
	}
	boss := e.inbox(t, "boss")
	wantKinds(t, "boss", boss, map[loyalty.NotificationKind]int{loyalty.NoteReferrerBonus: 1, loyalty.NoteReferralClawback: 1})
	if ns := boss[loyalty.NoteReferralClawback]; len(ns) == 1 {
		if d := ns[0].Data; num(d["points"]) != 100 || d["bonusEntryKey"] != boss[loyalty.NoteReferrerBonus][0].Data["entryKey"] {
			t.Errorf("clawback data: got %v, want 100 points of the bonus entry %v", d, boss[loyalty.NoteReferrerBonus][0].Data["entryKey"])
		}
	}
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventReferralClawback: 1})
}

func TestFeedbackBonusNotifiesOnce(t *testing.T) {
	e := newNotesEnv(t)
	res := e.accrue(t, "rater", "coffee", 450)
	req := loyalty.FeedbackRequest{MemberID: "rater", PurchaseID: res.Entry.Key, Rating: 4, Comment: "good"}
	e.svc.Inbox = &flakyInbox{Inbox: e.st, fail: 1}
	if _, _, err := e.svc.GiveFeedback(ctx, req); err == nil {
		t.Fatal("feedback with the inbox throttled: got nil, want an error")
	}
	for range 2 { // the app sends it again, twice
		if _, _, err := e.svc.GiveFeedback(ctx, req); err != nil {
			t.Fatalf("feedback again: %v", err)
		}
	}
	got := e.inbox(t, "rater")
	wantKinds(t, "rater", got, map[loyalty.NotificationKind]int{loyalty.NoteFeedbackBonus: 1})
	if ns := got[loyalty.NoteFeedbackBonus]; len(ns) == 1 {
		if d := ns[0].Data; num(d["points"]) != 10 || num(d["rating"]) != 4 || d["purchaseId"] != res.Entry.Key || d["entryKey"] != "fb:"+res.Entry.Key {
			t.Errorf("feedback data: got %v, want 10 points for a 4 on %s", d, res.Entry.Key)
		}
	}
	wantEvents(t, e.drain(t), map[string]int{loyalty.EventFeedbackBonus: 1})
	wantEvents(t, e.drain(t), map[string]int{})
	if _, err := e.svc.Erase(ctx, "rater"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.GiveFeedback(ctx, req); loyalty.ErrorCode(err) != loyalty.CodeMemberErased && loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("feedback of an erased member: got %v, want %s or %s", err, loyalty.CodeMemberErased, loyalty.CodeNotFound)
	}
	wantEvents(t, e.drain(t), map[string]int{})
}
