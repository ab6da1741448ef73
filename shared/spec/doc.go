// Package spec holds, in its sub-packages, the descriptions that both the
// deployed infrastructure (infra/) and the running code read, so the two
// cannot drift: the table's keys and indexes (table), the HTTP API's routes
// (routes), the jobs' schedules (schedules), the partner queues' names
// (partnerqueue) and the functions' garbage collector settings (gogc). Every package under spec imports only the standard
// library (an import-rules test holds it so): infra links them without the
// AWS SDK or any adapter.
package spec
