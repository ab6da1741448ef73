// Command expire-points is the Lambda that EventBridge Scheduler runs daily (00:05 program time) to expire the lots that are due. It only
// wires, through shared/jobrun, the job's handler of shared/jobs.
package main

import (
	"github.com/loyalty-functions/loyalty/shared/jobrun"
	"github.com/loyalty-functions/loyalty/shared/jobs"
)

func main() { jobrun.Start(jobs.ExpirePoints) }
