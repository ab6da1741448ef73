package httpapi_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// spec is openapi.json, compiled once; every handler response the tests
// receive through apis.call is validated against it.
var spec = sync.OnceValues(func() (*apispec.Spec, error) { return apispec.Load("openapi.json") })

func loadSpec(tb testing.TB) *apispec.Spec {
	tb.Helper()
	s, err := spec()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// checkResponse fails the test when the handler's answer to ev is not what
// the description declares for the operation and status: an undocumented
// status, field, header value or enum value (an error code).
func checkResponse(tb testing.TB, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	tb.Helper()
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if err := loadSpec(tb).Check(apispec.Function, ev.RequestContext.HTTP.Method, path, resp.StatusCode, h, []byte(resp.Body)); err != nil {
		tb.Errorf("openapi.json: %v", err)
	}
}

// functionAnswers selects the declared responses the function itself can
// give: everything but what only API Gateway answers (429, and 413 on
// routes without a body).
func functionAnswers(_ *apispec.Operation, _ string, r apispec.Response) bool { return r.Service }

// checkCoverage runs after the package's tests: when they all ran and
// passed, every (operation, status) the function may answer must have been
// validated at least once. A run narrowed by -run or -skip (or a -list) checks nothing.
func checkCoverage(code int) int {
	if code != 0 || narrowed() {
		return code
	}
	s, err := spec()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	missing := s.Missing(apispec.Service, functionAnswers)
	fmt.Printf("openapi coverage: %s; %d of %d declared function responses validated\n", s.Summary(),
		s.Declared(functionAnswers)-len(missing), s.Declared(functionAnswers))
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: openapi.json declares responses no handler test produced (add a case to TestEveryDeclaredResponse or drop the status):\n  %s\n",
			strings.Join(missing, "\n  "))
		return 1
	}
	return code
}

func narrowed() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}
