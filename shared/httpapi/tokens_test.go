package httpapi_test

import (
	"maps"
	"testing"
)

// Member routes take the access token only: API Gateway's authorizer also
// lets a pool's ID token through (its aud is the app client), and a token
// without token_use is no Cognito token. Both get 401 and reach no data.
func TestMemberRoutesTakeAccessTokensOnly(t *testing.T) {
	a := newMemAPIs(t)
	if status, body := a.call(t, sample(t, "member/get-me.json")); status != 200 {
		t.Fatalf("access token: got %d %v, want 200", status, body)
	}
	for name, edit := range map[string]func(map[string]string){
		"ID token": func(c map[string]string) {
			delete(c, "client_id")
			c["aud"], c["token_use"] = "sampleclientid", "id"
		},
		"no token_use": func(c map[string]string) { delete(c, "token_use") },
	} {
		for _, file := range []string{"member/get-me.json", "member/create-redemption.json", "member/list-notifications.json"} {
			ev := sample(t, file)
			claims := maps.Clone(ev.RequestContext.Authorizer.JWT.Claims)
			edit(claims)
			ev.RequestContext.Authorizer.JWT.Claims = claims
			status, body := a.call(t, ev)
			if status != 401 || body["code"] != "unauthorized" {
				t.Errorf("%s on %s: got %d %v, want 401 unauthorized", name, file, status, body)
			}
		}
	}
}
