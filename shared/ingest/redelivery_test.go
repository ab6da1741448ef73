package ingest_test

import (
	"fmt"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// TestRedeliveredPurchaseIsAReadNotAWrite: the queue delivers a credited
// purchase again (ApproximateReceiveCount 2, as SQS sets it after a
// visibility timeout): the handler answers it as a duplicate from one read
// and sends no transaction; a purchase redelivered that was never credited
// (its first receive failed before the write) is credited once, in one
// transaction after that read. A duplicate with receive count 1 (a copy
// the partner sent again) still costs its cancelled transaction, no read.
func TestRedeliveredPurchaseIsAReadNotAWrite(t *testing.T) {
	cc := &dynamotest.Counting{Client: localDynamo(t).Client()}
	f := newFixture(t, cc)
	body := func(event string, minor int) string {
		return fmt.Sprintf(`{"type":"purchase.completed","version":1,"partnerId":"demo-coffee-berlin","eventId":%q,"memberRef":"member-0001","occurredAt":"2026-03-12T10:00:00Z","currency":"EUR","amountMinor":%d}`, event, minor)
	}
	for _, step := range []struct {
		what                  string
		event                 string
		receives              int
		transactions, batches int64
		balance               loyalty.Points
	}{
		{"first delivery", "rd-1", 1, 2, 1, 24}, // a new member: a quick credit that finds no account, the read, the planned write
		{"redelivery of a credited purchase", "rd-1", 2, 0, 1, 24},
		{"the partner's copy of it", "rd-1", 1, 1, 0, 24},
		{"redelivery of a purchase never credited", "rd-2", 2, 1, 1, 48},
	} {
		t0, b0 := cc.Transactions.Load(), cc.BatchGets.Load()
		if failed := f.handle(t, batch(message(step.what, body(step.event, 2450), step.receives))); len(failed) != 0 {
			t.Fatalf("%s: got failures %v", step.what, failed)
		}
		tx, bg := cc.Transactions.Load()-t0, cc.BatchGets.Load()-b0
		t.Logf("%s: %d transactions, %d BatchGetItem", step.what, tx, bg)
		if tx != step.transactions || bg != step.batches {
			t.Errorf("%s: %d transactions and %d BatchGetItem, want %d and %d", step.what, tx, bg, step.transactions, step.batches)
		}
		if got := f.balance(t, "member-0001"); got != step.balance {
			t.Errorf("%s: balance %d, want %d", step.what, got, step.balance)
		}
	}
}
