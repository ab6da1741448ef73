package localgateway

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// mockCognito is moto's server (python3 -m moto.server, moto 5.2.1 on our
// machines) on a free port of 127.0.0.1: a user pool that issues RS256
// access and ID tokens as Cognito does, with its JWKS.
type mockCognito struct {
	url string
}

func startMockCognito(tb testing.TB) *mockCognito {
	tb.Helper()
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		tb.Fatalf("python3 with moto is needed (moto 5.2.1: pip install 'moto[server]==5.2.1'): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", port)
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); cmd.Wait() })
	m := &mockCognito{url: "http://127.0.0.1:" + port}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(m.url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return m
		}
		if time.Now().After(deadline) {
			tb.Fatalf("moto.server on %s: no answer after 30 s", m.url)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// call is one Cognito API call (JSON 1.1, unsigned: moto does not check).
func (m *mockCognito) call(tb testing.TB, op string, in any) map[string]any {
	tb.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", m.url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("%s: got %d %s", op, resp.StatusCode, raw)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// publicKey reads the pool's JWKS and returns the key of kid.
func (m *mockCognito) publicKey(tb testing.TB, poolID, kid string) *rsa.PublicKey {
	tb.Helper()
	resp, err := http.Get(m.url + "/" + poolID + "/.well-known/jwks.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E, Kty string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		tb.Fatal(err)
	}
	for _, k := range jwks.Keys {
		if k.Kid != kid || k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			tb.Fatalf("JWKS key %s: %v %v", kid, err1, err2)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	tb.Fatalf("JWKS of %s has no RSA key %s", poolID, kid)
	return nil
}

// GIVEN a user pool of moto's Cognito with two app clients, WHEN a user
// signs in through one, THEN the local gateway, configured as the
// template's authorizer (the pool's issuer, the first client as audience),
// takes its access token (client_id) and its ID token (aud), and refuses
// the tokens of the other client.
func TestCognitoTokensFromMoto(t *testing.T) {
	m := startMockCognito(t)
	pool := m.call(t, "CreateUserPool", map[string]any{"PoolName": "members"})["UserPool"].(map[string]any)
	poolID := pool["Id"].(string)
	client := func(name string) string {
		c := m.call(t, "CreateUserPoolClient", map[string]any{"UserPoolId": poolID, "ClientName": name,
			"ExplicitAuthFlows": []string{"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}})
		return c["UserPoolClient"].(map[string]any)["ClientId"].(string)
	}
	app, other := client("app"), client("other")
	m.call(t, "AdminCreateUser", map[string]any{"UserPoolId": poolID, "Username": "ana", "MessageAction": "SUPPRESS"})
	m.call(t, "AdminSetUserPassword", map[string]any{"UserPoolId": poolID, "Username": "ana", "Password": "Passw0rd!Passw0rd", "Permanent": true})
	signIn := func(clientID string) (access, id string) {
		out := m.call(t, "AdminInitiateAuth", map[string]any{"UserPoolId": poolID, "ClientId": clientID, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
			"AuthParameters": map[string]string{"USERNAME": "ana", "PASSWORD": "Passw0rd!Passw0rd"}})
		res := out["AuthenticationResult"].(map[string]any)
		return res["AccessToken"].(string), res["IdToken"].(string)
	}
	access, id := signIn(app)
	otherAccess, otherID := signIn(other)

	head, _, err := jwt.NewParser().ParseUnverified(access, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	claims := head.Claims.(jwt.MapClaims)
	issuer, _ := claims["iss"].(string)
	if !strings.HasSuffix(issuer, "/"+poolID) || claims["token_use"] != "access" || claims["client_id"] != app {
		t.Fatalf("moto's access token: got claims %v, want Cognito's (iss of the pool, token_use access, client_id)", claims)
	}
	kid, _ := head.Header["kid"].(string)
	v := JWTVerifier{Issuer: issuer, Audiences: []string{app}, PublicKey: m.publicKey(t, poolID, kid)}

	for _, c := range []struct {
		name, token string
		ok          bool
	}{
		{"access token of the app client", access, true},
		{"ID token of the app client", id, true},
		{"access token of another client", otherAccess, false},
		{"ID token of another client", otherID, false},
	} {
		desc, err := v.Verify("Bearer " + c.token)
		if (err == nil) != c.ok {
			t.Errorf("%s: got %v, want ok %v", c.name, err, c.ok)
		}
		if err == nil && desc.Claims["sub"] == "" {
			t.Errorf("%s: claims %v have no sub", c.name, desc.Claims)
		}
	}
	wrongIssuer := v
	wrongIssuer.Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"
	if _, err := wrongIssuer.Verify(access); err == nil {
		t.Error("a token of another pool's issuer: got accepted, want refused")
	}
}
