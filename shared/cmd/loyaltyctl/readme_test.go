package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/tail"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// The README's story is tested: every fenced block opened with
// "```sh readme-test" is run, step by step, against a local stack that
// `make run` starts on free ports in a copy of the repository, as a
// newcomer would on a fresh clone. A step is the shell lines up to its
// expected output: the lines that follow it and start with "#   " (a hash and
// three spaces). Each such line is a pattern: "..." stands for anything, text
// after three spaces in a row is a remark, and the rest must appear in the
// step's standard output, in order. A step without expected output must
// exit 0. The README's ports (127.0.0.1:3000, 3001, 3002) are replaced, in
// the commands and the expected output, by the ones the stack took, as the
// banner of `make run PORT=...` prints them.

const readmeMarker = "```sh readme-test"

// readmeStep is one step of a tested block.
type readmeStep struct {
	line   int      // the README line the step starts on
	script []string // shell lines
	want   []string // expected output patterns, in order
}

// readmeSteps returns the steps of every tested block of the README text.
func readmeSteps(text string) ([][]readmeStep, error) {
	var (
		blocks [][]readmeStep
		cur    []readmeStep
		step   readmeStep
		in     bool
	)
	flush := func() {
		if len(step.script) > 0 || len(step.want) > 0 {
			cur = append(cur, step)
		}
		step = readmeStep{}
	}
	for i, line := range strings.Split(text, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == readmeMarker:
			in = true
		case !in:
		case strings.HasPrefix(line, "```"):
			flush()
			blocks = append(blocks, cur)
			cur, in = nil, false
		case strings.HasPrefix(line, "#   "):
			if len(step.script) == 0 {
				return nil, fmt.Errorf("README.md:%d: expected output with no command before it", i+1)
			}
			step.want = append(step.want, strings.TrimPrefix(line, "#   "))
		default:
			if len(step.want) > 0 {
				flush()
			}
			if len(step.script) == 0 {
				step.line = i + 1
			}
			step.script = append(step.script, line)
		}
	}
	if in {
		return nil, fmt.Errorf("README.md: a %q block is not closed", readmeMarker)
	}
	return blocks, nil
}

// matchOutput reports whether out holds every pattern of want, in order;
// the error names the first pattern that is missing.
func matchOutput(out string, want []string) error {
	rest := out
	for _, w := range want {
		if cut := strings.Index(w, "   "); cut >= 0 {
			w = w[:cut] // the remark after the pattern
		}
		for _, frag := range strings.Split(w, "...") {
			if frag == "" {
				continue
			}
			at := strings.Index(rest, frag)
			if at < 0 {
				return fmt.Errorf("want %q (of %q) in the output after what matched before", frag, w)
			}
			rest = rest[at+len(frag):]
		}
	}
	return nil
}

func TestReadmeParsingAndMatching(t *testing.T) {
	// GIVEN the README as committed
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeSteps(string(text))
	if err != nil {
		t.Fatal(err)
	}
	// THEN it has a tested story, and every step but the variable
	// assignments says what it prints
	steps := 0
	for _, b := range blocks {
		for _, s := range b {
			steps++
			if len(s.want) == 0 && !strings.HasPrefix(strings.TrimSpace(s.script[len(s.script)-1]), "export ") {
				t.Errorf("README.md:%d: a tested step with no expected output (add a line starting with %q)", s.line, "#   ")
			}
		}
	}
	if len(blocks) == 0 || steps < 6 {
		t.Fatalf("README.md: got %d tested blocks with %d steps, want the story of The two commands under test", len(blocks), steps)
	}
	// AND the matcher tells a drifted answer from the documented one
	out := `200 {"memberId":"demo-member","balance":247,"stampCards":[{"id":"coffee-card","stamps":1}]}`
	if err := matchOutput(out, []string{`200 {"memberId":"demo-member",...,"stamps":1...}   a remark`}); err != nil {
		t.Errorf("a matching answer: %v", err)
	}
	for _, drift := range []string{`{"balance":248,...}`, `{"stamps":1,...,"memberId"...}`, `404 ...`} {
		if err := matchOutput(out, []string{drift}); err == nil {
			t.Errorf("pattern %s matched %s: want a mismatch", drift, out)
		}
	}
}

func TestReadmeExamplesRunAgainstAFreshStack(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeSteps(string(text))
	if err != nil {
		t.Fatal(err)
	}

	// GIVEN a copy of the repository, as a fresh clone has it, and `make run`
	// on three free ports
	clone := copyRepository(t, root)
	ports := freePorts(t, 3)
	api, jobs, sqs := ports[0], ports[1], ports[2]
	run := exec.Command("make", "run", fmt.Sprintf("PORT=%d", api), fmt.Sprintf("JOBS_PORT=%d", jobs), fmt.Sprintf("SQS_PORT=%d", sqs))
	run.Dir = clone
	run.Env = readmeEnv(root)
	log := &tail.Buffer{Max: 64 << 10} // read while make run writes
	run.Stdout, run.Stderr = log, log
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGINT) // Ctrl-C, as the README says
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	waitForState(t, filepath.Join(clone, ".cache", localstate.FileName), exited, log)

	// WHEN every step of every tested block runs in one shell session
	env := filepath.Join(t.TempDir(), "env.sh")
	if err := os.WriteFile(env, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	replace := strings.NewReplacer("127.0.0.1:3000", fmt.Sprintf("127.0.0.1:%d", api),
		"127.0.0.1:3001", fmt.Sprintf("127.0.0.1:%d", jobs), "127.0.0.1:3002", fmt.Sprintf("127.0.0.1:%d", sqs))
	for _, b := range blocks {
		for _, s := range b {
			script := "set -euo pipefail\nsource " + env + "\n" + replace.Replace(strings.Join(s.script, "\n")) + "\nexport -p > " + env + "\n"
			// THEN each prints what the README says it prints. The story goes
			// through a queue, so a step is tried again for a while before it
			// fails; each step is safe to repeat (an event id, an
			// Idempotency-Key, a read).
			var out, errOut bytes.Buffer
			deadline := time.Now().Add(20 * time.Second)
			for {
				out.Reset()
				errOut.Reset()
				sh := exec.Command("bash", "-c", script)
				sh.Dir = clone
				sh.Env = readmeEnv(root)
				sh.Stdout, sh.Stderr = &out, &errOut
				err := sh.Run()
				if err == nil {
					err = matchOutput(out.String(), replaceAll(replace, s.want))
				}
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("README.md:%d: %v\nstep:\n%s\nstdout:\n%s\nstderr:\n%s", s.line, err, strings.Join(s.script, "\n"), out.String(), errOut.String())
				}
				time.Sleep(time.Second)
			}
		}
	}
}

func replaceAll(r *strings.Replacer, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = r.Replace(l)
	}
	return out
}

// readmeEnv is the environment of `make run` and of the README's steps: this
// process's, with DynamoDB Local taken from the repository's own cache so the
// copy does not fetch it again.
func readmeEnv(root string) []string {
	return append(os.Environ(), "LOYALTY_CACHE_DIR="+filepath.Join(root, ".cache"), "GOTOOLCHAIN=auto")
}

// copyRepository copies what a clone holds (no .git, no caches, no build
// output) into a temporary folder and returns it. node_modules is linked,
// not copied: it is installed by the project's own commands.
func copyRepository(t *testing.T, root string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	skip := map[string]bool{".git": true, ".cache": true, "node_modules": true, "dist": true, "cdk.out": true}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && skip[rel] {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy the repository: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules")); err == nil {
		if err := os.Symlink(filepath.Join(root, "node_modules"), filepath.Join(dst, "node_modules")); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// freePorts returns n distinct loopback ports that are free now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// waitForState waits until the stack wrote its state file and answers, or
// fails with the stack's output when it exits or takes too long.
func waitForState(t *testing.T, path string, exited <-chan error, log *tail.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for {
		if s, err := localstate.Read(path); err == nil && s.Check(path) == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("make run exited before the stack was up: %v\n%s", err, log.String())
		case <-ctx.Done():
			t.Fatalf("make run: no stack after 8 minutes\n%s", log.String())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
