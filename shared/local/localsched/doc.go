// Package localsched stands in for EventBridge and EventBridge Scheduler in
// the local stack:
//
//   - Sink receives the events the real function binaries publish (it speaks
//     EventBridge's PutEvents, so the functions use their real adapter with an
//     endpoint override) and appends each, in the shape a subscriber gets, to
//     a JSON Lines file and a log line. It also implements loyalty.Publisher
//     for in-process use.
//   - Scheduler invokes the real job binaries on their schedules (robfig/cron,
//     in the program's timezone) with the payload EventBridge Scheduler sends,
//     optionally fast-forwarding: one simulated day per real interval.
//   - Server exposes both on 127.0.0.1: PutEvents, POST /jobs/{name} to run a
//     job now (loyaltyctl job), GET /events to read the sink.
//
// It is local-stack tooling: it imports the domain, the jobs package (for
// the schedules and the event detail) and aws-lambda-go's event types, never
// the store or the AWS SDK, and nothing in the functions imports it.
package localsched
