// Package schedules is when each scheduled job runs, in the program's
// timezone: the one table the CDK stack (EventBridge Scheduler) and the
// local scheduler (robfig/cron) both read, and the names of the jobs (the
// function names, and the "job" of a scheduled event's detail).
//
// It imports only the standard library.
package schedules

import (
	"fmt"
	"strings"
	"time"
)

// Job names.
const (
	ExpirePoints  = "expire-points"
	SendReminders = "send-reminders"
	WinBack       = "win-back"
	TierReview    = "tier-review"
)

// Schedule is when a job runs, in the program's timezone.
type Schedule struct {
	Job    string
	Minute int
	// Hours it runs at: the first run of the day, and later ones that resume
	// a run cut short (checkpoints make them cheap when there is nothing
	// left).
	Hours []int
	// Weekday, when set, runs the job on that day of the week only.
	Weekday *time.Weekday
}

func weekday(d time.Weekday) *time.Weekday { return &d }

// All are the schedules of the jobs. Expiry runs after midnight, with hourly
// resumptions until 05:05; reminders at 09:00, when members read them; win-back
// on Monday mornings; tier reviews at 03:00.
var All = []Schedule{
	{Job: ExpirePoints, Minute: 5, Hours: []int{0, 1, 2, 3, 4, 5}},
	{Job: SendReminders, Minute: 0, Hours: []int{9}},
	{Job: WinBack, Minute: 0, Hours: []int{6}, Weekday: weekday(time.Monday)},
	{Job: TierReview, Minute: 0, Hours: []int{3}},
}

func (s Schedule) hours() string {
	parts := make([]string, len(s.Hours))
	for i, h := range s.Hours {
		parts[i] = fmt.Sprint(h)
	}
	return strings.Join(parts, ",")
}

// AWS is the EventBridge Scheduler expression, "cron(5 0,1,2 * * ? *)"; the
// schedule's timezone is the program's.
func (s Schedule) AWS() string {
	if s.Weekday != nil {
		return fmt.Sprintf("cron(%d %s ? * %s *)", s.Minute, s.hours(), strings.ToUpper(s.Weekday.String()[:3]))
	}
	return fmt.Sprintf("cron(%d %s * * ? *)", s.Minute, s.hours())
}

// Cron is the five-field cron spec, "5 0,1,2 * * *", for the local scheduler.
func (s Schedule) Cron() string {
	dow := "*"
	if s.Weekday != nil {
		dow = fmt.Sprint(int(*s.Weekday))
	}
	return fmt.Sprintf("%d %s * * %s", s.Minute, s.hours(), dow)
}
