package apispec_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// A small description in the shape of openapi.json: one operation with a
// success, a service error, an error either side may answer and a
// gateway-only one, the headers and the unrouted answers.
const doc = `{
  "openapi": "3.1.0",
  "x-unrouted-responses": {"description": "no route", "404": {"$ref": "#/components/responses/GatewayError"}},
  "paths": {
    "/v1/things/{id}": {"get": {"operationId": "getThing", "responses": {
      "200": {"description": "ok", "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}, "Apigw-Requestid": {"$ref": "#/components/headers/Apigw-Requestid"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
      "404": {"$ref": "#/components/responses/Error"},
      "401": {"$ref": "#/components/responses/ErrorOrGateway"},
      "429": {"$ref": "#/components/responses/GatewayError"}}}},
    "/v1/things/special": {"get": {"operationId": "getSpecial", "responses": {
      "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
  },
  "components": {
    "schemas": {
      "Thing": {"type": "object", "required": ["id", "kind", "at"], "properties": {
        "id": {"type": "string"}, "kind": {"type": "string", "enum": ["a", "b"]}, "at": {"type": "string", "format": "date-time"}, "note": {"type": "string"}}},
      "Error": {"type": "object", "required": ["code", "message", "requestId"], "properties": {
        "code": {"type": "string", "enum": ["not_found", "unauthorized"]}, "message": {"type": "string"}, "requestId": {"type": "string"}}},
      "GatewayError": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}
    },
    "headers": {
      "X-Request-Id": {"required": true, "schema": {"type": "string", "minLength": 1}},
      "Apigw-Requestid": {"required": true, "x-set-by": "api-gateway", "schema": {"type": "string"}}
    },
    "responses": {
      "Error": {"description": "service", "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "ErrorOrGateway": {"description": "either", "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/GatewayError"}]}}}},
      "GatewayError": {"description": "gateway", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayError"}}}}
    }
  }
}`

func headers(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		layer   apispec.Layer
		path    string
		status  int
		h       http.Header
		body    string
		wantErr string // "" for valid
	}{
		{"valid at the function", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"a","at":"2026-01-02T03:04:05Z"}`, ""},
		{"valid through the gateway", apispec.Gateway, "/v1/things/1", 200, headers("X-Request-Id", "r1", "Apigw-Requestid", "g1"), `{"id":"1","kind":"a","at":"2026-01-02T03:04:05Z","note":"n"}`, ""},
		{"the gateway's header missing over HTTP", apispec.Gateway, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"a","at":"2026-01-02T03:04:05Z"}`, "Apigw-Requestid is required"},
		{"undocumented field", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"a","at":"2026-01-02T03:04:05Z","extra":1}`, "additional properties 'extra'"},
		{"field of another type", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":1,"kind":"a","at":"2026-01-02T03:04:05Z"}`, "want string"},
		{"value outside the enum", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"c","at":"2026-01-02T03:04:05Z"}`, "kind"},
		{"required field absent", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"a"}`, "missing property 'at'"},
		{"not a date-time", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `{"id":"1","kind":"a","at":"yesterday"}`, "date-time"},
		{"required header missing", apispec.Function, "/v1/things/1", 200, headers(), `{"id":"1","kind":"a","at":"2026-01-02T03:04:05Z"}`, "X-Request-Id is required"},
		{"undeclared status", apispec.Function, "/v1/things/1", 409, headers("X-Request-Id", "r1"), `{"code":"not_found","message":"m","requestId":"r"}`, "declares no 409"},
		{"undocumented error code", apispec.Function, "/v1/things/1", 404, headers("X-Request-Id", "r1"), `{"code":"gone","message":"m","requestId":"r"}`, "code"},
		{"service error", apispec.Function, "/v1/things/1", 404, headers("X-Request-Id", "r1"), `{"code":"not_found","message":"m","requestId":"r"}`, ""},
		{"the gateway's 401", apispec.Gateway, "/v1/things/1", 401, headers("Apigw-Requestid", "g"), `{"message":"Unauthorized"}`, ""},
		{"the service's 401 without its request id header", apispec.Gateway, "/v1/things/1", 401, headers("Apigw-Requestid", "g"), `{"code":"unauthorized","message":"m","requestId":"r"}`, "X-Request-Id is required"},
		{"a function answering the gateway's shape", apispec.Function, "/v1/things/1", 401, headers(), `{"message":"Unauthorized"}`, "a function answered"},
		{"the gateway's shape where only the service's is declared", apispec.Gateway, "/v1/things/1", 404, headers("X-Request-Id", "r1"), `{"message":"Not Found"}`, "API Gateway's shape"},
		{"the service's shape where only the gateway's is declared", apispec.Gateway, "/v1/things/1", 429, headers("X-Request-Id", "r1"), `{"code":"not_found","message":"m","requestId":"r"}`, "declares API Gateway's only"},
		{"unrouted 404", apispec.Gateway, "/v1/nowhere", 404, headers(), `{"message":"Not Found"}`, ""},
		{"unrouted 500", apispec.Gateway, "/v1/nowhere", 500, headers(), `{"message":"Internal Server Error"}`, "declares no 500"},
		{"not JSON", apispec.Function, "/v1/things/1", 200, headers("X-Request-Id", "r1"), `<html>`, "not JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := apispec.Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			err = s.Check(c.layer, "GET", c.path, c.status, c.h, []byte(c.body))
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("got %v, want valid", err)
			case c.wantErr != "" && err == nil:
				t.Errorf("got valid, want an error with %q", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Errorf("got %v, want an error with %q", err, c.wantErr)
			}
			if n := len(s.Seen()); (err == nil) != (n == 1) {
				t.Errorf("recorded %d responses, want 1 for a valid one and 0 for an invalid one", n)
			}
		})
	}
}

// A literal segment wins over a template; every operation is found by its
// method and a concrete path; coverage lists what was never seen.
func TestFindAndMissing(t *testing.T) {
	s, err := apispec.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if op, ok := s.Find("GET", "/v1/things/special"); !ok || op.ID != "getSpecial" {
		t.Errorf("GET /v1/things/special: got %v, want getSpecial", op)
	}
	if op, ok := s.Find("GET", "/v1/things/42"); !ok || op.ID != "getThing" {
		t.Errorf("GET /v1/things/42: got %v, want getThing", op)
	}
	if _, ok := s.Find("POST", "/v1/things/42"); ok {
		t.Errorf("POST /v1/things/42 found an operation; none has that method")
	}
	if err := s.Check(apispec.Function, "GET", "/v1/things/1", 404, headers("X-Request-Id", "r"), []byte(`{"code":"not_found","message":"m","requestId":"r"}`)); err != nil {
		t.Fatal(err)
	}
	service := func(_ *apispec.Operation, _ string, r apispec.Response) bool { return r.Service }
	got := strings.Join(s.Missing(apispec.Service, service), ",")
	if want := "getSpecial 200,getThing 200,getThing 401"; got != want {
		t.Errorf("missing: got %s, want %s", got, want)
	}
	if n := s.Declared(service); n != 4 {
		t.Errorf("declared service responses: got %d, want 4 (getThing 200, 401, 404; getSpecial 200)", n)
	}
}

// The repository's own description loads and compiles.
func TestTheDescriptionCompiles(t *testing.T) {
	s, err := apispec.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Operations()) < 20 {
		t.Errorf("got %d operations, want the API's (at least 20)", len(s.Operations()))
	}
}
