package bench

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

// TestTinyRun runs every figure at a toy size so the harness stays
// compiled and correct. It asserts what is deterministic (units, counts,
// that nothing failed), never a timing.
func TestTinyRun(t *testing.T) {
	setBenchtime(t, "20x")
	opts := Options{Rounds: 1, Segment: 200 * time.Millisecond, Levels: []int{1, 4}, Members: 20, InitRuns: 1,
		Functions: []string{"member-api"}, CPUReps: 1, ExpirySizes: []int{100, 300}, ExpiryDue: 20, Logf: t.Logf}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}

	// A plain or coffee accrual is one transaction of two small items, a
	// duplicate the partner sent again a cancelled one, a duplicate SQS
	// delivered again one read, a redemption a read and a write: units
	// and requests that do not depend on the machine.
	for _, row := range rep.Capacity {
		plain := strings.Contains(row.Op, plainBasket.String()) || strings.Contains(row.Op, totalOnly.String())
		coffee := strings.Contains(row.Op, coffeeBasket.String())
		if (plain || coffee) && (row.Counts.BilledWrite-row.Counts.BilledIndexWrite != 4 || row.Counts.BilledIndexWrite != 1) {
			t.Errorf("%s: got %.2f WRU billed (%.2f of them index), want 4 for the table (two small items, transactional) and 1 for the history index",
				row.Op, row.Counts.BilledWrite, row.Counts.BilledIndexWrite)
		}
		if (plain || coffee) && (row.Counts.Transact != 1 || row.Counts.Requests() != 1) {
			t.Errorf("%s: got %s, want 1 TransactWriteItems", row.Op, row.Requests())
		}
		if strings.HasPrefix(row.Op, "duplicate sent again") && (row.Counts.BilledWrite != 2 || row.Counts.Requests() != 1) {
			t.Errorf("%s: got %.2f WRU billed and %s, want 2 (the prepare phase of two small items) in 1 TransactWriteItems", row.Op, row.Counts.BilledWrite, row.Requests())
		}
		if strings.HasPrefix(row.Op, "duplicate delivery") && (row.Counts.BilledWrite != 0 || row.Counts.BilledRead != 1 || row.Counts.BatchGet != 1 || row.Counts.Requests() != 1) {
			t.Errorf("%s: got %.2f WRU and %.2f RRU billed and %s, want 0 and 1 (two small items read eventually consistent) in 1 BatchGetItem", row.Op, row.Counts.BilledWrite, row.Counts.BilledRead, row.Requests())
		}
		if row.Op == "redemption" && row.Counts.Requests() != 2 {
			t.Errorf("redemption: got %s, want 2 requests (a read, a write)", row.Requests())
		}
	}
	if len(rep.Capacity) != 9 {
		t.Errorf("got %d capacity rows, want 9", len(rep.Capacity))
	}
	for _, rows := range [][]RatioRow{rep.Accrual, rep.Redemption} {
		for _, row := range rows {
			if row.Errors != 0 || len(row.Ratio) != opts.Rounds {
				t.Errorf("%s, %d callers: got %d errors (%s) and %d rounds, want 0 and %d", row.Kind, row.Concurrency, row.Errors, row.FirstError, len(row.Ratio), opts.Rounds)
			}
		}
	}
	if got, want := len(rep.Accrual), 2*len(opts.Levels); got != want {
		t.Errorf("got %d accrual rows, want %d", got, want)
	}
	if got, want := len(rep.CoffeeOwn), len(opts.Levels); got != want {
		t.Errorf("got %d rows of coffee against its own bare transaction, want %d", got, want)
	}
	for _, row := range rep.CoffeeOwn {
		if row.Errors != 0 || len(row.Ratio) != opts.Rounds {
			t.Errorf("%s, %d callers: got %d errors (%s) and %d rounds, want 0 and %d", row.Kind, row.Concurrency, row.Errors, row.FirstError, len(row.Ratio), opts.Rounds)
		}
	}
	// Under contention the store may give up on a redemption (a 503 the
	// client retries): a result, not a failure of the harness.
	for _, c := range rep.Contention {
		if c.Redemptions == 0 {
			t.Errorf("contention %d on %d: got no redemption (%d errors, first %s)", c.Clients, c.Members, c.Errors, c.FirstError)
		}
	}
	for _, row := range rep.Cost {
		if row.Total() <= 0 {
			t.Errorf("%s: got cost %.4f, want > 0", row.Op, row.Total())
		}
	}
	if len(rep.Binaries.Rows) != 1 || rep.Binaries.Rows[0].Bytes == 0 || rep.Binaries.Rows[0].BuildError != "" || rep.Binaries.Rows[0].InitError != "" {
		t.Errorf("binaries: got %+v, want member-api built and started", rep.Binaries.Rows)
	}
	if len(rep.CPU) != 8 {
		t.Errorf("got %d cpu rows, want 8", len(rep.CPU))
	}
	for _, row := range rep.Expiry.Rows {
		if row.Expired != row.Due || row.Counts.Scan != 0 {
			t.Errorf("expiry on %d members: got %d expired and %d scans, want %d and 0", row.Members, row.Expired, row.Counts.Scan, row.Due)
		}
	}
	md := rep.Markdown()
	for _, h := range []string{"## Summary", "## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7.", "list prices as of"} {
		if !strings.Contains(md, h) {
			t.Errorf("the report lacks %q", h)
		}
	}
}

// setBenchtime shortens testing.Benchmark for the test and restores it.
func setBenchtime(tb testing.TB, v string) {
	tb.Helper()
	f := flag.Lookup("test.benchtime")
	if f == nil {
		tb.Fatal("no test.benchtime flag")
		return
	}
	old := f.Value.String()
	if err := f.Value.Set(v); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = f.Value.Set(old) })
}
