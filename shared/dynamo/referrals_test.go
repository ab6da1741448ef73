package dynamo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// referralFixture is a fixture whose program pays 100 points to the
// referrer and 50 to the referee on a first purchase of at least 5 EUR, at
// most cap referrer bonuses a month, and 10 points for feedback.
func referralFixture(tb testing.TB, cap int) fixture {
	tb.Helper()
	f := newFixture(tb)
	f.svc.Program.Referral = &loyalty.Referral{ReferrerBonus: 100, RefereeBonus: 50, MonthlyCap: cap, MinSpendMinor: 500}
	f.svc.Program.Feedback = &loyalty.Feedback{BonusPoints: 10, MaxCommentLength: 200}
	if err := f.svc.Program.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return f
}

func (f fixture) code(tb testing.TB, member string) string {
	tb.Helper()
	if _, err := f.store.Enrol(context.Background(), loyalty.MemberID(member), f.clock.Now()); err != nil {
		tb.Fatalf("enrol %s: %v", member, err)
	}
	st, err := f.svc.ReferralStatus(context.Background(), loyalty.MemberID(member))
	if err != nil {
		tb.Fatalf("referral status of %s: %v", member, err)
	}
	return st.Code
}

func (f fixture) refer(tb testing.TB, referee, code string) {
	tb.Helper()
	if _, created, err := f.svc.EnrolReferral(context.Background(), loyalty.MemberID(referee), code); err != nil || !created {
		tb.Fatalf("%s enrols with %s: got created=%v, %v; want created", referee, code, created, err)
	}
}

func (f fixture) accrue(tb testing.TB, p loyalty.Purchase) loyalty.Result {
	tb.Helper()
	res, err := f.svc.Accrue(context.Background(), p)
	if err != nil {
		tb.Fatalf("accrue %s: %v", p.Key, err)
	}
	return res
}

func ruleOf(e loyalty.Entry, rule string) loyalty.Points {
	for _, r := range e.Rules {
		if r.Rule == rule {
			return r.Points
		}
	}
	return 0
}

func TestReferralEnrolmentRefusals(t *testing.T) {
	f := referralFixture(t, 5)
	ctx := context.Background()
	codeA := f.code(t, "ref-a")
	codeB := f.code(t, "ref-b")
	f.refer(t, "ref-b", codeA) // A referred B
	codeC := f.code(t, "ref-c")
	f.refer(t, "ref-c", codeB) // B referred C: A -> B -> C

	f.accrue(t, f.purchase("ref-shopper", "e1", 1000, f.clock.Now()))
	codeD := f.code(t, "ref-d")
	cases := []struct {
		name   string
		member string
		code   string
		want   loyalty.Code
	}{
		{"self-referral", "ref-a", codeA, loyalty.CodeSelfReferral},
		{"self-referral typed with dashes and lower case", "ref-a", codeA[:5] + "-" + string(toLower(codeA[5:])), loyalty.CodeSelfReferral},
		{"loop: A uses the code of B, whom A referred", "ref-a", codeB, loyalty.CodeReferralLoop},
		{"loop through B: A uses the code of C", "ref-a", codeC, loyalty.CodeReferralLoop},
		{"already referred with another code", "ref-b", codeD, loyalty.CodeAlreadyReferred},
		{"after the first purchase", "ref-shopper", codeA, loyalty.CodeAlreadyPurchased},
		{"unknown code", "ref-new", "ZZZZZZZZZZ", loyalty.CodeNotFound},
		{"malformed code", "ref-new", "abc", loyalty.CodeInvalid},
		{"code with a letter outside the alphabet", "ref-new", "UUUUUUUUUU", loyalty.CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.svc.EnrolReferral(ctx, loyalty.MemberID(c.member), c.code)
			if got := loyalty.ErrorCode(err); got != c.want {
				t.Errorf("got %q (%v), want %q", got, err, c.want)
			}
		})
	}
	// The same enrolment again is not an error: a retry of the app.
	st, created, err := f.svc.EnrolReferral(ctx, "ref-b", codeA)
	if err != nil || created || !st.Referred || !st.BonusPending {
		t.Errorf("B enrols with A's code again: got created=%v %+v %v, want not created, referred, bonus pending", created, st, err)
	}
	a, _ := f.svc.ReferralStatus(ctx, "ref-a")
	if a.Referees != 1 || a.Pending != 1 || a.Referred {
		t.Errorf("A's status: got %+v, want 1 referee, 1 pending, not referred", a)
	}
	if codeA != f.code(t, "ref-a") {
		t.Errorf("A's code changed between calls: got %s, want %s", f.code(t, "ref-a"), codeA)
	}
}

func toLower(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// Two members enrolling with each other's code at the same moment: at most
// one enrolment may win, or the pair would pay each other forever.
func TestConcurrentCrossReferralsCannotMakeALoop(t *testing.T) {
	for round := range 5 {
		f := referralFixture(t, 5)
		a, b := "x-a", "x-b"
		codeA, codeB := f.code(t, a), f.code(t, b)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]string{{a, codeB}, {b, codeA}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = f.svc.EnrolReferral(context.Background(), loyalty.MemberID(pair[0]), pair[1])
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch loyalty.ErrorCode(err) {
			case "":
				won++
			case loyalty.CodeReferralLoop, loyalty.CodeUnavailable:
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if won > 1 {
			t.Fatalf("round %d: got %d enrolments, want at most 1 (%v)", round, won, errs)
		}
	}
}

// The referral scenario: the cap is 2 a month; three referees of one
// referrer buy in the same month, each purchase delivered twice. The first
// two pay both bonuses, the third the referee's only, with the reason on
// the referrer's record. Every bonus is paid exactly once.
func TestReferralPayoutOnceAndMonthlyCap(t *testing.T) {
	f := referralFixture(t, 2)
	ctx := context.Background()
	codeA := f.code(t, "boss")
	referees := []string{"r1", "r2", "r3"}
	for _, r := range referees {
		f.refer(t, r, codeA)
	}

	// Below the minimum spend: no bonus, the referral stays pending.
	small := f.accrue(t, f.purchase("r1", "small", 499, f.clock.Now()))
	if got := ruleOf(small.Entry, "referral:referee"); got != 0 || small.Entry.Delta != 4 {
		t.Errorf("purchase of 4.99: got delta %d and referee rule %d, want 4 and 0", small.Entry.Delta, got)
	}
	if acct, _ := f.store.Account(ctx, "r1"); acct.ReferredBy != "boss" {
		t.Errorf("after a small purchase: got ReferredBy %q, want boss", acct.ReferredBy)
	}

	for i, r := range referees {
		f.clock.Advance(time.Minute)
		p := f.purchase(r, "first-"+r, 1000, f.clock.Now())
		// Each purchase is delivered twice at once, and once more later.
		var wg sync.WaitGroup
		results := make([]loyalty.Result, 2)
		errs := make([]error, 2)
		for k := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[k], errs[k] = f.svc.Accrue(ctx, p)
			}()
		}
		wg.Wait()
		for k := range 2 {
			if errs[k] != nil {
				t.Fatalf("%s delivery %d: %v", r, k, errs[k])
			}
			if got := ruleOf(results[k].Entry, "referral:referee"); got != 50 || results[k].Entry.Delta != 60 {
				t.Errorf("%s delivery %d: got delta %d, referee rule %d; want 60 and 50", r, k, results[k].Entry.Delta, got)
			}
		}
		if results[0].Replayed == results[1].Replayed {
			t.Errorf("%s: got replayed %v and %v, want one first delivery", r, results[0].Replayed, results[1].Replayed)
		}
		again := f.accrue(t, p)
		if !again.Replayed {
			t.Errorf("%s: a later delivery was not a replay", r)
		}
		want := loyalty.Points(60)
		if r == "r1" {
			want += 4
		}
		if got := f.balance(t, r); got != want {
			t.Errorf("%s's balance: got %d, want %d", r, got, want)
		}
		wantBoss := loyalty.Points(100 * min(i+1, 2))
		if got := f.balance(t, "boss"); got != wantBoss {
			t.Errorf("referrer's balance after %s: got %d, want %d", r, got, wantBoss)
		}
		if acct, _ := f.store.Account(ctx, loyalty.MemberID(r)); acct.ReferredBy != "" {
			t.Errorf("%s after the payout: got ReferredBy %q, want none", r, acct.ReferredBy)
		}
	}

	// A later qualifying purchase of a referee pays nothing more.
	later := f.accrue(t, f.purchase("r2", "second", 2000, f.clock.Now()))
	if got := ruleOf(later.Entry, "referral:referee"); got != 0 {
		t.Errorf("second purchase: got referee rule %d, want 0", got)
	}

	st, err := f.svc.ReferralStatus(ctx, "boss")
	if err != nil {
		t.Fatal(err)
	}
	if st.Referees != 3 || st.Pending != 0 || st.BonusesThisMonth != 2 || st.CappedThisMonth != 1 || st.MonthlyCap != 2 {
		t.Errorf("referrer's status: got %+v, want 3 referees, 0 pending, 2 bonuses, 1 capped, cap 2", st)
	}
	recs, err := f.store.Referees(ctx, "boss")
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
	ledger, err := f.store.Ledger(ctx, "boss")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 2 {
		t.Fatalf("referrer's ledger: got %d entries, want 2", len(ledger))
	}
	for _, e := range ledger {
		if e.Kind != loyalty.KindReferralBonus || e.Delta != 100 || ruleOf(e, "referral:referrer") != 100 {
			t.Errorf("referrer's entry: got %s %d %v, want referral_bonus of 100", e.Kind, e.Delta, e.Rules)
		}
	}
	f.audit(t)

	// A new month has room again.
	f.clock.Advance(31 * 24 * time.Hour)
	f.refer(t, "r4", codeA)
	f.accrue(t, f.purchase("r4", "first-r4", 800, f.clock.Now()))
	if got := f.balance(t, "boss"); got != 300 {
		t.Errorf("referrer's balance after a referee next month: got %d, want 300", got)
	}
	f.audit(t)
}

// A referee whose referrer left (erased) still gets their bonus.
func TestReferralPayoutAfterTheReferrerLeft(t *testing.T) {
	f := referralFixture(t, 5)
	ctx := context.Background()
	code := f.code(t, "leaves")
	f.refer(t, "stays", code)
	if _, err := f.store.EraseMember(ctx, "leaves", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res := f.accrue(t, f.purchase("stays", "first", 1000, f.clock.Now()))
	if res.Entry.Delta != 60 {
		t.Errorf("referee's first purchase: got %d, want 60", res.Entry.Delta)
	}
	if _, err := f.store.Account(ctx, "leaves"); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("the erased referrer: got %v, want not found", err)
	}
	if _, err := f.store.CodeOwner(ctx, code); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("the erased referrer's code: got %v, want not found", err)
	}
	if _, _, err := f.svc.EnrolReferral(ctx, "late", code); loyalty.ErrorCode(err) != loyalty.CodeNotFound {
		t.Errorf("enrolling with the erased referrer's code: got %v, want not found", err)
	}
	f.audit(t)
}

// Referees of one referrer buying at the same moment never pay the
// referrer beyond the cap.
func TestConcurrentRefereesRespectTheCap(t *testing.T) {
	f := referralFixture(t, 2)
	ctx := context.Background()
	code := f.code(t, "busy")
	const n = 6
	for i := range n {
		f.refer(t, "c"+string(rune('0'+i)), code)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			member := "c" + string(rune('0'+i))
			_, errs[i] = f.svc.Accrue(ctx, f.purchase(member, "first", 1000, f.clock.Now()))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("referee %d: %v", i, err)
		}
	}
	if got := f.balance(t, "busy"); got != 200 {
		t.Errorf("referrer's balance: got %d, want 200 (cap 2 x 100)", got)
	}
	month, err := f.store.ReferralMonth(ctx, "busy", f.clock.Now().Format("2006-01"))
	if err != nil {
		t.Fatal(err)
	}
	if month.Paid != 2 || month.Capped != n-2 {
		t.Errorf("month counters: got paid %d capped %d, want 2 and %d", month.Paid, month.Capped, n-2)
	}
	for i := range n {
		if got := f.balance(t, "c"+string(rune('0'+i))); got != 60 {
			t.Errorf("referee %d: got %d, want 60", i, got)
		}
	}
	f.audit(t)
}

// Refer, buy, refund: a refund that leaves the referee's first purchase no
// longer qualifying takes back both bonuses (the referrer's by a reversal
// keyed by the referee, once; the referee's with the purchase's points); a
// partial refund that leaves it qualifying takes nothing of the referrer's;
// with onRefund "keep" the referrer keeps the bonus.
func TestRefundOfTheRefereesFirstPurchaseTakesBackTheBonuses(t *testing.T) {
	for _, policy := range []string{"", loyalty.ReferralClawBack, loyalty.ReferralKeep} {
		t.Run("policy "+policy, func(t *testing.T) {
			f := referralFixture(t, 5)
			f.svc.Program.Referral.OnRefund = policy
			ctx := context.Background()
			code := f.code(t, "claw-a")
			f.refer(t, "claw-b", code)
			f.accrue(t, f.purchase("claw-b", "first", 2_000, f.clock.Now())) // 20 points + 50 referee bonus
			if got := f.balance(t, "claw-a"); got != 100 {
				t.Fatalf("referrer after the first purchase: got %d, want the 100-point bonus", got)
			}
			refund := func(key string, minor int64) {
				t.Helper()
				_, err := f.svc.Refund(ctx, loyalty.Refund{Key: loyalty.RefundKey("shop1", key), MemberID: "claw-b",
					OriginalKey: loyalty.PurchaseKey("shop1", "first"), Amount: &loyalty.Money{Minor: minor, Currency: "EUR"},
					OccurredAt: f.clock.Now(), Actor: "partner:shop1"})
				if err != nil {
					t.Fatalf("refund %s: %v", key, err)
				}
			}
			refund("r1", 1_000) // 10.00 left of 20.00: still above the 5.00 minimum
			if got := f.balance(t, "claw-a"); got != 100 {
				t.Errorf("referrer after a partial refund that still qualifies: got %d, want 100", got)
			}
			refund("r2", 1_000) // nothing left
			refund("r2", 1_000) // redelivered
			wantReferrer := loyalty.Points(0)
			if policy == loyalty.ReferralKeep {
				wantReferrer = 100
			}
			if got := f.balance(t, "claw-a"); got != wantReferrer {
				t.Errorf("referrer after the full refund: got %d, want %d", got, wantReferrer)
			}
			if got := f.balance(t, "claw-b"); got != 0 {
				t.Errorf("referee after the full refund: got %d, want 0 (purchase points and referee bonus taken back)", got)
			}
			f.audit(t)
		})
	}
}
