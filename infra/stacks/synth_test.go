package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
)

// Each synth costs seconds, so the test binary synthesizes the app once
// (sync.Once) and every test reads the same templates.

// partners are made-up: one partner with an account and a role as
// senders, one with none (its queue exists, nobody may send yet).
var partners = []stacks.Partner{
	{ID: "demo-coffee-berlin", Senders: []string{"111111111111", "arn:aws:iam::222222222222:role/pos-sender"}},
	{ID: "demo-webshop"},
}

type fixture struct {
	cfg                   stacks.Config
	stateful              *stacks.StatefulStack
	service               *stacks.ServiceStack
	statefulTpl           assertions.Template
	serviceTpl            assertions.Template
	statefulNag           assertions.Annotations
	serviceNag            assertions.Annotations
	statefulRes, services map[string]resource // logical id -> resource
}

// resource is one template resource as plain JSON.
type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	UpdateReplace  string         `json:"UpdateReplacePolicy"`
	Metadata       map[string]any `json:"Metadata"`
}

var (
	once    sync.Once
	fx      *fixture
	fxPanic any
	distDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if distDir != "" {
		os.RemoveAll(distDir)
	}
	jsii.Close()
	os.Exit(code)
}

// synth returns the synthesized app, building it on first use.
func synth(tb testing.TB) *fixture {
	tb.Helper()
	once.Do(func() {
		defer func() { fxPanic = recover() }()
		fx = build(tb)
	})
	if fxPanic != nil {
		tb.Fatalf("synth: got panic %v, want the app to synthesize", fxPanic)
	}
	return fx
}

func build(tb testing.TB) *fixture {
	dir, err := os.MkdirTemp("", "loyalty-dist-")
	if err != nil {
		panic(err)
	}
	distDir = dir
	// GIVEN a dist folder with a placeholder bootstrap per function, as
	// `make build` would leave it
	for _, f := range stacks.Functions {
		if err := os.MkdirAll(filepath.Join(dir, f.Name), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name, "bootstrap"), []byte("placeholder "+f.Name), 0o755); err != nil {
			panic(err)
		}
	}
	cfg := stacks.DefaultConfig()
	cfg.DistDir = dir
	cfg.Partners = partners
	cfg.AlarmEmail = "ops@example.com"
	if err := cfg.Validate(); err != nil {
		panic(err)
	}

	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	stateful, service := stacks.NewApp(app, cfg)
	f := &fixture{cfg: cfg, stateful: stateful, service: service}
	// Annotations_FromStack synthesizes (forced); the templates then come
	// from that cached assembly.
	f.statefulNag = assertions.Annotations_FromStack(stateful.Stack)
	f.serviceNag = assertions.Annotations_FromStack(service.Stack)
	f.statefulTpl = assertions.Template_FromStack(stateful.Stack, nil)
	f.serviceTpl = assertions.Template_FromStack(service.Stack, nil)
	f.statefulRes = resourcesOf(f.statefulTpl)
	f.services = resourcesOf(f.serviceTpl)
	return f
}

func resourcesOf(tpl assertions.Template) map[string]resource {
	raw, err := json.Marshal((*tpl.ToJSON())["Resources"])
	if err != nil {
		panic(err)
	}
	out := map[string]resource{}
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

// all returns both stacks' resources; logical ids are prefixed by stack.
func (f *fixture) all() map[string]resource {
	out := map[string]resource{}
	for id, r := range f.statefulRes {
		out["stateful/"+id] = r
	}
	for id, r := range f.services {
		out["service/"+id] = r
	}
	return out
}

// ofType returns the resources of one type, sorted by logical id.
func ofType(res map[string]resource, typ string) []named {
	var out []named
	for id, r := range res {
		if r.Type == typ {
			out = append(out, named{id, r})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

type named struct {
	id string
	resource
}

// expect runs a CDK assertion, turning its panic into a test failure.
func expect(tb testing.TB, what string, assertion func()) {
	tb.Helper()
	defer func() {
		if r := recover(); r != nil {
			tb.Errorf("%s: got a template without it, want it:\n%v", what, r)
		}
	}()
	assertion()
}

// functionID returns the logical id of the function named name, found by
// the description newFunction gives it.
func (f *fixture) functionID(tb testing.TB, name string) string {
	tb.Helper()
	for _, fn := range ofType(f.services, "AWS::Lambda::Function") {
		if fn.Properties["Description"] == "Loyalty "+name {
			return fn.id
		}
	}
	tb.Fatalf("function %s: got no AWS::Lambda::Function described %q, want one", name, "Loyalty "+name)
	return ""
}

// refs lists the logical ids a JSON value references (Ref / Fn::GetAtt),
// and the export names it imports.
func refs(v any) []string {
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if r, ok := t["Ref"].(string); ok {
				out = append(out, r)
			}
			if ga, ok := t["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				out = append(out, fmt.Sprint(ga[0]))
			}
			if imp, ok := t["Fn::ImportValue"].(string); ok {
				out = append(out, "import:"+imp)
			}
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// flat renders a CloudFormation value as one string: literal parts as they
// are, references as <LogicalId.Attr> (as cdk-nag writes them), imports
// as <import:Name>.
func flat(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		if r, ok := t["Ref"].(string); ok {
			return "<" + r + ">"
		}
		if ga, ok := t["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("<%v.%v>", ga[0], ga[1])
		}
		if imp, ok := t["Fn::ImportValue"].(string); ok {
			return "<import:" + imp + ">"
		}
		if j, ok := t["Fn::Join"].([]any); ok && len(j) == 2 {
			parts, _ := j[1].([]any)
			var b strings.Builder
			for i, p := range parts {
				if i > 0 {
					b.WriteString(fmt.Sprint(j[0]))
				}
				b.WriteString(flat(p))
			}
			return b.String()
		}
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// list turns a JSON value that may be one item or a list into a list.
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func contains(ss []string, s string) bool {
	for _, e := range ss {
		if e == s {
			return true
		}
	}
	return false
}
