// Package dynamolocal fetches, verifies, caches and runs DynamoDB Local, the
// stand-in for DynamoDB in store tests and in the local stack.
//
// DynamoDB Local ships inside the npm package amplify-dynamodb-simulator. Ensure
// fetches that package once with `npm pack`, checks the tarball against a pinned
// SHA-256, and extracts only its emulator folder into a git-ignored cache shared
// by every package of the module (a file lock makes parallel `go test` processes
// download it once). Start runs the emulator in memory (or, with a data folder,
// on disk with -sharedDb, for a local stack that keeps its data) with telemetry
// disabled on a free port, in its own process group, and Stop kills that group.
//
// DynamoDB Local has no option to choose the address it listens on (its Jetty
// server binds every interface), so this package always talks to it through
// 127.0.0.1 and never advertises any other address.
//
// It is test and tooling infrastructure: it imports the standard library and the
// AWS SDK only, never the domain, the store or any other adapter of this module.
package dynamolocal
