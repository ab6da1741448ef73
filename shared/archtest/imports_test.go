package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/loyalty-functions/loyalty/"

// pkg is one package of the module as go list sees it (tests excluded).
type pkg struct {
	path    string   // without the module prefix
	imports []string // direct imports, full paths
	deps    []string // every package it links, full paths
}

// packages lists the module's packages and the standard library's.
func packages(tb testing.TB) (map[string]pkg, map[string]bool) {
	tb.Helper()
	list := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \",\"}}|{{join .Deps \",\"}}", "./...")
	list.Dir = filepath.Join("..", "..") // the module root
	out, err := list.Output()
	if err != nil {
		tb.Fatalf("go list: %v", err)
	}
	std, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		tb.Fatalf("go list std: %v", err)
	}
	stdlib := map[string]bool{}
	for _, p := range strings.Fields(string(std)) {
		stdlib[p] = true
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	pkgs := map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "|")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], module) {
			continue
		}
		p := pkg{path: strings.TrimPrefix(parts[0], module), imports: split(parts[1]), deps: split(parts[2])}
		pkgs[p.path] = p
	}
	if len(pkgs) < 20 {
		tb.Fatalf("go list: got %d packages of the module, want the whole module", len(pkgs))
	}
	return pkgs, stdlib
}

func under(path string, prefixes ...string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// The floor plan. Paths are relative to the module.
var (
	domain = "shared/loyalty"
	// leaves describe what infra and the code share; standard library only.
	leaves = []string{"shared/spec", "shared/emf"}
	// toolLeaves are what the ops commands share with the local stack (its
	// state file) and the command lines' flag parsing; standard library
	// only, so an ops command links them without linking the local stack.
	toolLeaves = []string{"shared/tools/localstate", "shared/tools/cliflags"}
	// adapters are the production adapters: one outside thing each.
	adapters = []string{"shared/config", "shared/dynamo", "shared/eventbus", "shared/httpapi", "shared/ingest", "shared/jobs"}
	// contracts are what partners send and what we publish.
	contracts = []string{"events"}
	// localOrTools may never be linked into a function binary.
	localOrTools = []string{"shared/local", "shared/local/localstack", "shared/tools/localstate", "shared/tools/cliflags", "shared/local/localsched", "shared/local/localgateway", "shared/local/localiam",
		"shared/local/sqslocal", "shared/local/dynamolocal", "shared/local/runtimeapi", "shared/tools", "shared/tools/bench", "shared/tools/replay",
		"shared/cmd", "shared/testkit", "shared/testkit/dynamotest", "shared/archtest"}
)

func TestTheDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	pkgs, std := packages(t)
	for _, d := range pkgs[domain].deps {
		if !std[d] {
			t.Errorf("%s links %s: got a non-standard dependency, want the standard library only", domain, d)
		}
	}
	for path, p := range pkgs {
		if !under(path, append(leaves, toolLeaves...)...) {
			continue
		}
		for _, d := range p.deps {
			if !std[d] {
				t.Errorf("%s links %s: got a non-standard dependency, want the standard library only (infra reads it)", path, d)
			}
		}
	}
}

func TestNoAdapterImportsAnother(t *testing.T) {
	pkgs, _ := packages(t)
	for path, p := range pkgs {
		if !under(path, adapters...) || strings.HasSuffix(path, "test") {
			continue
		}
		for _, imp := range p.imports {
			rel, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if under(rel, adapters...) && !under(rel, path) {
				t.Errorf("%s imports %s: got an adapter importing another, want them to meet only in the domain and the mains", path, rel)
			}
			if under(rel, localOrTools...) {
				t.Errorf("%s imports %s: got a production adapter importing local, tool or test code", path, rel)
			}
		}
	}
	for path, p := range pkgs {
		if !under(path, contracts...) {
			continue
		}
		for _, imp := range p.imports {
			if rel, ours := strings.CutPrefix(imp, module); ours && rel != domain && !under(rel, contracts...) {
				t.Errorf("%s imports %s: got a contract importing more than the domain", path, rel)
			}
		}
	}
}

func TestFunctionsLinkNoLocalToolOrTestCode(t *testing.T) {
	pkgs, _ := packages(t)
	n := 0
	for path, p := range pkgs {
		if !strings.HasPrefix(path, "functions/") {
			continue
		}
		n++
		for _, d := range p.deps {
			if d == "testing" || strings.HasPrefix(d, "testing/") {
				t.Errorf("%s links %s: got test code in a function binary", path, d)
			}
			if rel, ours := strings.CutPrefix(d, module); ours && under(rel, localOrTools...) {
				t.Errorf("%s links %s: got local, tool or test code in a function binary", path, rel)
			}
		}
	}
	if n < 7 {
		t.Errorf("functions: got %d, want every functions/<name>", n)
	}
}

func TestInfraLinksNoAdapterAndNoAWSSDK(t *testing.T) {
	pkgs, _ := packages(t)
	for _, path := range []string{"infra", "infra/stacks"} {
		p, ok := pkgs[path]
		if !ok {
			t.Fatalf("%s: not in the module", path)
		}
		for _, d := range p.deps {
			rel, ours := strings.CutPrefix(d, module)
			switch {
			case strings.HasPrefix(d, "github.com/aws/aws-sdk-go-v2"):
				t.Errorf("%s links %s: got the AWS SDK for Go in the CDK app, want only the shared descriptions", path, d)
			case ours && !(rel == domain || under(rel, leaves...) || under(rel, "infra")):
				t.Errorf("%s links %s: got module code beyond the domain and shared/spec", path, rel)
			}
		}
	}
}

func TestCommandsForOpsLinkNoLocalStack(t *testing.T) {
	pkgs, _ := packages(t)
	for path, p := range pkgs {
		if !under(path, "shared/tools/cmd/loyaltyops", "shared/cmd/loyaltyops", "shared/cmd/replay", "shared/tools/cmd/replay") {
			continue
		}
		for _, d := range p.deps {
			rel, ours := strings.CutPrefix(d, module)
			if d == "testing" || (ours && under(rel, "shared/local", "shared/local/localstack", "shared/local/sqslocal", "shared/local/dynamolocal", "shared/local/runtimeapi", "shared/local/localgateway", "shared/local/localsched", "shared/testkit")) {
				t.Errorf("%s links %s: got an ops command linking the local stack or test code", path, d)
			}
		}
	}
}

// The language package renders the domain's texts with golang.org/x/text and
// links nothing else: the adapters that use it (HTTP, jobs, config) stay
// free of each other.
func TestLocaleLinksOnlyTheDomainAndXText(t *testing.T) {
	pkgs, std := packages(t)
	p, ok := pkgs["shared/locale"]
	if !ok {
		t.Fatal("shared/locale: not in the module")
	}
	for _, d := range p.deps {
		rel, ours := strings.CutPrefix(d, module)
		if !std[d] && !strings.HasPrefix(d, "golang.org/x/text/") && !(ours && rel == domain) {
			t.Errorf("shared/locale links %s: want the standard library, golang.org/x/text and the domain only", d)
		}
	}
}
