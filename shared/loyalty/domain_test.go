package loyalty

import (
	"fmt"
	"testing"
	"time"
)

func program(tb testing.TB, refund RefundPolicy) *Program {
	tb.Helper()
	p := &Program{Version: 1, ID: "t", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown},
		Expiry: ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: refund}
	if err := p.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

func TestBasePointsRounding(t *testing.T) {
	cases := []struct {
		name     string
		rate     EarnRate
		minor    int64
		currency string
		want     Points
		wantCode Code
	}{
		{"down 9.99", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown}, 999, "EUR", 9, ""},
		{"half up 9.50", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundHalfUp}, 950, "EUR", 10, ""},
		{"half up 9.49", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundHalfUp}, 949, "EUR", 9, ""},
		{"up 9.01", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundUp}, 901, "EUR", 10, ""},
		{"up exact", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundUp}, 900, "EUR", 9, ""},
		{"2 per 1 EUR", EarnRate{Points: 2, PerMinor: 100, Rounding: RoundDown}, 1234, "EUR", 24, ""},
		{"1 per 10 EUR", EarnRate{Points: 1, PerMinor: 1000, Rounding: RoundDown}, 9999, "EUR", 9, ""},
		{"zero spend", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundUp}, 0, "EUR", 0, ""},
		{"other currency", EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown}, 1000, "USD", 0, CodeInvalid},
		{"overflow", EarnRate{Points: 1_000_000, PerMinor: 1, Rounding: RoundDown}, MaxMinor, "EUR", 0, CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, RefundNegative)
			p.Earn = c.rate
			got, err := p.BasePoints(Money{Minor: c.minor, Currency: c.currency})
			if ErrorCode(err) != c.wantCode || got != c.want {
				t.Errorf("got %d (%v), want %d (code %q)", got, err, c.want, c.wantCode)
			}
		})
	}
}

func TestLotExpiry(t *testing.T) {
	berlin := func(s string) time.Time {
		loc, _ := time.LoadLocation("Europe/Berlin")
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name   string
		policy ExpiryPolicy
		earned time.Time
		want   Date
	}{
		{"12 months end of month", ExpiryPolicy{12, true}, berlin("2026-03-10 12:00"), "2027-03-31"},
		{"23:30 local on the last day belongs to that month", ExpiryPolicy{1, true}, berlin("2026-01-31 23:30"), "2026-02-28"},
		{"same instant is February in UTC+0? no: still Jan 31 local", ExpiryPolicy{1, false}, time.Date(2026, 1, 31, 22, 30, 0, 0, time.UTC), "2026-02-28"},
		{"00:30 local on the 1st belongs to the new month", ExpiryPolicy{1, true}, berlin("2026-02-01 00:30"), "2026-03-31"},
		{"Jan 31 + 1 month clamps to Feb 28", ExpiryPolicy{1, false}, berlin("2026-01-31 10:00"), "2026-02-28"},
		{"leap year: Jan 31 + 1 month is Feb 29", ExpiryPolicy{1, false}, berlin("2028-01-31 10:00"), "2028-02-29"},
		{"Feb 29 + 12 months is Feb 28", ExpiryPolicy{12, false}, berlin("2028-02-29 10:00"), "2029-02-28"},
		{"DST spring forward day", ExpiryPolicy{6, false}, berlin("2026-03-29 03:30"), "2026-09-29"},
		{"DST fall back, second 02:30", ExpiryPolicy{6, false}, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), "2027-04-25"},
		{"never", ExpiryPolicy{0, false}, berlin("2026-01-01 00:00"), NoExpiry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, RefundNegative)
			p.Expiry = c.policy
			if got := p.LotExpiry(c.earned); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// accountWith builds an account holding the given lots, with the ledger
// entries that made them.
func accountWith(tb testing.TB, p *Program, lots ...Lot) (Account, []Entry) {
	tb.Helper()
	a := NewAccount("m1", now)
	var entries []Entry
	for i, l := range lots {
		e := Entry{MemberID: "m1", Key: fmt.Sprint("seed", i), Kind: KindAdjustment, At: now, Earned: l.Points}
		before := a.Balance
		a.credit(&e, l.Points, l.Expires)
		a.Lifetime += l.Points
		a.settle(&e, before, "")
		entries = append(entries, e)
	}
	return a, entries
}

func TestRedemptionTakesOldestLotsFirst(t *testing.T) {
	p := program(t, RefundNegative)
	cases := []struct {
		name      string
		lots      []Lot
		cost      Points
		wantLots  string
		wantTaken string
		wantCode  Code
	}{
		{"one lot partly", []Lot{{"2027-01-31", 100}}, 30, "[{2027-01-31 70}]", "[{2027-01-31 -30}]", ""},
		{"across lots", []Lot{{"2027-03-31", 50}, {"2027-01-31", 40}}, 60, "[{2027-03-31 30}]", "[{2027-01-31 -40} {2027-03-31 -20}]", ""},
		{"exact balance", []Lot{{"2027-01-31", 10}, {"2027-02-28", 10}}, 20, "[]", "[{2027-01-31 -10} {2027-02-28 -10}]", ""},
		{"too expensive", []Lot{{"2027-01-31", 10}}, 11, "[{2027-01-31 10}]", "", CodeInsufficientPoints},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, entries := accountWith(t, p, c.lots...)
			ch, err := PlanRedemption(a, p, "m1", "r:k", Reward{ID: "x", Name: "X", Cost: c.cost, Active: true}, now)
			if ErrorCode(err) != c.wantCode {
				t.Fatalf("got code %q (%v), want %q", ErrorCode(err), err, c.wantCode)
			}
			if err != nil {
				if fmt.Sprint(a.Lots) != c.wantLots {
					t.Errorf("refused redemption changed lots: got %v, want %s", a.Lots, c.wantLots)
				}
				return
			}
			if got := fmt.Sprint(ch.Account.Lots); got != c.wantLots && !(got == "[]" && c.wantLots == "[]") {
				t.Errorf("lots: got %s, want %s", got, c.wantLots)
			}
			if got := fmt.Sprint(ch.Entry.Lots); got != c.wantTaken {
				t.Errorf("taken: got %s, want %s", got, c.wantTaken)
			}
			if ch.Entry.Delta != -c.cost || ch.Redemption == nil || ch.Redemption.Code == "" {
				t.Errorf("entry delta %d redemption %+v, want delta %d and a code", ch.Entry.Delta, ch.Redemption, -c.cost)
			}
			if p := AuditAccount(ch.Account, append(entries, ch.Entry)); p != nil {
				t.Errorf("audit: %v", p.Problems)
			}
		})
	}
}

func TestReversalPolicies(t *testing.T) {
	cases := []struct {
		name        string
		policy      RefundPolicy
		spent       Points // redeemed after the purchase
		reverse     Points
		wantBalance Points
		wantDeficit Points
		wantDebt    Points
	}{
		{"nothing spent", RefundNegative, 0, 100, 0, 0, 0},
		{"partial refund", RefundNegative, 0, 40, 60, 0, 0},
		{"spent, negative balance", RefundNegative, 80, 100, -80, 80, 0},
		{"spent, debt", RefundDebt, 80, 100, 0, 0, 80},
		{"more than earned is capped", RefundNegative, 0, 500, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := program(t, c.policy)
			a := NewAccount("m1", now)
			acc, _ := PlanAccrual(a, p, Purchase{Key: "p:s:1", MemberID: "m1", Spend: Money{10_000, "EUR"}, OccurredAt: now}, 100, nil, now)
			entries := []Entry{acc.Entry}
			a = acc.Account
			if c.spent > 0 {
				red, err := PlanRedemption(a, p, "m1", "r:1", Reward{ID: "x", Name: "X", Cost: c.spent, Active: true}, now)
				if err != nil {
					t.Fatal(err)
				}
				a, entries = red.Account, append(entries, red.Entry)
			}
			rev, err := PlanReversal(a, p, acc.Entry, Reversal{Key: "x:1", MemberID: "m1", OriginalKey: "p:s:1", Points: c.reverse}, now)
			if err != nil {
				t.Fatal(err)
			}
			got := rev.Account
			if got.Balance != c.wantBalance || got.Deficit != c.wantDeficit || got.Debt != c.wantDebt {
				t.Errorf("got balance %d deficit %d debt %d, want %d %d %d", got.Balance, got.Deficit, got.Debt, c.wantBalance, c.wantDeficit, c.wantDebt)
			}
			if pr := AuditAccount(got, append(entries, rev.Entry)); pr != nil {
				t.Errorf("audit: %v", pr.Problems)
			}
			// A second reversal of what is left takes nothing more than earned.
			again, _ := PlanReversal(got, p, *rev.Original, Reversal{Key: "x:2", MemberID: "m1", OriginalKey: "p:s:1", Points: 100}, now)
			if rev.Original.Reversed+again.Original.Reversed-rev.Original.Reversed > 100 {
				t.Errorf("reversed in total %d, more than the 100 earned", again.Original.Reversed)
			}
			// Later earnings pay back the deficit or the debt first.
			later, _ := PlanAccrual(got, p, Purchase{Key: "p:s:2", MemberID: "m1", Spend: Money{20_000, "EUR"}, OccurredAt: now}, 200, nil, now)
			if later.Account.Deficit != 0 || later.Account.Debt != 0 {
				t.Errorf("after earning 200: deficit %d debt %d, want both 0", later.Account.Deficit, later.Account.Debt)
			}
			if pr := AuditAccount(later.Account, append(entries, rev.Entry, later.Entry)); pr != nil {
				t.Errorf("audit after earning: %v", pr.Problems)
			}
		})
	}
}

func TestExpiryAndDueDay(t *testing.T) {
	p := program(t, RefundNegative)
	a, entries := accountWith(t, p, Lot{"2026-03-31", 10}, Lot{"2026-04-30", 20}, Lot{"2026-05-31", 30})
	if a.DueOn != "2026-04-01" {
		t.Fatalf("due on: got %s, want 2026-04-01", a.DueOn)
	}
	cases := []struct {
		today       Date
		wantOK      bool
		wantBalance Points
		wantDue     Date
	}{
		{"2026-03-31", false, 60, "2026-04-01"}, // last valid day
		{"2026-04-01", true, 50, "2026-05-01"},
		{"2026-06-15", true, 0, ""},
	}
	for _, c := range cases {
		t.Run(string(c.today), func(t *testing.T) {
			ch, ok := PlanExpiry(a, p, "e:"+string(c.today), c.today, now)
			if ok != c.wantOK || ch.Account.Balance != c.wantBalance || ch.Account.DueOn != c.wantDue {
				t.Errorf("got ok=%v balance %d due %q, want %v %d %q", ok, ch.Account.Balance, ch.Account.DueOn, c.wantOK, c.wantBalance, c.wantDue)
			}
			if ok {
				if pr := AuditAccount(ch.Account, append(entries, ch.Entry)); pr != nil {
					t.Errorf("audit: %v", pr.Problems)
				}
			}
		})
	}
}

func TestAdjustmentValidation(t *testing.T) {
	cases := []struct {
		name string
		ad   Adjustment
		want Code
	}{
		{"ok", Adjustment{Key: "k", MemberID: "m", Points: 5, Reason: "goodwill"}, ""},
		{"no reason", Adjustment{Key: "k", MemberID: "m", Points: 5}, CodeInvalid},
		{"zero", Adjustment{Key: "k", MemberID: "m", Points: 0, Reason: "goodwill"}, CodeInvalid},
		{"absurd", Adjustment{Key: "k", MemberID: "m", Points: MaxPoints + 1, Reason: "goodwill"}, CodeInvalid},
		{"bad key", Adjustment{Key: "a b", MemberID: "m", Points: 1, Reason: "goodwill"}, CodeInvalid},
		{"bad member", Adjustment{Key: "k", MemberID: "m/../x", Points: 1, Reason: "goodwill"}, CodeInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := ErrorCode(c.ad.Validate()); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	p := program(t, RefundNegative)
	_, err := PlanAdjustment(NewAccount("m", now), p, Adjustment{Key: "k", MemberID: "m", Points: -1, Reason: "oops"}, now)
	if ErrorCode(err) != CodeInsufficientPoints {
		t.Errorf("debit below zero: got %v, want insufficient_points", err)
	}
}

func TestAuditFindsDisagreement(t *testing.T) {
	p := program(t, RefundNegative)
	a, entries := accountWith(t, p, Lot{"2027-01-31", 10})
	cases := []struct {
		name   string
		mutate func(*Account, []Entry) []Entry
	}{
		{"balance off", func(a *Account, e []Entry) []Entry { a.Balance++; return e }},
		{"lot off", func(a *Account, e []Entry) []Entry { a.Lots[0].Points++; return e }},
		{"missing entry", func(a *Account, e []Entry) []Entry { return nil }},
		{"extra entry", func(a *Account, e []Entry) []Entry {
			return append(e, Entry{Key: "x", Delta: 1, Lots: []Lot{{"2027-01-31", 1}}})
		}},
	}
	if pr := AuditAccount(a, entries); pr != nil {
		t.Fatalf("clean account: %v", pr.Problems)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := a.Clone()
			es := c.mutate(&b, append([]Entry(nil), entries...))
			if AuditAccount(b, es) == nil {
				t.Errorf("got no problem, want one")
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	cases := []struct {
		in     Date
		months int
		want   Date
	}{
		{"2026-01-31", 1, "2026-02-28"}, {"2024-01-31", 1, "2024-02-29"}, {"2026-12-15", 1, "2027-01-15"},
		{"2026-03-31", -1, "2026-02-28"}, {"2026-05-31", 12, "2027-05-31"},
	}
	for _, c := range cases {
		if got := c.in.AddMonths(c.months); got != c.want {
			t.Errorf("%s + %d months: got %s, want %s", c.in, c.months, got, c.want)
		}
	}
	if got := Date("2028-02-10").EndOfMonth(); got != "2028-02-29" {
		t.Errorf("end of Feb 2028: got %s, want 2028-02-29", got)
	}
}
