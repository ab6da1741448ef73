package partner

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Event types partners send.
const (
	TypePurchaseCompleted = "purchase.completed"
	TypePurchaseRefunded  = "purchase.refunded"
)

// SchemaFiles holds the published schemas, named <type>.v<version>.schema.json.
//
//go:embed *.schema.json
var SchemaFiles embed.FS

// schemaKey names one schema.
type schemaKey struct {
	typ     string
	version int64
}

// published lists every schema; the file name follows from type and version.
var published = []schemaKey{
	{TypePurchaseCompleted, 1},
	{TypePurchaseRefunded, 1},
	{TypePurchaseCompleted, 2}, // the member by kind: card, code or member id (till.go in the domain)
	{TypePurchaseRefunded, 2},
}

// SchemaFile is the embedded file of a type's version.
func SchemaFile(typ string, version int64) string {
	return fmt.Sprintf("%s.v%d.schema.json", typ, version)
}

var compiled = sync.OnceValues(compileAll)

// compileAll compiles every published schema. Schemas refer to each other by
// their $id, so all are added before any is compiled.
func compileAll() (map[schemaKey]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	ids := make(map[schemaKey]string, len(published))
	for _, k := range published {
		b, err := SchemaFiles.ReadFile(SchemaFile(k.typ, k.version))
		if err != nil {
			return nil, fmt.Errorf("partner schema %s v%d: %w", k.typ, k.version, err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("partner schema %s v%d: %w", k.typ, k.version, err)
		}
		obj, _ := doc.(map[string]any)
		id, _ := obj["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("partner schema %s v%d: no $id", k.typ, k.version)
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("partner schema %s v%d: %w", k.typ, k.version, err)
		}
		ids[k] = id
	}
	out := make(map[schemaKey]*jsonschema.Schema, len(published))
	for _, k := range published {
		s, err := c.Compile(ids[k])
		if err != nil {
			return nil, fmt.Errorf("partner schema %s v%d: %w", k.typ, k.version, err)
		}
		out[k] = s
	}
	return out, nil
}

// Compile compiles the embedded schemas now (Validate compiles them on the
// first message the shapes do not pass: about 11 ms, which a function's
// cold start need not pay). TestSchemasCompile keeps a broken schema from
// being built at all.
func Compile() error {
	_, err := compiled()
	return err
}

// UnsupportedError says an event names a type or version that has no schema.
type UnsupportedError struct {
	Type    string
	Version int64
}

func (e *UnsupportedError) Error() string {
	if !knownType(e.Type) {
		return fmt.Sprintf("event type %q is not supported; supported: %s", e.Type, strings.Join(supportedTypes(), ", "))
	}
	return fmt.Sprintf("version %d of %s is not supported", e.Version, e.Type)
}

// Problem is one reason an event does not match its schema: where in the
// event (a JSON pointer, "" for the whole event) and what is wrong.
type Problem struct {
	At      string `json:"at"`
	Message string `json:"message"`
}

// ViolationError says an event does not match the schema of its type.
type ViolationError struct {
	Type     string
	Version  int64
	Problems []Problem // at least one, most specific first
}

// maxProblems bounds the problems reported for one event.
const maxProblems = 5

func (e *ViolationError) Error() string {
	var sb strings.Builder
	if e.Type != "" {
		fmt.Fprintf(&sb, "%s v%d: ", e.Type, e.Version)
	}
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "at %q: %s", p.At, p.Message)
	}
	return sb.String()
}

// Validate checks a JSON document, as decoded by DecodeJSON, against the
// schema its "type" and "version" name. It returns nil, an
// *UnsupportedError, a *ViolationError, or an error when the embedded
// schemas do not compile (a bug, caught by this package's tests).
func Validate(doc any) error {
	obj, ok := doc.(map[string]any)
	if !ok {
		return &ViolationError{Problems: []Problem{{At: "", Message: "an event is a JSON object, got " + jsonKind(doc)}}}
	}
	typ, ok := obj["type"].(string)
	if !ok {
		return &ViolationError{Problems: []Problem{{At: "/type", Message: "type is required, a string: one of " + strings.Join(supportedTypes(), ", ")}}}
	}
	version, ok := integer(obj["version"])
	if !ok {
		return &ViolationError{Type: typ, Problems: []Problem{{At: "/version", Message: "version is required, an integer"}}}
	}
	key := schemaKey{typ, version}
	if !slices.Contains(published, key) {
		return &UnsupportedError{Type: typ, Version: version}
	}
	if check, ok := shapes[key]; ok && check(obj) {
		return nil // surely valid (shapes.go); the schema decides the rest
	}
	schemas, err := compiled()
	if err != nil {
		return err
	}
	err = schemas[key].Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return &ViolationError{Type: typ, Version: version, Problems: problems(ve)}
	}
	return err
}

// DecodeJSON decodes one JSON value the way Validate expects it (numbers
// kept exact), refusing anything after the value.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

var printer = message.NewPrinter(language.English)

// problems flattens a validation error to its leaves, deepest first, so the
// message names the field that is wrong rather than the schema keyword
// ("oneOf", "$ref") that contained it.
func problems(ve *jsonschema.ValidationError) []Problem {
	type leaf struct {
		depth int
		p     Problem
	}
	var leaves []leaf
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, leaf{len(e.InstanceLocation), Problem{At: pointer(e.InstanceLocation), Message: describe(e.ErrorKind)}})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.SliceStable(leaves, func(i, j int) bool { return leaves[i].depth > leaves[j].depth })
	seen := map[Problem]bool{}
	var out []Problem
	for _, l := range leaves {
		if seen[l.p] {
			continue
		}
		seen[l.p] = true
		out = append(out, l.p)
		if len(out) == maxProblems {
			break
		}
	}
	if len(out) == 0 {
		out = append(out, Problem{At: pointer(ve.InstanceLocation), Message: describe(ve.ErrorKind)})
	}
	return out
}

// describe words an error kind; a "false" schema, which the schemas use for
// fields that exclude each other, reads better as "not allowed".
func describe(k jsonschema.ErrorKind) string {
	if _, ok := k.(*kind.FalseSchema); ok {
		return "not allowed here (see the schema's description)"
	}
	return k.LocalizedString(printer)
}

// pointer writes a JSON pointer (RFC 6901) from its tokens.
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		sb.WriteString(strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1"))
	}
	return sb.String()
}

func integer(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

func knownType(t string) bool {
	for _, k := range published {
		if k.typ == t {
			return true
		}
	}
	return false
}

func supportedTypes() []string {
	var out []string
	for _, k := range published {
		if !slices.Contains(out, k.typ) {
			out = append(out, k.typ)
		}
	}
	return out
}
