package bench

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

// helloPackage is the hello-world aws-lambda-go function the init times are
// compared with.
const helloPackage = "./shared/cmd/bench/hello"

// BinaryRow is one function's bootstrap: its size for Lambda (linux/arm64)
// and its init time on this machine (host build).
type BinaryRow struct {
	Name       string
	Bytes      int64   // linux/arm64 bootstrap
	Init       Sample  // milliseconds until the first /next, host build
	InitRatio  float64 // median over the hello world's median
	InitError  string
	BuildError string
}

// Binaries is figure 5.
type Binaries struct {
	Flags []string // the Makefile's build flags
	Host  string   // GOOS/GOARCH of the init builds
	Hello BinaryRow
	Rows  []BinaryRow
}

// lambdaFlags reads GOFLAGS_LAMBDA from the Makefile, so the bench builds
// exactly as `make build` does.
func lambdaFlags(root string) ([]string, error) {
	f, err := os.Open(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":=")
		if ok && strings.TrimSpace(name) == "GOFLAGS_LAMBDA" {
			return splitShell(strings.TrimSpace(value))
		}
	}
	return nil, fmt.Errorf("no GOFLAGS_LAMBDA in %s", f.Name())
}

// splitShell splits words as a shell does for the simple quoting a Makefile
// variable uses: blanks separate words, double or single quotes group.
func splitShell(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unbalanced quote in %q", s)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// functionNames lists functions/<name>/main.go, as the Makefile does.
func functionNames(root string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	slices.Sort(names)
	return names, nil
}

func goBuild(ctx context.Context, root, goos, goarch string, flags []string, pkg, out string) error {
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// binaries builds every function and the hello world for linux/arm64 (size)
// and for this machine (init), then starts each host build initRuns times
// against the Runtime API host, rotating the order every round so that
// the machine's noise falls on all of them alike.
func (l *lab) binaries(ctx context.Context, only []string, initRuns int) (Binaries, error) {
	var res Binaries
	flags, err := lambdaFlags(l.root)
	if err != nil {
		return res, err
	}
	res.Flags, res.Host = flags, runtime.GOOS+"/"+runtime.GOARCH
	names, err := functionNames(l.root)
	if err != nil {
		return res, err
	}
	if len(only) > 0 {
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(only, n) })
	}
	dir, err := os.MkdirTemp("", "loyalty-bench-bin-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	type target struct {
		row  *BinaryRow
		pkg  string
		host string
		env  map[string]string
	}
	res.Hello = BinaryRow{Name: "hello world (aws-lambda-go)"}
	res.Rows = make([]BinaryRow, len(names))
	targets := []target{{row: &res.Hello, pkg: helloPackage}}
	for i, n := range names {
		res.Rows[i] = BinaryRow{Name: n}
		targets = append(targets, target{row: &res.Rows[i], pkg: "./functions/" + n})
	}
	for i := range targets {
		t := &targets[i]
		arm := filepath.Join(dir, "arm64", fmt.Sprint(i), "bootstrap")
		t.host = filepath.Join(dir, "host", fmt.Sprint(i), "bootstrap")
		if err := goBuild(ctx, l.root, "linux", "arm64", flags, t.pkg, arm); err != nil {
			t.row.BuildError = err.Error()
			continue
		}
		st, err := os.Stat(arm)
		if err != nil {
			return res, err
		}
		t.row.Bytes = st.Size()
		if err := goBuild(ctx, l.root, runtime.GOOS, runtime.GOARCH, flags, t.pkg, t.host); err != nil {
			t.row.BuildError = err.Error()
		}
		l.logf("built %s: %d bytes for linux/arm64", t.row.Name, t.row.Bytes)
	}
	// What a function's init reads (shared/config, the jobs' event bus);
	// init contacts neither DynamoDB nor EventBridge.
	secret, err := benchCodeSecret() // till.go: member-api and ingest read the code secret at init
	if err != nil {
		return res, err
	}
	env := map[string]string{"TABLE_NAME": "bench-init", "PROGRAM_FILE": filepath.Join(l.root, "program.json"),
		"DYNAMODB_ENDPOINT": l.endpoint, "EVENT_BUS_NAME": "bench-bus", "STAGE": benchStage, "LOG_LEVEL": "info", "CODE_SECRET_FILE": secret}
	// Each with its function's memory and the collector's settings its
	// template gives it (package gogc); hello world as a function of the
	// smallest size.
	for i := range targets {
		t := &targets[i]
		mb := l.memory[t.row.Name]
		if mb == 0 {
			mb = 256
		}
		t.env = maps.Clone(env)
		maps.Copy(t.env, gogc.Env(int(mb)))
		t.env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = strconv.Itoa(int(mb))
	}
	for run := range initRuns {
		for k := range targets {
			t := &targets[(k+run)%len(targets)]
			if t.row.BuildError != "" || t.row.InitError != "" {
				continue
			}
			d, err := runtimeapi.MeasureInit(ctx, t.host, t.env)
			if err != nil {
				t.row.InitError = err.Error()
				continue
			}
			t.row.Init = append(t.row.Init, float64(d)/float64(time.Millisecond))
		}
	}
	hello := res.Hello.Init.Median()
	for i := range res.Rows {
		if len(res.Rows[i].Init) > 0 {
			res.Rows[i].InitRatio = res.Rows[i].Init.Median() / hello
		}
		l.logf("init %s: %s ms, %.2fx hello world (%s ms)", res.Rows[i].Name, res.Rows[i].Init.Format("%.1f"), res.Rows[i].InitRatio, res.Hello.Init.Format("%.1f"))
	}
	return res, nil
}
