package apispec

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Transport validates every response of the requests match selects (nil:
// all) against the description, as taken at the Gateway layer. An invalid
// response fails the round trip with the validator's error, so the call
// that received it fails where it stands; Failures keeps them too.
type Transport struct {
	Spec  *Spec
	Base  http.RoundTripper // nil: http.DefaultTransport
	Match func(*http.Request) bool

	mu       sync.Mutex
	failures []string
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || (t.Match != nil && !t.Match(req)) {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("apispec: read the response of %s %s: %w", req.Method, req.URL.Path, err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := t.Spec.Check(Gateway, req.Method, req.URL.Path, resp.StatusCode, resp.Header, body); err != nil {
		t.mu.Lock()
		t.failures = append(t.failures, err.Error())
		t.mu.Unlock()
		return nil, fmt.Errorf("apispec: %w", err)
	}
	return resp, nil
}

// Failures returns the invalid responses seen so far.
func (t *Transport) Failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.failures...)
}
