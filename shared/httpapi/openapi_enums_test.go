package httpapi_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// enumOf is the schema of openapi.json that lists the values of each
// string type of the code a response carries.
var enumOf = map[string]string{
	"Code":             "ErrorCode",
	"EntryKind":        "EntryKind",
	"NotificationKind": "NotificationKind",
	"RewardKind":       "RewardKind",
	"RedemptionState":  "RedemptionState",
	"ErasureState":     "ErasureState",
	"ReferralState":    "ReferralState",
	"RejectReason":     "RejectReason",
	"RejectionState":   "RejectionState",
}

// constants scans the non-test Go files of the folders for string
// constants whose declared type is one of enumOf's (loyalty.Code in
// httpapi too) and returns their values by type.
func constants(tb testing.TB, dirs ...string) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				tb.Fatal(err)
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					typ := ""
					switch t := vs.Type.(type) {
					case *ast.Ident:
						typ = t.Name
					case *ast.SelectorExpr:
						typ = t.Sel.Name
					}
					if _, ok := enumOf[typ]; !ok {
						continue
					}
					for _, v := range vs.Values {
						lit, ok := v.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							tb.Errorf("%s: a %s constant that is not a string literal: the scan cannot read it", fset.Position(v.Pos()), typ)
							continue
						}
						s, _ := strconv.Unquote(lit.Value)
						out[typ] = append(out[typ], s)
					}
				}
			}
		}
	}
	return out
}

// Every enum of the description lists exactly the values the code can
// produce: a new error code, entry or notification kind, reward kind or
// state fails here until openapi.json lists it (strict clients, Kotlin and
// Swift enums, reject a value they do not know).
func TestOpenAPIEnumsListEveryValueOfTheCode(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	enums, err := apispec.Enums(b)
	if err != nil {
		t.Fatal(err)
	}
	inCode := constants(t, ".", filepath.Join("..", "loyalty"))
	for typ, schema := range enumOf {
		code := slices.Sorted(slices.Values(inCode[typ]))
		doc := slices.Sorted(slices.Values(enums[schema]))
		if len(code) == 0 {
			t.Errorf("no constants of type %s found: renamed? update enumOf", typ)
			continue
		}
		for _, v := range code {
			if !slices.Contains(doc, v) {
				t.Errorf("%s %q is in the code but not in components/schemas/%s of openapi.json", typ, v, schema)
			}
		}
		for _, v := range doc {
			if !slices.Contains(code, v) {
				t.Errorf("components/schemas/%s lists %q, which no %s constant of the code has", schema, v, typ)
			}
		}
		t.Logf("%s: %d values, as the code", schema, len(doc))
	}
}

// The typed data of each notification kind is the domain event's
// (events/domain/<type>.schema.json) less its envelope, so the inbox and
// the event bus cannot drift apart.
func TestNotificationDataIsTheDomainEventLessItsEnvelope(t *testing.T) {
	doc := readSchemas(t)
	envelope := []string{"eventId", "memberId", "programId", "occurredAt", "notificationId"}
	kinds := constants(t, filepath.Join("..", "loyalty"))["NotificationKind"]
	for _, k := range kinds {
		event := loyalty.NotificationKind(k).EventType()
		if event == "" {
			t.Errorf("notification kind %s has no domain event", k)
			continue
		}
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", "domain", event+".schema.json"))
		if err != nil {
			t.Errorf("kind %s: %v", k, err)
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		props := map[string]any{}
		for p, v := range ev["properties"].(map[string]any) {
			if !slices.Contains(envelope, p) {
				props[p] = v
			}
		}
		var required []any
		for _, r := range ev["required"].([]any) {
			if !slices.Contains(envelope, r.(string)) {
				required = append(required, r)
			}
		}
		name := pascal(k)
		data, _ := doc[name+"Data"].(map[string]any)
		if data == nil {
			t.Errorf("kind %s: no components/schemas/%sData", k, name)
			continue
		}
		if !reflect.DeepEqual(data["properties"], props) || !reflect.DeepEqual(data["required"], required) {
			t.Errorf("components/schemas/%sData differs from %s.schema.json less its envelope", name, event)
		}
		note, _ := doc[name+"Notification"].(map[string]any)
		kind := note["properties"].(map[string]any)["kind"].(map[string]any)["enum"]
		if !reflect.DeepEqual(kind, []any{k}) {
			t.Errorf("components/schemas/%sNotification: kind is %v, want [%s]", name, kind, k)
		}
	}
}

// The body of POST /admin/partner-events is the partner queue's contract:
// every schema in events/partner, with its $defs (its own and the ones it
// refers to in another schema) inlined, one of PartnerEvent's oneOf: a new
// type or version fails here until openapi.json has it.
func TestPartnerEventBodyIsThePartnerSchemas(t *testing.T) {
	doc := readSchemas(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "partner", "*.schema.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no partner schemas: %v", err)
	}
	schemas := map[string]map[string]any{}
	defs := map[string]map[string]any{} // by $id
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var s map[string]any
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		schemas[f] = s
		defs[s["$id"].(string)], _ = s["$defs"].(map[string]any)
	}
	var oneOf []any
	if pe, ok := doc["PartnerEvent"].(map[string]any); ok {
		oneOf, _ = pe["oneOf"].([]any)
	}
	for _, f := range files {
		// purchase.completed.v1.schema.json is PurchaseCompletedV1.
		name := ""
		for _, part := range strings.Split(strings.TrimSuffix(filepath.Base(f), ".schema.json"), ".") {
			name += strings.ToUpper(part[:1]) + part[1:]
		}
		s := schemas[f]
		own := s["$id"].(string)
		body := map[string]any{}
		for k, v := range s {
			if k != "$defs" && k != "$schema" && k != "$id" {
				body[k] = v
			}
		}
		if want := inlineDefs(body, own, defs); !reflect.DeepEqual(doc[name], want) {
			t.Errorf("components/schemas/%s differs from events/partner/%s with its $defs inlined", name, filepath.Base(f))
		}
		if !slices.ContainsFunc(oneOf, func(v any) bool { m, _ := v.(map[string]any); return m["$ref"] == "#/components/schemas/"+name }) {
			t.Errorf("components/schemas/PartnerEvent: oneOf lacks %s", name)
		}
	}
}

func inlineDefs(v any, own string, defs map[string]map[string]any) any {
	switch n := v.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok && strings.Contains(ref, "#/$defs/") {
			base, name, _ := strings.Cut(ref, "#/$defs/")
			if base == "" {
				base = own
			}
			return inlineDefs(defs[base][name], base, defs)
		}
		out := map[string]any{}
		for k, c := range n {
			out[k] = inlineDefs(c, own, defs)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, c := range n {
			out[i] = inlineDefs(c, own, defs)
		}
		return out
	}
	return v
}

func readSchemas(tb testing.TB) map[string]any {
	tb.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	return doc.Components.Schemas
}

// pascal turns points_expiring into PointsExpiring.
func pascal(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// Every request and response body of openapi.json is a named schema of
// components/schemas, so every generated client has a type to name it by,
// and the servers entry of the deployed API names the stack output the
// CDK app writes.
func TestOpenAPIBodiesAreNamedAndTheServerIsTheStackOutput(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	type media struct {
		Schema map[string]any `json:"schema"`
	}
	var doc struct {
		Servers []struct {
			URL         string `json:"url"`
			StackOutput string `json:"x-stack-output"`
		} `json:"servers"`
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			RequestBody *struct {
				Content map[string]media `json:"content"`
			} `json:"requestBody"`
			Responses map[string]struct {
				Content map[string]media `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	named := func(where string, m map[string]media) {
		for ct, c := range m {
			if _, ok := c.Schema["$ref"]; !ok {
				t.Errorf("%s (%s): an inline schema; name it in components/schemas", where, ct)
			}
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.OperationID == "" {
				continue // parameters of the path
			}
			if op.RequestBody != nil {
				named(method+" "+path+" request body", op.RequestBody.Content)
			}
			for st, r := range op.Responses {
				named(method+" "+path+" "+st, r.Content)
			}
		}
	}
	if len(doc.Servers) == 0 || doc.Servers[0].StackOutput == "" || !strings.Contains(doc.Servers[0].URL, "execute-api") {
		t.Fatalf("servers[0]: got %+v, want the deployed API with the stack output it comes from (x-stack-output)", doc.Servers)
	}
	api, err := os.ReadFile(filepath.Join("..", "..", "infra", "stacks", "api.go"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `output(stack, "` + doc.Servers[0].StackOutput + `", stage.Url()`; !strings.Contains(string(api), want) {
		t.Errorf("infra/stacks/api.go has no %s: the stack output openapi.json's servers name is gone", want)
	}
}

// GatewayError.message lists exactly what the local gateway, which answers
// as API Gateway does, writes on its own behalf (writeMessage calls).
func TestGatewayMessagesAreTheLocalGateways(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "local", "localgateway", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("shared/local/localgateway: no Go files found (moved?)")
	}
	var inCode []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 3 {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "writeMessage" {
				return true
			}
			lit, ok := call.Args[2].(*ast.BasicLit)
			if !ok {
				t.Errorf("%s: writeMessage with a message that is not a literal", fset.Position(call.Pos()))
				return true
			}
			s, _ := strconv.Unquote(lit.Value)
			if !slices.Contains(inCode, s) {
				inCode = append(inCode, s)
			}
			return true
		})
	}
	ge, _ := readSchemas(t)["GatewayError"].(map[string]any)
	var doc []string
	if props, ok := ge["properties"].(map[string]any); ok {
		if msg, ok := props["message"].(map[string]any); ok {
			for _, v := range msg["enum"].([]any) {
				doc = append(doc, v.(string))
			}
		}
	}
	slices.Sort(inCode)
	slices.Sort(doc)
	if len(inCode) == 0 || !slices.Equal(inCode, doc) {
		t.Errorf("GatewayError.message: openapi.json lists %q, the local gateway writes %q", doc, inCode)
	}
}
