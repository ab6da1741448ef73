package localgateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestIAMAuth(t *testing.T) {
	fn := &fakeFunction{}
	g := newTestGateway(t,
		Route{Method: "ANY", Path: "/admin/{proxy+}", Auth: AuthIAM, Function: fn},
		Route{Method: "GET", Path: "/v1/open", Function: fn},
	)
	srv := httptest.NewServer(g)
	defer srv.Close()

	body := []byte(`{"memberId":"m-1","points":50,"reason":"goodwill"}`)
	// newSigned builds a request to the test server signed over signBody;
	// change then tampers with it the way an attacker or a bug would.
	newSigned := func(t *testing.T, method, path string, signBody []byte, signedAt time.Time, secret string, change func(*http.Request)) *http.Request {
		t.Helper()
		var reader io.Reader
		if signBody != nil {
			reader = bytes.NewReader(signBody)
		}
		r, err := http.NewRequest(method, srv.URL+path, reader)
		if err != nil {
			t.Fatalf("new request: %v", err)
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "adj-1")
		if err := SignRequest(r, signBody, testAccessKey, secret, testRegion, signedAt); err != nil {
			t.Fatalf("SignRequest: %v", err)
		}
		if change != nil {
			change(r)
		}
		return r
	}
	replaceBody := func(b []byte) func(*http.Request) {
		return func(r *http.Request) {
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
		}
	}
	now := time.Now()

	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		want int
	}{
		{"unsigned", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("POST", srv.URL+"/admin/adjustments", bytes.NewReader(body))
			return r
		}, http.StatusForbidden},
		{"not SigV4", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("GET", srv.URL+"/admin/members", nil)
			r.Header.Set("Authorization", "Bearer abc")
			return r
		}, http.StatusForbidden},
		{"tampered body, same length", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret,
				replaceBody(bytes.Replace(body, []byte(`"points":50`), []byte(`"points":99`), 1)))
		}, http.StatusForbidden},
		{"tampered body, longer", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret,
				replaceBody(bytes.Replace(body, []byte(`"points":50`), []byte(`"points":5000`), 1)))
		}, http.StatusForbidden},
		{"tampered path", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret, func(r *http.Request) {
				r.URL.Path = "/admin/catalog"
			})
		}, http.StatusForbidden},
		{"tampered query", func(t *testing.T) *http.Request {
			return newSigned(t, "GET", "/admin/members?limit=10", nil, now, testSecret, func(r *http.Request) {
				r.URL.RawQuery = "limit=1000"
			})
		}, http.StatusForbidden},
		{"tampered signed header", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret, func(r *http.Request) {
				r.Header.Set("Idempotency-Key", "adj-2")
			})
		}, http.StatusForbidden},
		{"tampered method", func(t *testing.T) *http.Request {
			return newSigned(t, "PUT", "/admin/adjustments", body, now, testSecret, func(r *http.Request) {
				r.Method = "POST"
			})
		}, http.StatusForbidden},
		{"wrong secret", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, "not-the-secret", nil)
		}, http.StatusForbidden},
		{"signed 10 minutes ago", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now.Add(-10*time.Minute), testSecret, nil)
		}, http.StatusForbidden},
		{"signed for another region", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("GET", srv.URL+"/admin/members", nil)
			if err := SignRequest(r, nil, testAccessKey, testSecret, "us-east-1", now); err != nil {
				t.Fatalf("SignRequest: %v", err)
			}
			return r
		}, http.StatusForbidden},
		{"signed for another access key", func(t *testing.T) *http.Request {
			r, _ := http.NewRequest("GET", srv.URL+"/admin/members", nil)
			if err := SignRequest(r, nil, "AKIAOTHER", testSecret, testRegion, now); err != nil {
				t.Fatalf("SignRequest: %v", err)
			}
			return r
		}, http.StatusForbidden},
		{"valid POST with body", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret, nil)
		}, http.StatusOK},
		{"valid GET with query", func(t *testing.T) *http.Request {
			return newSigned(t, "GET", "/admin/members/m%201?limit=10&cursor=a%2Fb", nil, now, testSecret, nil)
		}, http.StatusOK},
		{"valid, signed 4 minutes ago", func(t *testing.T) *http.Request {
			return newSigned(t, "DELETE", "/admin/catalog/r-1", nil, now.Add(-4*time.Minute), testSecret, nil)
		}, http.StatusOK},
		{"valid, an unsigned header added after signing", func(t *testing.T) *http.Request {
			return newSigned(t, "POST", "/admin/adjustments", body, now, testSecret, func(r *http.Request) {
				r.Header.Set("X-Debug", "1")
			})
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fn.calls()
			resp, err := http.DefaultClient.Do(tt.req(t))
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			got := readAll(t, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status: got %d, want %d (body %s)", resp.StatusCode, tt.want, got)
			}
			wantCalls := 0
			if tt.want == http.StatusOK {
				wantCalls = 1
			} else if got != `{"message":"Forbidden"}` {
				t.Errorf("body: got %s, want {\"message\":\"Forbidden\"}", got)
			}
			if calls := fn.calls() - before; calls != wantCalls {
				t.Errorf("function calls: got %d, want %d", calls, wantCalls)
			}
			if wantCalls == 1 {
				iam := fn.lastEvent(t).RequestContext.Authorizer
				if iam == nil || iam.IAM == nil {
					t.Fatalf("authorizer.iam: got %+v, want the admin principal", iam)
				}
				checks := []struct{ field, got, want string }{
					{"accessKey", iam.IAM.AccessKey, testAccessKey},
					{"accountId", iam.IAM.AccountID, "000000000000"},
					{"callerId", iam.IAM.CallerID, IAMUserID},
					{"userArn", iam.IAM.UserARN, "arn:aws:iam::000000000000:user/local-admin"},
					{"userId", iam.IAM.UserID, IAMUserID},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("authorizer.iam.%s: got %q, want %q", c.field, c.got, c.want)
					}
				}
				if iam.JWT != nil {
					t.Errorf("authorizer.jwt: got %+v, want nil on an IAM route", iam.JWT)
				}
			}
		})
	}

	t.Run("signed body reaches the function unchanged", func(t *testing.T) {
		resp, err := http.DefaultClient.Do(newSigned(t, "POST", "/admin/adjustments", body, now, testSecret, nil))
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		resp.Body.Close()
		ev := fn.lastEvent(t)
		if ev.Body != string(body) || ev.PathParameters["proxy"] != "adjustments" {
			t.Errorf("event: got body %q proxy %q, want %q and adjustments", ev.Body, ev.PathParameters["proxy"], body)
		}
		var raw struct {
			RequestContext struct {
				Authorizer struct {
					IAM map[string]json.RawMessage `json:"iam"`
				} `json:"authorizer"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(fn.lastPayload(t), &raw); err != nil {
			t.Fatalf("decode payload: %v", err)
		}
		if got := string(raw.RequestContext.Authorizer.IAM["cognitoIdentity"]); got != "null" {
			t.Errorf("authorizer.iam.cognitoIdentity: got %s, want null for an IAM user", got)
		}
		if !strings.HasPrefix(ev.Headers["authorization"], "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/") {
			t.Errorf("headers.authorization: got %q, want the SigV4 header passed on", ev.Headers["authorization"])
		}
	})
}

func TestIAMVerifierWithHandlerRequests(t *testing.T) {
	// Signing an httptest request works too, so handler tests need no server.
	fn := &fakeFunction{}
	g := newTestGateway(t, Route{Method: "POST", Path: "/admin/rules", Auth: AuthIAM, Function: fn})
	body := []byte("rules: v2")
	r := httptest.NewRequest("POST", "/admin/rules?dry_run=true", bytes.NewReader(body))
	r.Header.Set("Content-Type", "text/yaml")
	if err := SignRequest(r, body, testAccessKey, testSecret, testRegion, time.Now()); err != nil {
		t.Fatalf("SignRequest: %v", err)
	}
	if w := serve(t, g, r); w.Code != http.StatusOK {
		t.Errorf("status: got %d, want 200 (body %s)", w.Code, w.Body)
	}
	if n := fn.calls(); n != 1 {
		t.Errorf("function calls: got %d, want 1", n)
	}
}

func TestSignRequestRejectsMismatchedBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/admin/rules", strings.NewReader("abc"))
	if err := SignRequest(r, []byte("abcdef"), testAccessKey, testSecret, testRegion, time.Now()); err == nil {
		t.Errorf("SignRequest: got no error, want one for a body that is not the request's")
	}
}

func TestIAMVerifierClock(t *testing.T) {
	signedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		name   string
		now    time.Time
		wantOK bool
	}{
		{"same second", signedAt, true},
		{"5 minutes later", signedAt.Add(5 * time.Minute), true},
		{"6 minutes later", signedAt.Add(6 * time.Minute), false},
		{"6 minutes earlier", signedAt.Add(-6 * time.Minute), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/admin/members", nil)
			if err := SignRequest(r, nil, testAccessKey, testSecret, testRegion, signedAt); err != nil {
				t.Fatalf("SignRequest: %v", err)
			}
			v := testIAMVerifier()
			v.Now = func() time.Time { return tt.now }
			_, err := v.Verify(r, nil)
			if (err == nil) != tt.wantOK {
				t.Errorf("Verify: got error %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
}
