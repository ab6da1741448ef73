package localstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The local stack runs the cloud assembly that the project's own CDK app
// (go run ./infra) synthesizes for the stage "local", offline. It is kept in
// .cache/assembly/<hash>, where the hash covers every input of the synth:
// the Go sources of ./infra and of each package of this module it imports,
// go.mod, go.sum, cdk.json and program.json. The functions' code is not an
// input: the local synth packages a placeholder per function (which names
// it), and the local stack runs the functions built from functions/<name>.
// So `make run` synthesizes again only when infra or the program changed.

// functionMarker starts the placeholder bootstrap of each function in the
// local synth; the rest of the line is the function's name.
const functionMarker = "loyalty-local-function "

// AssemblyDir returns the cloud assembly of the local stage for the
// repository at root, synthesizing it unless the cache holds it for the
// current inputs. cached says it came from the cache.
func AssemblyDir(ctx context.Context, root string, logf func(string, ...any)) (dir string, cached bool, err error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	key, err := synthInputsHash(ctx, root)
	if err != nil {
		return "", false, err
	}
	base := filepath.Join(root, ".cache", "assembly")
	dir = filepath.Join(base, key)
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return dir, true, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", false, fmt.Errorf("localstack: assembly cache: %w", err)
	}
	// One synth at a time (test binaries of several packages start stacks
	// at once); whoever waited finds the assembly made.
	lock, err := os.OpenFile(filepath.Join(base, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", false, fmt.Errorf("localstack: assembly cache: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", false, fmt.Errorf("localstack: assembly cache lock: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return dir, true, nil
	}
	began := time.Now()
	logf("synthesizing the cloud assembly (go run ./infra, stage %s): infra or the program changed", Stage)
	if err := synth(ctx, root, base, dir); err != nil {
		return "", false, err
	}
	logf("cloud assembly synthesized in %s into %s", time.Since(began).Round(time.Millisecond), dir)
	// Older assemblies are of inputs that are gone.
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		if e.IsDir() && e.Name() != key {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
	return dir, false, nil
}

func synth(ctx context.Context, root, base, dir string) error {
	tmp, err := os.MkdirTemp(base, "synth-")
	if err != nil {
		return fmt.Errorf("localstack: synth: %w", err)
	}
	defer os.RemoveAll(tmp)
	dist := filepath.Join(tmp, "dist")
	names, err := functionDirs(root)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(dist, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dist, name, "bootstrap"), []byte(functionMarker+name+"\n"), 0o755); err != nil {
			return err
		}
	}
	ctxJSON, err := synthContext(root, dist)
	if err != nil {
		return err
	}
	bin := filepath.Join(root, ".cache", "bin", "infra")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("localstack: build the CDK app (./infra): %v\n%s", err, out)
	}
	out := filepath.Join(tmp, "cdk.out")
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CDK_OUTDIR="+out, "CDK_CONTEXT_JSON="+string(ctxJSON))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localstack: synthesize the cloud assembly (./infra): %v\n%s", err, relevant(stderr.String()))
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err != nil {
		return fmt.Errorf("localstack: the CDK app wrote no assembly: %s", relevant(stderr.String()))
	}
	return os.Rename(out, dir)
}

// relevant drops the Node end-of-life banner jsii prints on every run.
func relevant(stderr string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		if l := sc.Text(); !strings.HasPrefix(l, "!!") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// synthContext is cdk.json's context with what the local stage sets: the
// stage, the placeholder functions, and an alarm address (only stage dev
// may go without one; the local stack sends no mail).
func synthContext(root, dist string) ([]byte, error) {
	var cdk struct {
		Context map[string]any `json:"context"`
	}
	b, err := os.ReadFile(filepath.Join(root, "cdk.json"))
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		return nil, fmt.Errorf("localstack: cdk.json: %w", err)
	}
	if cdk.Context == nil {
		cdk.Context = map[string]any{}
	}
	cdk.Context["stage"] = Stage
	cdk.Context["distDir"] = dist
	cdk.Context["programFile"] = filepath.Join(root, "program.json")
	if s, _ := cdk.Context["alarmEmail"].(string); s == "" {
		cdk.Context["alarmEmail"] = "alarms@example.com"
	}
	return json.Marshal(cdk.Context)
}

// functionDirs are the folders under functions/ with a main.go.
func functionDirs(root string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range matches {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names, nil
}

// synthInputsHash hashes every input of the local synth.
func synthInputsHash(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}|{{join .GoFiles \",\"}}|{{join .EmbedFiles \",\"}}{{end}}", "./infra")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("localstack: list the CDK app's packages: %v", err)
	}
	files := []string{"go.mod", "go.sum", "cdk.json", "program.json"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			continue
		}
		rel, err := filepath.Rel(root, parts[0])
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module dependency: go.sum pins it
		}
		for _, list := range parts[1:] {
			for _, f := range strings.Split(list, ",") {
				if f != "" {
					files = append(files, filepath.Join(rel, f))
				}
			}
		}
	}
	functions, err := functionDirs(root)
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "local-synth v1 stage=%s functions=%v\n", Stage, functions)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", fmt.Errorf("localstack: synth input: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
