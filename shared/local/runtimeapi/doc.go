// Package runtimeapi hosts real Lambda function binaries on this machine: it
// implements the AWS Lambda Runtime API (invocation/next, /response, /error,
// init/error) that a `bootstrap` built with aws-lambda-go talks to, so the local
// stack runs exactly the binaries that AWS runs.
//
// Each process gets its own Runtime API listener on 127.0.0.1, as each Lambda
// execution environment has its own endpoint; that is how the host knows which
// process holds which invocation when it has to kill one on timeout. Processes
// run in their own process group with a Lambda-like environment (not the host's,
// so developer credentials never leak into a local function).
//
// It is local-stack infrastructure: it imports the standard library and
// aws-lambda-go's message types only, never the domain, the store or another
// adapter of this module.
package runtimeapi
