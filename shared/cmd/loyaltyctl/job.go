package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
)

// jobFlags are run's flags for the scheduled jobs.
func jobFlags(fs *flag.FlagSet, o *localstack.JobOptions) {
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
	fs.StringVar(&o.Addr, "jobs-addr", "", "address of the local EventBridge and job control API (loopback only; make run JOBS_PORT=N); default the port after -addr's")
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

func httpClient() *http.Client { return &http.Client{Timeout: 6 * time.Minute} }

// job runs a job of the running local stack now and prints its report.
func job(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("job", flag.ContinueOnError)
	date := fs.String("date", "", "the program-local day to run for (YYYY-MM-DD); default today")
	shards := fs.String("shards", "", "run these shards only, like 0-7; default all")
	base := fs.String("url", "", "the local stack's job control API; default: the running stack's, from its state file")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return fmt.Errorf("job NAME [-date YYYY-MM-DD] [-shards 0-7]: NAME is one of %s; got %q", strings.Join(jobNames(), ", "), rest)
	}
	name := rest[0]
	c, err := localstack.Connect("")
	if err != nil && *base == "" {
		return fmt.Errorf("job %s: %w", name, err)
	}
	if err != nil {
		c = &localstack.Client{HTTP: httpClient()}
	}
	if *base != "" {
		c.State.Jobs = strings.TrimSuffix(*base, "/")
	}
	status, report, err := c.RunJob(context.Background(), name, *date, *shards)
	if err != nil {
		return fmt.Errorf("job %s: %w", name, err)
	}
	fmt.Fprintf(out, "%s\n", report)
	if status != http.StatusOK {
		return errExit
	}
	return nil
}

func jobNames() []string {
	var names []string
	for _, sc := range jobs.Schedules {
		if !slices.Contains(names, sc.Job) {
			names = append(names, sc.Job)
		}
	}
	return names
}
