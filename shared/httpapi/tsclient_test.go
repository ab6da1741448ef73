package httpapi_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// A mobile team's client, generated from openapi.json by openapi-typescript
// (pinned in package-lock.json), compiles the sample flows of tsclient/
// under tsc --strict; the flows use no casts, so the compiler checks every
// field they read. shared/local/localstack runs the same flows against the stack.
func TestGeneratedTypeScriptClientCompiles(t *testing.T) {
	root, err := apispec.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := apispec.BuildTSClient(ctx, root, false)
	if dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if err != nil {
		t.Fatal(err)
	}
	types, err := os.ReadFile(filepath.Join(dir, "api.d.ts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range loadSpec(t).Operations() {
		if !strings.Contains(string(types), "\n    "+op.ID+": {") {
			t.Errorf("the generated client has no operation %s", op.ID)
		}
	}

	// The compiler is the check: a flow that reads a field as the wrong
	// type, or forgets that an error may be API Gateway's, does not compile.
	bad := `import type { components } from "./api.js";
type S = components["schemas"];
export const balance: string = ({} as unknown as S["Me"]).balance;
export function code(e: S["Error"] | S["GatewayError"]): string { return e.code; }
`
	if err := os.WriteFile(filepath.Join(dir, "bad.mts"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	tsc := exec.CommandContext(ctx, filepath.Join(root, "node_modules", ".bin", "tsc"), "--strict", "--noEmit",
		"--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022", "bad.mts")
	tsc.Dir = dir
	out, err := tsc.CombinedOutput()
	if err == nil {
		t.Errorf("tsc --strict compiled a flow that reads balance as a string and code of a gateway error")
	}
	for _, want := range []string{"Type 'number' is not assignable to type 'string'", "Property 'code' does not exist"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("tsc on the bad flow: got %s, want an error %q", out, want)
		}
	}
}

// The sample flows hold no type assertion (x as T, <T>x) and no non-null
// assertion (x!): every type the flows rely on comes from the generated
// client.
func TestSampleFlowsUseNoCasts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("tsclient", "flows.mts"))
	if err != nil {
		t.Fatal(err)
	}
	casts := regexp.MustCompile(`\bas\s+[A-Za-z{(\[]|<[A-Z][A-Za-z.\[\]"]*>\s*[a-z(]|[A-Za-z0-9_)\]]!(\.|\)|;|,|\s)`)
	for i, line := range strings.Split(string(b), "\n") {
		code := strings.TrimSpace(line)
		if strings.HasPrefix(code, "//") {
			continue
		}
		code = regexp.MustCompile("`[^`]*`|\"[^\"]*\"").ReplaceAllString(code, `""`)
		code = strings.NewReplacer("!==", " ne ", "!=", " ne ").Replace(code)
		if m := casts.FindString(code); m != "" {
			t.Errorf("tsclient/flows.mts:%d: %q looks like a cast (%q)", i+1, strings.TrimSpace(line), m)
		}
	}
}
