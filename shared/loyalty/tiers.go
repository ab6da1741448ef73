package loyalty

import "time"

// NoRoom is the tier headroom of a member on the top tier: no accrual
// reaches another tier.
const NoRoom Points = MaxPoints * 1000

// monthOf is the program-local month "2006-01" of t.
func (p *Program) monthOf(t time.Time) string {
	t = t.In(p.Location())
	return monthKey(t.Year(), t.Month())
}

// monthKey is a month as "2006-01" (years 0 to 9999), written without
// time.Format, which the window's months on every credit made costly.
func monthKey(year int, month time.Month) string {
	if year < 0 || year > 9999 {
		return time.Date(year, month, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	}
	b := [7]byte{byte('0' + year/1000), byte('0' + year/100%10), byte('0' + year/10%10), byte('0' + year%10), '-',
		byte('0' + int(month)/10), byte('0' + int(month)%10)}
	return string(b[:])
}

// WindowMonths is the most months a tier window spans (rolling 12 months, or
// the calendar year so far): qualifying points of a month more than
// WindowMonths+1 before today (one more for the program's timezone) count in
// no window now or later. The planner forgets them; a quick credit
// (QuickCredit) may forget StaleQualifyingMonths, so the map stays bounded.
const WindowMonths = 12

// StaleQualifyingMonths are months ("2006-01") that no tier window can count
// any more at t: from WindowMonths+2 to WindowMonths+2+span-1 months before
// t's month (UTC): what a quick credit may forget as it adds qualifying
// points; planned writes drop every month out of the window anyway.
func StaleQualifyingMonths(t time.Time, span int) []string {
	first := time.Date(t.UTC().Year(), t.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]string, 0, span)
	for i := 0; i < span; i++ {
		m := first.AddDate(0, -(WindowMonths + 2 + i), 0)
		out = append(out, monthKey(m.Year(), m.Month()))
	}
	return out
}

// windowMonths are the months whose qualifying points count on day today.
func (p *Program) windowMonths(today Date) map[string]bool {
	t := today.time()
	months := map[string]bool{}
	switch p.Tiers.Window {
	case WindowCalendarYr:
		for m := time.January; m <= t.Month(); m++ {
			months[monthKey(t.Year(), m)] = true
		}
	default:
		first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 12; i++ {
			m := first.AddDate(0, -i, 0)
			months[monthKey(m.Year(), m.Month())] = true
		}
	}
	return months
}

// QualifyingPoints is the member's qualifying points in the tier window.
func (p *Program) QualifyingPoints(a Account, today Date) Points {
	var sum Points
	in := p.windowMonths(today)
	for m, pts := range a.Qualifying {
		if in[m] {
			sum += pts
		}
	}
	return sum
}

// cycleEnd is the day a tier reached on today is reviewed: a year later on
// a rolling window, the next 1 January on a calendar-year window.
func (p *Program) cycleEnd(today Date) Date {
	if p.Tiers.Window == WindowCalendarYr {
		return Date(today[:4] + "-12-31").AddDays(1)
	}
	return today.AddMonths(12)
}

func (p *Program) levelIndex(id string) int {
	for i, l := range p.Tiers.Levels {
		if l.ID == id || (id == "" && i == 0) {
			return i
		}
	}
	return 0
}

// TierProgress is what a member sees of their tier.
type TierProgress struct {
	Tier         string `json:"tier"`
	Qualifying   Points `json:"qualifyingPoints"`
	NextTier     string `json:"nextTier,omitempty"`
	PointsToNext Points `json:"pointsToNextTier,omitempty"`
	ReviewOn     Date   `json:"reviewOn,omitempty"`
}

// Progress tells the member's tier, the points to the next and the review day.
func (p *Program) Progress(a Account, today Date) TierProgress {
	if len(p.Tiers.Levels) == 0 {
		return TierProgress{Tier: "base"}
	}
	i := p.levelIndex(a.Tier)
	tp := TierProgress{Tier: p.Tiers.Levels[i].ID, Qualifying: p.QualifyingPoints(a, today), ReviewOn: a.TierReviewOn}
	if i+1 < len(p.Tiers.Levels) {
		next := p.Tiers.Levels[i+1]
		tp.NextTier, tp.PointsToNext = next.ID, max(0, next.Threshold-tp.Qualifying)
	}
	return tp
}

// upgrade raises the tier at once to the highest level the window's
// qualifying points reach and forgets months out of every window. It
// never lowers a tier: that happens only at the cycle end (PlanTierReview).
func (p *Program) upgrade(a *Account, e *Entry, today Date) {
	if len(p.Tiers.Levels) == 0 {
		return
	}
	in := p.windowMonths(today)
	var sum Points
	for m, pts := range a.Qualifying {
		switch {
		case in[m]:
			sum += pts
		case m < string(today[:7]):
			delete(a.Qualifying, m) // out of every future window
		}
	}
	cur := p.levelIndex(a.Tier)
	reached := cur
	for i := cur + 1; i < len(p.Tiers.Levels); i++ {
		if sum >= p.Tiers.Levels[i].Threshold {
			reached = i
		}
	}
	if reached > cur {
		a.Tier = p.Tiers.Levels[reached].ID
		a.TierReviewOn = p.cycleEnd(today)
		e.Tier = a.Tier
	}
}

// PlanTierReview is the cycle-end review: a member whose qualifying points
// no longer hold their tier goes down one level (never more per cycle); the
// next review is one cycle later. ok is false when the review is not due.
func PlanTierReview(acct Account, prog *Program, key string, today Date, now time.Time) (Change, bool) {
	if acct.TierReviewOn == "" || acct.TierReviewOn > today || len(prog.Tiers.Levels) == 0 {
		return Change{}, false
	}
	a := acct.Clone()
	e := Entry{MemberID: a.MemberID, Key: key, Kind: KindTierReview, At: now, Actor: "job:tier-review", Reason: "tier review " + string(today)}
	sum := prog.QualifyingPoints(a, today)
	i := prog.levelIndex(a.Tier)
	if i > 0 && sum < prog.Tiers.Levels[i].Threshold {
		i--
		e.Tier = prog.Tiers.Levels[i].ID
	}
	a.Tier = prog.Tiers.Levels[i].ID
	if i == 0 {
		a.Tier, a.TierReviewOn = "", ""
	} else {
		a.TierReviewOn = prog.cycleEnd(today)
	}
	e.Reason += ": " + prog.Tiers.Levels[i].ID
	return Change{Entry: e, Account: a}, true
}

// TierAbove is the level right above id ("" on the top level): where a
// member the cycle-end review moved to id came from.
func (p *Program) TierAbove(id string) string {
	i := p.levelIndex(id)
	if i+1 < len(p.Tiers.Levels) {
		return p.Tiers.Levels[i+1].ID
	}
	return ""
}
