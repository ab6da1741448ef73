package localstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// Client is what loyaltyctl's admin, job and token commands do, as a Go
// API: it reaches a running local stack through its state file, so it
// needs no address, key or region.
type Client struct {
	State localstate.State
	HTTP  *http.Client
}

// Connect finds the running stack through the state file at path (""
// for the module's .cache/localstack.json). With no stack running the
// error says how to start one; a stale file is reported as such.
func Connect(path string) (*Client, error) {
	var (
		s   localstate.State
		err error
	)
	if path == "" {
		s, _, err = localstate.Find()
	} else if s, err = localstate.Read(path); err == nil {
		err = s.Check(path)
	}
	if err != nil {
		return nil, err
	}
	return &Client{State: s, HTTP: &http.Client{Timeout: 6 * time.Minute}}, nil
}

// Admin calls an admin route of the local HTTP API, SigV4-signed with the
// stack's admin key, and returns the status and body. idempotencyKey may be
// empty.
func (c *Client) Admin(ctx context.Context, method, path string, body []byte, idempotencyKey string) (int, []byte, error) {
	if !strings.HasPrefix(path, "/") {
		return 0, nil, fmt.Errorf("admin: the path %q must start with /, like /admin/rewards", path)
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), c.State.HTTPAPI+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if err := localgateway.SignRequest(req, body, c.State.Admin.AccessKeyID, c.State.Admin.SecretAccessKey, c.State.Region, time.Now()); err != nil {
		return 0, nil, err
	}
	return c.do(req)
}

// RunJob runs a job of the stack now through its job control API (day ""
// for today; shards "" for all) and returns the status and the report.
func (c *Client) RunJob(ctx context.Context, name, day, shards string) (int, []byte, error) {
	q := url.Values{}
	if day != "" {
		q.Set("date", day)
	}
	if shards != "" {
		q.Set("shards", shards)
	}
	u := c.State.Jobs + "/jobs/" + url.PathEscape(name)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return 0, nil, err
	}
	return c.do(req)
}

func (c *Client) do(req *http.Request) (int, []byte, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// Token issues a development token for member with the stack's key,
// issuer and audience.
func (c *Client) Token(member string, ttl time.Duration) (string, error) {
	key, err := localgateway.LoadOrCreateDevKey(c.State.JWT.KeyFile)
	if err != nil {
		return "", err
	}
	return localgateway.IssueDevToken(key, c.State.JWT.Issuer, c.State.JWT.Audience, member, ttl, time.Now(), nil)
}
