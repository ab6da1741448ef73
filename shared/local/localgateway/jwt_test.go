package localgateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestJWTAuth(t *testing.T) {
	now := time.Date(2026, 3, 12, 19, 3, 58, 0, time.UTC)
	key := signingKey(t)

	signed := func(claims jwt.MapClaims, method jwt.SigningMethod, k any) string {
		t.Helper()
		tok, err := jwt.NewWithClaims(method, claims).SignedString(k)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		return tok
	}
	valid := devToken(t, key, testAudience, time.Hour, now, map[string]any{
		"email":          "ana@example.com",
		"cognito:groups": []string{"admin", "ops"},
		"scope":          "loyalty/read loyalty/redeem",
		"points_cap":     1.5e9,
		"email_verified": true,
	})
	baseClaims := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "member-1", "iss": testIssuer, "aud": testAudience, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := baseClaims()
		change(c)
		return c
	}
	pubDER := mustPublicDER(t, key)

	tests := []struct {
		name          string
		authorization string // "" sends no header
		want          int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"malformed", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"expired", "Bearer " + devToken(t, key, testAudience, time.Hour, now.Add(-2*time.Hour), nil), http.StatusUnauthorized},
		{"expired beyond the 30s leeway", "Bearer " + devToken(t, key, testAudience, time.Minute, now.Add(-91*time.Second), nil), http.StatusUnauthorized},
		{"signed by another key", "Bearer " + devToken(t, otherKey(t), testAudience, time.Hour, now, nil), http.StatusUnauthorized},
		{"wrong audience", "Bearer " + devToken(t, key, "someone-else", time.Hour, now, nil), http.StatusUnauthorized},
		{"wrong issuer", "Bearer " + signed(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), jwt.SigningMethodRS256, key), http.StatusUnauthorized},
		{"no exp", "Bearer " + signed(with(func(c jwt.MapClaims) { delete(c, "exp") }), jwt.SigningMethodRS256, key), http.StatusUnauthorized},
		{"not valid yet", "Bearer " + signed(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() }), jwt.SigningMethodRS256, key), http.StatusUnauthorized},
		{"issued in the future", "Bearer " + signed(with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Minute).Unix() }), jwt.SigningMethodRS256, key), http.StatusUnauthorized},
		{"access token for another client", "Bearer " + signed(with(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "other" }), jwt.SigningMethodRS256, key), http.StatusUnauthorized},
		{"HS256 keyed with the public key", "Bearer " + signed(baseClaims(), jwt.SigningMethodHS256, pubDER), http.StatusUnauthorized},
		{"alg none", "Bearer " + signed(baseClaims(), jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType), http.StatusUnauthorized},
		{"PS256 is not RS256", "Bearer " + signed(baseClaims(), jwt.SigningMethodPS256, key), http.StatusUnauthorized},
		{"valid, Bearer", "Bearer " + valid, http.StatusOK},
		{"valid, lower-case bearer", "bearer " + valid, http.StatusOK},
		{"valid, bare token", valid, http.StatusOK},
		{"expired 20s ago, within leeway", "Bearer " + devToken(t, key, testAudience, time.Minute, now.Add(-80*time.Second), nil), http.StatusOK},
		{"issued 20s in the future, within leeway", devToken(t, key, testAudience, time.Hour, now.Add(20*time.Second), nil), http.StatusOK},
		{"access token with client_id", "Bearer " + signed(with(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = testAudience }), jwt.SigningMethodRS256, key), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &fakeFunction{}
			verifier := testJWTVerifier(t)
			verifier.Now = func() time.Time { return now }
			g, err := New(Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Auth: AuthJWT, Function: fn}}, JWT: verifier, Logf: t.Logf})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			r := httptest.NewRequest("GET", "/v1/me", nil)
			if tt.authorization != "" {
				r.Header.Set("Authorization", tt.authorization)
			}
			w := serve(t, g, r)
			wantCalls := 0
			if tt.want == http.StatusOK {
				wantCalls = 1
				if w.Code != http.StatusOK {
					t.Errorf("status: got %d, want 200 (body %s)", w.Code, w.Body)
				}
			} else {
				wantMessage(t, w, http.StatusUnauthorized, "Unauthorized")
				if got := w.Header().Get("Www-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("www-authenticate: got %q, want a Bearer challenge", got)
				}
			}
			if got := fn.calls(); got != wantCalls {
				t.Errorf("function calls: got %d, want %d", got, wantCalls)
			}
		})
	}
}

func TestJWTClaimsReachTheFunction(t *testing.T) {
	now := time.Date(2026, 3, 12, 19, 3, 58, 0, time.UTC)
	tok := devToken(t, signingKey(t), testAudience, time.Hour, now, map[string]any{
		"email":          "ana@example.com",
		"cognito:groups": []string{"admin", "ops"},
		"scope":          "loyalty/read loyalty/redeem",
		"points_cap":     1.5e9,
		"ratio":          0.25,
		"email_verified": true,
	})
	fn := &fakeFunction{}
	verifier := testJWTVerifier(t)
	verifier.Now = func() time.Time { return now.Add(time.Minute) }
	g, err := New(Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Auth: AuthJWT, Function: fn}}, JWT: verifier})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	r := httptest.NewRequest("GET", "/v1/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if w := serve(t, g, r); w.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
	}

	ev := fn.lastEvent(t)
	if ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil {
		t.Fatalf("authorizer.jwt: got %+v, want claims", ev.RequestContext.Authorizer)
	}
	jwtDesc := ev.RequestContext.Authorizer.JWT
	wantClaims := map[string]string{
		"sub":            "member-1",
		"iss":            testIssuer,
		"client_id":      testAudience,
		"token_use":      "access",
		"username":       "member-1",
		"email":          "ana@example.com",
		"email_verified": "true",
		"cognito:groups": "[admin ops]",
		"scope":          "loyalty/read loyalty/redeem",
		"points_cap":     "1500000000",
		"ratio":          "0.25",
		"iat":            strconv.FormatInt(now.Unix(), 10),
		"exp":            strconv.FormatInt(now.Add(time.Hour).Unix(), 10),
		"auth_time":      strconv.FormatInt(now.Unix(), 10),
	}
	for name, want := range wantClaims {
		if got, ok := jwtDesc.Claims[name]; !ok || got != want {
			t.Errorf("claims[%q]: got %q (present %v), want %q", name, got, ok, want)
		}
	}
	if jwtDesc.Claims["jti"] == "" {
		t.Errorf("claims[jti]: got empty, want a token id")
	}
	if want := []string{"loyalty/read", "loyalty/redeem"}; !slices.Equal(jwtDesc.Scopes, want) {
		t.Errorf("scopes: got %q, want %q", jwtDesc.Scopes, want)
	}
	if ev.RequestContext.Authorizer.IAM != nil {
		t.Errorf("authorizer.iam: got %+v, want nil on a JWT route", ev.RequestContext.Authorizer.IAM)
	}

	// The wire shape is what a handler written against AWS reads.
	var raw struct {
		RequestContext struct {
			Authorizer map[string]json.RawMessage `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(fn.lastPayload(t), &raw); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	if _, ok := raw.RequestContext.Authorizer["jwt"]; !ok || len(raw.RequestContext.Authorizer) != 1 {
		t.Errorf("requestContext.authorizer keys: got %v, want only jwt", keysOf(raw.RequestContext.Authorizer))
	}
}

func TestClaimString(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`"text"`, "text"},
		{`1583348638`, "1583348638"},
		{`1.5e9`, "1500000000"},
		{`0.125`, "0.125"},
		{`-7`, "-7"},
		{`true`, "true"},
		{`["a","b"]`, "[a b]"},
		{`[1,"x",false]`, "[1 x false]"},
		{`[]`, "[]"},
		{`{"b":1,"a":"x"}`, `{"a":"x","b":1}`},
		{`null`, ""},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(strings.NewReader(tt.json))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %s: %v", tt.json, err)
		}
		if got := claimString(v); got != tt.want {
			t.Errorf("claimString(%s): got %q, want %q", tt.json, got, tt.want)
		}
	}
}

func TestIssueDevTokenRejectsBadInput(t *testing.T) {
	key := signingKey(t)
	now := time.Now()
	tests := []struct {
		name  string
		key   bool
		iss   string
		ttl   time.Duration
		extra map[string]any
	}{
		{"no key", false, testIssuer, time.Hour, nil},
		{"no issuer", true, "", time.Hour, nil},
		{"zero ttl", true, testIssuer, 0, nil},
		{"extra overrides sub", true, testIssuer, time.Hour, map[string]any{"sub": "someone-else"}},
		{"extra overrides exp", true, testIssuer, time.Hour, map[string]any{"exp": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := key
			if !tt.key {
				k = nil
			}
			if tok, err := IssueDevToken(k, tt.iss, testAudience, "member-1", tt.ttl, now, tt.extra); err == nil {
				t.Errorf("IssueDevToken: got token %.20s... and no error, want an error", tok)
			}
		})
	}
}

func TestIssueDevTokenHeader(t *testing.T) {
	key := signingKey(t)
	tok := devToken(t, key, testAudience, time.Hour, time.Now(), map[string]any{"cognito:username": "ana"})
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if got := parsed.Header["alg"]; got != "RS256" {
		t.Errorf("alg: got %v, want RS256", got)
	}
	if got := parsed.Header["kid"]; got != KeyID(&key.PublicKey) || got == "" {
		t.Errorf("kid: got %v, want %q", got, KeyID(&key.PublicKey))
	}
	if got := parsed.Claims.(jwt.MapClaims)["cognito:username"]; got != "ana" {
		t.Errorf("cognito:username: got %v, want ana", got)
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The gateway verifies what API Gateway's JWT authorizer verifies: an ID
// token passes on its aud as an access token does on its client_id (the
// member API then refuses it by token_use); a sub that is not a string, or
// is missing, names nobody and is refused.
func TestJWTTokenKindsAndSubjects(t *testing.T) {
	now := time.Now()
	key := signingKey(t)
	verifier := testJWTVerifier(t)
	id, err := IssueDevIDToken(key, testIssuer, testAudience, "member-1", time.Hour, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := verifier.Verify("Bearer " + id)
	if err != nil || desc.Claims["token_use"] != "id" || desc.Claims["aud"] != testAudience || desc.Claims["client_id"] != "" {
		t.Errorf("ID token: got %+v, %v; want it verified with token_use id and aud %s", desc, err, testAudience)
	}
	for name, sub := range map[string]any{"number": 12345, "object": map[string]any{"id": "member-1"}, "empty": ""} {
		claims := jwt.MapClaims{"sub": sub, "iss": testIssuer, "client_id": testAudience, "token_use": "access",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		tok.Header["kid"] = KeyID(&key.PublicKey)
		signed, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		if desc, err := verifier.Verify("Bearer " + signed); err == nil {
			t.Errorf("sub %s (%v): got claims %v, want the token refused", name, sub, desc.Claims)
		}
	}
}
