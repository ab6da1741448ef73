package apispec_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// On a fresh clone (no node_modules) the client check installs the pinned
// tools itself, from package.json and package-lock.json alone, as make deps
// does: tried in a folder holding only those two files.
func TestNodeToolsInstallOnAFreshClone(t *testing.T) {
	root, err := apispec.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	clone := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(clone, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	if err := apispec.EnsureNodeTools(ctx, clone); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"node_modules/.bin/openapi-typescript", "node_modules/.bin/tsc", "node_modules/openapi-fetch/package.json", "node_modules/go.mod"} {
		if _, err := os.Stat(filepath.Join(clone, f)); err != nil {
			t.Errorf("after npm ci: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(clone, ".cache", "npm-ci.lock")); !os.IsNotExist(err) {
		t.Errorf("the install lock is left behind: %v", err)
	}
}
