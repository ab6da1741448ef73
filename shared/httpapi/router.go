package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/routes"
)

// Auth and Route are the route table's (package routes, the one list the
// handlers, the OpenAPI test, the local gateway and the CDK stack read).
type (
	Auth  = routes.Auth
	Route = routes.Route
)

const (
	AuthJWT = routes.AuthJWT
	AuthIAM = routes.AuthIAM
)

// MemberRoutes and AdminRoutes are the routes each API serves.
var (
	MemberRoutes = routes.Member
	AdminRoutes  = routes.Admin
)

// request is what a handler sees: the decoded request and its context.
type request struct {
	ev     events.APIGatewayV2HTTPRequest
	params map[string]string
	id     string // request id for the client and the logs
	log    *slog.Logger
	// replayed: the handler answered a repeat of a request already
	// recorded with the first result (the Idempotent-Replayed header).
	replayed bool
	// locale is the Content-Language of the response once a handler
	// rendered texts in one (language.go).
	locale string
}

type handlerFunc func(ctx context.Context, r *request) (int, any, error)

type router struct {
	routes   []Route
	handlers map[string]handlerFunc // by operation
	log      *slog.Logger
	texts    *locale.Catalog // the program's texts; nil: errors speak English only
}

// maxBody bounds request bodies; the largest real body is a few hundred bytes.
const maxBody = 16 << 10

func (rt *router) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	id := ev.RequestContext.RequestID
	lambdaID := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		lambdaID = lc.AwsRequestID
	}
	if id == "" {
		id = lambdaID
	}
	log := rt.log.With("requestId", id, "awsRequestId", lambdaID, "method", ev.RequestContext.HTTP.Method, "path", ev.RawPath)
	method := ev.RequestContext.HTTP.Method
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	var (
		match       *Route
		params      map[string]string
		pathMatched bool
	)
	for i := range rt.routes {
		p, ok := matchPath(rt.routes[i].Path, path)
		if !ok {
			continue
		}
		pathMatched = true
		if rt.routes[i].Method == method {
			match, params = &rt.routes[i], p
			break
		}
	}
	if match == nil {
		if pathMatched {
			return rt.errorIn(ctx, ev, log, id, loyalty.Errorf(CodeMethodNotAllowed, "%s is not allowed on %s", method, path)), nil
		}
		return rt.errorIn(ctx, ev, log, id, loyalty.Errorf(CodeRouteNotFound, "no route %s %s", method, path)), nil
	}
	h := rt.handlers[match.Operation]
	req := &request{ev: ev, params: params, id: id, log: log.With("operation", match.Operation)}
	// The route's authorization, once for every handler: API Gateway
	// verified the token or the signature; this refuses an event without
	// the identity it must carry.
	var authErr error
	switch match.Auth {
	case AuthJWT:
		_, authErr = req.member()
	case AuthIAM:
		_, authErr = req.admin()
	}
	if authErr != nil {
		return rt.errorIn(ctx, ev, req.log, id, authErr), nil
	}
	status, body, err := h(ctx, req)
	if err != nil {
		return rt.errorIn(ctx, ev, req.log, id, err), nil
	}
	req.log.Info("request served", "status", status)
	resp := jsonResponse(status, body)
	resp.Headers["X-Request-Id"] = id
	if req.replayed {
		resp.Headers["Idempotent-Replayed"] = "true"
	}
	if req.locale != "" {
		resp.Headers["Content-Language"] = req.locale
		resp.Headers["Vary"] = "Accept-Language"
	}
	return resp, nil
}

// matchPath matches an API Gateway path template against a concrete path.
func matchPath(tmpl, path string) (map[string]string, bool) {
	ts := strings.Split(strings.Trim(tmpl, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, t := range ts {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if ps[i] == "" {
				return nil, false
			}
			params[strings.Trim(t, "{}")] = ps[i]
			continue
		}
		if t != ps[i] {
			return nil, false
		}
	}
	return params, true
}

// member is the verified caller: the `sub` claim the JWT authorizer filled.
func (r *request) member() (loyalty.MemberID, error) {
	var sub, use string
	if a := r.ev.RequestContext.Authorizer; a != nil && a.JWT != nil {
		sub, use = a.JWT.Claims["sub"], a.JWT.Claims["token_use"]
	}
	if sub == "" {
		return "", loyalty.Errorf(loyalty.CodeUnauthorized, "no verified identity")
	}
	// API Gateway's authorizer lets an ID token through too (its aud is the
	// app client); the member's API takes the access token, the one a
	// sign-out revokes and whose scope the pool controls.
	if use != "access" {
		return "", loyalty.Errorf(loyalty.CodeUnauthorized, "member routes take a Cognito access token (token_use access), got token_use %q", use)
	}
	id := loyalty.MemberID(sub)
	if err := loyalty.ValidateMemberID("sub", id); err != nil {
		return "", loyalty.Errorf(loyalty.CodeUnauthorized, "the token's subject is not a valid member id")
	}
	return id, nil
}

// admin is the IAM principal of an admin request, for the ledger's actor.
func (r *request) admin() (string, error) {
	a := r.ev.RequestContext.Authorizer
	if a == nil || a.IAM == nil || a.IAM.UserARN == "" && a.IAM.CallerID == "" {
		return "", loyalty.Errorf(loyalty.CodeForbidden, "admin routes need an IAM-signed request")
	}
	if a.IAM.UserARN != "" {
		return "ops:" + a.IAM.UserARN, nil
	}
	return "ops:" + a.IAM.CallerID, nil
}

func (r *request) header(name string) string {
	for k, v := range r.ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// idempotencyKey returns the required Idempotency-Key header.
func (r *request) idempotencyKey() (string, error) {
	k := r.header("Idempotency-Key")
	if k == "" {
		return "", loyalty.Errorf(CodeMissingIdemKey, "the Idempotency-Key header is required")
	}
	if err := loyalty.ValidateKey("Idempotency-Key", k); err != nil {
		return "", err
	}
	return k, nil
}

// body returns a JSON body: the right content type, at most maxBody bytes.
func (r *request) body() ([]byte, error) {
	ct := r.header("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return nil, loyalty.Errorf(CodeUnsupportedMedia, "the body must be application/json")
	}
	body := []byte(r.ev.Body)
	if r.ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.ev.Body)
		if err != nil {
			return nil, loyalty.Errorf(CodeMalformedJSON, "the body is not valid base64")
		}
		body = b
	}
	if len(body) > maxBody {
		return nil, loyalty.Errorf(CodePayloadTooLarge, "the body is larger than %d bytes", maxBody)
	}
	return body, nil
}

// decode reads a JSON object body strictly: the right content type, at most
// maxBody bytes, no unknown fields, no trailing data.
func (r *request) decode(v any) error {
	body, err := r.body()
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return loyalty.Errorf(CodeMalformedJSON, "the body must hold one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		tim *time.ParseError
	)
	switch {
	case errors.As(err, &tim):
		return loyalty.Invalid("", "a timestamp is not RFC 3339 with a timezone offset")
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return loyalty.Errorf(CodeMalformedJSON, "the body is not valid JSON")
	case errors.As(err, &typ):
		return loyalty.Invalid(typ.Field, "field %s must be a %s", typ.Field, typ.Type.Kind())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return loyalty.Invalid(field, "unknown field %q", field)
	}
	return loyalty.Errorf(CodeMalformedJSON, "the body is not valid JSON")
}

// intQuery reads an optional integer query parameter within [lo, hi].
func (r *request) intQuery(name string, def, lo, hi int) (int, error) {
	v, ok := r.ev.QueryStringParameters[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, loyalty.Invalid(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

func (r *request) strQuery(name string, max int) (string, error) {
	v := r.ev.QueryStringParameters[name]
	if len(v) > max {
		return "", loyalty.Invalid(name, "%s is longer than %d characters", name, max)
	}
	return v, nil
}

func asError(err error, target **loyalty.Error) bool { return errors.As(err, target) }

// checkUnknownQuery refuses query parameters a route does not take.
func (r *request) checkQuery(allowed ...string) error {
	for k := range r.ev.QueryStringParameters {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return loyalty.Invalid(k, "unknown query parameter %q", k)
		}
	}
	return nil
}
