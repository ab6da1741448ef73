package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/loyalty-functions/loyalty/shared/localstack"
)

// jobFlags are run's flags for the scheduled jobs.
func jobFlags(fs *flag.FlagSet) *localstack.JobOptions {
	o := &localstack.JobOptions{}
	fs.BoolVar(&o.Schedules, "schedules", true, "run the jobs on their schedules (program timezone); false: only when asked (loyaltyctl job)")
	fs.DurationVar(&o.FastForward, "fast-forward", 0, "with -schedules: replay one past day of schedules per this much real time (e.g. 1m), from -fast-forward-from up to today, then run in real time")
	fs.Func("fast-forward-from", "the first day -fast-forward replays (YYYY-MM-DD, program timezone); default 7 days ago", func(s string) error {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return fmt.Errorf("want YYYY-MM-DD: %w", err)
		}
		if t.After(time.Now()) {
			return errors.New("a fast-forward replays past days: the jobs refuse a day after today")
		}
		o.FastForwardFrom = t
		return nil
	})
	fs.StringVar(&o.Addr, "jobs-addr", localstack.DefaultJobsAddr, "address of the local EventBridge and job control API (loopback only)")
	return o
}

func jobsMode(o localstack.JobOptions) string {
	switch {
	case o.Schedules && o.FastForward > 0:
		return fmt.Sprintf("fast-forward: one past day every %s up to today, then on their schedules", o.FastForward)
	case o.Schedules:
		return "on their schedules"
	}
	return "on demand only"
}

// job runs a job of the running local stack now and prints its report.
func job(args []string) error {
	fs := flag.NewFlagSet("job", flag.ExitOnError)
	date := fs.String("date", "", "the program-local day to run for (YYYY-MM-DD); default today")
	shards := fs.String("shards", "", "run these shards only, like 0-7; default all")
	base := fs.String("url", "http://"+localstack.DefaultJobsAddr, "the local stack's job control API")
	if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
		return errors.New("job NAME [-date YYYY-MM-DD] [-shards 0-7]: NAME is expire-points, send-reminders or win-back")
	}
	name := args[0]
	fs.Parse(args[1:])
	q := url.Values{}
	if *date != "" {
		q.Set("date", *date)
	}
	if *shards != "" {
		q.Set("shards", *shards)
	}
	u := *base + "/jobs/" + url.PathEscape(name)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	client := &http.Client{Timeout: 6 * time.Minute}
	resp, err := client.Post(u, "", nil)
	if err != nil {
		return fmt.Errorf("job %s: is the local stack running (loyaltyctl run)? %w", name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s\n", out)
	if resp.StatusCode != http.StatusOK {
		os.Exit(1)
	}
	return nil
}
