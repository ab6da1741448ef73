package stacks_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/infra/stacks"
)

// These tests check the function and route tables without synthesizing.

func TestFunctionTableIsComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range stacks.Functions {
		if seen[f.Name] {
			t.Errorf("function %s: got it twice, want names unique", f.Name)
		}
		seen[f.Name] = true
		if (f.Kind == stacks.KindJob) != (f.Schedule != nil) {
			t.Errorf("function %s: got kind %s with schedule %v, want a schedule exactly for jobs", f.Name, f.Kind, f.Schedule)
		}
		for _, a := range f.TableActions {
			if strings.Contains(a, "*") || a == "dynamodb:Scan" || !strings.HasPrefix(a, "dynamodb:") {
				t.Errorf("function %s: got table action %q, want a named DynamoDB action other than Scan", f.Name, a)
			}
		}
	}
	for _, name := range []string{"member-api", "admin-api", "ingest", "expire-points", "send-reminders", "win-back", "tier-review"} {
		if !seen[name] {
			t.Errorf("function table: got no %s, want it", name)
		}
	}
}

func TestRoutesCheck(t *testing.T) {
	if err := stacks.CheckRoutes(stacks.Routes, stacks.Functions); err != nil {
		t.Fatalf("CheckRoutes(Routes): got %v, want nil", err)
	}
	bad := []struct {
		name  string
		route stacks.Route
	}{
		{"public path", stacks.Route{Method: "GET", Path: "/health", Function: "member-api"}},
		{"member path to admin function", stacks.Route{Method: "ANY", Path: "/v1/{proxy+}", Function: "admin-api"}},
		{"admin path to member function", stacks.Route{Method: "POST", Path: "/admin/adjust", Function: "member-api"}},
		{"unknown function", stacks.Route{Method: "GET", Path: "/v1/balance", Function: "nope"}},
		{"OPTIONS route", stacks.Route{Method: "OPTIONS", Path: "/v1/balance", Function: "member-api"}},
		{"prefix without slash", stacks.Route{Method: "GET", Path: "/v1balance", Function: "member-api"}},
	}
	for _, tc := range bad {
		if err := stacks.CheckRoutes([]stacks.Route{tc.route}, stacks.Functions); err == nil {
			t.Errorf("CheckRoutes(%s): got nil, want an error", tc.name)
		}
	}
}

func TestMissingBootstraps(t *testing.T) {
	dir := t.TempDir()
	fns := stacks.Functions[:2]
	if err := os.MkdirAll(filepath.Join(dir, fns[0].Name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, fns[0].Name, "bootstrap"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := stacks.MissingBootstraps(dir, fns)
	want := []string{filepath.Join(dir, fns[1].Name, "bootstrap")}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("MissingBootstraps: got %v, want %v", got, want)
	}
}

// Intent: a job gets the table actions its code paths make, no more. The
// expiry writes from the due index's copy of the lots and never reads in
// a batch or checks a condition of another item (the local stack's IAM
// report found those grants unused).
func TestExpiryGetsNoBatchReadOrConditionCheck(t *testing.T) {
	for _, f := range stacks.Functions {
		if f.Name != "expire-points" {
			continue
		}
		for _, a := range f.TableActions {
			if a == "dynamodb:BatchGetItem" || a == "dynamodb:ConditionCheckItem" {
				t.Errorf("expire-points: got table action %s, want none of BatchGetItem, ConditionCheckItem", a)
			}
		}
		return
	}
	t.Fatal("function table: got no expire-points")
}
