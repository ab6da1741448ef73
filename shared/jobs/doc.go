// Package jobs holds the scheduled jobs: points expiry (daily), reminders
// (daily) and win-back (weekly). Each finds its work only through the sparse,
// sharded indexes (the due index by day, the activity index by week), never
// by scanning, so its cost follows the work due and not the number of
// members; each is idempotent (the scheduler delivers at least once and a
// rerun changes nothing), keeps a checkpoint per index partition so a run cut
// short by the Lambda deadline resumes where it stopped, and works on members
// with bounded concurrency. What they tell members goes to the inbox and the
// event bus through loyalty.Notifier.
//
// It imports the domain and aws-lambda-go's event types. It reaches storage
// and the event bus only through the interfaces it declares and the domain's
// ports, never the DynamoDB or EventBridge packages themselves.
package jobs
