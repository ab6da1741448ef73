package localgateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

const (
	testIssuer    = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_local"
	testAudience  = "local-app-client"
	testAccessKey = "AKIALOCALADMINTEST00"
	testSecret    = "local-admin-secret-for-tests-only"
	testRegion    = "eu-west-1"
)

var testKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return keys, err
		}
		keys[i] = k
	}
	return keys, nil
})

// signingKey is the key the test gateways trust; otherKey is one they do not.
func signingKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	keys, err := testKeys()
	if err != nil {
		tb.Fatalf("generate RSA keys: %v", err)
	}
	return keys[0]
}

func otherKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	keys, err := testKeys()
	if err != nil {
		tb.Fatalf("generate RSA keys: %v", err)
	}
	return keys[1]
}

// fakeFunction records every event it gets and answers with reply (or err).
type fakeFunction struct {
	mu       sync.Mutex
	payloads [][]byte
	reply    []byte
	err      error
	block    bool // wait for the context to end, like a function that hangs
}

func (f *fakeFunction) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.payloads = append(f.payloads, payload)
	reply, err, block := f.reply, f.err, f.block
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if reply == nil && err == nil {
		reply = []byte(`{"statusCode":200,"body":"ok"}`)
	}
	return reply, err
}

func (f *fakeFunction) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.payloads)
}

// lastEvent decodes the last event the function got; it fails the test when
// the function was never invoked.
func (f *fakeFunction) lastEvent(tb testing.TB) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	raw := f.lastPayload(tb)
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		tb.Fatalf("decode event: %v", err)
	}
	return ev
}

func (f *fakeFunction) lastPayload(tb testing.TB) []byte {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.payloads) == 0 {
		tb.Fatalf("function calls: got 0, want at least 1")
	}
	return f.payloads[len(f.payloads)-1]
}

func testJWTVerifier(tb testing.TB) JWTVerifier {
	tb.Helper()
	return JWTVerifier{Issuer: testIssuer, Audience: testAudience, PublicKey: &signingKey(tb).PublicKey}
}

func testIAMVerifier() IAMVerifier {
	return IAMVerifier{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, Region: testRegion}
}

// newTestGateway builds a gateway with the test verifiers and routes.
func newTestGateway(tb testing.TB, routes ...Route) *Gateway {
	tb.Helper()
	g, err := New(Config{Routes: routes, JWT: testJWTVerifier(tb), IAM: testIAMVerifier(), Logf: tb.Logf})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return g
}

// serve runs one request through the gateway's handler.
func serve(tb testing.TB, g *Gateway, r *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

// wantMessage checks an answer API Gateway gives on its own behalf.
func wantMessage(tb testing.TB, w *httptest.ResponseRecorder, status int, message string) {
	tb.Helper()
	if w.Code != status {
		tb.Errorf("status: got %d, want %d (body %s)", w.Code, status, w.Body)
	}
	want := `{"message":"` + message + `"}`
	if got := w.Body.String(); got != want {
		tb.Errorf("body: got %s, want %s", got, want)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		tb.Errorf("content-type: got %q, want application/json", got)
	}
	if w.Header().Get("Apigw-Requestid") == "" {
		tb.Errorf("apigw-requestid: got none, want one")
	}
}

func readAll(tb testing.TB, r io.Reader) string {
	tb.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	return string(b)
}

func devToken(tb testing.TB, key *rsa.PrivateKey, audience string, ttl time.Duration, now time.Time, extra map[string]any) string {
	tb.Helper()
	tok, err := IssueDevToken(key, testIssuer, audience, "member-1", ttl, now, extra)
	if err != nil {
		tb.Fatalf("IssueDevToken: %v", err)
	}
	return tok
}

func mustPublicDER(tb testing.TB, key *rsa.PrivateKey) []byte {
	tb.Helper()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		tb.Fatalf("marshal public key: %v", err)
	}
	return der
}
