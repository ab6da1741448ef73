// Package denytest holds the end-to-end test that runs the local stack
// from a copy of the synthesized assembly with one IAM statement removed
// per function, in a test binary of its own (the embedded SQS is one per
// process). It has no code outside its test.
package denytest
