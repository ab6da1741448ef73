package bench

import (
	"context"
	"testing"
)

// Figure 8 on DynamoDB Local at a toy size: what is deterministic (the
// requests each way of naming the member makes), never a timing.
func TestTillFigure(t *testing.T) {
	defer func(n int) { tillRounds = n }(tillRounds)
	tillRounds = 3
	ctx := context.Background()
	l := testLab(t)
	fig, err := l.till(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fig.Rows) != 4 || fig.Bare <= 0 {
		t.Fatalf("got %d rows and bare %v, want 4 and a timing", len(fig.Rows), fig.Bare)
	}
	for _, row := range fig.Rows {
		t.Logf("%s: %s, %.1f RCU, %.1f WCU, median %v (bare %v)", row.Kind, (CapacityRow{Counts: row.Counts}).Requests(), row.Counts.BilledRead, row.Counts.BilledWrite, row.Median, fig.Bare)
	}
	byID, card, qr, short := fig.Rows[0].Counts, fig.Rows[1].Counts, fig.Rows[2].Counts, fig.Rows[3].Counts
	for _, row := range fig.Rows {
		if row.Counts.Transact != 1 || row.Counts.TransactCancelled != 0 || row.Counts.Update != 0 {
			t.Errorf("%s: got %d transactions (%d cancelled), %d updates, want one transaction that commits and no rejection",
				row.Kind, row.Counts.Transact, row.Counts.TransactCancelled, row.Counts.Update)
		}
	}
	// A member's own card costs the GetItem of the card, nothing more: only
	// a printed card's purchase also reads its key under the card's
	// anonymous account (loyalty.Service.Accrue).
	if got, want := card.Requests(), byID.Requests()+1; got != want || card.Get != byID.Get+1 {
		t.Errorf("by card: got %d requests (%d GetItem), want the member id's %d and one GetItem of the card", got, card.Get, byID.Requests())
	}
	if qr.Get != 0 || qr.BatchGet != 0 || qr.TransactItems != 3 {
		t.Errorf("by QR code: got %d GetItem, %d BatchGetItem, %d transaction items; want no lookup, no read and the code's use in the one transaction",
			qr.Get, qr.BatchGet, qr.TransactItems)
	}
	if short.BatchGet != qr.BatchGet+1 || short.TransactItems != 3 {
		t.Errorf("by short code: got %d BatchGetItem, %d transaction items; want one more read than the QR code (the code and the misses)", short.BatchGet, short.TransactItems)
	}
}
