package localgateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The template's JWT authorizer may list several audiences: a token whose
// aud, or (without aud, as a Cognito access token) whose client_id, is any
// of them passes; a token with an aud outside the list fails even when its
// client_id is in it, as API Gateway checks aud first.
func TestJWTAudienceListAsAPIGatewayMatchesIt(t *testing.T) {
	now := time.Now()
	key := signingKey(t)
	v := JWTVerifier{Issuer: testIssuer, Audiences: []string{"app-one", "app-two"}, PublicKey: &key.PublicKey}
	sign := func(claims jwt.MapClaims) string {
		claims["iss"], claims["sub"], claims["iat"], claims["exp"] = testIssuer, "m-1", now.Unix(), now.Add(time.Hour).Unix()
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, c := range []struct {
		name   string
		claims jwt.MapClaims
		ok     bool
	}{
		{"access token, client_id second of the list", jwt.MapClaims{"client_id": "app-two", "token_use": "access"}, true},
		{"id token, aud first of the list", jwt.MapClaims{"aud": "app-one", "token_use": "id"}, true},
		{"aud outside, client_id inside", jwt.MapClaims{"aud": "other", "client_id": "app-one"}, false},
		{"client_id outside", jwt.MapClaims{"client_id": "other"}, false},
		{"neither", jwt.MapClaims{}, false},
	} {
		_, err := v.Verify("Bearer " + sign(c.claims))
		if (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// A route with authorization scopes lets a token through only when its
// scope claim holds one of them; otherwise 403 Forbidden with
// insufficient_scope, and the function is not called.
func TestRouteScopesAsAPIGatewayChecksThem(t *testing.T) {
	now := time.Now()
	key := signingKey(t)
	fn := &fakeFunction{}
	g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Auth: AuthJWT, Scopes: []string{"loyalty/read", "loyalty/admin"}, Function: fn})
	for _, c := range []struct {
		scope string
		want  int
	}{
		{"loyalty/read", http.StatusOK},
		{"openid loyalty/admin", http.StatusOK},
		{"openid profile", http.StatusForbidden},
		{"", http.StatusForbidden},
	} {
		extra := map[string]any{}
		if c.scope != "" {
			extra["scope"] = c.scope
		}
		r := httptest.NewRequest("GET", "/v1/me", nil)
		r.Header.Set("Authorization", "Bearer "+devToken(t, key, testAudience, time.Hour, now, extra))
		w := serve(t, g, r)
		if w.Code != c.want {
			t.Errorf("scope %q: got %d %s, want %d", c.scope, w.Code, w.Body, c.want)
		}
		if c.want == http.StatusForbidden {
			wantMessage(t, w, http.StatusForbidden, "Forbidden")
			if h := w.Header().Get("Www-Authenticate"); !strings.Contains(h, "insufficient_scope") {
				t.Errorf("scope %q: WWW-Authenticate %q, want insufficient_scope", c.scope, h)
			}
		}
	}
	if got := fn.calls(); got != 2 {
		t.Errorf("function calls: got %d, want 2 (the two tokens with a scope of the route)", got)
	}
}
