// Package stacks defines the CDK stacks of the loyalty engine: the stateful
// stack (table, partner queue, event bus, user pool; termination protection,
// RETAIN) and the service stack (functions, HTTP API, queue consumer,
// schedules, alarms, dashboard). The function table (functions.go) and the
// route table (routes.go) are the single lists the stacks are built from.
//
// It builds the table from dynamo.Schema so infra and the local stack share
// one definition, and imports nothing else of this module: no domain, no
// adapters, no function code. Tests here synthesize with placeholder
// bootstrap files and never need a build or AWS credentials.
package stacks
