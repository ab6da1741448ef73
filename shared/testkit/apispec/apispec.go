// Package apispec holds the HTTP API to its OpenAPI description
// (shared/httpapi/openapi.json): Check validates one response (status,
// headers, body) against the operation its method and path match, and
// records which (operation, status) pairs were validated, so a test can
// assert that every declared response was seen at least once.
//
// The check is stricter than the description reads: every object schema
// that lists its properties is closed to them (an undocumented field
// fails), a status the operation does not declare fails, and a value
// outside an enum (an error code, a notification kind) fails. Clients are
// told to ignore unknown fields; the service is held to send none.
//
// It is a test kit: it imports the standard library and the JSON Schema
// validator only, never the domain or an adapter.
package apispec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Layer is where a response was taken: from the function's handler, or
// from the HTTP API in front of it (API Gateway or the local gateway).
type Layer int

const (
	// Function: the handler's answer. Headers API Gateway adds
	// (x-set-by: api-gateway) are not expected, and the gateway's own
	// error shape is refused: a function never answers it.
	Function Layer = iota
	// Gateway: what a client receives over HTTP.
	Gateway
)

// Source says who answered a validated response.
type Source string

const (
	Service     Source = "service"     // the function (an Error has a code)
	FromGateway Source = "api-gateway" // API Gateway on its own behalf ({"message": ...})
)

// Seen is one validated response.
type Seen struct {
	Operation string // operationId; "(unrouted)" for a path no operation has
	Status    int
	Source    Source
}

// Unrouted is the operation name of responses to requests that match no
// operation (x-unrouted-responses).
const Unrouted = "(unrouted)"

// Spec is a loaded description with its compiled response schemas. It is
// safe for concurrent use.
type Spec struct {
	ops      []*Operation
	unrouted map[string]*response

	mu   sync.Mutex
	seen map[Seen]int
}

// Operation is one method and path template of the description.
type Operation struct {
	ID     string
	Method string
	Path   string
	// Responses are the declared statuses ("200", "401", ...).
	Responses map[string]Response

	segs      []string
	responses map[string]*response
}

// Response says what a declared response is made of.
type Response struct {
	Ref string // the components/responses name, "" for an inline one
	// Service and Gateway: whether the function, API Gateway on its own
	// behalf, or both (ErrorOrGateway) may answer it.
	Service, Gateway bool
}

type response struct {
	Response
	headers map[string]header
	schema  *jsonschema.Schema
}

type header struct {
	required bool
	// gatewayAdds marks headers API Gateway adds to every answer.
	gatewayAdds bool
	schema      *jsonschema.Schema
}

// DefaultPath finds shared/httpapi/openapi.json from the working folder up
// to the module root, so a test of any package loads the same file.
func DefaultPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "shared", "httpapi", "openapi.json"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("apispec: no go.mod above the working folder")
		}
		dir = parent
	}
}

// Load reads and compiles the description at path ("" for DefaultPath).
func Load(path string) (*Spec, error) {
	if path == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

const docURL = "urn:loyalty-functions:openapi"

// Parse compiles a description.
func Parse(b []byte) (*Spec, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("apispec: %w", err)
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, errors.New("apispec: the description is not a JSON object")
	}
	closeObjects(root["components"])
	closeObjects(root["paths"])
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, root); err != nil {
		return nil, fmt.Errorf("apispec: %w", err)
	}
	s := &Spec{seen: map[Seen]int{}}
	paths, _ := root["paths"].(map[string]any)
	for path, v := range paths {
		item, _ := v.(map[string]any)
		for method, v := range item {
			opObj, ok := v.(map[string]any)
			if !ok || method == "parameters" {
				continue
			}
			op := &Operation{Method: strings.ToUpper(method), Path: path, segs: split(path),
				Responses: map[string]Response{}, responses: map[string]*response{}}
			op.ID, _ = opObj["operationId"].(string)
			resps, _ := opObj["responses"].(map[string]any)
			for status, rv := range resps {
				ptr := "/paths/" + escape(path) + "/" + method + "/responses/" + escape(status)
				r, err := compileResponse(c, root, ptr, rv)
				if err != nil {
					return nil, fmt.Errorf("apispec: %s %s %s: %w", op.Method, path, status, err)
				}
				op.responses[status] = r
				op.Responses[status] = r.Response
			}
			s.ops = append(s.ops, op)
		}
	}
	sort.Slice(s.ops, func(i, j int) bool { return s.ops[i].ID < s.ops[j].ID })
	s.unrouted = map[string]*response{}
	if un, ok := root["x-unrouted-responses"].(map[string]any); ok {
		for status, rv := range un {
			if _, err := strconv.Atoi(status); err != nil {
				continue // its description
			}
			r, err := compileResponse(c, root, "/x-unrouted-responses/"+escape(status), rv)
			if err != nil {
				return nil, fmt.Errorf("apispec: unrouted %s: %w", status, err)
			}
			s.unrouted[status] = r
		}
	}
	return s, nil
}

// compileResponse follows a response's $ref into components/responses and
// compiles its JSON body schema and its headers.
func compileResponse(c *jsonschema.Compiler, root map[string]any, ptr string, v any) (*response, error) {
	obj, _ := v.(map[string]any)
	r := &response{headers: map[string]header{}}
	if ref, ok := obj["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/components/responses/")
		if !ok {
			return nil, fmt.Errorf("response $ref %q is not in components/responses", ref)
		}
		r.Ref = name
		ptr = "/components/responses/" + escape(name)
		obj, _ = lookup(root, ptr).(map[string]any)
		if obj == nil {
			return nil, fmt.Errorf("no response %s", ref)
		}
	}
	content, _ := obj["content"].(map[string]any)
	if _, ok := content["application/json"]; !ok {
		return nil, errors.New("no application/json content")
	}
	sch, err := c.Compile(docURL + "#" + ptr + "/content/application~1json/schema")
	if err != nil {
		return nil, err
	}
	r.schema = sch
	r.Service, r.Gateway = sources(root, lookup(root, ptr+"/content/application~1json/schema"))
	hs, _ := obj["headers"].(map[string]any)
	for name, hv := range hs {
		hptr := ptr + "/headers/" + escape(name)
		h, _ := hv.(map[string]any)
		if ref, ok := h["$ref"].(string); ok {
			hptr = strings.TrimPrefix(ref, "#")
			h, _ = lookup(root, hptr).(map[string]any)
		}
		hsch, err := c.Compile(docURL + "#" + hptr + "/schema")
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
		req, _ := h["required"].(bool)
		r.headers[http.CanonicalHeaderKey(name)] = header{required: req, gatewayAdds: h["x-set-by"] == "api-gateway", schema: hsch}
	}
	return r, nil
}

// sources reads whether a body schema is the service's Error, API
// Gateway's GatewayError or a oneOf of both; any other schema is the
// service's.
func sources(root map[string]any, v any) (service, gateway bool) {
	obj, _ := v.(map[string]any)
	refs := []any{obj}
	if one, ok := obj["oneOf"].([]any); ok {
		refs = one
	}
	for _, r := range refs {
		m, _ := r.(map[string]any)
		if m["$ref"] == "#/components/schemas/GatewayError" {
			gateway = true
		} else {
			service = true
		}
	}
	return service, gateway
}

// closeObjects sets additionalProperties false on every object schema that
// lists properties and says nothing about others.
func closeObjects(v any) {
	switch n := v.(type) {
	case map[string]any:
		if props, ok := n["properties"].(map[string]any); ok {
			_, ap := n["additionalProperties"]
			_, up := n["unevaluatedProperties"]
			if !ap && !up && (n["type"] == "object" || n["required"] != nil) {
				n["additionalProperties"] = false
			}
			for _, p := range props {
				closeObjects(p)
			}
		}
		for k, c := range n {
			if k != "properties" {
				closeObjects(c)
			}
		}
	case []any:
		for _, c := range n {
			closeObjects(c)
		}
	}
}

func lookup(root any, ptr string) any {
	cur := root
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[tok]
	}
	return cur
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func split(path string) []string { return strings.Split(strings.Trim(path, "/"), "/") }

// Operations lists the operations, by operationId.
func (s *Spec) Operations() []*Operation { return s.ops }

// Find returns the operation of a method and a concrete path; among
// templates that match, the one with the most literal segments wins.
func (s *Spec) Find(method, path string) (*Operation, bool) {
	segs := split(path)
	var best *Operation
	bestLit := -1
	for _, op := range s.ops {
		if op.Method != strings.ToUpper(method) || len(op.segs) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for i, t := range op.segs {
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
				ok = ok && segs[i] != ""
				continue
			}
			ok = ok && t == segs[i]
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit = op, lit
		}
	}
	return best, best != nil
}

// Check validates a response to method and path (the URL path, no query)
// taken at layer, and records it when it is valid. The error names the
// operation, the status and every problem found.
func (s *Spec) Check(layer Layer, method, path string, status int, h http.Header, body []byte) error {
	opID := Unrouted
	declared := s.unrouted
	if op, ok := s.Find(method, path); ok {
		opID, declared = op.ID, op.responses
	}
	where := fmt.Sprintf("%s %s (%s) answered %d", method, path, opID, status)
	r, ok := declared[strconv.Itoa(status)]
	if !ok {
		return fmt.Errorf("%s: the description declares no %d for it (declared: %s); body %.300s", where, status, statusList(declared), body)
	}
	var problems []string
	for name, hd := range r.headers {
		v := h.Get(name)
		if v == "" {
			if hd.required && !(layer == Function && hd.gatewayAdds) && !(r.Gateway && name == "X-Request-Id") {
				problems = append(problems, "header "+name+" is required and missing")
			}
			continue
		}
		if err := hd.schema.Validate(v); err != nil {
			problems = append(problems, fmt.Sprintf("header %s %q: %v", name, v, err))
		}
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		problems = append(problems, fmt.Sprintf("Content-Type is %q, want application/json", ct))
	}
	src := Service
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		problems = append(problems, fmt.Sprintf("body is not JSON: %v", err))
	} else {
		if m, ok := inst.(map[string]any); ok && status >= 400 {
			if _, hasCode := m["code"]; !hasCode {
				src = FromGateway
			}
		}
		if err := r.schema.Validate(inst); err != nil {
			problems = append(problems, "body: "+err.Error())
		}
		switch {
		case src == FromGateway && layer == Function:
			problems = append(problems, "a function answered API Gateway's {\"message\"} shape")
		case src == FromGateway && !r.Gateway:
			problems = append(problems, "API Gateway's shape, where the description declares the service's")
		case src == Service && !r.Service:
			problems = append(problems, "the service's shape, where the description declares API Gateway's only")
		}
		if src == Service && r.Service && status >= 400 && h.Get("X-Request-Id") == "" && !r.headers["X-Request-Id"].required {
			problems = append(problems, "header X-Request-Id is required on the service's errors and missing")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s; body %.500s", where, strings.Join(problems, "; "), body)
	}
	s.mu.Lock()
	s.seen[Seen{Operation: opID, Status: status, Source: src}]++
	s.mu.Unlock()
	return nil
}

func statusList(m map[string]*response) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// Seen returns how often each (operation, status, source) was validated.
func (s *Spec) Seen() map[Seen]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[Seen]int, len(s.seen))
	for k, v := range s.seen {
		out[k] = v
	}
	return out
}

// Missing lists "operationId status" for every declared response that want
// selects and no validated response of source covered, sorted.
func (s *Spec) Missing(source Source, want func(op *Operation, status string, r Response) bool) []string {
	seen := s.Seen()
	var out []string
	for _, op := range s.ops {
		for status, r := range op.Responses {
			if !want(op, status, r) {
				continue
			}
			n, _ := strconv.Atoi(status)
			if seen[Seen{Operation: op.ID, Status: n, Source: source}] == 0 {
				out = append(out, op.ID+" "+status)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Declared counts the declared (operation, status) pairs that want selects.
func (s *Spec) Declared(want func(op *Operation, status string, r Response) bool) int {
	n := 0
	for _, op := range s.ops {
		for status, r := range op.Responses {
			if want(op, status, r) {
				n++
			}
		}
	}
	return n
}

// Summary is a line for a test log: responses validated and pairs seen.
func (s *Spec) Summary() string {
	seen := s.Seen()
	total := 0
	ops := map[string]bool{}
	for k, v := range seen {
		total += v
		ops[k.Operation] = true
	}
	return fmt.Sprintf("%d responses validated: %d distinct (operation, status, source), %d operations", total, len(seen), len(ops))
}

// Enums returns the enum of every named schema that is one (ErrorCode,
// EntryKind, NotificationKind, ...), for tests that compare them with the
// constants of the code.
func Enums(b []byte) (map[string][]string, error) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for name, s := range doc.Components.Schemas {
		if len(s.Enum) > 0 {
			out[name] = s.Enum
		}
	}
	return out, nil
}
