package httpapi

// MemberRoutes are the mobile app's routes, behind the JWT authorizer.
var MemberRoutes = []Route{
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
}

// AdminRoutes are ops' routes, behind IAM authorization.
var AdminRoutes = []Route{
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
}
