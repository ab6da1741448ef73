// Command send-reminders is the Lambda that EventBridge Scheduler runs daily to send expiry, reward and affordability reminders. It only
// wires, through shared/jobrun, the job's handler of shared/jobs.
package main

import (
	"github.com/loyalty-functions/loyalty/shared/jobrun"
	"github.com/loyalty-functions/loyalty/shared/jobs"
)

func main() { jobrun.Start(jobs.SendReminders) }
