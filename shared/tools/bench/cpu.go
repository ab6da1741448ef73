package bench

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// CPURow is one handler benchmark with DynamoDB answered by a recording.
type CPURow struct {
	Name    string
	Stub    string // "client" (dynamo.Client stub) or "wire" (real SDK, HTTP answered from a recording)
	PerUnit int    // messages per invocation (ns and allocs are per message)
	CPUNs   Sample // CPU time (user + system, every thread of the process) per message or request, one value per repetition
	NsPerOp Sample // wall time per message or request; below CPUNs when the handler runs messages in parallel
	Allocs  Sample
	Bytes   Sample
	Target  bool // the target (<= 100 µs, <= 500 allocations) applies
}

type cpuCase struct {
	name    string
	perUnit int
	target  bool
	// prepare runs the operation once for real on w and returns the
	// invocation to repeat against the recording.
	prepare func(ctx context.Context, w *world) (func(ctx context.Context, w *world) error, error)
}

// cpu runs figure 6. Each case runs once against DynamoDB Local through a
// recorder (at the store's client, and at the SDK's HTTP transport), then
// repeatedly against the recording: with the client stub the benchmark
// measures the handler, the domain and the store; with the wire stub it
// also measures the SDK's marshalling, signing and parsing, which the
// function pays in Lambda too.
func (l *lab) cpu(ctx context.Context, reps int) ([]CPURow, error) {
	table, err := l.newTable(ctx, "cpu")
	if err != nil {
		return nil, err
	}
	seed, err := l.newWorld(table, l.ddb, loyalty.SystemClock{})
	if err != nil {
		return nil, err
	}
	if err := seed.store.PutReward(ctx, loyalty.Reward{ID: benchReward, Name: "Bench coffee", Kind: loyalty.RewardFreeProduct,
		Cost: benchCost, Active: true, ValidDays: 30}); err != nil {
		return nil, err
	}
	redemption, err := loadAPITemplate(l.root, "create-redemption.json")
	if err != nil {
		return nil, err
	}
	getMe, err := loadAPITemplate(l.root, "get-me.json")
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	run := strconv.FormatInt(now.Unix()%100000, 36)
	var members []string
	for i := range BatchSize {
		members = append(members, fmt.Sprintf("cpu%s-%d", run, i))
	}
	var bodies [][]byte
	for i, m := range members {
		bodies = append(bodies, purchaseBody(purchase{partnerID: benchPartner, eventID: fmt.Sprintf("seed-%d", i), member: m, at: now, basket: plainBasket}))
	}
	if failed, err := seed.runIngest(ctx, sqsPayload(bodies, 1)); err != nil || failed > 0 {
		return nil, fmt.Errorf("seed the cpu members: %d failed, %v", failed, err)
	}
	batch := func(b basket, tag string) func(ctx context.Context, w *world) (func(ctx context.Context, w *world) error, error) {
		return func(ctx context.Context, w *world) (func(ctx context.Context, w *world) error, error) {
			var bodies [][]byte
			for i, m := range members {
				bodies = append(bodies, purchaseBody(purchase{partnerID: benchPartner, eventID: fmt.Sprintf("%s-%d-%d", tag, time.Now().UnixNano(), i),
					member: m, at: now, basket: b}))
			}
			payload := sqsPayload(bodies, 1)
			once := func(ctx context.Context, w *world) error {
				failed, err := w.runIngest(ctx, payload)
				if err == nil && failed > 0 {
					err = fmt.Errorf("%d messages failed", failed)
				}
				return err
			}
			return once, once(ctx, w)
		}
	}
	api := func(t *apiTemplate, body []byte, want int) func(ctx context.Context, w *world) (func(ctx context.Context, w *world) error, error) {
		return func(ctx context.Context, w *world) (func(ctx context.Context, w *world) error, error) {
			payload := t.payload(members[0], fmt.Sprintf("cpu-%d", time.Now().UnixNano()), body)
			once := func(ctx context.Context, w *world) error {
				status, err := w.runAPI(ctx, payload)
				if err == nil && status != want {
					err = fmt.Errorf("status %d, want %d", status, want)
				}
				return err
			}
			return once, once(ctx, w)
		}
	}
	cases := []cpuCase{
		{"SQS batch of 10 plain purchases (" + plainBasket.String() + ")", BatchSize, true, batch(plainBasket, "plain")},
		{"SQS batch of 10 coffee purchases (" + coffeeBasket.String() + ")", BatchSize, true, batch(coffeeBasket, "coffee")},
		{"POST /v1/me/redemptions", 1, false, api(redemption, redeemBody(), 201)},
		{"GET /v1/me", 1, false, api(getMe, nil, 200)},
	}
	type prepared struct {
		row  *CPURow
		w    *world
		once func(ctx context.Context, w *world) error
	}
	var rows []CPURow
	var benches []prepared
	for _, c := range cases {
		// The client stub: record at the store's client.
		rec := NewRecorder(l.ddb)
		w, err := l.newCPUWorld(table, rec)
		if err != nil {
			return nil, err
		}
		once, err := c.prepare(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		sw, err := l.newCPUWorld(table, rec.Stub())
		if err != nil {
			return nil, err
		}
		rows = append(rows, CPURow{Name: c.name, Stub: "client", PerUnit: c.perUnit, Target: c.target})
		benches = append(benches, prepared{w: sw, once: once})

		// The wire stub: record at the SDK's transport.
		wrec := newWireRecorder(realTransport())
		w, err = l.newCPUWorld(table, newDynamoClient(l.endpoint, wrec))
		if err != nil {
			return nil, err
		}
		once, err = c.prepare(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		sw, err = l.newCPUWorld(table, newDynamoClient(l.endpoint, wrec.stub()))
		if err != nil {
			return nil, err
		}
		rows = append(rows, CPURow{Name: c.name, Stub: "wire", PerUnit: c.perUnit, Target: c.target})
		benches = append(benches, prepared{w: sw, once: once})
	}
	for i := range benches {
		benches[i].row = &rows[i]
		if err := benches[i].once(ctx, benches[i].w); err != nil { // the recording answers as DynamoDB did
			return nil, fmt.Errorf("%s (%s stub): %w", rows[i].Name, rows[i].Stub, err)
		}
	}
	for range reps {
		for _, b := range benches {
			var (
				failure error
				cpu     time.Duration // of the last (the reported) run of the function
			)
			r := testing.Benchmark(func(tb *testing.B) {
				tb.ReportAllocs()
				before := processCPU()
				for tb.Loop() {
					if err := b.once(ctx, b.w); err != nil && failure == nil {
						failure = err
					}
				}
				cpu = (processCPU() - before) / time.Duration(tb.N)
			})
			if failure != nil {
				return nil, fmt.Errorf("%s (%s stub): %w", b.row.Name, b.row.Stub, failure)
			}
			n := float64(b.row.PerUnit)
			b.row.CPUNs = append(b.row.CPUNs, float64(cpu)/n)
			b.row.NsPerOp = append(b.row.NsPerOp, float64(r.NsPerOp())/n)
			b.row.Allocs = append(b.row.Allocs, float64(r.AllocsPerOp())/n)
			b.row.Bytes = append(b.row.Bytes, float64(r.AllocedBytesPerOp())/n)
		}
	}
	for _, r := range rows {
		l.logf("cpu %s (%s stub): %s ns CPU, %s ns wall, %s allocs per unit", r.Name, r.Stub, r.CPUNs.Format("%.0f"), r.NsPerOp.Format("%.0f"), r.Allocs.Format("%.0f"))
	}
	return rows, nil
}

// newCPUWorld wires the engine as the functions do, the ingest handler
// with its deployed concurrency.
func (l *lab) newCPUWorld(table string, client dynamo.Client) (*world, error) {
	st := dynamo.New(client, table)
	svc := &loyalty.Service{Store: st, Referrals: st, Program: l.program, Clock: loyalty.SystemClock{}}
	in, err := newIngestPath(svc, st, 0)
	if err != nil {
		return nil, err
	}
	return &world{table: table, store: st, svc: svc, ingest: in,
		member: httpapi.NewMemberAPI(svc, st, discardLogger())}, nil
}

// processCPU is the CPU time the process has used so far, user and system,
// all threads (the garbage collector's included).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
