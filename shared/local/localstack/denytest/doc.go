// Package denytest holds the end-to-end tests that run the local stack
// from a copy of the synthesized assembly with grants removed: one IAM
// statement per function's role (deny_test.go), and a partner's sender
// from its queue policy and another's permission from the partner door
// (resource_test.go). Each starts its own stack, in a test binary of its
// own (the embedded SQS is one per process). It has no code outside its
// tests.
package denytest
