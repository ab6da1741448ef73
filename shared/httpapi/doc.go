// Package httpapi is the API Gateway HTTP API (payload format 2.0) adapter:
// the member API the mobile app calls with a Cognito JWT, and the admin API
// ops call with IAM-signed requests. It decodes and checks requests, calls
// the domain service and the store's read models, and maps errors to HTTP in
// one table (errors.go).
//
// Members are who their verified token says (the `sub` claim): no member
// route takes a member id from the path, the query or the body.
//
// It imports the domain and aws-lambda-go's event types; it never imports the
// SQS or EventBridge adapters, and reaches the store only through the
// interfaces declared here.
package httpapi
