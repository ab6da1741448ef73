package loyalty

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	e := DefaultEngagement()
	cases := []struct {
		name string
		m    ClassMetrics
		want string
	}{
		{"never bought", ClassMetrics{RecencyDays: 1}, ""},
		{"champion", ClassMetrics{RecencyDays: 3, Purchases: 8, SpendMinor: 25_000, EverBought: true}, "champions"},
		{"frequent but small spend is loyal", ClassMetrics{RecencyDays: 3, Purchases: 8, SpendMinor: 5_000, EverBought: true}, "loyal"},
		{"champion gone quiet for 31 days is loyal", ClassMetrics{RecencyDays: 31, Purchases: 8, SpendMinor: 25_000, EverBought: true}, "loyal"},
		{"one purchase, 10 days ago", ClassMetrics{RecencyDays: 10, Purchases: 1, EverBought: true}, "at_risk"},
		{"46 days", ClassMetrics{RecencyDays: 46, Purchases: 4, EverBought: true}, "at_risk"},
		{"90 days is still at risk", ClassMetrics{RecencyDays: 90, Purchases: 1, EverBought: true}, "at_risk"},
		{"91 days is lapsed", ClassMetrics{RecencyDays: 91, Purchases: 1, EverBought: true}, "lapsed"},
		{"purchases older than the window", ClassMetrics{RecencyDays: 400, EverBought: true}, "lapsed"},
	}
	for _, c := range cases {
		if got := e.Classify(c.m); got != c.want {
			t.Errorf("%s: got class %q, want %q", c.name, got, c.want)
		}
	}
	if !e.Lapsed(ClassMetrics{RecencyDays: 91, EverBought: true}) || e.Lapsed(ClassMetrics{RecencyDays: 90, EverBought: true}) {
		t.Errorf("lapse: want lapsed after more than %d days", e.WinBack.AfterDays)
	}
	if got := e.RecencyBoundaries(); len(got) != 3 || got[0] != 30 || got[1] != 45 || got[2] != 90 {
		t.Errorf("boundaries: got %v, want [30 45 90]", got)
	}
}

func TestMetricsOf(t *testing.T) {
	p := program(t, RefundNegative)
	today := Date("2026-06-10")
	berlin := p.Location()
	spend := func(minor int64) *Money { return &Money{Minor: minor, Currency: "EUR"} }
	ledger := []Entry{
		{Kind: KindAccrual, At: time.Date(2025, 6, 10, 12, 0, 0, 0, berlin), Spend: spend(9_999)}, // 365 days back: outside
		{Kind: KindAccrual, At: time.Date(2025, 6, 11, 12, 0, 0, 0, berlin), Spend: spend(1_000)},
		{Kind: KindAccrual, At: time.Date(2026, 6, 1, 23, 30, 0, 0, berlin), Spend: spend(2_500)},
		{Kind: KindAdjustment, At: time.Date(2026, 6, 2, 12, 0, 0, 0, berlin)},
		{Kind: KindRedemption, At: time.Date(2026, 6, 3, 12, 0, 0, 0, berlin)},
	}
	a := Account{LastActivity: time.Date(2026, 6, 3, 22, 30, 0, 0, time.UTC)} // Jun 4 00:30 in Berlin
	m := p.MetricsOf(a, ledger, today)
	if m.RecencyDays != 6 || m.Purchases != 2 || m.SpendMinor != 3_500 || !m.EverBought || m.LastActive != "2026-06-04" {
		t.Errorf("got %+v, want recency 6, 2 purchases, 3500 spent, last active 2026-06-04", m)
	}
}

func TestEngagementValidation(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(e *Engagement)
		field string
	}{
		{"defaults", func(e *Engagement) {}, ""},
		{"bad class name", func(e *Engagement) { e.Classes[0].Name = "Top Customers" }, "engagement.classes[0].name"},
		{"duplicate class", func(e *Engagement) { e.Classes[1].Name = "champions" }, "engagement.classes[1].name"},
		{"negative recency", func(e *Engagement) { e.Classes[2].MaxRecencyDays = -1 }, "engagement.classes[2].maxRecencyDays"},
		{"reminder window", func(e *Engagement) { e.Reminders.PointsExpiringDays = 400 }, "engagement.reminders.pointsExpiringDays"},
		{"win-back without reason", func(e *Engagement) { e.WinBack.Reason = "" }, "engagement.winBack.reason"},
		{"win-back off needs no reason", func(e *Engagement) { e.WinBack = WinBackPolicy{} }, ""},
		{"inbox keep days", func(e *Engagement) { e.Inbox.KeepDays = 5000 }, "engagement.inbox.keepDays"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, RefundNegative)
			e := DefaultEngagement()
			c.edit(&e)
			p.Engagement = &e
			err := p.Validate()
			var le *Error
			switch {
			case c.field == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case c.field != "" && (!errors.As(err, &le) || le.Field != c.field):
				t.Errorf("got %v, want an error on %s", err, c.field)
			}
		})
	}
}

// memInbox is an in-memory Inbox for the notifier tests.
type memInbox struct {
	items map[string]Notification
	fail  error
}

func (m *memInbox) Deliver(_ context.Context, n Notification) (Notification, bool, error) {
	if m.fail != nil {
		return Notification{}, false, m.fail
	}
	k := string(n.MemberID) + "/" + n.ID
	if old, ok := m.items[k]; ok {
		return old, false, nil
	}
	m.items[k] = n
	return n, true, nil
}

func (m *memInbox) MarkPublished(_ context.Context, member MemberID, id string) error {
	k := string(member) + "/" + id
	n := m.items[k]
	n.Published = true
	m.items[k] = n
	return nil
}

type memBus struct {
	events []DomainEvent
	fail   int // fail this many calls
}

func (b *memBus) Publish(_ context.Context, evs []DomainEvent) error {
	if b.fail > 0 {
		b.fail--
		return Transient(nil, "bus down")
	}
	b.events = append(b.events, evs...)
	return nil
}

// A notification is stored and published once per occasion; an event the
// bus refused goes out on the next run, with the same id.
func TestNotifierOncePerOccasion(t *testing.T) {
	p := program(t, RefundNegative)
	inbox, bus := &memInbox{items: map[string]Notification{}}, &memBus{fail: 1}
	nt := &Notifier{Inbox: inbox, Publisher: bus, Program: p}
	now := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
	ns := []Notification{
		NewNotification(p, "m1", NotePointsExpiring, "2026-04-30", "50 points expire on 2026-04-30", map[string]any{"points": 50}, now),
		NewNotification(p, "m2", NotePointsExpiring, "2026-04-30", "10 points expire on 2026-04-30", map[string]any{"points": 10}, now),
	}
	if _, err := nt.Notify(context.Background(), ns); err == nil {
		t.Fatalf("first run with the bus down: got no error, want one")
	}
	var total NotifyResult
	for run := 0; run < 3; run++ {
		res, err := nt.Notify(context.Background(), ns)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		total.Stored += res.Stored
		total.Repeated += res.Repeated
		total.Published += res.Published
	}
	if total.Stored != 0 || total.Repeated != 6 || total.Published != 2 || len(bus.events) != 2 {
		t.Errorf("after a failed run and 3 more: got %+v and %d events, want 0 stored, 6 repeated, 2 published", total, len(bus.events))
	}
	if again := ns[0].Event(p.ID); bus.events[0].ID != again.ID || again.Type != EventPointsExpiring {
		t.Errorf("event id: got %s, want the stable id %s of type %s", bus.events[0].ID, again.ID, EventPointsExpiring)
	}
	if ns[0].ID != "expiring-2026-04-30" || !ns[0].ExpiresAt.Equal(now.AddDate(0, 0, 90)) {
		t.Errorf("notification: got id %s expiring %s, want expiring-2026-04-30 kept 90 days", ns[0].ID, ns[0].ExpiresAt)
	}
	body := bus.events[0].Body()
	for _, k := range []string{"eventId", "memberId", "programId", "occurredAt", "notificationId", "points"} {
		if _, ok := body[k]; !ok {
			t.Errorf("event body: got no %q in %v", k, body)
		}
	}
}

func TestWeekOf(t *testing.T) {
	cases := map[Date]string{"2026-01-01": "2026-W01", "2027-01-01": "2026-W53", "2026-12-28": "2026-W53", "2026-06-15": "2026-W25"}
	for d, want := range cases {
		if got := WeekOf(d); got != want {
			t.Errorf("week of %s: got %s, want %s", d, got, want)
		}
	}
	if got := DaysBetween("2026-02-27", "2026-03-01"); got != 2 {
		t.Errorf("days between: got %d, want 2", got)
	}
}
