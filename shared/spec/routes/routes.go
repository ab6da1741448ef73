// Package routes is the one list of the HTTP API's routes and how API
// Gateway authorizes each: the handlers (shared/httpapi), the OpenAPI test,
// the local gateway and the CDK stack all read it.
//
// It imports only the standard library.
package routes

// The stage's throttling, per account and stage, before any function runs:
// enough for a brand's app at peak, low enough to cap a runaway client's
// cost. Past it API Gateway answers 429 {"message":"Too Many Requests"};
// the CDK stack sets it and the local gateway applies the same.
const (
	ThrottleRatePerSecond = 100 // requests per second, steady state
	ThrottleBurst         = 200 // requests in a burst
)

// Auth is how API Gateway authorizes a route.
type Auth string

const (
	AuthJWT Auth = "JWT"     // Cognito user-pool JWT authorizer
	AuthIAM Auth = "AWS_IAM" // SigV4-signed by an IAM principal
)

// Route is one route of an API.
type Route struct {
	Method    string
	Path      string // API Gateway syntax: /v1/me/redemptions/{id}
	Auth      Auth
	Operation string // operationId in the OpenAPI description
}

// Key is the API Gateway route key, "GET /v1/me".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Member are the mobile app's routes, behind the JWT authorizer.
var Member = []Route{
	{"GET", "/v1/me", AuthJWT, "getMe"},
	{"GET", "/v1/me/activity", AuthJWT, "listActivity"},
	{"GET", "/v1/rewards", AuthJWT, "listRewards"},
	{"POST", "/v1/me/redemptions", AuthJWT, "createRedemption"},
	{"GET", "/v1/me/redemptions", AuthJWT, "listRedemptions"},
	{"DELETE", "/v1/me/redemptions/{redemptionId}", AuthJWT, "cancelRedemption"},
	{"GET", "/v1/me/referral", AuthJWT, "getReferral"},
	{"POST", "/v1/me/referral", AuthJWT, "enrolReferral"},
	{"POST", "/v1/me/feedback", AuthJWT, "createFeedback"},
	{"GET", "/v1/me/notifications", AuthJWT, "listNotifications"},
	{"POST", "/v1/me/notifications/{notificationId}/read", AuthJWT, "markNotificationRead"},
	{"GET", "/v1/me/locale", AuthJWT, "getLocale"},
	{"PUT", "/v1/me/locale", AuthJWT, "setLocale"},
	{"POST", "/v1/me/codes", AuthJWT, "createCode"},
	{"POST", "/v1/me/card/replacement", AuthJWT, "replaceCard"},
	{"POST", "/v1/me/card/claim", AuthJWT, "claimCard"},
}

// Admin are ops' routes, behind IAM authorization.
var Admin = []Route{
	{"POST", "/admin/purchases", AuthIAM, "recordPurchase"},
	{"POST", "/admin/partner-events", AuthIAM, "recordPartnerEvent"},
	{"POST", "/admin/members/{memberId}/adjustments", AuthIAM, "adjustPoints"},
	{"GET", "/admin/members/{memberId}", AuthIAM, "getMember"},
	{"GET", "/admin/members/{memberId}/export", AuthIAM, "exportMember"},
	{"DELETE", "/admin/members/{memberId}", AuthIAM, "eraseMember"},
	{"GET", "/admin/rewards", AuthIAM, "adminListRewards"},
	{"PUT", "/admin/rewards/{rewardId}", AuthIAM, "putReward"},
	{"GET", "/admin/members/{memberId}/audit", AuthIAM, "auditMember"},
	{"POST", "/admin/dry-run", AuthIAM, "dryRunPurchase"},
	{"GET", "/admin/feedback", AuthIAM, "listFeedback"},
	{"GET", "/admin/members/{memberId}/feedback", AuthIAM, "memberFeedback"},
	{"POST", "/admin/card-batches", AuthIAM, "createCardBatch"},
}
