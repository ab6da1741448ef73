package stacks_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// allowedCfnLintFindings are the cfn-lint findings the synthesized templates
// may have, each with the reason it stays. Anything else fails the test.
var allowedCfnLintFindings = map[string]string{
	// CDK writes DependsOn from a function to its role's default policy, next
	// to the Fn::GetAtt of the role itself: the extra dependency is what keeps
	// the policy in place before the first invocation, cfn-lint only notes
	// that the role part is implied.
	"W3005": "CDK's DependsOn on a function's role and default policy",
}

func TestTemplatesPassCfnLint(t *testing.T) {
	// GIVEN both synthesized templates, written as cdk synth writes them
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH: install it with `pip install cfn-lint==1.51.0` (Python 3.11 machines here have it); the infra tests need it")
	}
	f := synth(t)
	dir := t.TempDir()
	var files []string
	for name, tpl := range map[string]any{"stateful.template.json": f.statefulTpl.ToJSON(), "service.template.json": f.serviceTpl.ToJSON()} {
		b, err := json.MarshalIndent(tpl, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	// WHEN cfn-lint checks them
	cmd := exec.Command(lint, append([]string{"--format", "parseable"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("cfn-lint: %v\n%s", err, out)
		}
	}
	// THEN it finds no error and only the warnings listed with a reason.
	// Intent: a template CloudFormation would refuse (or that hides a
	// mistake cfn-lint knows) fails here, not in a deploy.
	finding := regexp.MustCompile(`:([EWI][0-9]{4}):`)
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		m := finding.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("cfn-lint printed %q, want only findings", line)
			continue
		}
		counts[m[1]]++
		if _, ok := allowedCfnLintFindings[m[1]]; !ok {
			t.Errorf("cfn-lint: got %s, want no finding but the allowed ones", line)
		}
	}
	t.Logf("cfn-lint findings by rule: %v (allowed: %v)", counts, allowedCfnLintFindings)
}
