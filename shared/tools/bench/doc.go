// Package bench measures the performance and cost figures of the loyalty
// engine that `make bench` writes into BENCHMARKS.md (issue 8): accrual and
// redemption throughput against the bare DynamoDB transactions they are made
// of, capacity units per operation, cost per million operations, the size and
// init time of the function binaries, handler CPU with DynamoDB stubbed out,
// and how the expiry job scales with the number of members.
//
// Every comparison runs side by side in one run on one DynamoDB Local
// instance, alternating the two sides over several rounds, and is reported as
// the median with its spread. Nothing here asserts a timing; the figures are
// compared with their targets in the report only.
//
// It is tooling: it imports the domain, the store, the adapters and the local
// stack, and nothing imports it except its command (shared/cmd/bench). The
// functions under functions/ must never import it.
package bench
