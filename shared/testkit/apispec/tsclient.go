package apispec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The generated TypeScript client: openapi-typescript turns the
// description into types (api.d.ts), openapi-fetch calls the API with them,
// and tsc --strict compiles the sample flows of shared/httpapi/tsclient
// against them. The three are pinned in package.json and package-lock.json,
// beside the CDK CLI.

// nodeTools are what the client check needs from node_modules.
var nodeTools = []string{
	filepath.Join("node_modules", ".bin", "openapi-typescript"),
	filepath.Join("node_modules", ".bin", "tsc"),
	filepath.Join("node_modules", "openapi-fetch", "package.json"),
}

// ModuleRoot is the folder of go.mod above the working folder.
func ModuleRoot() (string, error) {
	p, err := DefaultPath()
	if err != nil {
		return "", err
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(p))), nil
}

// EnsureNodeTools installs the pinned npm tools as `make deps` does
// (npm ci) when one is missing, as on a fresh clone; several test
// processes wait for one install.
func EnsureNodeTools(ctx context.Context, root string) error {
	if present(root) {
		return nil
	}
	lock := filepath.Join(root, ".cache", "npm-ci.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o755); err != nil {
		return err
	}
	for {
		err := os.Mkdir(lock, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		if fi, serr := os.Stat(lock); serr == nil && time.Since(fi.ModTime()) > 10*time.Minute {
			os.Remove(lock) // left by a killed run
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for another npm ci: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	defer os.Remove(lock)
	if present(root) {
		return nil // another process installed them while this one waited
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci (the pinned npm tools, as make deps): %w\n%s", err, out)
	}
	if !present(root) {
		return fmt.Errorf("npm ci ran, and %v are still missing: are they in package.json?", nodeTools)
	}
	return nil
}

func present(root string) bool {
	for _, t := range nodeTools {
		if _, err := os.Stat(filepath.Join(root, t)); err != nil {
			return false
		}
	}
	return true
}

// BuildTSClient generates the client into a new folder under the module's
// .cache (node resolves openapi-fetch from the module's node_modules),
// copies the sample flows beside it and compiles them with the strict
// tsconfig of shared/httpapi/tsclient; with emit it also writes flows.mjs
// to run with node. It returns the folder.
func BuildTSClient(ctx context.Context, root string, emit bool) (string, error) {
	if err := EnsureNodeTools(ctx, root); err != nil {
		return "", err
	}
	cache := filepath.Join(root, ".cache")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(cache, "tsclient-")
	if err != nil {
		return "", err
	}
	src := filepath.Join(root, "shared", "httpapi", "tsclient")
	for _, f := range []string{"flows.mts", "tsconfig.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return dir, err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return dir, err
		}
	}
	gen := exec.CommandContext(ctx, filepath.Join(root, nodeTools[0]), filepath.Join(root, "shared", "httpapi", "openapi.json"), "-o", filepath.Join(dir, "api.d.ts"))
	gen.Dir = dir
	if out, err := gen.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("openapi-typescript: %w\n%s", err, out)
	}
	args := []string{"-p", "tsconfig.json", "--strict"}
	if !emit {
		args = append(args, "--noEmit")
	}
	tsc := exec.CommandContext(ctx, filepath.Join(root, nodeTools[1]), args...)
	tsc.Dir = dir
	if out, err := tsc.CombinedOutput(); err != nil {
		return dir, fmt.Errorf("tsc --strict on the sample flows: %w\n%s", err, out)
	}
	return dir, nil
}
