package localgateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const (
	defaultRouteKey = "$default"
	anyMethod       = "ANY"
)

var routeMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true, anyMethod: true,
}

// segmentKind orders path segments by specificity: a literal beats a
// variable, a variable beats a greedy variable.
type segmentKind int

const (
	literalSegment segmentKind = iota
	paramSegment
	greedySegment
)

type segment struct {
	kind segmentKind
	text string // the literal, or the variable's name
}

type route struct {
	key       string
	method    string
	segments  []segment
	isDefault bool
	auth      AuthType
	scopes    []string
	fn        Invoker
}

func compileRoute(rt Route) (*route, error) {
	if rt.Function == nil {
		return nil, fmt.Errorf("route %q has no function", rt.Key())
	}
	if rt.Path == defaultRouteKey {
		return &route{key: defaultRouteKey, isDefault: true, auth: rt.Auth, scopes: rt.Scopes, fn: rt.Function}, nil
	}
	if !routeMethods[rt.Method] {
		return nil, fmt.Errorf("route %q: method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY", rt.Key())
	}
	if !strings.HasPrefix(rt.Path, "/") {
		return nil, fmt.Errorf("route %q: path must start with / or be $default", rt.Key())
	}
	parts := strings.Split(rt.Path[1:], "/")
	compiled := &route{key: rt.Key(), method: rt.Method, auth: rt.Auth, scopes: rt.Scopes, fn: rt.Function}
	names := map[string]bool{}
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			name := part[1 : len(part)-1]
			kind := paramSegment
			if strings.HasSuffix(name, "+") {
				name = strings.TrimSuffix(name, "+")
				kind = greedySegment
				if i != len(parts)-1 {
					return nil, fmt.Errorf("route %q: a greedy variable {%s+} must be the last segment", rt.Key(), name)
				}
			}
			if name == "" || strings.ContainsAny(name, "{}+") {
				return nil, fmt.Errorf("route %q: bad path variable %q", rt.Key(), part)
			}
			if names[name] {
				return nil, fmt.Errorf("route %q: path variable {%s} appears twice", rt.Key(), name)
			}
			names[name] = true
			compiled.segments = append(compiled.segments, segment{kind: kind, text: name})
		case strings.ContainsAny(part, "{}"):
			return nil, fmt.Errorf("route %q: a path variable must be a whole segment", rt.Key())
		case part == "" && len(parts) > 1:
			return nil, fmt.Errorf("route %q: empty path segment", rt.Key())
		default:
			compiled.segments = append(compiled.segments, segment{kind: literalSegment, text: part})
		}
	}
	return compiled, nil
}

// shape is what two routes must not share: "GET /a/{id}" and "GET /a/{key}"
// would match the same requests.
func (rt *route) shape() string {
	if rt.isDefault {
		return defaultRouteKey
	}
	var b strings.Builder
	b.WriteString(rt.method)
	b.WriteByte(' ')
	for _, s := range rt.segments {
		b.WriteByte('/')
		switch s.kind {
		case literalSegment:
			b.WriteString(s.text)
		case paramSegment:
			b.WriteString("{}")
		case greedySegment:
			b.WriteString("{+}")
		}
	}
	return b.String()
}

func (rt *route) greedy() bool {
	n := len(rt.segments)
	return n > 0 && rt.segments[n-1].kind == greedySegment
}

// matchPath reports whether the decoded request segments fit the route and
// returns its path parameters (nil when it has none).
func (rt *route) matchPath(segs []string) (map[string]string, bool) {
	var params map[string]string
	set := func(name, value string) {
		if params == nil {
			params = map[string]string{}
		}
		params[name] = value
	}
	for i, s := range rt.segments {
		switch s.kind {
		case literalSegment:
			if i >= len(segs) || segs[i] != s.text {
				return nil, false
			}
		case paramSegment:
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			set(s.text, segs[i])
		case greedySegment:
			if i >= len(segs) {
				return nil, false
			}
			rest := strings.Join(segs[i:], "/")
			if rest == "" {
				return nil, false
			}
			set(s.text, rest)
			return params, true
		}
	}
	return params, len(segs) == len(rt.segments)
}

// moreSpecific orders two routes that both match a request, as API Gateway
// does: greedy routes last, then segment by segment literal before variable,
// then a longer greedy prefix first, then an exact method before ANY.
func (rt *route) moreSpecific(other *route) bool {
	if rt.greedy() != other.greedy() {
		return !rt.greedy()
	}
	for i := 0; i < len(rt.segments) && i < len(other.segments); i++ {
		if a, b := rt.segments[i].kind, other.segments[i].kind; a != b {
			return a < b
		}
	}
	if len(rt.segments) != len(other.segments) {
		return len(rt.segments) > len(other.segments)
	}
	return rt.method != anyMethod && other.method == anyMethod
}

// requestSegments splits the escaped path before decoding each segment, so
// an encoded slash (%2F) stays inside its path parameter.
func requestSegments(u *url.URL) ([]string, bool) {
	escaped := u.EscapedPath()
	if !strings.HasPrefix(escaped, "/") {
		return nil, false
	}
	parts := strings.Split(escaped[1:], "/")
	for i, p := range parts {
		decoded, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = decoded
	}
	return parts, true
}

// match picks the most specific route for r, falling back to $default.
func (g *Gateway) match(r *http.Request) (*route, map[string]string, bool) {
	segs, ok := requestSegments(r.URL)
	if !ok {
		return nil, nil, false
	}
	var best, fallback *route
	var bestParams map[string]string
	for _, rt := range g.routes {
		if rt.isDefault {
			fallback = rt
			continue
		}
		if rt.method != anyMethod && rt.method != r.Method {
			continue
		}
		params, ok := rt.matchPath(segs)
		if !ok {
			continue
		}
		if best == nil || rt.moreSpecific(best) {
			best, bestParams = rt, params
		}
	}
	if best != nil {
		return best, bestParams, true
	}
	if fallback != nil {
		return fallback, nil, true
	}
	return nil, nil, false
}
