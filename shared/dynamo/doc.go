// Package dynamo is the DynamoDB store of the loyalty engine: it persists the
// domain types of package loyalty in one table and implements the ports that
// package declares. Every point movement is one TransactWriteItems.
//
// It imports the domain and the AWS SDK, never the API Gateway, SQS or
// EventBridge adapters. The key formats of the table live in keys.go only.
package dynamo
