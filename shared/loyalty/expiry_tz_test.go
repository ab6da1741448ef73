package loyalty

import (
	"testing"
	"time"
)

// at is an instant given as local wall time in the named zone.
func at(tb testing.TB, zone, wall string) time.Time {
	tb.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		tb.Fatalf("zone %s: %v", zone, err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", wall, loc)
	if err != nil {
		tb.Fatalf("time %q: %v", wall, err)
	}
	return t
}

func zoneProgram(tb testing.TB, zone string, policy ExpiryPolicy) *Program {
	tb.Helper()
	p := program(tb, RefundNegative)
	p.Timezone, p.Expiry = zone, policy
	if err := p.Validate(); err != nil {
		tb.Fatalf("program in %s: %v", zone, err)
	}
	return p
}

// Lots earned around local midnight and around daylight-saving changes
// belong to the local day, whatever day it is in UTC.
func TestLotExpiryAroundMidnightAndDST(t *testing.T) {
	eom1, eom12, plain6, plain12 := ExpiryPolicy{1, true}, ExpiryPolicy{12, true}, ExpiryPolicy{6, false}, ExpiryPolicy{12, false}
	cases := []struct {
		name   string
		zone   string
		policy ExpiryPolicy
		earned time.Time
		want   Date
	}{
		{"New York 23:30 on Mar 31 is March (UTC says Apr 1)", "America/New_York", eom1, at(t, "America/New_York", "2026-03-31 23:30:00"), "2026-04-30"},
		{"New York 00:00:00 on Apr 1 is April", "America/New_York", eom1, at(t, "America/New_York", "2026-04-01 00:00:00"), "2026-05-31"},
		{"Berlin 23:59:59 on Dec 31 stays in the old year", "Europe/Berlin", eom12, at(t, "Europe/Berlin", "2026-12-31 23:59:59"), "2027-12-31"},
		{"Berlin 00:00 on Jan 1 is the new year (UTC still Dec 31)", "Europe/Berlin", eom12, at(t, "Europe/Berlin", "2027-01-01 00:00:00"), "2028-01-31"},
		{"Kiritimati (UTC+14): 10:30 UTC on Dec 31 is Jan 1 local", "Pacific/Kiritimati", eom1, time.Date(2026, 12, 31, 10, 30, 0, 0, time.UTC), "2027-02-28"},
		{"Honolulu (UTC-10): 08:00 UTC on Mar 1 is Feb 28 local", "Pacific/Honolulu", eom1, time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), "2026-03-31"},
		{"Berlin spring forward: 02:30 does not exist, still Mar 29", "Europe/Berlin", plain6, at(t, "Europe/Berlin", "2026-03-29 02:30:00"), "2026-09-29"},
		{"Berlin spring forward: last second before the gap", "Europe/Berlin", plain6, time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), "2026-09-29"},
		{"Berlin fall back: first 02:30 (CEST)", "Europe/Berlin", plain6, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "2027-04-25"},
		{"Berlin fall back: 23:30 local after the extra hour is still Oct 25", "Europe/Berlin", plain6, time.Date(2026, 10, 25, 22, 30, 0, 0, time.UTC), "2027-04-25"},
		{"Sydney DST ends (Apr 5): 23:30 local is Apr 5", "Australia/Sydney", plain6, at(t, "Australia/Sydney", "2026-04-05 23:30:00"), "2026-10-05"},
		{"Sydney DST starts (Oct 4): 00:30 local is Oct 4 (UTC says Oct 3)", "Australia/Sydney", plain6, at(t, "Australia/Sydney", "2026-10-04 00:30:00"), "2027-04-04"},
		{"leap: Feb 29 2028 + 12 months (no EOM) clamps to Feb 28", "Europe/Berlin", plain12, at(t, "Europe/Berlin", "2028-02-29 12:00:00"), "2029-02-28"},
		{"leap: Feb 28 2027 + 12 months EOM is Feb 29 2028", "Europe/Berlin", eom12, at(t, "Europe/Berlin", "2027-02-28 12:00:00"), "2028-02-29"},
		{"leap: 23:30 on Feb 29 in New York is Feb 29 (UTC says Mar 1)", "America/New_York", plain12, at(t, "America/New_York", "2028-02-29 23:30:00"), "2029-02-28"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := zoneProgram(t, c.zone, c.policy)
			if got := p.LotExpiry(c.earned); got != c.want {
				t.Errorf("earned %s (%s): got expiry %s, want %s", c.earned.UTC().Format(time.RFC3339), c.zone, got, c.want)
			}
		})
	}
}

// The expiry job's day is the program's local day: a lot whose last day is
// D expires on the job run of D+1 local time, not before, including runs at
// 00:05 local on the nights the clocks change.
func TestLotExpiresOnTheRightLocalDay(t *testing.T) {
	cases := []struct {
		name    string
		zone    string
		expires Date
		run     time.Time // when the daily job runs
		expired bool
	}{
		{"Berlin: 23:30 UTC on Mar 31 is Apr 1 local: expires", "Europe/Berlin", "2026-03-31", time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC), true},
		{"Berlin: 21:30 UTC on Mar 31 is still Mar 31: valid", "Europe/Berlin", "2026-03-31", time.Date(2026, 3, 31, 21, 30, 0, 0, time.UTC), false},
		{"Berlin spring forward night, run 00:05 local on Mar 29", "Europe/Berlin", "2026-03-28", at(t, "Europe/Berlin", "2026-03-29 00:05:00"), true},
		{"Berlin spring forward night, run 23:55 local on Mar 28", "Europe/Berlin", "2026-03-28", at(t, "Europe/Berlin", "2026-03-28 23:55:00"), false},
		{"Berlin fall back night, run 00:05 local on Oct 25", "Europe/Berlin", "2026-10-24", at(t, "Europe/Berlin", "2026-10-25 00:05:00"), true},
		{"New York: 03:00 UTC on Nov 1 is Oct 31 local: valid", "America/New_York", "2026-10-31", time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC), false},
		{"New York: 05:00 UTC on Nov 1 is Nov 1 local: expires", "America/New_York", "2026-10-31", time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), true},
		{"leap day lot, run Feb 29 local: valid", "Europe/Berlin", "2028-02-29", at(t, "Europe/Berlin", "2028-02-29 23:59:00"), false},
		{"leap day lot, run Mar 1 local: expires", "Europe/Berlin", "2028-02-29", at(t, "Europe/Berlin", "2028-03-01 00:00:00"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := zoneProgram(t, c.zone, ExpiryPolicy{12, true})
			today := p.Today(c.run)
			a := Account{MemberID: "m", Balance: 10, Lots: []Lot{{Expires: c.expires, Points: 10}}}
			a.refreshDue("")
			if want := c.expires.AddDays(1); a.DueOn != want {
				t.Errorf("due day: got %s, want %s", a.DueOn, want)
			}
			ch, ok := PlanExpiry(a, p, "e:"+string(today), today, c.run)
			if ok != c.expired {
				t.Fatalf("run at %s (local day %s): got expired=%v, want %v", c.run.UTC().Format(time.RFC3339), today, ok, c.expired)
			}
			if ok && (ch.Entry.Delta != -10 || ch.Account.Balance != 0 || ch.Account.DueOn != "") {
				t.Errorf("expiry: got delta %d balance %d due %q, want -10, 0 and no due day", ch.Entry.Delta, ch.Account.Balance, ch.Account.DueOn)
			}
		})
	}
}
