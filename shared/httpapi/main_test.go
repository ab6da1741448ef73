package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// local is DynamoDB Local, started by the first test on the table (newAPIs).
var local dynamotest.Lazy

func TestMain(m *testing.M) {
	code := local.Run(m)
	os.Exit(checkCoverage(code)) // apispec_test.go
}

type apis struct {
	member *httpapi.MemberAPI
	admin  *httpapi.AdminAPI
	store  *dynamo.Store
	table  string
}

func newAPIs(tb testing.TB) apis {
	tb.Helper()
	db := local.Client(tb)
	name := dynamotest.NewTable(tb, db, "api-test")
	p := &loyalty.Program{Version: 1, ID: "t", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   loyalty.EarnRate{Points: 1, PerMinor: 100, Rounding: loyalty.RoundDown},
		Expiry: loyalty.ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: loyalty.RefundNegative,
		Partners: []loyalty.Partner{{ID: "demo-coffee-berlin", Name: "Demo coffee shop", MemberIDs: true}, {ID: "shop-berlin-01", Name: "Shop Berlin 01"}}}
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	st := dynamo.New(db, name)
	svc := &loyalty.Service{Store: st, Referrals: st, Catalog: st, Erasures: st, ErasureLog: st, Program: p, Clock: loyalty.SystemClock{},
		Cards: st, Codes: testSealer(tb)} // till_test.go
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return apis{member: httpapi.NewMemberAPI(svc, st, log), admin: httpapi.NewAdminAPI(svc, st, log).WithPartnerDecoder(partner.DecodeParts), store: st, table: name}
}

// sample loads a payload 2.0 sample event from events/api.
func sample(tb testing.TB, name string) events.APIGatewayV2HTTPRequest {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "api", name))
	if err != nil {
		tb.Fatalf("read sample: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		tb.Fatalf("decode sample %s: %v", name, err)
	}
	return ev
}

func (a apis) call(tb testing.TB, ev events.APIGatewayV2HTTPRequest) (int, map[string]any) {
	tb.Helper()
	h := a.member.Handle
	if strings.HasPrefix(ev.RawPath, "/admin") {
		h = a.admin.Handle
	}
	resp, err := h(context.Background(), ev)
	if err != nil {
		tb.Fatalf("%s %s: handler error %v", ev.RequestContext.HTTP.Method, ev.RawPath, err)
	}
	checkResponse(tb, ev, resp) // apispec_test.go
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		tb.Fatalf("%s %s: body is not JSON: %q", ev.RequestContext.HTTP.Method, ev.RawPath, resp.Body)
	}
	return resp.StatusCode, body
}

func asMember(ev events.APIGatewayV2HTTPRequest, sub string) events.APIGatewayV2HTTPRequest {
	claims := map[string]string{}
	for k, v := range ev.RequestContext.Authorizer.JWT.Claims {
		claims[k] = v
	}
	claims["sub"] = sub
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
	return ev
}
