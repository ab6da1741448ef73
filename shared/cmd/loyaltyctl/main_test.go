package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localstack"
)

// recorder is a stand-in stack that keeps the last request it got.
func recorder(tb testing.TB) (*httptest.Server, *http.Request) {
	tb.Helper()
	got := &http.Request{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = *r.Clone(r.Context())
		w.Write([]byte(`{"ok":true}`))
	}))
	tb.Cleanup(srv.Close)
	return srv, got
}

func TestFlagsAfterTheArgumentsAreHonoured(t *testing.T) {
	srv, got := recorder(t)
	var out bytes.Buffer
	if err := admin([]string{"GET", "/admin/rewards", "-url", srv.URL, "-idempotency-key", "k-1"}, &out); err != nil {
		t.Fatalf("admin with flags after the arguments: got %v, want the call made", err)
	}
	if got.URL.Path != "/admin/rewards" || got.Header.Get("Idempotency-Key") != "k-1" || !strings.HasPrefix(got.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		t.Errorf("admin request: got %s %s key %q auth %q, want GET /admin/rewards to -url, key k-1, SigV4-signed",
			got.Method, got.URL, got.Header.Get("Idempotency-Key"), got.Header.Get("Authorization"))
	}
	if want := "200 {\"ok\":true}\n"; out.String() != want {
		t.Errorf("admin output: got %q, want %q", out.String(), want)
	}

	out.Reset()
	if err := job([]string{"expire-points", "-date", "2026-04-01", "-url", srv.URL}, &out); err != nil {
		t.Fatalf("job with flags after the name: got %v, want the run asked", err)
	}
	if got.Method != "POST" || got.URL.Path != "/jobs/expire-points" || got.URL.Query().Get("date") != "2026-04-01" {
		t.Errorf("job request: got %s %s, want POST /jobs/expire-points?date=2026-04-01", got.Method, got.URL)
	}

	out.Reset()
	if err := token([]string{"alice", "-ttl", "5m"}, &out); err != nil {
		t.Fatalf("token alice -ttl 5m: got %v", err)
	}
	claims := jwtClaims(t, strings.TrimSpace(out.String()))
	if exp := time.Unix(int64(claims["exp"].(float64)), 0); claims["sub"] != "alice" || time.Until(exp) > 5*time.Minute+5*time.Second || time.Until(exp) < 4*time.Minute {
		t.Errorf("token claims: got sub %v exp in %s, want alice and 5m", claims["sub"], time.Until(exp).Round(time.Second))
	}
}

func jwtClaims(tb testing.TB, tok string) map[string]any {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token: got %q, want a JWT", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestWhatCannotBeHonouredIsRefused(t *testing.T) {
	root := t.TempDir()
	cases := []struct {
		name string
		err  func() error
		want string
	}{
		{"run with a port as an argument", func() error { _, err := parseRun([]string{"3100"}, root); return err }, "-addr 127.0.0.1:3100"},
		{"run -in-memory -reset", func() error { _, err := parseRun([]string{"-in-memory", "-reset"}, root); return err }, "nothing to -reset"},
		{"run with an unknown flag", func() error { _, err := parseRun([]string{"-port", "3100"}, root); return err }, "-port"},
		{"admin without a path", func() error { _, err := parseAdmin([]string{"GET"}); return err }, "METHOD PATH"},
		{"admin with an unknown flag last", func() error { _, err := parseAdmin([]string{"GET", "/x", "-nope"}); return err }, "-nope"},
		{"token for two members", func() error { return token([]string{"a", "b"}, &bytes.Buffer{}) }, "one member"},
		{"token with -member and an argument", func() error { return token([]string{"-member", "a", "b"}, &bytes.Buffer{}) }, "one member"},
		{"job without a name", func() error { return job([]string{"-date", "2026-04-01"}, &bytes.Buffer{}) }, "expire-points"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestRunKeepsDataByDefault(t *testing.T) {
	root := t.TempDir()
	o, err := parseRun([]string{"-addr", "127.0.0.1:3100"}, root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, ".cache", "local"); o.stack.DataDir != want || o.stack.Addr != "127.0.0.1:3100" || o.stack.StateFile != filepath.Join(root, ".cache", "localstack.json") {
		t.Errorf("run -addr 127.0.0.1:3100: got data %q addr %q state %q, want %q, the address, .cache/localstack.json", o.stack.DataDir, o.stack.Addr, o.stack.StateFile, want)
	}
	if o, _ := parseRun([]string{"-in-memory"}, root); o.stack.DataDir != "" {
		t.Errorf("run -in-memory: got data %q, want none", o.stack.DataDir)
	}
}

func TestATakenPortNamesTheSettingToChange(t *testing.T) {
	cases := []struct {
		part string
		want []string
	}{
		{localstack.PartHTTPAPI, []string{"127.0.0.1:3000 is in use", "make run PORT=", "loyaltyctl run -addr 127.0.0.1:"}},
		{localstack.PartJobs, []string{"127.0.0.1:3000 is in use", "make run JOBS_PORT=", "loyaltyctl run -jobs-addr 127.0.0.1:"}},
		{localstack.PartSQS, []string{"127.0.0.1:3000 is in use", "make run SQS_PORT=", "loyaltyctl run -sqs-addr 127.0.0.1:"}},
	}
	for _, c := range cases {
		msg := explainStartError(&localstack.AddrInUseError{Part: c.part, Addr: "127.0.0.1:3000"}).Error()
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s taken: got %q, want it to contain %q", c.part, msg, w)
			}
		}
	}
}
