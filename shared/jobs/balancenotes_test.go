package jobs_test

import (
	"context"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
	"github.com/loyalty-functions/loyalty/shared/testkit/storecontract"
)

// The member API and the queue credit referral and feedback bonuses but may
// not publish; their notifications wait in the outbox on DynamoDB, and the
// next job run publishes each event once, however often the operations were
// replayed and the job runs.
func TestBalanceChangeEventsGoOutOnceFromTheOutbox(t *testing.T) {
	ctx := context.Background()
	db := local.Client(t)
	name := dynamotest.NewTable(t, db, "jobs-balance-notes")
	clk := &clock{now: storecontract.Start}
	prog := storecontract.Program(t, storecontract.ProgramJSON)
	st := dynamo.New(db, name)
	svc := storecontract.Service(st, prog, clk)
	svc.Inbox = st
	bus := &sink{}
	j := jobs.New(dynamo.New(db, name), prog, clk, bus, jobs.Config{Shards: dynamo.DueShards}, nil)

	if _, err := svc.Enrol(ctx, "boss"); err != nil {
		t.Fatal(err)
	}
	status, err := svc.ReferralStatus(ctx, "boss")
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := svc.EnrolReferral(ctx, "newbie", status.Code); err != nil || !created {
		t.Fatalf("enrol with the referral code: got created=%v (%v)", created, err)
	}
	p := storecontract.Purchase("newbie", "first", 1_000, clk.Now())
	refund := storecontract.RefundOf("newbie", "refund-1", "first", 1_000, clk.Now())
	fb := loyalty.FeedbackRequest{MemberID: "newbie", PurchaseID: p.Key, Rating: 5}
	for range 2 { // every operation is delivered twice
		if _, err := svc.Accrue(ctx, p); err != nil {
			t.Fatalf("accrue: %v", err)
		}
		if _, _, err := svc.GiveFeedback(ctx, fb); err != nil {
			t.Fatalf("feedback: %v", err)
		}
	}
	for range 2 {
		if _, err := svc.Refund(ctx, refund); err != nil {
			t.Fatalf("refund: %v", err)
		}
	}
	want := map[string]int{loyalty.EventRefereeBonus: 1, loyalty.EventReferrerBonus: 1,
		loyalty.EventReferralClawback: 1, loyalty.EventFeedbackBonus: 1}
	for run := 1; run <= 2; run++ {
		rep, err := j.ExpirePoints(ctx, jobs.Request{Day: prog.Today(clk.Now())})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		got := bus.byType(t) // fails on an event published twice or off its schema
		for typ, n := range want {
			if got[typ] != n {
				t.Errorf("after run %d: got %d %s, want %d", run, got[typ], typ, n)
			}
		}
		if len(got) != len(want) {
			t.Errorf("after run %d: got events %v, want %v", run, got, want)
		}
		if run == 1 && rep.Republished != 4 || run == 2 && rep.Republished != 0 {
			t.Errorf("run %d: got %d published from the outbox, want %d", run, rep.Republished, map[int]int{1: 4, 2: 0}[run])
		}
	}
	for _, m := range []loyalty.MemberID{"boss", "newbie"} {
		ns, _, err := st.Notifications(ctx, m, "", 100, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if stored, err := st.Notification(ctx, m, n.ID); err != nil || !stored.Published {
				t.Errorf("notification %s of %s: got published=%v (%v), want published", n.ID, m, stored.Published, err)
			}
		}
	}
}
