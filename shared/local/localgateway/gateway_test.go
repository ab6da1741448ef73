package localgateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestRequestMapping(t *testing.T) {
	fn := &fakeFunction{}
	g := newTestGateway(t,
		Route{Method: "GET", Path: "/v1/items", Function: fn},
		Route{Method: "POST", Path: "/v1/items", Function: fn},
		Route{Method: "GET", Path: "/v1/me/redemptions/{id}", Function: fn},
		Route{Method: "ANY", Path: "/admin/{proxy+}", Function: fn},
	)

	tests := []struct {
		name    string
		method  string
		target  string
		headers [][2]string // in order, repeats allowed
		body    []byte
		// want
		routeKey    string
		rawPath     string
		rawQuery    string
		query       map[string]string
		pathParams  map[string]string
		cookies     []string
		headerWants map[string]string
		body64      bool
		bodyWant    string
	}{
		{
			name:     "query strings: repeated keys comma-joined, values decoded, raw kept",
			method:   "GET",
			target:   "/v1/items?b=2&a=1&a=3&q=hello%20world&empty=",
			routeKey: "GET /v1/items",
			rawPath:  "/v1/items",
			rawQuery: "b=2&a=1&a=3&q=hello%20world&empty=",
			query:    map[string]string{"a": "1,3", "b": "2", "q": "hello world", "empty": ""},
		},
		{
			name:     "repeated headers comma-joined under lower-case names",
			method:   "GET",
			target:   "/v1/items",
			headers:  [][2]string{{"X-Multi", "one"}, {"X-Multi", "two"}, {"X-Single", "only"}, {"User-Agent", "loyalty-test/1.0"}},
			routeKey: "GET /v1/items",
			rawPath:  "/v1/items",
			headerWants: map[string]string{
				"x-multi":    "one,two",
				"x-single":   "only",
				"user-agent": "loyalty-test/1.0",
				"host":       "example.com",
			},
		},
		{
			name:        "cookies split out of every Cookie header and removed from headers",
			method:      "GET",
			target:      "/v1/items",
			headers:     [][2]string{{"Cookie", "session=abc; theme=dark"}, {"Cookie", "lang=fr"}},
			routeKey:    "GET /v1/items",
			rawPath:     "/v1/items",
			cookies:     []string{"session=abc", "theme=dark", "lang=fr"},
			headerWants: map[string]string{"cookie": ""},
		},
		{
			name:       "path parameter decoded, an encoded slash stays inside it",
			method:     "GET",
			target:     "/v1/me/redemptions/rd%2F42%20x",
			routeKey:   "GET /v1/me/redemptions/{id}",
			rawPath:    "/v1/me/redemptions/rd/42 x",
			pathParams: map[string]string{"id": "rd/42 x"},
		},
		{
			name:       "greedy proxy takes the rest of the path",
			method:     "DELETE",
			target:     "/admin/members/m-1/ledger?dry=1",
			routeKey:   "ANY /admin/{proxy+}",
			rawPath:    "/admin/members/m-1/ledger",
			rawQuery:   "dry=1",
			query:      map[string]string{"dry": "1"},
			pathParams: map[string]string{"proxy": "members/m-1/ledger"},
		},
		{
			name:     "binary body is base64-encoded",
			method:   "POST",
			target:   "/v1/items",
			headers:  [][2]string{{"Content-Type", "application/octet-stream"}},
			body:     []byte{0x00, 0x01, 0xfe, 0xff},
			routeKey: "POST /v1/items",
			rawPath:  "/v1/items",
			body64:   true,
			bodyWant: base64.StdEncoding.EncodeToString([]byte{0x00, 0x01, 0xfe, 0xff}),
		},
		{
			name:     "body without content type is base64-encoded",
			method:   "POST",
			target:   "/v1/items",
			body:     []byte("plain words"),
			routeKey: "POST /v1/items",
			rawPath:  "/v1/items",
			body64:   true,
			bodyWant: base64.StdEncoding.EncodeToString([]byte("plain words")),
		},
		{
			name:        "JSON body is passed as text",
			method:      "POST",
			target:      "/v1/items",
			headers:     [][2]string{{"Content-Type", "application/json; charset=utf-8"}},
			body:        []byte(`{"sku":"A-1","qty":2}`),
			routeKey:    "POST /v1/items",
			rawPath:     "/v1/items",
			bodyWant:    `{"sku":"A-1","qty":2}`,
			headerWants: map[string]string{"content-type": "application/json; charset=utf-8"},
		},
		{
			name:     "form body is passed as text",
			method:   "POST",
			target:   "/v1/items",
			headers:  [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
			body:     []byte("a=1&b=two"),
			routeKey: "POST /v1/items",
			rawPath:  "/v1/items",
			bodyWant: "a=1&b=two",
		},
		{
			name:     "gzip-encoded JSON is binary",
			method:   "POST",
			target:   "/v1/items",
			headers:  [][2]string{{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}},
			body:     []byte{0x1f, 0x8b, 0x08},
			routeKey: "POST /v1/items",
			rawPath:  "/v1/items",
			body64:   true,
			bodyWant: base64.StdEncoding.EncodeToString([]byte{0x1f, 0x8b, 0x08}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != nil {
				body = bytes.NewReader(tt.body)
			}
			r := httptest.NewRequest(tt.method, tt.target, body)
			for _, h := range tt.headers {
				r.Header.Add(h[0], h[1])
			}
			before := time.Now()
			w := serve(t, g, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200 (body %s)", w.Code, w.Body)
			}
			ev := fn.lastEvent(t)

			if ev.Version != "2.0" {
				t.Errorf("version: got %q, want 2.0", ev.Version)
			}
			if ev.RouteKey != tt.routeKey || ev.RequestContext.RouteKey != tt.routeKey {
				t.Errorf("routeKey: got %q and %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, tt.routeKey)
			}
			if ev.RawPath != tt.rawPath || ev.RequestContext.HTTP.Path != tt.rawPath {
				t.Errorf("rawPath and http.path: got %q and %q, want %q", ev.RawPath, ev.RequestContext.HTTP.Path, tt.rawPath)
			}
			if ev.RawQueryString != tt.rawQuery {
				t.Errorf("rawQueryString: got %q, want %q", ev.RawQueryString, tt.rawQuery)
			}
			if !maps.Equal(ev.QueryStringParameters, tt.query) {
				t.Errorf("queryStringParameters: got %v, want %v", ev.QueryStringParameters, tt.query)
			}
			if !maps.Equal(ev.PathParameters, tt.pathParams) {
				t.Errorf("pathParameters: got %v, want %v", ev.PathParameters, tt.pathParams)
			}
			if !slices.Equal(ev.Cookies, tt.cookies) {
				t.Errorf("cookies: got %q, want %q", ev.Cookies, tt.cookies)
			}
			for name, want := range tt.headerWants {
				if got := ev.Headers[name]; got != want {
					t.Errorf("headers[%q]: got %q, want %q", name, got, want)
				}
			}
			for name := range ev.Headers {
				if name != strings.ToLower(name) {
					t.Errorf("header name %q: got mixed case, want lower case", name)
				}
			}
			if ev.Body != tt.bodyWant || ev.IsBase64Encoded != tt.body64 {
				t.Errorf("body: got %q (base64 %v), want %q (base64 %v)", ev.Body, ev.IsBase64Encoded, tt.bodyWant, tt.body64)
			}
			if ev.StageVariables != nil {
				t.Errorf("stageVariables: got %v, want nil", ev.StageVariables)
			}

			rc := ev.RequestContext
			if rc.AccountID != "000000000000" || rc.APIID != "local" || rc.Stage != "$default" {
				t.Errorf("accountId, apiId, stage: got %q %q %q, want 000000000000 local $default", rc.AccountID, rc.APIID, rc.Stage)
			}
			if rc.DomainName != "example.com" || rc.DomainPrefix != "example" {
				t.Errorf("domainName, domainPrefix: got %q %q, want example.com example", rc.DomainName, rc.DomainPrefix)
			}
			if rc.HTTP.Method != tt.method || rc.HTTP.Protocol != "HTTP/1.1" || rc.HTTP.SourceIP != "192.0.2.1" {
				t.Errorf("http: got %+v, want method %s, HTTP/1.1, source 192.0.2.1", rc.HTTP, tt.method)
			}
			if rc.HTTP.UserAgent != r.UserAgent() {
				t.Errorf("http.userAgent: got %q, want %q", rc.HTTP.UserAgent, r.UserAgent())
			}
			if rc.RequestID == "" || rc.RequestID != w.Header().Get("Apigw-Requestid") {
				t.Errorf("requestId: got %q, want it equal to the apigw-requestid header %q", rc.RequestID, w.Header().Get("Apigw-Requestid"))
			}
			at, err := time.Parse("02/Jan/2006:15:04:05 -0700", rc.Time)
			if err != nil {
				t.Errorf("time: got %q, want the 12/Mar/2020:19:03:58 +0000 layout: %v", rc.Time, err)
			} else if at.Unix() != rc.TimeEpoch/1000 {
				t.Errorf("time vs timeEpoch: got %s and %d, want the same second", rc.Time, rc.TimeEpoch)
			}
			if epoch := time.UnixMilli(rc.TimeEpoch); epoch.Before(before.Truncate(time.Millisecond)) || epoch.After(time.Now()) {
				t.Errorf("timeEpoch: got %s, want between %s and now", epoch, before)
			}
			if rc.Authorizer != nil {
				t.Errorf("authorizer: got %+v, want nil on an open route", rc.Authorizer)
			}
		})
	}
}

func TestEventJSONHasTheKeysAWSSends(t *testing.T) {
	// The keys of API Gateway's own sample for a route without authorizer,
	// body, query or cookies (minus authentication, which only mTLS adds).
	fn := &fakeFunction{}
	g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: fn})
	serve(t, g, httptest.NewRequest("GET", "/v1/me", nil))

	var top map[string]json.RawMessage
	if err := json.Unmarshal(fn.lastPayload(t), &top); err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	wantTop := []string{"headers", "isBase64Encoded", "rawPath", "rawQueryString", "requestContext", "routeKey", "version"}
	if got := slices.Sorted(maps.Keys(top)); !slices.Equal(got, wantTop) {
		t.Errorf("event keys: got %q, want %q", got, wantTop)
	}
	if got := string(top["isBase64Encoded"]); got != "false" {
		t.Errorf("isBase64Encoded: got %s, want false", got)
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(top["requestContext"], &rc); err != nil {
		t.Fatalf("decode requestContext: %v", err)
	}
	wantRC := []string{"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage", "time", "timeEpoch"}
	if got := slices.Sorted(maps.Keys(rc)); !slices.Equal(got, wantRC) {
		t.Errorf("requestContext keys: got %q, want %q", got, wantRC)
	}
}

func TestRequestIDsAreUnique(t *testing.T) {
	g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: &fakeFunction{}})
	seen := map[string]bool{}
	for range 500 {
		id := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)).Header().Get("Apigw-Requestid")
		if seen[id] {
			t.Fatalf("request id %q: got it twice, want unique ids", id)
		}
		seen[id] = true
	}
}

func TestResponseMapping(t *testing.T) {
	binary := []byte{0x89, 'P', 'N', 'G', 0x00, 0xff}
	tests := []struct {
		name       string
		reply      string
		status     int
		headers    map[string][]string // canonical name -> values; nil values means absent
		setCookies []string
		body       []byte
	}{
		{
			name:    "status, headers and text body",
			reply:   `{"statusCode":201,"headers":{"content-type":"application/json","x-trace":"t-1"},"body":"{\"id\":\"r-1\"}"}`,
			status:  201,
			headers: map[string][]string{"Content-Type": {"application/json"}, "X-Trace": {"t-1"}},
			body:    []byte(`{"id":"r-1"}`),
		},
		{
			name:    "multiValueHeaders add every value",
			reply:   `{"statusCode":200,"headers":{"content-type":"text/plain"},"multiValueHeaders":{"x-multi":["a","b"]},"body":"hi"}`,
			status:  200,
			headers: map[string][]string{"X-Multi": {"a", "b"}, "Content-Type": {"text/plain"}},
			body:    []byte("hi"),
		},
		{
			name:       "each cookie becomes a Set-Cookie header",
			reply:      `{"statusCode":204,"cookies":["session=abc; HttpOnly; Secure","theme=dark"]}`,
			status:     204,
			setCookies: []string{"session=abc; HttpOnly; Secure", "theme=dark"},
			body:       []byte{},
		},
		{
			name:    "base64 body is decoded",
			reply:   `{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"` + base64.StdEncoding.EncodeToString(binary) + `"}`,
			status:  200,
			headers: map[string][]string{"Content-Type": {"image/png"}},
			body:    binary,
		},
		{
			name:    "error status passes through",
			reply:   `{"statusCode":409,"headers":{"content-type":"application/json"},"body":"{\"code\":\"insufficient_points\"}"}`,
			status:  409,
			headers: map[string][]string{"Content-Type": {"application/json"}},
			body:    []byte(`{"code":"insufficient_points"}`),
		},
		{
			name:    "no content type set means none is sent",
			reply:   `{"statusCode":200,"body":"<html>"}`,
			status:  200,
			headers: map[string][]string{"Content-Type": nil},
			body:    []byte("<html>"),
		},
		{
			name:    "a function cannot set hop-by-hop headers",
			reply:   `{"statusCode":200,"headers":{"content-length":"999","connection":"close"},"body":"abc"}`,
			status:  200,
			headers: map[string][]string{"Connection": nil},
			body:    []byte("abc"),
		},
		{
			name:    "JSON without statusCode is inferred as a 200 JSON body",
			reply:   `{"points":120,"tier":"gold"}`,
			status:  200,
			headers: map[string][]string{"Content-Type": {"application/json"}},
			body:    []byte(`{"points":120,"tier":"gold"}`),
		},
		{
			name:    "a JSON string is inferred too",
			reply:   `"hello"`,
			status:  200,
			headers: map[string][]string{"Content-Type": {"application/json"}},
			body:    []byte(`"hello"`),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: &fakeFunction{reply: []byte(tt.reply)}})
			w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil))
			if w.Code != tt.status {
				t.Errorf("status: got %d, want %d", w.Code, tt.status)
			}
			for name, want := range tt.headers {
				if got := w.Header().Values(name); !slices.Equal(got, want) {
					t.Errorf("header %s: got %q, want %q", name, got, want)
				}
			}
			if got := w.Header().Values("Set-Cookie"); !slices.Equal(got, tt.setCookies) {
				t.Errorf("Set-Cookie: got %q, want %q", got, tt.setCookies)
			}
			if got := w.Body.Bytes(); !bytes.Equal(got, tt.body) {
				t.Errorf("body: got %q, want %q", got, tt.body)
			}
			if w.Header().Get("Apigw-Requestid") == "" {
				t.Errorf("apigw-requestid: got none, want one")
			}
		})
	}
}

func TestResponseOverRealHTTP(t *testing.T) {
	// A recorder keeps what a handler sets; a client sees what went on the
	// wire, including Content-Length and whether a type was sniffed.
	fn := &fakeFunction{reply: []byte(`{"statusCode":200,"headers":{"content-length":"999"},"cookies":["a=1","b=2"],"body":"<p>x</p>"}`)}
	g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: fn})
	srv := httptest.NewServer(g)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v1/me")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if body := readAll(t, resp.Body); body != "<p>x</p>" {
		t.Errorf("body: got %q, want <p>x</p>", body)
	}
	if resp.ContentLength != 8 {
		t.Errorf("content length: got %d, want 8", resp.ContentLength)
	}
	if got := resp.Header.Values("Content-Type"); len(got) != 0 {
		t.Errorf("content-type: got %q, want none", got)
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Errorf("set-cookie: got %q, want [a=1 b=2]", got)
	}
}

func TestBadFunctionAnswersAre500(t *testing.T) {
	tests := []struct {
		name string
		fn   *fakeFunction
	}{
		{"invoke error", &fakeFunction{err: errors.New("runtime exited with status 2")}},
		{"not JSON", &fakeFunction{reply: []byte("panic: oops")}},
		{"empty reply", &fakeFunction{reply: []byte{}}},
		{"bad base64 body", &fakeFunction{reply: []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`)}},
		{"status code out of range", &fakeFunction{reply: []byte(`{"statusCode":0}`)}},
		{"status code not a number", &fakeFunction{reply: []byte(`{"statusCode":"200"}`)}},
		{"Lambda error envelope", &fakeFunction{reply: []byte(`{"errorMessage":"boom","errorType":"errorString"}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: tt.fn})
			w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil))
			wantMessage(t, w, http.StatusInternalServerError, "Internal Server Error")
			if strings.Contains(w.Body.String(), "boom") || strings.Contains(w.Body.String(), "runtime") {
				t.Errorf("body: got %s, want no internals", w.Body)
			}
		})
	}
}

func TestIntegrationTimeoutIs503(t *testing.T) {
	fn := &fakeFunction{block: true}
	g, err := New(Config{
		Routes:             []Route{{Method: "GET", Path: "/v1/me", Function: fn}},
		IntegrationTimeout: 50 * time.Millisecond,
		Logf:               t.Logf,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil))
	wantMessage(t, w, http.StatusServiceUnavailable, "Service Unavailable")
}

func TestUnknownRouteIs404(t *testing.T) {
	fn := &fakeFunction{}
	g := newTestGateway(t,
		Route{Method: "GET", Path: "/v1/me", Function: fn},
		Route{Method: "POST", Path: "/v1/me/redemptions/{id}", Function: fn},
		Route{Method: "ANY", Path: "/admin/{proxy+}", Function: fn},
	)
	for _, req := range []struct{ method, target string }{
		{"GET", "/nowhere"},
		{"GET", "/"},
		{"POST", "/v1/me"},                // path known, method not
		{"GET", "/v1/me/"},                // trailing slash is another path
		{"GET", "/v1/me/redemptions/r-1"}, // only POST there
		{"POST", "/v1/me/redemptions/"},   // a variable needs a value
		{"GET", "/admin"},                 // a greedy variable needs at least one segment
		{"GET", "/admin/"},
	} {
		t.Run(req.method+" "+req.target, func(t *testing.T) {
			w := serve(t, g, httptest.NewRequest(req.method, req.target, nil))
			wantMessage(t, w, http.StatusNotFound, "Not Found")
		})
	}
	if n := fn.calls(); n != 0 {
		t.Errorf("function calls: got %d, want 0", n)
	}
}

func TestRoutePrecedence(t *testing.T) {
	fn := &fakeFunction{}
	var routes []Route
	for _, key := range []string{
		"GET /items/export",
		"GET /items/{id}",
		"ANY /items/{id}",
		"ANY /items/{proxy+}",
		"GET /{proxy+}",
		"$default",
	} {
		method, path, found := strings.Cut(key, " ")
		if !found {
			method, path = "", key
		}
		routes = append(routes, Route{Method: method, Path: path, Function: fn})
	}
	g := newTestGateway(t, routes...)

	for _, tt := range []struct{ method, target, want string }{
		{"GET", "/items/export", "GET /items/export"},
		{"GET", "/items/42", "GET /items/{id}"},
		{"POST", "/items/42", "ANY /items/{id}"},
		{"POST", "/items/export", "ANY /items/{id}"},
		{"GET", "/items/42/lots", "ANY /items/{proxy+}"},
		{"GET", "/items", "GET /{proxy+}"},
		{"GET", "/other/deep/path", "GET /{proxy+}"},
		{"POST", "/other", "$default"},
		{"PUT", "/", "$default"},
	} {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			w := serve(t, g, httptest.NewRequest(tt.method, tt.target, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status: got %d, want 200", w.Code)
			}
			if got := fn.lastEvent(t).RouteKey; got != tt.want {
				t.Errorf("route: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBodyOver10MBIs413(t *testing.T) {
	fn := &fakeFunction{}
	g := newTestGateway(t, Route{Method: "POST", Path: "/v1/items", Function: fn})
	big := bytes.Repeat([]byte("a"), MaxBodyBytes+1)

	t.Run("declared length", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/items", bytes.NewReader(big))
		wantMessage(t, serve(t, g, r), http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	})
	t.Run("unknown length", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/items", io.MultiReader(bytes.NewReader(big)))
		r.ContentLength = -1
		wantMessage(t, serve(t, g, r), http.StatusRequestEntityTooLarge, "Request Entity Too Large")
	})
	t.Run("exactly 10 MB passes", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/v1/items", bytes.NewReader(big[:MaxBodyBytes]))
		r.Header.Set("Content-Type", "text/plain")
		if w := serve(t, g, r); w.Code != http.StatusOK {
			t.Fatalf("status: got %d, want 200", w.Code)
		}
		if got := len(fn.lastEvent(t).Body); got != MaxBodyBytes {
			t.Errorf("body length: got %d, want %d", got, MaxBodyBytes)
		}
	})
	if n := fn.calls(); n != 1 {
		t.Errorf("function calls: got %d, want 1", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	fn := &fakeFunction{}
	ok := []Route{{Method: "GET", Path: "/v1/me", Function: fn}}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"all interfaces", Config{Addr: "0.0.0.0:3000", Routes: ok}},
		{"empty host", Config{Addr: ":3000", Routes: ok}},
		{"LAN address", Config{Addr: "192.168.1.10:3000", Routes: ok}},
		{"host name", Config{Addr: "example.com:3000", Routes: ok}},
		{"no port", Config{Addr: "127.0.0.1", Routes: ok}},
		{"no routes", Config{}},
		{"no function", Config{Routes: []Route{{Method: "GET", Path: "/v1/me"}}}},
		{"unknown method", Config{Routes: []Route{{Method: "FETCH", Path: "/v1/me", Function: fn}}}},
		{"lower-case method", Config{Routes: []Route{{Method: "get", Path: "/v1/me", Function: fn}}}},
		{"relative path", Config{Routes: []Route{{Method: "GET", Path: "v1/me", Function: fn}}}},
		{"greedy not last", Config{Routes: []Route{{Method: "GET", Path: "/a/{proxy+}/b", Function: fn}}}},
		{"partial variable", Config{Routes: []Route{{Method: "GET", Path: "/a/x{id}", Function: fn}}}},
		{"variable twice", Config{Routes: []Route{{Method: "GET", Path: "/a/{id}/{id}", Function: fn}}}},
		{"trailing slash", Config{Routes: []Route{{Method: "GET", Path: "/a/", Function: fn}}}},
		{"same route twice", Config{Routes: []Route{
			{Method: "GET", Path: "/a/{id}", Function: fn},
			{Method: "GET", Path: "/a/{key}", Function: fn},
		}}},
		{"JWT route without verifier", Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Auth: AuthJWT, Function: fn}}}},
		{"IAM route without verifier", Config{Routes: []Route{{Method: "GET", Path: "/admin", Auth: AuthIAM, Function: fn}}}},
		{"unknown auth", Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Auth: AuthType(9), Function: fn}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := New(tt.cfg); err == nil {
				t.Errorf("New: got gateway %p and no error, want an error", g)
			}
		})
	}
}

func TestNewAcceptsLoopback(t *testing.T) {
	for _, addr := range []string{"", "127.0.0.1:0", "localhost:0", "[::1]:0", "127.0.0.2:3001"} {
		if _, err := New(Config{Addr: addr, Routes: []Route{{Method: "GET", Path: "/", Function: &fakeFunction{}}}}); err != nil {
			t.Errorf("New with Addr %q: got %v, want no error", addr, err)
		}
	}
}

func TestStartServesUntilStop(t *testing.T) {
	fn := &fakeFunction{reply: []byte(`{"statusCode":200,"headers":{"content-type":"text/plain"},"body":"pong"}`)}
	g, err := New(Config{Addr: "127.0.0.1:0", Routes: []Route{{Method: "POST", Path: "/v1/ping/{id}", Function: fn}}, Logf: t.Logf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	addr, err := g.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Errorf("address: got %q, want 127.0.0.1 with a real port", addr)
	}
	if _, err := g.Start(context.Background()); err == nil {
		t.Errorf("second Start: got no error, want one")
	}

	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/ping/p%201?x=1&x=2", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.AddCookie(&http.Cookie{Name: "s", Value: "1"})
	req.AddCookie(&http.Cookie{Name: "t", Value: "2"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	body := readAll(t, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body != "pong" {
		t.Errorf("response: got %d %q, want 200 pong", resp.StatusCode, body)
	}
	ev := fn.lastEvent(t)
	checks := []struct{ field, got, want string }{
		{"pathParameters.id", ev.PathParameters["id"], "p 1"},
		{"queryStringParameters.x", ev.QueryStringParameters["x"], "1,2"},
		{"headers.x-multi", ev.Headers["x-multi"], "a,b"},
		{"headers.host", ev.Headers["host"], addr},
		{"headers.content-length", ev.Headers["content-length"], "7"},
		{"headers.x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http"},
		{"headers.x-forwarded-for", ev.Headers["x-forwarded-for"], "127.0.0.1"},
		{"cookies", strings.Join(ev.Cookies, "|"), "s=1|t=2"},
		{"body", ev.Body, `{"n":1}`},
		{"sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"domainName", ev.RequestContext.DomainName, addr},
		{"domainPrefix", ev.RequestContext.DomainPrefix, "127.0.0.1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	if !strings.HasPrefix(ev.Headers["x-amzn-trace-id"], "Root=1-") {
		t.Errorf("x-amzn-trace-id: got %q, want Root=1-...", ev.Headers["x-amzn-trace-id"])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := g.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if resp, err := http.Get("http://" + addr + "/v1/ping/1"); err == nil {
		resp.Body.Close()
		t.Errorf("request after Stop: got status %d, want a connection error", resp.StatusCode)
	}
	if err := g.Stop(ctx); err != nil {
		t.Errorf("second Stop: got %v, want nil", err)
	}
}

func TestStartStopsWhenContextEnds(t *testing.T) {
	g, err := New(Config{Addr: "127.0.0.1:0", Routes: []Route{{Method: "GET", Path: "/", Function: &fakeFunction{}}}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := g.Start(ctx)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("after cancel: got answers for 5s, want the server closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInvokerFunc(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	fn := InvokerFunc(func(_ context.Context, payload []byte) ([]byte, error) {
		if err := json.Unmarshal(payload, &got); err != nil {
			return nil, err
		}
		return []byte(`{"statusCode":202}`), nil
	})
	g := newTestGateway(t, Route{Method: "GET", Path: "/v1/me", Function: fn})
	if w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)); w.Code != http.StatusAccepted {
		t.Errorf("status: got %d, want 202", w.Code)
	}
	if got.RouteKey != "GET /v1/me" {
		t.Errorf("routeKey: got %q, want GET /v1/me", got.RouteKey)
	}
}

// Past the stage's burst the gateway answers 429 in API Gateway's own shape
// and calls no function; the bucket refills at the rate.
func TestThrottlingIs429BeforeTheFunction(t *testing.T) {
	fn := &fakeFunction{}
	g, err := New(Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Function: fn}},
		Throttle: Throttle{RatePerSecond: 10, Burst: 3}, Logf: t.Logf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	for i := range 3 {
		if w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)); w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: got %d %s, want 200", i+1, w.Code, w.Body)
		}
	}
	wantMessage(t, serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)), http.StatusTooManyRequests, "Too Many Requests")
	if n := fn.calls(); n != 3 {
		t.Errorf("function calls: got %d, want 3 (none for the throttled request)", n)
	}
	now = now.Add(100 * time.Millisecond) // one request's worth at 10 per second
	if w := serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)); w.Code != http.StatusOK {
		t.Errorf("after 100 ms at 10 per second: got %d, want 200", w.Code)
	}
	wantMessage(t, serve(t, g, httptest.NewRequest("GET", "/v1/me", nil)), http.StatusTooManyRequests, "Too Many Requests")
	if _, err := New(Config{Routes: []Route{{Method: "GET", Path: "/v1/me", Function: fn}}, Throttle: Throttle{RatePerSecond: 5}}); err == nil {
		t.Errorf("a rate without a burst: got no error, want one")
	}
}
