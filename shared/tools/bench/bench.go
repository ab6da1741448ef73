package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

// Options sizes a run.
type Options struct {
	Quick       bool
	Rounds      int           // rounds of each side-by-side comparison
	Segment     time.Duration // how long one side runs per round
	Levels      []int         // caller concurrencies of the throughput figures
	Members     int           // members per side of the throughput figures
	InitRuns    int           // starts of each binary for the init times
	Functions   []string      // restrict figure 5 to these functions (all when empty)
	CPUReps     int           // repetitions of each handler benchmark
	ExpirySizes []int         // member counts of figure 7
	ExpiryDue   int           // members due on the job's day, at every size
	Logf        func(format string, args ...any)
	DynamoLogf  func(format string, args ...any) // DynamoDB Local's start and stop messages
}

// FullOptions is `make bench`: about a quarter of an hour on two cores.
func FullOptions() Options {
	return Options{Rounds: 20, Segment: 750 * time.Millisecond, Levels: []int{1, 8, 32}, Members: 1000, InitRuns: 20, CPUReps: 5,
		ExpirySizes: []int{1_000, 10_000, 100_000}, ExpiryDue: 500}
}

// QuickOptions is a smaller run of every figure, a few minutes.
func QuickOptions() Options {
	return Options{Quick: true, Rounds: 2, Segment: time.Second, Levels: []int{1, 8, 32}, Members: 200, InitRuns: 5, CPUReps: 2,
		ExpirySizes: []int{1_000, 10_000}, ExpiryDue: 100}
}

// Report is every figure of one run.
type Report struct {
	Options    Options
	Started    time.Time
	Took       time.Duration
	NumCPU     int
	GOMAXPROCS int
	GoVersion  string
	// GOGC and GOMEMLIMIT the bench ran with: the ingest function's
	// (package gogc).
	GOGC, GOMEMLIMIT string
	Commit           string
	Dirty            []string // paths with uncommitted changes when the run started
	LoadBefore       string   // /proc/loadavg when the run started and ended: how busy the machine was
	LoadAfter        string

	Accrual    []RatioRow
	CoffeeOwn  []RatioRow // coffee purchases against their own bare transaction (figure 1)
	Redemption []RatioRow
	Contention []ContentionRow
	Capacity   []CapacityRow
	Cost       []CostRow
	Prices     Prices
	Memory     map[string]float64
	Binaries   Binaries
	CPU        []CPURow
	Expiry     Expiry
	Till       TillFigure // till.go
}

// Run starts DynamoDB Local and measures every figure.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	root, err := dynamolocal.ModuleRoot()
	if err != nil {
		return nil, err
	}
	prog, err := loadProgram(root)
	if err != nil {
		return nil, err
	}
	mem, err := functionMemory(root)
	if err != nil {
		return nil, err
	}
	rep := &Report{Options: opts, Started: time.Now().UTC(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion: runtime.Version(), Prices: ListPrices, Memory: mem}
	rep.Commit, rep.Dirty = gitState(root)
	rep.LoadBefore = loadAverage()

	dl := opts.DynamoLogf
	if dl == nil {
		dl = opts.Logf
	}
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{Logf: dl})
	if err != nil {
		return nil, err
	}
	defer srv.Stop()
	l := &lab{root: root, program: prog, endpoint: srv.Endpoint, ddb: newDynamoClient(srv.Endpoint, nil), logf: opts.Logf, memory: mem}
	// The handlers run here with the collector's settings the functions
	// get (package gogc), for the ingest function's memory; the bare side
	// shares the process and the settings.
	if mem["ingest"] == 0 {
		return nil, fmt.Errorf("no memory size for the ingest function in infra/stacks/functions.go")
	}
	defer gogc.Apply(int(mem["ingest"]))()
	rep.GOGC, rep.GOMEMLIMIT = gogc.Env(int(mem["ingest"]))["GOGC"], gogc.Env(int(mem["ingest"]))["GOMEMLIMIT"]

	opts.Logf("figure 3: capacity per operation")
	if rep.Capacity, err = l.capacity(ctx); err != nil {
		return nil, fmt.Errorf("capacity: %w", err)
	}
	opts.Logf("figures 1 and 2: throughput (%d rounds of %s per side and concurrency)", opts.Rounds, opts.Segment)
	tp, err := l.newThroughput(ctx, opts.Members)
	if err != nil {
		return nil, fmt.Errorf("throughput: %w", err)
	}
	rep.Accrual, rep.CoffeeOwn = tp.accruals(ctx, opts.Levels, opts.Rounds, opts.Segment)
	rep.Redemption, rep.Contention = tp.redemptions(ctx, opts.Levels, opts.Rounds, opts.Segment)

	opts.Logf("figure 4: cost")
	rep.Cost = costs(rep, tp)

	opts.Logf("figure 6: handler CPU")
	if rep.CPU, err = l.cpu(ctx, opts.CPUReps); err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	opts.Logf("figure 5: binaries")
	if rep.Binaries, err = l.binaries(ctx, opts.Functions, opts.InitRuns); err != nil {
		return nil, fmt.Errorf("binaries: %w", err)
	}
	opts.Logf("figure 8: naming the member at the till")
	if rep.Till, err = l.till(ctx); err != nil {
		return nil, fmt.Errorf("till: %w", err)
	}
	opts.Logf("figure 7: expiry job scaling")
	if rep.Expiry, err = l.expiry(ctx, opts.ExpirySizes, opts.ExpiryDue); err != nil {
		return nil, fmt.Errorf("expiry: %w", err)
	}
	rep.Took = time.Since(rep.Started)
	rep.LoadAfter = loadAverage()
	return rep, nil
}

// costs computes figure 4 from figures 1 to 3.
func costs(rep *Report, tp *throughput) []CostRow {
	find := func(prefix string) (Counts, bool) {
		for _, r := range rep.Capacity {
			if strings.HasPrefix(r.Op, prefix) {
				return r.Counts, true
			}
		}
		return Counts{}, false
	}
	var rows []CostRow
	ingestMB, apiMB := rep.Memory["ingest"], rep.Memory["member-api"]
	if c, ok := find("accrual (" + plainBasket.String()); ok && len(tp.accrualSeconds) > 0 {
		rows = append(rows, accrualCost(rep.Prices, c, tp.accrualSeconds.Median()*BatchSize, ingestMB, BatchSize,
			"1M accruals via the partner queue ("+plainBasket.String()+")"))
	}
	if c, ok := find("accrual (" + coffeeBasket.String()); ok && len(tp.coffeeSeconds) > 0 {
		rows = append(rows, accrualCost(rep.Prices, c, tp.coffeeSeconds.Median()*BatchSize, ingestMB, BatchSize,
			"1M accruals via the partner queue ("+coffeeBasket.String()+")"))
	}
	if c, ok := find("redemption"); ok && len(tp.redeemSeconds) > 0 {
		rows = append(rows, redemptionCost(rep.Prices, c, tp.redeemSeconds.Median(), apiMB))
	}
	return rows
}

// gitState is the short commit and the paths with uncommitted changes.
func gitState(root string) (string, []string) {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown (not a git checkout)", nil
	}
	commit := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err != nil {
		return commit, nil
	}
	var dirty []string
	for _, line := range strings.Split(strings.TrimSpace(string(st)), "\n") {
		if len(line) > 3 {
			dirty = append(dirty, strings.TrimSpace(line[3:]))
		}
	}
	return commit, dirty
}

// loadAverage is the 1, 5 and 15 minute load averages, or "n/a".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}
