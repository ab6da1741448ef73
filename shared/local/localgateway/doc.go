// Package localgateway is the local stand-in for API Gateway HTTP API
// (payload format 2.0) used by `make run` and the end-to-end tests.
//
// It serves HTTP on a loopback address, turns every request into an
// events.APIGatewayV2HTTPRequest the way API Gateway does, hands its JSON to
// a function through the Invoker interface, and turns the function's
// events.APIGatewayV2HTTPResponse back into HTTP. Member routes are guarded by
// a stand-in for the Cognito user-pool JWT authorizer (RS256 development keys,
// see LoadOrCreateDevKey and IssueDevToken); admin routes by a SigV4 (IAM)
// check with one local access key (see SignRequest).
//
// It is part of the local stack only and is never deployed. It imports the
// standard library, aws-lambda-go's events package, golang-jwt and the
// aws-sdk-go-v2 SigV4 signer, and nothing else: never the domain, the store,
// or the other adapters. Functions reach it only through their JSON payloads.
package localgateway
