package stacks

import (
	"fmt"
	"strings"

	"github.com/loyalty-functions/loyalty/shared/spec/routes"
)

// Route is one HTTP API route. Its authorization is not a field: it follows
// from the path prefix (see AuthFor), so a member route can never be
// published without the JWT authorizer, nor an admin route without IAM.
type Route struct {
	Method   string // GET, POST, ..., or ANY
	Path     string // API Gateway path, e.g. /v1/{proxy+}
	Function string // a name in Functions
}

// Auth is how API Gateway authorizes a route.
type Auth string

const (
	AuthJWT Auth = "JWT"     // the member's Cognito token; identity comes from its claims
	AuthIAM Auth = "AWS_IAM" // SigV4-signed by an ops principal
)

// Path prefixes and the authorization each one demands.
const (
	MemberPrefix = "/v1/"
	AdminPrefix  = "/admin/"
)

// Routes is the API surface, one route per line of the route tables
// (shared/spec/routes), the same list the handlers, the OpenAPI test and
// the local gateway read. A path outside the tables never reaches a
// function.
var Routes = func() []Route {
	var out []Route
	for _, r := range routes.Member {
		out = append(out, Route{Method: r.Method, Path: r.Path, Function: "member-api"})
	}
	for _, r := range routes.Admin {
		out = append(out, Route{Method: r.Method, Path: r.Path, Function: "admin-api"})
	}
	return out
}()

// AuthFor returns the authorization a path demands, or an error for a path
// outside both prefixes: there are no public routes.
func AuthFor(path string) (Auth, error) {
	switch {
	case strings.HasPrefix(path, MemberPrefix):
		return AuthJWT, nil
	case strings.HasPrefix(path, AdminPrefix):
		return AuthIAM, nil
	}
	return "", fmt.Errorf("route %s: got no known prefix, want %s... (JWT) or %s... (IAM)", path, MemberPrefix, AdminPrefix)
}

// wantKind is the function kind each authorization may reach, so that a
// member route cannot be pointed at the admin function by mistake.
var wantKind = map[Auth]Kind{AuthJWT: KindMemberAPI, AuthIAM: KindAdminAPI}

var routeMethods = map[string]bool{"ANY": true, "GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true}

// CheckRoutes verifies every route against the function table.
func CheckRoutes(routes []Route, fns []Function) error {
	byName := map[string]Function{}
	for _, f := range fns {
		byName[f.Name] = f
	}
	for _, r := range routes {
		if !routeMethods[r.Method] {
			return fmt.Errorf("route %s %s: got method %q, want ANY, GET, POST, PUT, PATCH, DELETE or HEAD (API Gateway answers OPTIONS for CORS)", r.Method, r.Path, r.Method)
		}
		auth, err := AuthFor(r.Path)
		if err != nil {
			return err
		}
		f, ok := byName[r.Function]
		if !ok {
			return fmt.Errorf("route %s %s: got function %q, want one of the function table", r.Method, r.Path, r.Function)
		}
		if f.Kind != wantKind[auth] {
			return fmt.Errorf("route %s %s: got function %s of kind %s, want kind %s for %s routes", r.Method, r.Path, f.Name, f.Kind, wantKind[auth], auth)
		}
	}
	return nil
}
