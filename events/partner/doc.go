// Package partner is the contract between partners and the ingest function:
// the versioned JSON Schemas (draft 2020-12) of the events partners drop on
// the partner queue, the Go shapes of those events, and a validator compiled
// once from the embedded schemas, with a quick way past it for the common
// message (shapes.go, held to the schemas by its test).
//
// Beside the code live the samples the tests load: samples/<type>/ holds valid
// events of each type, samples/invalid/ holds events that must be refused,
// with the reason for each in samples/invalid/reasons.json, and sqs/ holds the
// events.SQSEvent wrappers the ingest function receives from Lambda.
//
// Versioning: a message names its "type" and "version"; a schema is never
// changed once published, a new version gets a new file and a new $id. An
// event whose type or version has no schema here is refused as unsupported.
//
// It imports the standard library, the JSON Schema validator and the domain
// (Decode maps a valid message to loyalty.Purchase or loyalty.Refund, the
// one mapping the partner queue and the admin door share), never an
// adapter of this module.
package partner
