package loyalty

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Engagement is the program's policy for the scheduled jobs that talk to
// members: reminders, customer classes, the win-back offer and how long the
// inbox keeps a notification. A program file without the section gets
// DefaultEngagement.
type Engagement struct {
	Reminders ReminderPolicy `json:"reminders"`
	// Classes are tried in order; a member gets the first whose criteria all
	// hold. Members who never bought anything get no class.
	Classes []CustomerClass `json:"classes"`
	// ClassWindowDays is the window purchases and spend are counted over.
	ClassWindowDays int           `json:"classWindowDays"`
	WinBack         WinBackPolicy `json:"winBack"`
	Inbox           InboxPolicy   `json:"inbox"`
}

// ReminderPolicy says which reminders the daily job sends; 0 turns one off.
type ReminderPolicy struct {
	// PointsExpiringDays: remind this many days before a lot's last day.
	PointsExpiringDays int `json:"pointsExpiringDays"`
	// RewardExpiringDays: remind this many days before an issued reward's
	// last valid day.
	RewardExpiringDays int `json:"rewardExpiringDays"`
	// Affordable: tell members active this week or last when their balance
	// now covers a reward it did not cover when the job last looked.
	Affordable bool `json:"affordable"`
}

// CustomerClass is one of the program's customer types, by recency,
// frequency and spend (RFM). Zero criteria do not restrict.
type CustomerClass struct {
	Name           string `json:"name"`
	MaxRecencyDays int    `json:"maxRecencyDays,omitempty"` // last activity at most this many days ago
	MinPurchases   int    `json:"minPurchases,omitempty"`   // purchases in the class window
	MinSpendMinor  int64  `json:"minSpendMinor,omitempty"`  // spend in the class window, program currency
}

// WinBackPolicy: a member with purchases but no activity for more than
// AfterDays is lapsed and gets Points once per lapse, with Reason on the
// ledger. AfterDays 0 turns win-back off.
type WinBackPolicy struct {
	AfterDays int    `json:"afterDays"`
	Points    Points `json:"points"`
	Reason    string `json:"reason"`
}

// InboxPolicy: notifications stay KeepDays in the member's inbox.
type InboxPolicy struct {
	KeepDays int `json:"keepDays"`
}

// DefaultEngagement is the policy of a program file without an engagement
// section.
func DefaultEngagement() Engagement {
	return Engagement{
		Reminders: ReminderPolicy{PointsExpiringDays: 30, RewardExpiringDays: 3, Affordable: true},
		Classes: []CustomerClass{
			{Name: "champions", MaxRecencyDays: 30, MinPurchases: 6, MinSpendMinor: 20_000},
			{Name: "loyal", MaxRecencyDays: 45, MinPurchases: 2},
			{Name: "at_risk", MaxRecencyDays: 90, MinPurchases: 1},
			{Name: "lapsed"},
		},
		ClassWindowDays: 365,
		WinBack:         WinBackPolicy{AfterDays: 90, Points: 100, Reason: "win-back: we miss you"},
		Inbox:           InboxPolicy{KeepDays: 90},
	}
}

// EngagementRules is the program's engagement policy, defaults filled in.
func (p *Program) EngagementRules() Engagement {
	if p.Engagement == nil {
		return DefaultEngagement()
	}
	e := *p.Engagement
	def := DefaultEngagement()
	if len(e.Classes) == 0 {
		e.Classes = def.Classes
	}
	if e.ClassWindowDays == 0 {
		e.ClassWindowDays = def.ClassWindowDays
	}
	if e.Inbox.KeepDays == 0 {
		e.Inbox.KeepDays = def.Inbox.KeepDays
	}
	return e
}

func (p *Program) validateEngagement() error {
	if p.Engagement == nil {
		return nil
	}
	e := p.EngagementRules()
	for _, c := range []struct {
		field string
		v     int
	}{
		{"engagement.reminders.pointsExpiringDays", e.Reminders.PointsExpiringDays},
		{"engagement.reminders.rewardExpiringDays", e.Reminders.RewardExpiringDays},
	} {
		if c.v < 0 || c.v > 365 {
			return Invalid(c.field, "must be between 0 (off) and 365, got %d", c.v)
		}
	}
	if e.ClassWindowDays < 1 || e.ClassWindowDays > 3660 {
		return Invalid("engagement.classWindowDays", "must be between 1 and 3660, got %d", e.ClassWindowDays)
	}
	if len(e.Classes) > 12 {
		return Invalid("engagement.classes", "at most 12 classes, got %d", len(e.Classes))
	}
	seen := map[string]bool{}
	for i, c := range e.Classes {
		f := fmt.Sprintf("engagement.classes[%d]", i)
		if !validClassName(c.Name) {
			return Invalid(f+".name", "must be 1-32 characters of a-z 0-9 _, got %q", c.Name)
		}
		if seen[c.Name] {
			return Invalid(f+".name", "class %q is listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.MaxRecencyDays < 0 || c.MaxRecencyDays > 3660 {
			return Invalid(f+".maxRecencyDays", "must be between 0 and 3660, got %d", c.MaxRecencyDays)
		}
		if c.MinPurchases < 0 || c.MinPurchases > 100_000 {
			return Invalid(f+".minPurchases", "must be between 0 and 100000, got %d", c.MinPurchases)
		}
		if c.MinSpendMinor < 0 || c.MinSpendMinor > MaxMinor {
			return Invalid(f+".minSpendMinor", "must be between 0 and %d, got %d", MaxMinor, c.MinSpendMinor)
		}
	}
	w := e.WinBack
	if w.AfterDays < 0 || w.AfterDays > 3660 {
		return Invalid("engagement.winBack.afterDays", "must be between 0 (off) and 3660, got %d", w.AfterDays)
	}
	if w.Points < 0 || w.Points > 1_000_000 {
		return Invalid("engagement.winBack.points", "must be between 0 and 1000000, got %d", w.Points)
	}
	if r := strings.TrimSpace(w.Reason); w.AfterDays > 0 && w.Points > 0 && (len(r) < 3 || len(r) > 200) {
		return Invalid("engagement.winBack.reason", "a reason of 3 to 200 characters goes on the ledger")
	}
	if e.Inbox.KeepDays < 1 || e.Inbox.KeepDays > 3660 {
		return Invalid("engagement.inbox.keepDays", "must be between 1 and 3660, got %d", e.Inbox.KeepDays)
	}
	return nil
}

func validClassName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ClassMetrics are what a member is classified by.
type ClassMetrics struct {
	RecencyDays int   `json:"recencyDays"` // days since the last activity, program timezone
	Purchases   int   `json:"purchases"`   // purchases in the class window
	SpendMinor  int64 `json:"spendMinor"`  // spend of those purchases
	EverBought  bool  `json:"-"`           // any purchase on the ledger, however old
	LastActive  Date  `json:"lastActive"`
}

// MetricsOf measures a member on day today from the account and its ledger.
func (p *Program) MetricsOf(a Account, ledger []Entry, today Date) ClassMetrics {
	loc := p.Location()
	m := ClassMetrics{LastActive: DateOf(a.LastActivity, loc)}
	m.RecencyDays = DaysBetween(m.LastActive, today)
	from := today.AddDays(-p.EngagementRules().ClassWindowDays)
	for _, e := range ledger {
		if e.Kind != KindAccrual || e.Spend == nil {
			continue
		}
		m.EverBought = true
		if d := DateOf(e.At, loc); d > from && d <= today {
			m.Purchases++
			if e.Spend.Currency == p.Currency {
				m.SpendMinor += e.Spend.Minor
			}
		}
	}
	return m
}

// Classify returns the first class whose criteria the metrics meet, "" for
// members who never bought anything or match no class.
func (e Engagement) Classify(m ClassMetrics) string {
	if !m.EverBought {
		return ""
	}
	for _, c := range e.Classes {
		if c.MaxRecencyDays > 0 && m.RecencyDays > c.MaxRecencyDays {
			continue
		}
		if m.Purchases < c.MinPurchases || m.SpendMinor < c.MinSpendMinor {
			continue
		}
		return c.Name
	}
	return ""
}

// Lapsed reports whether the win-back offer is due for these metrics.
func (e Engagement) Lapsed(m ClassMetrics) bool {
	return e.WinBack.AfterDays > 0 && e.WinBack.Points > 0 && m.EverBought && m.RecencyDays > e.WinBack.AfterDays
}

// RecencyBoundaries are the recencies (in days) at which a member's class or
// lapse can change by time passing alone: the weekly job looks at members
// whose last activity is that many days back.
func (e Engagement) RecencyBoundaries() []int {
	set := map[int]bool{}
	for _, c := range e.Classes {
		if c.MaxRecencyDays > 0 {
			set[c.MaxRecencyDays] = true
		}
	}
	if e.WinBack.AfterDays > 0 {
		set[e.WinBack.AfterDays] = true
	}
	out := make([]int, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Ints(out)
	return out
}

// DaysBetween is the number of calendar days from a to b (negative when b
// is earlier).
func DaysBetween(a, b Date) int {
	if a == "" || b == "" {
		return 0
	}
	return int(b.time().Sub(a.time()).Hours() / 24)
}

// WeekOf is the ISO 8601 week of a day, "2026-W03": the jobs find members
// by the week of their last activity (ActiveInWeek).
func WeekOf(d Date) string {
	y, w := d.time().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// WeekOfTime is the ISO week of an instant in UTC: the week a member's
// activity at t counts in.
func WeekOfTime(t time.Time) string { return WeekOf(DateOf(t, time.UTC)) }
