// Command tier-review is the Lambda that EventBridge Scheduler runs daily (03:00 program time) to review the tiers whose cycle ends. It only
// wires, through shared/jobrun, the job's handler of shared/jobs.
package main

import (
	"github.com/loyalty-functions/loyalty/shared/jobrun"
	"github.com/loyalty-functions/loyalty/shared/jobs"
)

func main() { jobrun.Start(jobs.TierReview) }
