package storecontract

import (
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// A referral code belongs to the first member who claims it; claiming it
// again is theirs, another member's claim fails, also when 20 claim at once.
func testClaimCode(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	now := f.clock.Now()
	for _, c := range []struct {
		member string
		want   bool
	}{{"m-a", true}, {"m-b", false}, {"m-a", true}} {
		ok, err := f.st.ClaimCode(ctx, "ABCDEFGHJK", loyalty.MemberID(c.member), now)
		if err != nil || ok != c.want {
			t.Errorf("%s claims ABCDEFGHJK: got %v (%v), want %v", c.member, ok, err, c.want)
		}
	}
	if owner, err := f.st.CodeOwner(ctx, "ABCDEFGHJK"); err != nil || owner != "m-a" {
		t.Errorf("owner of ABCDEFGHJK: got %q (%v), want m-a", owner, err)
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []loyalty.MemberID
	)
	for i := range 20 {
		wg.Go(func() {
			m := loyalty.MemberID(fmt.Sprintf("m-%02d", i))
			ok, err := f.st.ClaimCode(ctx, "ZZZZZZZZZZ", m, now)
			switch {
			case err != nil && loyalty.ErrorCode(err) != loyalty.CodeUnavailable:
				t.Errorf("claim by %s: %v", m, err)
			case ok:
				mu.Lock()
				winners = append(winners, m)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	owner, err := f.st.CodeOwner(ctx, "ZZZZZZZZZZ")
	if len(winners) != 1 || err != nil || owner != winners[0] {
		t.Errorf("20 claims at once: got winners %v and owner %q (%v), want one winner who owns the code", winners, owner, err)
	}

	// The service derives a stable code per member and claims it once.
	code, err := f.svc.ReferralCode(ctx, "m-svc")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.ReferralCode(ctx, "m-svc")
	if owner, oerr := f.st.CodeOwner(ctx, code); err != nil || again != code || oerr != nil || owner != "m-svc" {
		t.Errorf("the service's code of m-svc: got %s then %s, owner %q (%v, %v); want one code owned by m-svc", code, again, owner, err, oerr)
	}
}

// EnrolReferral writes only while the referee's account is at the version
// read and nobody referred them yet, the end of the referrer's chain has no
// referrer and the referrer was not erased.
func testEnrolReferral(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	now := f.clock.Now()
	codes := map[loyalty.MemberID]string{"ref-a": "AAAAAAAAAA", "ref-b": "BBBBBBBBBB", "ref-c": "CCCCCCCCCC"}
	for m, code := range codes {
		if _, err := f.st.Enrol(ctx, m, now); err != nil {
			t.Fatal(err)
		}
		if ok, err := f.st.ClaimCode(ctx, code, m, now); err != nil || !ok {
			t.Fatalf("%s claims %s: got %v (%v), want it", m, code, ok, err)
		}
	}
	ref := loyalty.Referee{Referrer: "ref-a", Member: "ref-b", Code: codes["ref-a"], EnrolledAt: now, State: loyalty.ReferralPending}
	b := f.account(t, "ref-b")
	err := f.st.EnrolReferral(ctx, ref, b.Version+1, "ref-a")
	wantCode(t, "enrolment on a version that is not the account's", err, loyalty.CodeConflict)
	if err := f.st.EnrolReferral(ctx, ref, b.Version, "ref-a"); err != nil {
		t.Fatalf("enrolment: %v", err)
	}
	after := f.account(t, "ref-b")
	if after.ReferredBy != "ref-a" || after.Version != b.Version+1 {
		t.Errorf("referee's account: got referred by %q at version %d, want ref-a at %d", after.ReferredBy, after.Version, b.Version+1)
	}
	if got, ok, err := f.st.Referral(ctx, "ref-b"); err != nil || !ok || got.Referrer != "ref-a" || got.Code != ref.Code || !got.EnrolledAt.Equal(now) {
		t.Errorf("referee's record: got %+v ok=%v (%v), want referred by ref-a with %s at %s", got, ok, err, ref.Code, now)
	}
	if rs, err := f.st.Referees(ctx, "ref-a"); err != nil || len(rs) != 1 || rs[0].Member != "ref-b" || rs[0].State != loyalty.ReferralPending {
		t.Errorf("referrer's records: got %+v (%v), want ref-b pending", rs, err)
	}
	err = f.st.EnrolReferral(ctx, loyalty.Referee{Referrer: "ref-c", Member: "ref-b", Code: codes["ref-c"], EnrolledAt: now}, after.Version, "ref-c")
	wantCode(t, "second enrolment of a referred member", err, loyalty.CodeConflict)
	// ref-c's chain ends at ref-b, who has a referrer now: refused.
	c := f.account(t, "ref-c")
	err = f.st.EnrolReferral(ctx, loyalty.Referee{Referrer: "ref-b", Member: "ref-c", Code: codes["ref-b"], EnrolledAt: now}, c.Version, "ref-b")
	wantCode(t, "enrolment whose chain end got a referrer", err, loyalty.CodeConflict)
	if a := f.account(t, "ref-c"); a.ReferredBy != "" || a.Version != c.Version {
		t.Errorf("account after a refused enrolment: got referred by %q version %d, want none at %d", a.ReferredBy, a.Version, c.Version)
	}
	if _, ok, _ := f.st.Referral(ctx, "ref-c"); ok {
		t.Errorf("record after a refused enrolment: got one, want none")
	}
	// A referrer erased between the service's reads and the write.
	if _, err := f.st.EraseMember(ctx, "ref-a", now); err != nil {
		t.Fatal(err)
	}
	c = f.account(t, "ref-c")
	err = f.st.EnrolReferral(ctx, loyalty.Referee{Referrer: "ref-a", Member: "ref-c", Code: codes["ref-a"], EnrolledAt: now}, c.Version, "ref-a")
	wantCode(t, "enrolment with an erased referrer", err, loyalty.CodeConflict)
	if _, ok, _ := f.st.Referral(ctx, "ref-c"); ok {
		t.Errorf("record after an enrolment with an erased referrer: got one, want none")
	}
}

// The referral scenario: a cap of 2 a month, three referees whose first
// purchases are each delivered twice at once. Both bonuses of the first two
// are paid once; the third pays the referee only and records why.
func testReferralPayout(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	if _, err := f.svc.Enrol(ctx, "boss"); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.ReferralStatus(ctx, "boss")
	if err != nil {
		t.Fatal(err)
	}
	referees := []string{"r1", "r2", "r3"}
	for _, r := range referees {
		if _, created, err := f.svc.EnrolReferral(ctx, loyalty.MemberID(r), st.Code); err != nil || !created {
			t.Fatalf("%s enrols with %s: got created=%v (%v), want created", r, st.Code, created, err)
		}
	}
	for i, r := range referees {
		f.clock.Advance(time.Minute)
		p := Purchase(r, "first-"+r, 1_000, f.clock.Now())
		results := make([]loyalty.Result, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for k := range 2 {
			wg.Go(func() { results[k], errs[k] = f.svc.Accrue(ctx, p) })
		}
		wg.Wait()
		for k := range 2 {
			if errs[k] != nil {
				t.Fatalf("%s delivery %d: %v", r, k, errs[k])
			}
			if results[k].Entry.Delta != 60 {
				t.Errorf("%s delivery %d: got delta %d, want 60 (10 + 50 referee bonus)", r, k, results[k].Entry.Delta)
			}
		}
		if results[0].Replayed == results[1].Replayed {
			t.Errorf("%s: got replayed %v and %v, want one first delivery", r, results[0].Replayed, results[1].Replayed)
		}
		if got, want := f.balance(t, "boss"), loyalty.Points(100*min(i+1, 2)); got != want {
			t.Errorf("referrer's balance after %s: got %d, want %d", r, got, want)
		}
		if a := f.account(t, r); a.Balance != 60 || a.ReferredBy != "" {
			t.Errorf("%s after the payout: got balance %d referred by %q, want 60 and none pending", r, a.Balance, a.ReferredBy)
		}
	}
	month, err := f.st.ReferralMonth(ctx, "boss", "2026-03")
	if err != nil || month.Paid != 2 || month.Capped != 1 {
		t.Errorf("referrer's month: got %+v (%v), want 2 paid and 1 capped", month, err)
	}
	recs, err := f.st.Referees(ctx, "boss")
	if err != nil {
		t.Fatal(err)
	}
	states := map[loyalty.MemberID]loyalty.Referee{}
	for _, r := range recs {
		states[r.Member] = r
	}
	if states["r1"].State != loyalty.ReferralPaid || states["r2"].State != loyalty.ReferralPaid {
		t.Errorf("r1, r2: got %s and %s, want paid", states["r1"].State, states["r2"].State)
	}
	if r3 := states["r3"]; r3.State != loyalty.ReferralCapped || r3.Reason == "" || r3.PurchaseKey != loyalty.PurchaseKey("shop1", "first-r3") {
		t.Errorf("r3: got %+v, want capped with a reason and its purchase", r3)
	}
	ledger := f.ledger(t, "boss")
	if len(ledger) != 2 || ledger[0].Kind != loyalty.KindReferralBonus || ledger[0].Delta != 100 {
		t.Errorf("referrer's ledger: got %d entries (%+v), want 2 referral bonuses of 100", len(ledger), ledger)
	}
	f.audit(t, "boss", "r1", "r2", "r3")
}

// Feedback on a purchase is given once: sent 10 times at once it is stored
// and paid once; other feedback on the purchase is refused. Ops list it by
// day, oldest first, every feedback once whatever the page size.
func testFeedback(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	buy := f.accrue(t, "rater", "e1", 1_234)
	req := loyalty.FeedbackRequest{MemberID: "rater", PurchaseID: buy.Entry.Key, Rating: 4, Comment: "  fine  "}
	results := make([]loyalty.Result, 10)
	errs := make([]error, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { _, results[i], errs[i] = f.svc.GiveFeedback(ctx, req) })
	}
	wg.Wait()
	firsts := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("feedback %d: %v", i, err)
		}
		if !results[i].Replayed {
			firsts++
		}
	}
	if firsts != 1 {
		t.Errorf("feedback that wrote: got %d, want 1", firsts)
	}
	if got := f.balance(t, "rater"); got != 12+10 {
		t.Errorf("balance: got %d, want 22 (12 + 10 for feedback)", got)
	}
	changed := req
	changed.Rating = 1
	_, _, err := f.svc.GiveFeedback(ctx, changed)
	wantCode(t, "other feedback on the same purchase", err, loyalty.CodeConflict)
	list, err := f.st.MemberFeedback(ctx, "rater")
	if err != nil || len(list) != 1 || list[0].Comment != "fine" || list[0].Rating != 4 || list[0].Bonus != 10 || list[0].PurchaseRef != "shop1:e1" {
		t.Errorf("member's feedback: got %+v (%v), want one: rating 4, comment trimmed, 10 points, ref shop1:e1", list, err)
	}

	start := f.clock.Now()
	days := []int{0, 0, 2, 2, 2, 5, 6} // day offsets; days 1, 3 and 4 have none
	for i, d := range days {
		f.clock.Set(start.Add(time.Duration(d)*24*time.Hour + time.Duration(i+1)*time.Minute))
		member := fmt.Sprintf("fb-%d", i%3)
		b := f.accrue(t, member, fmt.Sprintf("e%d", i), 1_000)
		if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: loyalty.MemberID(member), PurchaseID: b.Entry.Key, Rating: 1 + i%5}); err != nil {
			t.Fatal(err)
		}
	}
	from := f.svc.Program.Today(start)
	to := from.AddDays(6)
	for _, limit := range []int{1, 2, 3, 8, 100} {
		var got []loyalty.PurchaseFeedback
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := f.st.Feedback(ctx, from, to, cursor, limit)
			if err != nil {
				t.Fatalf("limit %d, page %d: %v", limit, pages, err)
			}
			if len(page) > limit {
				t.Fatalf("limit %d: got a page of %d", limit, len(page))
			}
			got = append(got, page...)
			if next == "" || pages > 50 {
				break
			}
			cursor = next
		}
		if len(got) != len(days)+1 {
			t.Errorf("limit %d: got %d feedback, want %d", limit, len(got), len(days)+1)
			continue
		}
		for i := 1; i < len(got); i++ {
			if got[i].At.Before(got[i-1].At) {
				t.Errorf("limit %d: feedback %d (%s) comes before %d (%s), want oldest first", limit, i, got[i].At, i-1, got[i-1].At)
			}
		}
	}
	if page, _, err := f.st.Feedback(ctx, from.AddDays(2), from.AddDays(2), "", 100); err != nil || len(page) != 3 {
		t.Errorf("day 2 alone: got %d (%v), want 3", len(page), err)
	}
	_, _, err = f.st.Feedback(ctx, to, from, "", 10)
	wantCode(t, "feedback listing that ends before it starts", err, loyalty.CodeInvalid)
	_, _, err = f.st.Feedback(ctx, from, to, "not-a-cursor", 10)
	wantCode(t, "feedback listing with a made-up cursor", err, loyalty.CodeInvalid)
	f.audit(t, "rater", "fb-0", "fb-1", "fb-2")
}

// An erasure removes every item of the member and every item elsewhere
// that names them (the day copies of their feedback, their code, their
// referrer's record of them, the rejections naming them), rewrites their
// referees' records to name nobody, keeps anonymised totals and a receipt,
// and from then on refuses the member's id (member_erased): their keys stay
// spent, a redelivered purchase credits nothing. Erasing again answers the
// first receipt; other members keep theirs.
func testErase(t *testing.T, f *fixture) {
	f.with(ProgramJSON)
	f.putReward(t, "coffee", 10, 30)
	if _, err := f.svc.Enrol(ctx, "keeper"); err != nil {
		t.Fatal(err)
	}
	keeperCode, err := f.svc.ReferralCode(ctx, "keeper")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.EnrolReferral(ctx, "leaver", keeperCode); err != nil {
		t.Fatal(err)
	}
	leaverCode, err := f.svc.ReferralCode(ctx, "leaver")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.EnrolReferral(ctx, "junior", leaverCode); err != nil { // pending: no purchase yet
		t.Fatal(err)
	}
	p := Purchase("leaver", "e1", 5_000, f.clock.Now()) // 50 + 50 referee bonus; the keeper gets 100
	buy, err := f.svc.Accrue(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	red, _, err := f.svc.Redeem(ctx, "leaver", "k-1", "coffee")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: "leaver", PurchaseID: buy.Entry.Key, Rating: 5}); err != nil {
		t.Fatal(err)
	}
	keeperBuy := f.accrue(t, "keeper", "e1", 2_000)
	if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: "keeper", PurchaseID: keeperBuy.Entry.Key, Rating: 3}); err != nil {
		t.Fatal(err)
	}
	note := loyalty.NewNotification(f.svc.Program, "leaver", loyalty.NoteClassChanged, "2026-W11", "class", nil, f.clock.Now())
	if _, _, err := f.st.Deliver(ctx, note); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutMemberClass(ctx, "leaver", loyalty.MemberClass{Class: "loyal", Since: "2026-03-10"}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutAffordSeen(ctx, "leaver", 90, "2026-03-10"); err != nil {
		t.Fatal(err)
	}
	t0 := f.clock.Now()
	for _, r := range []loyalty.Rejection{
		{MessageID: "by-id", Body: "{}", Reason: loyalty.RejectInvalidEvent, MemberID: "leaver", FirstSeen: t0, LastSeen: t0, ReceiveCount: 1},
		{MessageID: "in-body", Body: `{"memberId":"leaver"`, Reason: loyalty.RejectMalformedJSON, FirstSeen: t0, LastSeen: t0, ReceiveCount: 1},
		{MessageID: "other", Body: `{"memberId":"keeper"}`, Reason: loyalty.RejectInvalidEvent, MemberID: "keeper", FirstSeen: t0, LastSeen: t0, ReceiveCount: 1},
	} {
		if err := f.st.RecordRejection(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	acct := f.account(t, "leaver")

	f.clock.Advance(time.Minute)
	now := f.clock.Now()
	er, err := f.svc.Erase(ctx, "leaver")
	if err != nil {
		t.Fatal(err)
	}
	want := loyalty.Erasure{AnonymousID: er.AnonymousID, State: loyalty.ErasureDone, Entries: 3, Balance: acct.Balance, Lifetime: acct.Lifetime,
		RequestedAt: now, ErasedAt: now, Rewritten: 1,
		Deleted: loyalty.ErasedItems{Account: 1, Ledger: 3, Redemptions: 1, Notifications: 1, Feedback: 2, Referrals: 5, Rejections: 2, Other: 2}}
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(er.AnonymousID) || fmt.Sprint(erasureText(er)) != fmt.Sprint(erasureText(want)) {
		t.Errorf("erasure: got %+v, want %+v with a random id of 24 hex digits", er, want)
	}
	again, err := f.svc.Erase(ctx, "leaver")
	if err != nil || erasureText(again) != erasureText(er) {
		t.Errorf("second erasure: got %+v (%v), want the first receipt %+v", again, err, er)
	}
	if st, err := f.svc.ErasureStatus(ctx, "leaver"); err != nil || erasureText(st) != erasureText(er) {
		t.Errorf("erasure status: got %+v (%v), want the receipt %+v", st, err, er)
	}

	// The id takes no more changes: its keys stay spent.
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"redelivered purchase", func() error { _, err := f.svc.Accrue(ctx, p); return err }},
		{"new purchase", func() error { _, err := f.svc.Accrue(ctx, Purchase("leaver", "e2", 1_000, now)); return err }},
		{"redemption", func() error { _, _, err := f.svc.Redeem(ctx, "leaver", "k-2", "coffee"); return err }},
		{"enrolment", func() error { _, err := f.st.Enrol(ctx, "leaver", now); return err }},
		{"referral code", func() error { _, err := f.st.ClaimCode(ctx, "LEAVER0000", "leaver", now); return err }},
	} {
		wantCode(t, "erased member's "+c.what, c.call(), loyalty.CodeMemberErased)
	}
	// What the jobs write of a member they read before the erasure is
	// quietly not written; a notification comes back published, so no
	// event about the member goes out.
	if got, created, err := f.st.Deliver(ctx, note); err != nil || created || !got.Published {
		t.Errorf("notification to the erased member: got created=%v published=%v (%v), want nothing stored and published", created, got.Published, err)
	}
	if err := f.st.PutMemberClass(ctx, "leaver", loyalty.MemberClass{Class: "loyal"}); err != nil {
		t.Errorf("class of the erased member: got %v, want nothing written and no error", err)
	}
	if err := f.st.PutAffordSeen(ctx, "leaver", 1, "2026-03-10"); err != nil {
		t.Errorf("reminder state of the erased member: got %v, want nothing written and no error", err)
	}
	// A message naming the erased member is recorded without anything of them.
	late := loyalty.Rejection{MessageID: "late", Body: `{"memberId":"leaver"}`, Reason: loyalty.RejectMemberErased,
		Message: "member leaver was erased", MemberID: "leaver", EventID: "e9", FirstSeen: now, LastSeen: now, ReceiveCount: 1}
	if err := f.st.RecordRejection(ctx, late); err != nil {
		t.Fatal(err)
	}
	if r, err := f.st.Rejection(ctx, "late"); err != nil || r.Body != "" || r.MemberID != "" || r.EventID != "" ||
		r.Message != "member "+string(loyalty.ErasedMember)+" was erased" || r.Reason != loyalty.RejectMemberErased {
		t.Errorf("rejection naming the erased member: got %+v (%v), want it without body, ids or the id in its message", r, err)
	}
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"account", func() error { _, err := f.st.Account(ctx, "leaver"); return err }},
		{"purchase", func() error { _, err := f.st.Entry(ctx, "leaver", buy.Entry.Key); return err }},
		{"redemption", func() error { _, err := f.st.Redemption(ctx, "leaver", red.ID); return err }},
		{"notification", func() error { _, err := f.st.Notification(ctx, "leaver", note.ID); return err }},
		{"referral code", func() error { _, err := f.st.CodeOwner(ctx, leaverCode); return err }},
		{"rejection", func() error { _, err := f.st.Rejection(ctx, "by-id"); return err }},
		{"erasure of a member never known", func() error { _, err := f.st.EraseMember(ctx, "nobody", now); return err }},
		{"erasure status of a member never erased", func() error { _, err := f.st.ErasureStatus(ctx, "keeper"); return err }},
	} {
		wantCode(t, "erased member's "+c.what, c.call(), loyalty.CodeNotFound)
	}
	for what, n := range map[string]func() (int, error){
		"ledger":        func() (int, error) { l, err := f.st.Ledger(ctx, "leaver"); return len(l), err },
		"redemptions":   func() (int, error) { l, err := f.st.Redemptions(ctx, "leaver"); return len(l), err },
		"feedback":      func() (int, error) { l, err := f.st.MemberFeedback(ctx, "leaver"); return len(l), err },
		"notifications": func() (int, error) { l, _, err := f.st.Notifications(ctx, "leaver", "", 10, now); return len(l), err },
		"affordability": func() (int, error) { l, err := f.st.AffordSeen(ctx, []loyalty.MemberID{"leaver"}); return len(l), err },
		"referees":      func() (int, error) { l, err := f.st.Referees(ctx, "leaver"); return len(l), err },
		"rejections": func() (int, error) {
			l, err := f.st.Rejections(ctx, loyalty.RejectionFilter{MemberID: "leaver"})
			return len(l), err
		},
	} {
		if got, err := n(); got != 0 || err != nil {
			t.Errorf("erased member's %s: got %d (%v), want none", what, got, err)
		}
	}
	if _, ok, err := f.st.MemberClass(ctx, "leaver"); ok || err != nil {
		t.Errorf("erased member's class: got ok=%v (%v), want none", ok, err)
	}
	if _, ok, err := f.st.Referral(ctx, "leaver"); ok || err != nil {
		t.Errorf("erased member's referrer: got ok=%v (%v), want none", ok, err)
	}
	day := f.svc.Program.Today(now)
	fbs, _, err := f.st.Feedback(ctx, day, day, "", 100)
	if err != nil || len(fbs) != 1 || fbs[0].MemberID != "keeper" {
		t.Errorf("feedback of %s after the erasure: got %+v (%v), want the keeper's only", day, fbs, err)
	}
	for _, idx := range []struct {
		name string
		page pageFunc
		day  loyalty.Date
	}{{"due", f.st.DueAccounts, "2027-04-01"}, {"rewards ending", f.st.RewardsEnding, red.ValidUntil}, {"outbox", f.st.Unpublished, loyalty.DateOf(t0, time.UTC)}} {
		if hasHit(t, idx.page, idx.day, "leaver", anyHit) {
			t.Errorf("%s index on %s after the erasure: got the erased member, want none", idx.name, idx.day)
		}
	}

	// The member's referrer keeps what they had, without the record of them.
	if rs, err := f.st.Referees(ctx, "keeper"); err != nil || len(rs) != 0 {
		t.Errorf("referrer's records after the referee's erasure: got %+v (%v), want none", rs, err)
	}
	if owner, err := f.st.CodeOwner(ctx, keeperCode); err != nil || owner != "keeper" || f.balance(t, "keeper") != 100+20+10 {
		t.Errorf("keeper after the other's erasure: got code owner %q (%v) balance %d, want keeper and 130", owner, err, f.balance(t, "keeper"))
	}
	if rs, err := f.st.Rejections(ctx, loyalty.RejectionFilter{}); err != nil || len(rs) != 2 || rs[0].MessageID != "other" || rs[1].MessageID != "late" {
		t.Errorf("rejections after the erasure: got %+v (%v), want the one naming someone else and the late one", rs, err)
	}
	// The member's referee is referred by nobody now: their first purchase
	// still pays their bonus, and nobody the referrer's.
	if a := f.account(t, "junior"); a.ReferredBy != loyalty.ErasedMember {
		t.Errorf("referee's pending referral: got %q, want %q", a.ReferredBy, loyalty.ErasedMember)
	}
	if r, ok, err := f.st.Referral(ctx, "junior"); err != nil || !ok || r.Referrer != loyalty.ErasedMember || r.Code != "" {
		t.Errorf("referee's record: got %+v ok=%v (%v), want referred by %s without the code", r, ok, err, loyalty.ErasedMember)
	}
	if res := f.accrue(t, "junior", "first", 1_000); res.Entry.Delta != 60 {
		t.Errorf("referee's first purchase: got %d, want 60 (10 + their 50 bonus)", res.Entry.Delta)
	}
	if a := f.account(t, "junior"); a.ReferredBy != "" || a.Balance != 60 {
		t.Errorf("referee after the purchase: got referred by %q balance %d, want nobody and 60", a.ReferredBy, a.Balance)
	}
	f.audit(t, "keeper", "junior")
}

// erasureText is an erasure with its times as instants, for comparisons.
func erasureText(e loyalty.Erasure) string {
	return fmt.Sprintf("%s %s entries=%d bal=%d life=%d req=%d at=%d deleted=%+v rewritten=%d", e.AnonymousID, e.State, e.Entries,
		e.Balance, e.Lifetime, e.RequestedAt.UnixNano(), e.ErasedAt.UnixNano(), e.Deleted, e.Rewritten)
}
