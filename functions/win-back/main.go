// Command win-back is the Lambda that EventBridge Scheduler runs weekly to class members and make win-back offers. It only
// wires, through shared/jobrun, the job's handler of shared/jobs.
package main

import (
	"github.com/loyalty-functions/loyalty/shared/jobrun"
	"github.com/loyalty-functions/loyalty/shared/jobs"
)

func main() { jobrun.Start(jobs.WinBack) }
