package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// CapacityRow is what one operation cost, averaged over several members, as
// DynamoDB reported it in ConsumedCapacity.
type CapacityRow struct {
	Op          string
	Path        string // which code ran it
	Counts      Counts // the mean per operation (counts are whole numbers in practice)
	N           int
	WriteTarget float64 // 0 when there is none
}

// Requests describes the DynamoDB calls of the operation, e.g.
// "1 TransactWriteItems (2 items)".
func (r CapacityRow) Requests() string {
	c := r.Counts
	s := ""
	add := func(n int64, what string) {
		if n == 0 {
			return
		}
		if s != "" {
			s += " + "
		}
		s += strconv.FormatInt(n, 10) + " " + what
	}
	add(c.BatchGet, "BatchGetItem")
	add(c.Get, "GetItem")
	add(c.Query, "Query")
	add(c.Scan, "Scan")
	add(c.Put, "PutItem")
	add(c.Update, "UpdateItem")
	if c.Transact > 0 {
		what := "TransactWriteItems"
		if c.TransactCancelled > 0 {
			what += fmt.Sprintf(" (%d cancelled)", c.TransactCancelled)
		}
		add(c.Transact, what)
	}
	return s
}

const capacityMembers = 3

// capacity runs figure 3: each operation on capacityMembers fresh members,
// through the path production uses, with the units read from a Meter.
func (l *lab) capacity(ctx context.Context) ([]CapacityRow, error) {
	table, err := l.newTable(ctx, "cap")
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	w, err := l.newWorld(table, l.ddb, loyalty.SystemClock{})
	if err != nil {
		return nil, err
	}
	// The expiry needs lots earned long ago: a second world on the same
	// table whose clock starts 14 months back.
	past := newSettableClock(now.AddDate(0, -14, 0))
	old, err := l.newWorld(table, l.ddb, past)
	if err != nil {
		return nil, err
	}
	w.meter.Bill()
	old.meter.Bill()
	if err := w.store.PutReward(ctx, loyalty.Reward{ID: benchReward, Name: "Bench coffee", Kind: loyalty.RewardFreeProduct,
		Cost: benchCost, Active: true, ValidDays: 30}); err != nil {
		return nil, err
	}
	redemption, err := loadAPITemplate(l.root, "create-redemption.json")
	if err != nil {
		return nil, err
	}
	run := strconv.FormatInt(time.Now().Unix()%100000, 36)
	member := func(i int) string { return fmt.Sprintf("cap%s-%d", run, i) }
	body := func(i int, event string, b basket) []byte {
		return purchaseBody(purchase{partnerID: benchPartner, eventID: event, member: member(i), at: now, basket: b})
	}
	ingestReceived := func(w *world, b []byte, receives int) func(context.Context) error {
		return func(ctx context.Context) error {
			before := w.meter.Counts()
			failed, err := w.runIngest(ctx, sqsPayloadReceived([][]byte{b}, 1, receives))
			if err == nil && failed > 0 {
				err = fmt.Errorf("the handler failed the message")
			}
			if err == nil && w.meter.Counts().Update > before.Update {
				err = fmt.Errorf("the handler rejected the message") // rejections are the ingest path's only UpdateItem
			}
			return err
		}
	}
	ingest := func(w *world, b []byte) func(context.Context) error { return ingestReceived(w, b, 1) }
	type op struct {
		name, path string
		target     float64
		run        func(i int) func(context.Context) error
	}
	ingestWhat := "ingest handler, batch of 1"
	ops := []op{
		{"first accrual (a new member)", ingestWhat, 0, func(i int) func(context.Context) error { return ingest(w, body(i, "a1", plainBasket)) }},
		{"accrual (" + plainBasket.String() + ")", ingestWhat, 4, func(i int) func(context.Context) error { return ingest(w, body(i, "a2", plainBasket)) }},
		{"accrual (" + totalOnly.String() + ")", ingestWhat, 4, func(i int) func(context.Context) error { return ingest(w, body(i, "a3", totalOnly)) }},
		{"accrual (" + coffeeBasket.String() + ")", ingestWhat, 6, func(i int) func(context.Context) error { return ingest(w, body(i, "a4", coffeeBasket)) }},
		// SQS delivers a message again after its visibility timeout (the
		// function wrote, then failed or timed out before the delete) with
		// a receive count above 1; a partner that sends a purchase again
		// makes a new message, received once.
		{"duplicate delivery (SQS redelivers the message: receive count 2)", ingestWhat, 1, func(i int) func(context.Context) error {
			return ingestReceived(w, body(i, "a2", plainBasket), 2)
		}},
		{"duplicate sent again by the partner (a new message: receive count 1)", ingestWhat, 1, func(i int) func(context.Context) error {
			return ingest(w, body(i, "a2", plainBasket))
		}},
		{"redemption", "member API, POST /v1/me/redemptions", 0, func(i int) func(context.Context) error {
			return func(ctx context.Context) error {
				status, err := w.runAPI(ctx, redemption.payload(member(i), "cap-redeem-"+strconv.Itoa(i), redeemBody()))
				if err == nil && status != 201 {
					err = fmt.Errorf("status %d", status)
				}
				return err
			}
		}},
		{"refund (whole purchase)", ingestWhat, 0, func(i int) func(context.Context) error {
			return ingest(w, refundBody(benchPartner, "rf-a3", member(i), "a3", now, 450))
		}},
		{"expiry (one due lot)", "Service.ExpireDueFrom with the due index's copy of the lots and the member's notification, as jobs.ExpirePoints calls it", 0,
			func(i int) func(context.Context) error {
				id := loyalty.MemberID("old" + member(i))
				acct, err := w.store.Account(ctx, id) // the lots the due index carries a copy of
				return func(ctx context.Context) error {
					if err != nil {
						return err
					}
					_, ok, read, err := w.svc.ExpireDueFrom(ctx, id, acct.Lots, l.program.Today(now), expiredNote(l.program, l.program.Today(now)))
					if err == nil && (!ok || read) {
						err = fmt.Errorf("expired %v, read the account %v; want expired without a read", ok, read)
					}
					return err
				}
			}},
	}
	// Members with a lot that expired before today, for the expiry row.
	for i := range capacityMembers {
		b := purchaseBody(purchase{partnerID: benchPartner, eventID: "old", member: "old" + member(i), at: past.Now(), basket: plainBasket})
		if err := ingest(old, b)(ctx); err != nil {
			return nil, fmt.Errorf("seed an old lot: %w", err)
		}
	}
	var rows []CapacityRow
	for _, o := range ops {
		var sum Counts
		for i := range capacityMembers {
			op := o.run(i)
			before := w.meter.Counts()
			if err := op(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", o.name, err)
			}
			sum = add(sum, w.meter.Counts().Sub(before))
		}
		rows = append(rows, CapacityRow{Op: o.name, Path: o.path, Counts: scale(sum, capacityMembers), N: capacityMembers, WriteTarget: o.target})
	}
	return rows, nil
}

func add(a, b Counts) Counts {
	var zero Counts
	return a.Sub(zero.Sub(b))
}

// scale divides the counts by n, rounding the whole-number ones.
func scale(c Counts, n int) Counts {
	d := func(v int64) int64 { return (v + int64(n)/2) / int64(n) }
	return Counts{Get: d(c.Get), BatchGet: d(c.BatchGet), Query: d(c.Query), Scan: d(c.Scan), Put: d(c.Put), Update: d(c.Update),
		Delete: d(c.Delete), Transact: d(c.Transact), ItemsRead: d(c.ItemsRead), ReadUnits: c.ReadUnits / float64(n),
		WriteUnits:     c.WriteUnits / float64(n),
		IndexReadUnits: c.IndexReadUnits / float64(n), IndexWriteUnits: c.IndexWriteUnits / float64(n), TransactCancelled: d(c.TransactCancelled), CancelledOnEntry: d(c.CancelledOnEntry),
		CancelledOnOther: d(c.CancelledOnOther), TransactItems: d(c.TransactItems),
		BilledRead: c.BilledRead / float64(n), BilledWrite: c.BilledWrite / float64(n), BilledIndexWrite: c.BilledIndexWrite / float64(n)}
}

// expiredNote is the notification the expiry job stores with each expiry,
// made as jobs.ExpirePoints makes it, so that the capacity of an expiry
// includes it.
func expiredNote(prog *loyalty.Program, day loyalty.Date) func(loyalty.Entry) loyalty.Notification {
	return func(e loyalty.Entry) loyalty.Notification {
		lots := make([]map[string]any, 0, len(e.Lots))
		for _, l := range e.Lots {
			lots = append(lots, map[string]any{"expires": string(l.Expires), "points": int64(-l.Points)})
		}
		pts := int64(-e.Delta)
		return loyalty.NewNotification(prog, e.MemberID, loyalty.NotePointsExpired, string(day), fmt.Sprintf("%d points expired", pts),
			map[string]any{"points": pts, "expiredBefore": string(day), "lots": lots, "entryKey": e.Key}, e.At)
	}
}
