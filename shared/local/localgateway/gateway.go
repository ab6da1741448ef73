package localgateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Invoker is a Lambda function as the gateway sees it: JSON in, JSON out. An
// error means the invocation failed (the function crashed, timed out or
// returned an error); the gateway answers 500 like API Gateway does.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// InvokerFunc adapts a plain function to Invoker.
type InvokerFunc func(ctx context.Context, payload []byte) ([]byte, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f(ctx, payload)
}

// AuthType is the authorization a route requires before its function runs.
type AuthType int

const (
	// AuthNone lets every request through.
	AuthNone AuthType = iota
	// AuthJWT requires a JWT accepted by Config.JWT (401 otherwise).
	AuthJWT
	// AuthIAM requires a SigV4 signature accepted by Config.IAM (403 otherwise).
	AuthIAM
)

func (a AuthType) String() string {
	switch a {
	case AuthNone:
		return "NONE"
	case AuthJWT:
		return "JWT"
	case AuthIAM:
		return "AWS_IAM"
	}
	return fmt.Sprintf("AuthType(%d)", int(a))
}

// Route is one route of the HTTP API, written as in the CDK stack.
type Route struct {
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY.
	// It is ignored for the "$default" route.
	Method string
	// Path is "/v1/me/redemptions/{id}", "/admin/{proxy+}" or "$default".
	Path string
	Auth AuthType
	// Scopes, on a JWT route, are its authorization scopes: a token must
	// carry at least one of them in its scope claim (403 otherwise), as
	// API Gateway checks them. None: any verified token passes.
	Scopes   []string
	Function Invoker
}

// Key is the route key API Gateway puts in the event: "GET /v1/me" or "$default".
func (r Route) Key() string {
	if r.Path == defaultRouteKey {
		return defaultRouteKey
	}
	return r.Method + " " + r.Path
}

// Config describes a gateway. Only Routes is required; JWT must be set when a
// route uses AuthJWT and IAM when a route uses AuthIAM.
type Config struct {
	// Addr is the loopback address to listen on; default 127.0.0.1:3000.
	// Port 0 picks a free port (Start returns it). Other hosts are refused.
	Addr   string
	Routes []Route
	JWT    JWTVerifier
	IAM    IAMVerifier
	// IntegrationTimeout bounds one invocation, like API Gateway's 30 s
	// integration timeout; past it the client gets 503. Default 30 s.
	IntegrationTimeout time.Duration
	// Throttle is the stage's throttling; the zero value throttles nothing.
	Throttle Throttle
	// Logf receives one line per request and the reason of every 4xx/5xx the
	// gateway itself produces. Nil discards them.
	Logf func(format string, args ...any)
}

// Throttle is API Gateway's stage throttling: a bucket of Burst requests,
// refilled at RatePerSecond; a request that finds it empty gets 429
// {"message":"Too Many Requests"} before it is authorized or reaches a
// function.
type Throttle struct {
	RatePerSecond float64
	Burst         int
}

const (
	// DefaultAddr is where the gateway listens when Config.Addr is empty.
	DefaultAddr = "127.0.0.1:3000"
	// MaxBodyBytes is API Gateway's payload limit: larger bodies get 413.
	MaxBodyBytes = 10 << 20

	defaultIntegrationTimeout = 30 * time.Second
)

// Gateway is a running (or ready to run) local HTTP API.
type Gateway struct {
	addr    string
	routes  []*route
	jwt     JWTVerifier
	iam     IAMVerifier
	timeout time.Duration
	logf    func(string, ...any)
	now     func() time.Time

	mu        sync.Mutex
	srv       *http.Server
	stopWatch func() bool

	throttle Throttle
	bucketMu sync.Mutex
	tokens   float64   // requests the bucket holds now
	filled   time.Time // when tokens was last brought up to date
}

// New checks cfg and builds a gateway. It does not listen: call Start, or
// mount the gateway as an http.Handler.
func New(cfg Config) (*Gateway, error) {
	addr, err := loopbackAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if len(cfg.Routes) == 0 {
		return nil, errors.New("localgateway: no routes")
	}
	g := &Gateway{
		addr:    addr,
		jwt:     cfg.JWT,
		iam:     cfg.IAM,
		timeout: cfg.IntegrationTimeout,
		logf:    cfg.Logf,
		now:     time.Now,

		throttle: cfg.Throttle,
		tokens:   float64(cfg.Throttle.Burst),
	}
	if cfg.Throttle.RatePerSecond < 0 || cfg.Throttle.Burst < 0 || (cfg.Throttle.RatePerSecond > 0) != (cfg.Throttle.Burst > 0) {
		return nil, fmt.Errorf("localgateway: throttle %+v: want both a rate and a burst above 0, or neither", cfg.Throttle)
	}
	if g.timeout <= 0 {
		g.timeout = defaultIntegrationTimeout
	}
	if g.logf == nil {
		g.logf = func(string, ...any) {}
	}
	seen := map[string]string{} // shape -> route key
	for _, rt := range cfg.Routes {
		compiled, err := compileRoute(rt)
		if err != nil {
			return nil, fmt.Errorf("localgateway: %w", err)
		}
		if other, dup := seen[compiled.shape()]; dup {
			return nil, fmt.Errorf("localgateway: routes %q and %q match the same requests", other, compiled.key)
		}
		seen[compiled.shape()] = compiled.key
		switch rt.Auth {
		case AuthNone:
		case AuthJWT:
			if err := cfg.JWT.check(); err != nil {
				return nil, fmt.Errorf("localgateway: route %q uses JWT auth: %w", compiled.key, err)
			}
		case AuthIAM:
			if err := cfg.IAM.check(); err != nil {
				return nil, fmt.Errorf("localgateway: route %q uses IAM auth: %w", compiled.key, err)
			}
		default:
			return nil, fmt.Errorf("localgateway: route %q: unknown auth type %v", compiled.key, rt.Auth)
		}
		g.routes = append(g.routes, compiled)
	}
	return g, nil
}

// loopbackAddr applies the default and refuses every host that is not a
// loopback IP: the local stack must never be reachable from the network.
func loopbackAddr(addr string) (string, error) {
	if addr == "" {
		return DefaultAddr, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("localgateway: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("localgateway: address %q: host must be a loopback IP such as 127.0.0.1", addr)
	}
	return addr, nil
}

// Start listens on the configured loopback address and serves until Stop is
// called or ctx is done. It returns the address it listens on.
func (g *Gateway) Start(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.srv != nil {
		return "", errors.New("localgateway: already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", g.addr)
	if err != nil {
		return "", fmt.Errorf("localgateway: listen on %s: %w", g.addr, err)
	}
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
	}
	g.srv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.logf("localgateway: serve %s: %v", ln.Addr(), err)
		}
	}()
	g.stopWatch = context.AfterFunc(ctx, func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(shutdownCtx)
	})
	return ln.Addr().String(), nil
}

// Stop ends a started gateway, letting requests in flight finish until ctx
// is done. Stopping a gateway that is not running does nothing.
func (g *Gateway) Stop(ctx context.Context) error {
	g.mu.Lock()
	srv, stopWatch := g.srv, g.stopWatch
	g.srv, g.stopWatch = nil, nil
	g.mu.Unlock()
	if srv == nil {
		return nil
	}
	if stopWatch != nil {
		stopWatch()
	}
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("localgateway: stop: %w", err)
	}
	return nil
}

// ServeHTTP handles one request in the order API Gateway does: throttling
// (429), route match (404), payload limit (413), authorization (401/403),
// integration (500 when the function fails, 503 when it times out).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	requestID := newRequestID()
	w.Header().Set("Apigw-Requestid", requestID)
	status, routeKey := g.serve(w, r, requestID, start)
	g.logf("%s %s %s %s -> %d (%s)", requestID, r.Method, r.URL.RequestURI(), routeKey, status, time.Since(start).Round(time.Microsecond))
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, requestID string, start time.Time) (status int, routeKey string) {
	if !g.take(start) {
		g.logf("%s: throttled (%v requests per second, burst %d)", requestID, g.throttle.RatePerSecond, g.throttle.Burst)
		return writeMessage(w, http.StatusTooManyRequests, "Too Many Requests"), "-"
	}
	rt, params, ok := g.match(r)
	if !ok {
		return writeMessage(w, http.StatusNotFound, "Not Found"), "-"
	}
	routeKey = rt.key

	if r.ContentLength > MaxBodyBytes {
		g.logf("%s: body of %d bytes is over the %d byte limit", requestID, r.ContentLength, MaxBodyBytes)
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), routeKey
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		g.logf("%s: read body: %v", requestID, err)
		return writeMessage(w, http.StatusBadRequest, "Bad Request"), routeKey
	}
	if len(body) > MaxBodyBytes {
		g.logf("%s: body is over the %d byte limit", requestID, MaxBodyBytes)
		return writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large"), routeKey
	}

	event := buildEvent(r, body, rt.key, params, requestID, start)
	switch rt.auth {
	case AuthJWT:
		desc, err := g.jwt.Verify(r.Header.Get("Authorization"))
		if err != nil {
			g.logf("%s: JWT rejected: %v", requestID, err)
			w.Header().Set("Www-Authenticate", `Bearer scope="" error="invalid_token" error_description="`+jwtErrorDescription(err)+`"`)
			return writeMessage(w, http.StatusUnauthorized, "Unauthorized"), routeKey
		}
		if len(rt.scopes) > 0 && !slices.ContainsFunc(desc.Scopes, func(s string) bool { return slices.Contains(rt.scopes, s) }) {
			g.logf("%s: JWT lacks every scope of the route %v (it has %v)", requestID, rt.scopes, desc.Scopes)
			w.Header().Set("Www-Authenticate", `Bearer scope="`+strings.Join(rt.scopes, " ")+`" error="insufficient_scope" error_description="the token does not have the required scopes"`)
			return writeMessage(w, http.StatusForbidden, "Forbidden"), routeKey
		}
		event.RequestContext.Authorizer = &authorizerDescription{JWT: desc}
	case AuthIAM:
		desc, err := g.iam.Verify(r, body)
		if err != nil {
			g.logf("%s: SigV4 rejected: %v", requestID, err)
			return writeMessage(w, http.StatusForbidden, "Forbidden"), routeKey
		}
		event.RequestContext.Authorizer = &authorizerDescription{IAM: desc}
	}

	payload, err := encodeEvent(event)
	if err != nil {
		g.logf("%s: encode event: %v", requestID, err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), routeKey
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	out, err := rt.fn.Invoke(ctx, payload)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			g.logf("%s: integration timed out after %s: %v", requestID, g.timeout, err)
			return writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable"), routeKey
		}
		g.logf("%s: function failed: %v", requestID, err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), routeKey
	}
	resp, err := parseResponse(out)
	if err != nil {
		g.logf("%s: function response: %v", requestID, err)
		return writeMessage(w, http.StatusInternalServerError, "Internal Server Error"), routeKey
	}
	writeResponse(w, resp)
	return resp.status, routeKey
}

// writeMessage answers the way API Gateway answers on its own behalf.
func writeMessage(w http.ResponseWriter, status int, message string) int {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// take takes a request from the throttle's bucket, refilled for the time
// since the last request; false when the bucket is empty.
func (g *Gateway) take(now time.Time) bool {
	if g.throttle.RatePerSecond == 0 {
		return true
	}
	g.bucketMu.Lock()
	defer g.bucketMu.Unlock()
	if !g.filled.IsZero() {
		g.tokens += now.Sub(g.filled).Seconds() * g.throttle.RatePerSecond
		g.tokens = min(g.tokens, float64(g.throttle.Burst))
	}
	g.filled = now
	if g.tokens < 1 {
		return false
	}
	g.tokens--
	return true
}
