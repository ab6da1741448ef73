package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/spec/gogc"
)

// BenchmarkIngestBatch is figure 6's client-stub invocation as a Go
// benchmark, with the ingest function's collector settings, for
// profiling: go test -run '^$' -bench IngestBatch -cpuprofile cpu.out
// ./shared/tools/bench
func BenchmarkIngestBatch(b *testing.B) {
	ctx := context.Background()
	l := testLab(b)
	mem, err := functionMemory(l.root)
	if err != nil {
		b.Fatal(err)
	}
	defer gogc.Apply(int(mem["ingest"]))() // as figure 6 runs (bench.Run)
	table, err := l.newTable(ctx, "cpu")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	var members []string
	for i := range BatchSize {
		members = append(members, fmt.Sprintf("bm-%d", i))
	}
	seed, err := l.newWorld(table, l.ddb, loyalty.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	var first [][]byte
	for i, m := range members {
		first = append(first, purchaseBody(purchase{partnerID: benchPartner, eventID: fmt.Sprintf("seed-%d", i), member: m, at: now, basket: plainBasket}))
	}
	if failed, err := seed.runIngest(ctx, sqsPayload(first, 1)); err != nil || failed > 0 {
		b.Fatalf("seed: %d failed, %v", failed, err)
	}
	for _, k := range []struct {
		name   string
		basket basket
	}{{"plain", plainBasket}, {"coffee", coffeeBasket}} {
		var bodies [][]byte
		for i, m := range members {
			bodies = append(bodies, purchaseBody(purchase{partnerID: benchPartner, eventID: fmt.Sprintf("%s-%d", k.name, i), member: m, at: now, basket: k.basket}))
		}
		payload := sqsPayload(bodies, 1)
		rec := NewRecorder(l.ddb)
		w, err := l.newCPUWorld(table, rec)
		if err != nil {
			b.Fatal(err)
		}
		if failed, err := w.runIngest(ctx, payload); err != nil || failed > 0 {
			b.Fatalf("record: %d failed, %v", failed, err)
		}
		sw, err := l.newCPUWorld(table, rec.Stub())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if failed, err := sw.runIngest(ctx, payload); err != nil || failed > 0 {
					b.Fatalf("%d failed, %v", failed, err)
				}
			}
		})
	}
}
