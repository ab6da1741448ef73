package localstack_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// Every response of the local HTTP API that the end-to-end tests receive
// through http.DefaultClient is validated against openapi.json on the way
// in (status, headers, body): an undocumented field, status or error code
// fails the call that got it. Requests to the jobs API, the SQS or anything
// else pass through unchecked.
var apiCheck = func() *apispec.Transport {
	s, err := apispec.Load("")
	if err != nil {
		panic(err)
	}
	t := &apispec.Transport{Spec: s, Base: http.DefaultTransport, Match: toHTTPAPI}
	http.DefaultClient.Transport = t
	return t
}()

// toHTTPAPI selects requests to the running stack's HTTP API.
func toHTTPAPI(r *http.Request) bool {
	if stack == nil {
		return false
	}
	u, err := url.Parse(stack.URL)
	return err == nil && r.URL.Host == u.Host
}

// gatewayStatuses are the answers API Gateway gives on its own behalf that
// the end-to-end tests must have seen in its shape at least once.
var gatewayStatuses = []int{401, 403, 404, 413, 429, 500}

// checkAPICoverage runs after the package's tests: when they all ran and
// passed, every operation of openapi.json answered at least once through the
// whole stack, and API Gateway's own errors came in the declared shape.
func checkAPICoverage(code int) int {
	if code != 0 || narrowed() {
		return code
	}
	seen := apiCheck.Spec.Seen()
	ops := map[string]bool{}
	gateway := map[int]bool{}
	for k := range seen {
		ops[k.Operation] = true
		if k.Source == apispec.FromGateway {
			gateway[k.Status] = true
		}
	}
	var missing []string
	for _, op := range apiCheck.Spec.Operations() {
		if !ops[op.ID] {
			missing = append(missing, "operation "+op.ID)
		}
	}
	for _, st := range gatewayStatuses {
		if !gateway[st] {
			missing = append(missing, fmt.Sprintf("API Gateway's own %d", st))
		}
	}
	sort.Strings(missing)
	fmt.Printf("openapi coverage through the local stack: %s; %d of %d operations\n", apiCheck.Spec.Summary(),
		len(apiCheck.Spec.Operations())-countPrefix(missing, "operation "), len(apiCheck.Spec.Operations()))
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: no end-to-end test got a response of:\n  %s\n", strings.Join(missing, "\n  "))
		return 1
	}
	return code
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func narrowed() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flagValue(name); f != "" {
			return true
		}
	}
	return false
}

func flagValue(name string) string {
	if f := flag.Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// Past the stage's burst, API Gateway answers 429 {"message":"Too Many
// Requests"} before routing, in the shape openapi.json declares for every
// path. The test spends the bucket on a path no route has (no function
// runs), then waits until it has refilled, so the next test is not
// throttled.
func TestThrottledRequestsGet429InAPIGatewaysShape(t *testing.T) {
	var throttled, other atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan struct{})
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := http.Get(stack.URL + "/v1/throttle-probe")
				if err != nil {
					t.Error(err) // the transport's check failed, or the call did
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusTooManyRequests {
					throttled.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 2000 && throttled.Load() == 0; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if throttled.Load() == 0 {
		t.Errorf("%d requests in a burst, none throttled: want 429 past the stage's burst", other.Load())
	}
	t.Logf("%d answered 404, %d throttled with 429", other.Load(), throttled.Load())
	deadline := time.Now().Add(10 * time.Second)
	time.Sleep(2500 * time.Millisecond) // the bucket refills at the stage's rate
	for time.Now().Before(deadline) {
		resp, err := http.Get(stack.URL + "/v1/throttle-probe")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusTooManyRequests {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("still throttled 10 s after the burst")
}

// Every sample event of events/api, sent as the HTTP request it stands for
// through the whole stack (member ones with a token for their sub, admin
// ones signed), gets an answer openapi.json declares for its operation: so
// each operation is validated end to end at least once, whatever the other
// tests cover.
func TestEverySampleRequestGetsADeclaredAnswer(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "events", "api", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	// The member's life first, their erasure last.
	sort.Slice(files, func(i, j int) bool {
		ki, kj := sampleOrder(files[i]), sampleOrder(files[j])
		return ki < kj || ki == kj && files[i] < files[j]
	})
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		path := ev.RawPath
		if ev.RawQueryString != "" {
			path += "?" + ev.RawQueryString
		}
		headers := map[string]string{}
		for k, v := range ev.Headers {
			if strings.EqualFold(k, "idempotency-key") || strings.EqualFold(k, "accept-language") {
				headers[k] = v
			}
		}
		method := ev.RequestContext.HTTP.Method
		var r reply
		if strings.HasPrefix(ev.RawPath, "/admin/") {
			r = adminCall(t, method, path, ev.Body, headers)
		} else {
			r = call(t, method, path, token(t, ev.RequestContext.Authorizer.JWT.Claims["sub"]), headers, ev.Body)
		}
		if r.status >= 500 {
			t.Errorf("%s: %s %s got %d %s", filepath.Base(f), method, path, r.status, r.raw)
		}
	}
}

func sampleOrder(file string) int {
	switch {
	case strings.HasSuffix(file, "erase-member.json"):
		return 2
	case strings.Contains(file, string(filepath.Separator)+"member"+string(filepath.Separator)):
		return 1
	}
	return 0
}
