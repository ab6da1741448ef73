package localsched

import (
	"regexp"
	"testing"
	"time"
)

// A schedule's input goes out byte for byte as the template has it, with
// only Scheduler's context attributes filled in.
func TestSchedulerInputFillsOnlyTheContextAttributes(t *testing.T) {
	in := `{"account":"000000000000","detail":{"attempt":"<aws.scheduler.attempt-number>","job":"expire-points"},"id":"<aws.scheduler.execution-id>",` +
		`"resources":["<aws.scheduler.schedule-arn>"],"time":"<aws.scheduler.scheduled-time>",  "version":"0"}`
	at := time.Date(2026, 12, 1, 0, 5, 0, 0, time.FixedZone("CET", 3600))
	got := string(SchedulerInput(in, "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s", at, 2))
	want := regexp.MustCompile(`^\{"account":"000000000000","detail":\{"attempt":"2","job":"expire-points"\},"id":"[0-9a-f-]{36}",` +
		`"resources":\["arn:aws:scheduler:us-east-1:000000000000:schedule/default/s"\],"time":"2026-11-30T23:05:00Z",  "version":"0"\}$`)
	if !want.MatchString(got) {
		t.Errorf("got %s, want %s", got, want)
	}
}
