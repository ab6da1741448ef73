package loyalty

import (
	"context"
	"sync"
	"testing"
	"time"
)

// purchaseWith accrues a purchase of minor cents (one point per euro, rounded
// down) with the given lines and returns the account and its entry.
func purchaseWith(tb testing.TB, p *Program, a Account, key string, minor int64, lines ...Line) (Account, Entry) {
	tb.Helper()
	earned, err := p.BasePoints(Money{minor, "EUR"})
	if err != nil {
		tb.Fatal(err)
	}
	pu := Purchase{Key: key, MemberID: "m1", Spend: Money{minor, "EUR"}, OccurredAt: now, Lines: lines}
	if err := pu.Validate(now); err != nil {
		tb.Fatalf("purchase: %v", err)
	}
	c, err := PlanAccrual(a, p, pu, earned, nil, now)
	if err != nil {
		tb.Fatal(err)
	}
	return c.Account, c.Entry
}

func byAmount(key string, minor int64) Refund {
	return Refund{Key: key, MemberID: "m1", OriginalKey: "p:s:1", Amount: &Money{minor, "EUR"}, OccurredAt: now}
}

func byLines(key string, lines ...RefundLine) Refund {
	return Refund{Key: key, MemberID: "m1", OriginalKey: "p:s:1", Lines: lines, OccurredAt: now}
}

// TestPartialAndRepeatedRefunds follows one purchase through a sequence of
// refunds, carrying the account and the purchase's entry from step to step
// as the store would.
func TestPartialAndRepeatedRefunds(t *testing.T) {
	coffee := []Line{{ID: "1", SKU: "ESP", Category: "coffee", Quantity: 3, Minor: 1000}, {ID: "2", SKU: "CAKE", Category: "bakery", Quantity: 1, Minor: 999}}
	type step struct {
		refund      Refund
		wantTaken   Points // points this refund claws back
		wantBalance Points
		wantMinor   int64 // refunded amount of the purchase afterwards
	}
	cases := []struct {
		name   string
		minor  int64
		lines  []Line
		steps  []step
		earned Points
	}{
		{"amount in quarters adds up to what was earned", 10_000, nil, []step{
			{byAmount("x:1", 2500), 25, 75, 2500},
			{byAmount("x:2", 2500), 25, 50, 5000},
			{byAmount("x:3", 5000), 50, 0, 10_000},
		}, 100},
		{"rounding half up, and the rest on the last refund", 999, nil, []step{
			{byAmount("x:1", 50), 0, 9, 50},   // 9*50/999 = 0.45
			{byAmount("x:2", 60), 1, 8, 110},  // 9*110/999 = 0.99 -> 1
			{byAmount("x:3", 889), 8, 0, 999}, // everything
		}, 9},
		{"an amount beyond what is left is capped", 10_000, nil, []step{
			{byAmount("x:1", 8000), 80, 20, 8000},
			{byAmount("x:2", 8000), 20, 0, 10_000},
			{byAmount("x:3", 100), 0, 0, 10_000}, // nothing left to refund
		}, 100},
		{"lines: items of a line, then the other line", 1999, coffee, []step{
			{byLines("x:1", RefundLine{"1", 1}), 3, 16, 333},                     // 19*333/1999 = 3.17
			{byLines("x:2", RefundLine{"1", 2}), 7, 9, 1000},                     // 19*1000/1999 = 9.505 -> 10
			{byLines("x:3", RefundLine{"2", 1}), 9, 0, 1999},                     // all lines: everything earned
			{byLines("x:4", RefundLine{"1", 3}, RefundLine{"2", 1}), 0, 0, 1999}, // again: nothing
		}, 19},
		{"the same lines twice take points once", 1999, coffee, []step{
			{byLines("x:1", RefundLine{"2", 1}), 9, 10, 999},
			{byLines("x:2", RefundLine{"2", 1}), 0, 10, 999},
			{byLines("x:3", RefundLine{"2", 5}), 0, 10, 999},
		}, 19},
		{"more items than bought count as all of them", 1999, coffee, []step{
			{byLines("x:1", RefundLine{"1", 7}), 10, 9, 1000},
			{byLines("x:2", RefundLine{"1", 1}), 0, 9, 1000},
		}, 19},
		{"all lines refunded takes everything even if line amounts fall short of the total", 2000, []Line{{ID: "a", Quantity: 1, Minor: 500}}, []step{
			{byLines("x:1", RefundLine{"a", 1}), 20, 0, 500},
		}, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, RefundNegative)
			a, orig := purchaseWith(t, p, NewAccount("m1", now), "p:s:1", c.minor, c.lines...)
			if orig.Earned != c.earned {
				t.Fatalf("earned: got %d, want %d", orig.Earned, c.earned)
			}
			entries := []Entry{orig}
			var taken Points
			for i, s := range c.steps {
				if err := s.refund.Validate(now); err != nil {
					t.Fatalf("step %d: validate: %v", i, err)
				}
				ch, err := PlanRefund(a, p, orig, s.refund, now)
				if err != nil {
					t.Fatalf("step %d: got %v, want no error", i, err)
				}
				if got := -ch.Entry.Delta; got != s.wantTaken {
					t.Errorf("step %d: took %d points, want %d", i, got, s.wantTaken)
				}
				if ch.Account.Balance != s.wantBalance {
					t.Errorf("step %d: balance %d, want %d", i, ch.Account.Balance, s.wantBalance)
				}
				a = ch.Account
				entries = append(entries, ch.Entry)
				if ch.Original != nil {
					orig = *ch.Original
				} else if s.wantTaken != 0 {
					t.Errorf("step %d: got no change of the purchase, want one", i)
				}
				if got := orig.Refund.clone().Minor; got != s.wantMinor {
					t.Errorf("step %d: refunded amount %d, want %d", i, got, s.wantMinor)
				}
				taken += -ch.Entry.Delta
			}
			if taken > c.earned || orig.Reversed != taken {
				t.Errorf("in total took %d, purchase says %d reversed, earned %d", taken, orig.Reversed, c.earned)
			}
			// The purchase's entry is replaced, as the store updates it.
			entries[0] = orig
			if pr := AuditAccount(a, entries); pr != nil {
				t.Errorf("audit: %v", pr.Problems)
			}
		})
	}
}

func TestRefundOfSpentPointsFollowsThePolicy(t *testing.T) {
	cases := []struct {
		name        string
		policy      RefundPolicy
		refund      Refund
		wantBalance Points
		wantDeficit Points
		wantDebt    Points
	}{
		{"negative balance, full refund", RefundNegative, byAmount("x:1", 10_000), -80, 80, 0},
		{"debt, full refund", RefundDebt, byAmount("x:1", 10_000), 0, 0, 80},
		{"negative balance, half refund is covered by what is left", RefundNegative, byAmount("x:1", 1000), 10, 0, 0},
		{"debt, 30 points: 20 left, 10 debt", RefundDebt, byAmount("x:1", 3000), 0, 0, 10},
		{"negative balance, refund by lines", RefundNegative, byLines("x:1", RefundLine{"big", 1}), -70, 70, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, c.policy)
			a, orig := purchaseWith(t, p, NewAccount("m1", now), "p:s:1", 10_000,
				Line{ID: "big", Quantity: 1, Minor: 9000}, Line{ID: "small", Quantity: 1, Minor: 1000})
			red, err := PlanRedemption(a, p, "m1", "r:1", Reward{ID: "x", Name: "X", Cost: 80, Active: true}, now)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := PlanRefund(red.Account, p, orig, c.refund, now)
			if err != nil {
				t.Fatal(err)
			}
			got := ch.Account
			if got.Balance != c.wantBalance || got.Deficit != c.wantDeficit || got.Debt != c.wantDebt {
				t.Errorf("got balance %d deficit %d debt %d, want %d %d %d", got.Balance, got.Deficit, got.Debt, c.wantBalance, c.wantDeficit, c.wantDebt)
			}
			if pr := AuditAccount(got, []Entry{*ch.Original, red.Entry, ch.Entry}); pr != nil {
				t.Errorf("audit: %v", pr.Problems)
			}
		})
	}
}

func TestRefundTakesFromThePurchasesLotFirst(t *testing.T) {
	p := program(t, RefundNegative)
	a, _ := accountWith(t, p, Lot{"2026-04-30", 50})
	a, orig := purchaseWith(t, p, a, "p:s:1", 3000)
	ch, err := PlanRefund(a, p, orig, byAmount("x:1", 3000), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Entry.Lots) != 1 || ch.Entry.Lots[0].Expires != orig.Lots[0].Expires || ch.Entry.Lots[0].Points != -30 {
		t.Errorf("lots taken: got %v, want 30 from the purchase's lot %v", ch.Entry.Lots, orig.Lots)
	}
}

func TestRefundRefusals(t *testing.T) {
	p := program(t, RefundNegative)
	lines := []Line{{ID: "1", Quantity: 1, Minor: 500}}
	_, withLines := purchaseWith(t, p, NewAccount("m1", now), "p:s:1", 500, lines...)
	a, totalOnly := purchaseWith(t, p, NewAccount("m1", now), "p:s:1", 500)
	adjust := Entry{Key: "a:1", Kind: KindAdjustment, Earned: 10}
	usd := byAmount("x:1", 100)
	usd.Amount.Currency = "USD"
	cases := []struct {
		name     string
		orig     Entry
		refund   Refund
		wantCode Code
	}{
		{"unknown line", withLines, byLines("x:1", RefundLine{"9", 1}), CodeInvalid},
		{"lines of a purchase without lines", totalOnly, byLines("x:1", RefundLine{"1", 1}), CodeInvalid},
		{"another currency", withLines, usd, CodeInvalid},
		{"not a purchase", adjust, byAmount("x:1", 100), CodeConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := PlanRefund(a, p, c.orig, c.refund, now)
			if got := ErrorCode(err); got != c.wantCode {
				t.Errorf("got %q (%v), want %q", got, err, c.wantCode)
			}
		})
	}
	bad := []struct {
		name   string
		refund Refund
	}{
		{"amount and lines", Refund{Key: "x:1", MemberID: "m1", OriginalKey: "p:s:1", OccurredAt: now, Amount: &Money{1, "EUR"}, Lines: []RefundLine{{"1", 1}}}},
		{"neither", Refund{Key: "x:1", MemberID: "m1", OriginalKey: "p:s:1", OccurredAt: now}},
		{"zero amount", byAmount("x:1", 0)},
		{"line twice", byLines("x:1", RefundLine{"1", 1}, RefundLine{"1", 1})},
		{"zero quantity", byLines("x:1", RefundLine{"1", 0})},
		{"in the future", Refund{Key: "x:1", MemberID: "m1", OriginalKey: "p:s:1", OccurredAt: now.Add(48 * time.Hour), Amount: &Money{1, "EUR"}}},
		{"no member", Refund{Key: "x:1", OriginalKey: "p:s:1", OccurredAt: now, Amount: &Money{1, "EUR"}}},
	}
	for _, c := range bad {
		t.Run("validate "+c.name, func(t *testing.T) {
			if got := ErrorCode(c.refund.Validate(now)); got != CodeInvalid {
				t.Errorf("got %q, want %q", got, CodeInvalid)
			}
		})
	}
}

func TestPurchaseLinesAreValidated(t *testing.T) {
	cases := []struct {
		name  string
		lines []Line
	}{
		{"duplicate id", []Line{{ID: "1", Quantity: 1}, {ID: "1", Quantity: 2}}},
		{"zero quantity", []Line{{ID: "1", Quantity: 0}}},
		{"negative amount", []Line{{ID: "1", Quantity: 1, Minor: -1}}},
		{"bad id", []Line{{ID: "a b", Quantity: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pu := Purchase{Key: "p:s:1", MemberID: "m1", Spend: Money{100, "EUR"}, OccurredAt: now, Lines: c.lines}
			if got := ErrorCode(pu.Validate(now)); got != CodeInvalid {
				t.Errorf("got %q, want %q", got, CodeInvalid)
			}
		})
	}
}

func TestProportionNeverOverflows(t *testing.T) {
	cases := []struct {
		earned      Points
		part, whole int64
		want        Points
	}{
		{MaxPoints, MaxMinor, MaxMinor, MaxPoints},
		{MaxPoints, MaxMinor / 2, MaxMinor, MaxPoints / 2},
		{3, 1, 2, 2}, // 1.5 rounds half up
		{3, 1, 3, 1},
		{5, 0, 7, 0},
	}
	for _, c := range cases {
		if got := proportion(c.earned, c.part, c.whole); got != c.want {
			t.Errorf("proportion(%d, %d, %d): got %d, want %d", c.earned, c.part, c.whole, got, c.want)
		}
	}
}

func TestPartnersInTheProgram(t *testing.T) {
	cases := []struct {
		name     string
		partners []Partner
		wantErr  bool
	}{
		{"none", nil, false},
		{"two", []Partner{{ID: "shop-1", Name: "Shop"}, {ID: "web.shop_2", Name: "Web"}}, false},
		{"colon in id", []Partner{{ID: "shop:1", Name: "Shop"}}, true},
		{"twice", []Partner{{ID: "shop-1", Name: "Shop"}, {ID: "shop-1", Name: "Again"}}, true},
		{"no name", []Partner{{ID: "shop-1", Name: " "}}, true},
		{"senders", []Partner{{ID: "shop-1", Name: "Shop", Senders: []string{"111122223333", "arn:aws:iam::111122223333:role/pos-sender", "arn:aws-cn:iam::111122223333:user/till/7"}}}, false},
		{"sender with a wildcard", []Partner{{ID: "shop-1", Name: "Shop", Senders: []string{"arn:aws:iam::111122223333:role/*"}}}, true},
		{"sender of another service", []Partner{{ID: "shop-1", Name: "Shop", Senders: []string{"arn:aws:sts::111122223333:assumed-role/pos/x"}}}, true},
		{"sender account of 11 digits", []Partner{{ID: "shop-1", Name: "Shop", Senders: []string{"11112222333"}}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, RefundNegative)
			p.Partners = c.partners
			err := p.Validate()
			if (err != nil) != c.wantErr {
				t.Errorf("got %v, want error %v", err, c.wantErr)
			}
			if err == nil && len(c.partners) > 0 {
				if _, ok := p.Partner(c.partners[0].ID); !ok {
					t.Errorf("Partner(%q): got not found, want found", c.partners[0].ID)
				}
				if _, ok := p.Partner("other"); ok {
					t.Errorf("Partner(other): got found, want not found")
				}
			}
		})
	}
}

// refundTestStore is an in-memory Store: enough to run Service.Refund and
// Service.Accrue in order and out of order.
type refundTestStore struct {
	mu       sync.Mutex
	accounts map[MemberID]Account
	entries  map[string]Entry
}

func newRefundTestStore() *refundTestStore {
	return &refundTestStore{accounts: map[MemberID]Account{}, entries: map[string]Entry{}}
}

func (s *refundTestStore) Apply(ctx context.Context, op Op) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prior, ok := s.entries[string(op.Member)+"/"+op.Key]; ok {
		if prior.Fingerprint != op.Fingerprint {
			return Result{}, Errorf(CodeIdempotencyReuse, "key %s reused", op.Key)
		}
		return Result{Entry: prior, Replayed: true}, nil
	}
	acct, exists := s.accounts[op.Member]
	if !exists {
		acct = Account{MemberID: op.Member}
	}
	s.mu.Unlock()
	c, err := op.Plan(acct, exists)
	s.mu.Lock()
	if err != nil {
		return Result{}, err
	}
	c.Entry.Fingerprint = op.Fingerprint
	c.Account.Version = acct.Version + 1
	s.accounts[op.Member] = c.Account
	s.entries[string(op.Member)+"/"+op.Key] = c.Entry
	if c.Original != nil {
		s.entries[string(c.Original.MemberID)+"/"+c.Original.Key] = *c.Original
	}
	return Result{Entry: c.Entry}, nil
}

func (s *refundTestStore) Account(ctx context.Context, id MemberID) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		return Account{}, Errorf(CodeNotFound, "no member %s", id)
	}
	return a, nil
}

func (s *refundTestStore) Entry(ctx context.Context, id MemberID, key string) (Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[string(id)+"/"+key]
	if !ok {
		return Entry{}, Errorf(CodeNotFound, "no entry %s", key)
	}
	return e, nil
}

func (s *refundTestStore) Redemption(ctx context.Context, id MemberID, rid string) (Redemption, error) {
	return Redemption{}, Errorf(CodeNotFound, "no redemption %s", rid)
}

func (s *refundTestStore) Reward(ctx context.Context, id string) (Reward, error) {
	return Reward{}, Errorf(CodeNotFound, "no reward %s", id)
}

func (s *refundTestStore) Enrol(ctx context.Context, id MemberID, at time.Time) (Account, error) {
	return Account{}, Errorf(CodeInternal, "not used")
}

func TestRefundBeforeItsPurchaseWaitsForIt(t *testing.T) {
	ctx := context.Background()
	st := newRefundTestStore()
	svc := &Service{Store: st, Program: program(t, RefundNegative), Clock: ClockFunc(func() time.Time { return now })}
	refund := Refund{Key: RefundKey("shop", "r1"), MemberID: "m1", OriginalKey: PurchaseKey("shop", "p1"),
		Amount: &Money{500, "EUR"}, OccurredAt: now, Actor: "partner:shop"}

	_, err := svc.Refund(ctx, refund)
	if got := ErrorCode(err); got != CodeNotFound {
		t.Fatalf("refund before the purchase: got %q (%v), want %q", got, err, CodeNotFound)
	}
	if Retryable(err) {
		t.Errorf("refund before the purchase: got retryable, want a final code the caller decides on")
	}
	if _, err := st.Account(ctx, "m1"); ErrorCode(err) != CodeNotFound {
		t.Errorf("account after the early refund: got %v, want none written", err)
	}

	if _, err := svc.Accrue(ctx, Purchase{Key: PurchaseKey("shop", "p1"), MemberID: "m1", Ref: "shop:p1",
		Spend: Money{1000, "EUR"}, OccurredAt: now, Actor: "partner:shop"}); err != nil {
		t.Fatalf("purchase: %v", err)
	}
	res, err := svc.Refund(ctx, refund)
	if err != nil {
		t.Fatalf("refund after the purchase: got %v, want it to apply", err)
	}
	if res.Entry.Delta != -5 {
		t.Errorf("refund delta: got %d, want -5", res.Entry.Delta)
	}
	again, err := svc.Refund(ctx, refund)
	if err != nil || !again.Replayed || again.Entry.Delta != -5 {
		t.Errorf("redelivered refund: got %+v, %v; want the first result replayed", again, err)
	}
	other := refund
	other.Amount = &Money{900, "EUR"}
	if _, err := svc.Refund(ctx, other); ErrorCode(err) != CodeIdempotencyReuse {
		t.Errorf("another refund under the same key: got %v, want %q", err, CodeIdempotencyReuse)
	}
	a, _ := st.Account(ctx, "m1")
	if a.Balance != 5 {
		t.Errorf("balance: got %d, want 5", a.Balance)
	}
}
