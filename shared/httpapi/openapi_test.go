package httpapi_test

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/httpapi"
)

// The OpenAPI description and the route tables list the same routes with
// the same operation ids and the same authorization.
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version: got %s, want 3.1.x", doc.OpenAPI)
	}
	inDoc := map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				OperationID string                `json:"operationId"`
				Security    []map[string][]string `json:"security"`
				Responses   map[string]any        `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			scheme := ""
			for _, s := range op.Security {
				for k := range s {
					scheme = k
				}
			}
			inDoc[strings.ToUpper(method)+" "+path] = op.OperationID + " " + scheme
			if _, ok := op.Responses["500"]; !ok {
				t.Errorf("%s %s: no 500 response described", method, path)
			}
		}
	}
	inCode := map[string]string{}
	for _, r := range append(append([]httpapi.Route(nil), httpapi.MemberRoutes...), httpapi.AdminRoutes...) {
		scheme := map[httpapi.Auth]string{httpapi.AuthJWT: "memberJwt", httpapi.AuthIAM: "adminIam"}[r.Auth]
		inCode[r.Key()] = r.Operation + " " + scheme
	}
	for k, v := range inCode {
		if got, ok := inDoc[k]; !ok {
			t.Errorf("route %s is in the code but not in openapi.json", k)
		} else if got != v {
			t.Errorf("route %s: openapi.json says %q, code says %q", k, got, v)
		}
	}
	for k := range inDoc {
		if _, ok := inCode[k]; !ok {
			t.Errorf("route %s is in openapi.json but not in the code", k)
		}
	}
	keys := make([]string, 0, len(inCode))
	for k := range inCode {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("%d routes agree: %s", len(keys), strings.Join(keys, ", "))
}
