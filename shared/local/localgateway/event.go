package localgateway

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// What the local API reports about itself in every event.
const (
	AccountID = "000000000000"
	APIID     = "local"
	Stage     = "$default"

	// requestTimeLayout is API Gateway's requestContext.time, e.g.
	// "12/Mar/2020:19:03:58 +0000".
	requestTimeLayout = "02/Jan/2006:15:04:05 -0700"
)

type authorizerDescription = events.APIGatewayV2HTTPRequestContextAuthorizerDescription

// buildEvent maps r to the payload format 2.0 event. Like API Gateway it
// decodes the path and the query parameters, keeps rawQueryString as sent,
// lower-cases header names, joins repeated headers and query keys with
// commas, and moves the Cookie headers into cookies.
func buildEvent(r *http.Request, body []byte, routeKey string, params map[string]string, requestID string, now time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		joined := strings.Join(values, ",")
		if prev, ok := headers[lower]; ok {
			joined = prev + "," + joined
		}
		headers[lower] = joined
	}

	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers["host"] = r.Host
	if prev := headers["x-forwarded-for"]; prev != "" {
		headers["x-forwarded-for"] = prev + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	headers["x-forwarded-port"] = localPort(r)
	if headers["x-amzn-trace-id"] == "" {
		headers["x-amzn-trace-id"] = newTraceID(now)
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		// ParseQuery keeps what it could parse when some pairs are malformed,
		// which is what API Gateway does too.
		values, _ := url.ParseQuery(r.URL.RawQuery)
		for k, vs := range values {
			if query == nil {
				query = map[string]string{}
			}
			query[k] = strings.Join(vs, ",")
		}
	}

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              routeKey,
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     routeKey,
			AccountID:    AccountID,
			Stage:        Stage,
			RequestID:    requestID,
			APIID:        APIID,
			DomainName:   r.Host,
			DomainPrefix: domainPrefix(r.Host),
			Time:         now.UTC().Format(requestTimeLayout),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), r.Header.Get("Content-Encoding"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// encodeEvent marshals ev and drops what the typed struct cannot omit but
// API Gateway leaves out: requestContext.authentication (there is no mTLS
// here) and, for IAM callers, a cognitoIdentity that was never there.
func encodeEvent(ev events.APIGatewayV2HTTPRequest) ([]byte, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var rc map[string]json.RawMessage
	if err := json.Unmarshal(top["requestContext"], &rc); err != nil {
		return nil, err
	}
	delete(rc, "authentication")
	if iam := ev.RequestContext.Authorizer; iam != nil && iam.IAM != nil {
		var iamFields map[string]json.RawMessage
		var auth map[string]json.RawMessage
		if err := json.Unmarshal(rc["authorizer"], &auth); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(auth["iam"], &iamFields); err != nil {
			return nil, err
		}
		iamFields["cognitoIdentity"] = json.RawMessage("null")
		if auth["iam"], err = json.Marshal(iamFields); err != nil {
			return nil, err
		}
		if rc["authorizer"], err = json.Marshal(auth); err != nil {
			return nil, err
		}
	}
	if top["requestContext"], err = json.Marshal(rc); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}

// isText reports whether a body goes to the function as is rather than
// base64-encoded: text, JSON, XML, JavaScript and URL-encoded forms, not
// compressed, and valid UTF-8 (JSON cannot carry anything else unchanged).
func isText(contentType, contentEncoding string, body []byte) bool {
	if contentEncoding != "" && !strings.EqualFold(contentEncoding, "identity") {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	text := strings.HasPrefix(mediaType, "text/") ||
		strings.HasSuffix(mediaType, "+json") ||
		strings.HasSuffix(mediaType, "+xml")
	switch mediaType {
	case "application/json", "application/xml", "application/javascript", "application/x-www-form-urlencoded":
		text = true
	}
	return text && utf8.Valid(body)
}

func localPort(r *http.Request) string {
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			return port
		}
	}
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		return port
	}
	return "80"
}

// domainPrefix is the first label of the host name, as API Gateway reports
// it; an IP address is kept whole since its first label means nothing.
func domainPrefix(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if net.ParseIP(host) != nil {
		return host
	}
	prefix, _, _ := strings.Cut(host, ".")
	return prefix
}

// newRequestID has the shape of API Gateway's ids ("LV7fzho-PHcEJPw="):
// 88 random bits, so ids never repeat in practice.
func newRequestID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// newTraceID has the X-Ray shape API Gateway adds: Root=1-<epoch hex>-<96 bits>.
func newTraceID(now time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", now.Unix(), hex.EncodeToString(b[:]))
}

// response is a function's answer, ready to be written.
type response struct {
	status int
	header http.Header
	body   []byte
}

// hopHeaders are set by the HTTP server itself; a function cannot set them.
var hopHeaders = map[string]bool{"Content-Length": true, "Transfer-Encoding": true, "Connection": true}

// parseResponse reads a function's answer the way API Gateway reads payload
// format 2.0: an object with statusCode is a response; any other valid JSON
// is a 200 application/json response whose body is that JSON.
func parseResponse(out []byte) (response, error) {
	trimmed := bytes.TrimSpace(out)
	if !json.Valid(trimmed) {
		return response{}, errors.New("not valid JSON")
	}
	var probe map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &probe) != nil {
		return inferredResponse(trimmed), nil
	}
	if _, ok := probe["statusCode"]; !ok {
		if _, ok := probe["errorMessage"]; ok {
			if _, ok := probe["errorType"]; ok {
				return response{}, fmt.Errorf("function returned an error: %s", trimmed)
			}
		}
		return inferredResponse(trimmed), nil
	}
	var v events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(trimmed, &v); err != nil {
		return response{}, fmt.Errorf("malformed response: %w", err)
	}
	if v.StatusCode < 100 || v.StatusCode > 599 {
		return response{}, fmt.Errorf("status code %d out of range", v.StatusCode)
	}
	resp := response{status: v.StatusCode, header: http.Header{}}
	for k, val := range v.Headers {
		if !hopHeaders[http.CanonicalHeaderKey(k)] {
			resp.header.Add(k, val)
		}
	}
	for k, vals := range v.MultiValueHeaders {
		if hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		for _, val := range vals {
			resp.header.Add(k, val)
		}
	}
	for _, c := range v.Cookies {
		resp.header.Add("Set-Cookie", c)
	}
	resp.body = []byte(v.Body)
	if v.IsBase64Encoded {
		body, err := base64.StdEncoding.DecodeString(v.Body)
		if err != nil {
			return response{}, fmt.Errorf("isBase64Encoded body: %w", err)
		}
		resp.body = body
	}
	return resp, nil
}

func inferredResponse(body []byte) response {
	return response{
		status: http.StatusOK,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   body,
	}
}

func writeResponse(w http.ResponseWriter, resp response) {
	h := w.Header()
	requestID := h.Get("Apigw-Requestid")
	for k, vals := range resp.header {
		h[k] = append(h[k][:0:0], vals...)
	}
	h.Set("Apigw-Requestid", requestID)
	if _, ok := h["Content-Type"]; !ok {
		// Without this the server would sniff a type the function never set.
		h["Content-Type"] = nil
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
