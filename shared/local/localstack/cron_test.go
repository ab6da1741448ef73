package localstack

import "testing"

func TestLocalCronOfSchedulerExpressions(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"cron(5 0,1,2,3,4,5 * * ? *)", "5 0,1,2,3,4,5 * * *"},
		{"cron(0 6 ? * MON *)", "0 6 * * MON"},
		{"cron(0 6 ? * 2,7 *)", "0 6 * * 1,6"}, // Scheduler counts from 1 = SUN
		{"rate(5 minutes)", "@every 5m0s"},
	} {
		got, err := localCron(c.expr)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v, want %q", c.expr, got, err, c.want)
		}
	}
	for _, bad := range []string{"cron(0 6 ? * MON 2027)", "cron(0 6 L * ? *)", "at(2026-12-01T00:00:00)", "cron(0 6 * *)"} {
		if got, err := localCron(bad); err == nil {
			t.Errorf("%s: got %q, want an error", bad, got)
		}
	}
}
