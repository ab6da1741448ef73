package loyalty

import (
	"fmt"
	"time"
)

// Date is a calendar day in the program's timezone, written YYYY-MM-DD. Lots
// expire at the end of their Expires day, local time. The zero Date is "".
type Date string

// NoExpiry is the expiry date of lots that never expire.
const NoExpiry Date = "9999-12-31"

const dateLayout = "2006-01-02"

// DateOf returns the calendar day of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	return Date(t.In(loc).Format(dateLayout))
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	if _, err := time.Parse(dateLayout, s); err != nil {
		return "", fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Date(s), nil
}

func (d Date) time() time.Time {
	t, err := time.Parse(dateLayout, string(d))
	if err != nil {
		panic(fmt.Sprintf("loyalty: invalid date %q", string(d)))
	}
	return t
}

// AddDays returns the day n days after d.
func (d Date) AddDays(n int) Date { return Date(d.time().AddDate(0, 0, n).Format(dateLayout)) }

// AddMonths returns the same day n months later, clamped to the last day of
// the target month (Jan 31 + 1 month = Feb 28 or 29).
func (d Date) AddMonths(n int) Date {
	t := d.time()
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	day := t.Day()
	if day > last {
		day = last
	}
	return Date(time.Date(first.Year(), first.Month(), day, 0, 0, 0, 0, time.UTC).Format(dateLayout))
}

// EndOfMonth returns the last day of d's month.
func (d Date) EndOfMonth() Date {
	t := d.time()
	return Date(time.Date(t.Year(), t.Month()+1, 0, 0, 0, 0, 0, time.UTC).Format(dateLayout))
}

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d < e }
