package loyalty

import (
	"testing"
	"time"
)

func limitedProgram(tb testing.TB, onExcess string, caps map[LimitSource]PeriodCaps, partnerMax int64) *Program {
	tb.Helper()
	p := &Program{Version: 1, ID: "t", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown},
		Expiry: ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: RefundNegative,
		Partners: []Partner{{ID: "shop", Name: "Shop", MaxPurchaseMinor: partnerMax}},
		Feedback: &Feedback{BonusPoints: 10, MaxCommentLength: 100},
		Limits:   &Limits{OnExcess: onExcess, PerMember: caps}}
	if err := p.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

// A member's purchases in a day and a month are held to the caps, in the
// program's timezone: refused whole, or cut with the entry saying what it
// would have earned; a new day (in Berlin, not UTC) starts a new count.
func TestPurchaseCaps(t *testing.T) {
	day := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	type buy struct {
		at    time.Time
		minor int64
	}
	cases := []struct {
		name       string
		onExcess   string
		caps       PeriodCaps
		buys       []buy
		want       []Points // credited per purchase; -1 means refused with limit_exceeded
		wantUncap  []Points
		wantCounts map[string]Points // after the last purchase
	}{
		{"cap within the day", ExcessCap, PeriodCaps{Day: 100}, []buy{{day, 6000}, {day, 6000}, {day, 6000}},
			[]Points{60, 40, 0}, []Points{0, 60, 60}, map[string]Points{"purchases/d2026-03-10": 100}},
		{"refuse within the day", ExcessRefuse, PeriodCaps{Day: 100}, []buy{{day, 6000}, {day, 6000}, {day, 4000}},
			[]Points{60, -1, 40}, []Points{0, 0, 0}, map[string]Points{"purchases/d2026-03-10": 100}},
		{"the day ends at midnight in Berlin", ExcessCap, PeriodCaps{Day: 100},
			[]buy{{time.Date(2026, 3, 10, 22, 30, 0, 0, time.UTC), 9000}, {time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC), 9000}},
			[]Points{90, 90}, []Points{0, 0}, map[string]Points{"purchases/d2026-03-11": 90}},
		{"month cap across days", ExcessCap, PeriodCaps{Day: 100, Month: 150},
			[]buy{{day, 10000}, {day.AddDate(0, 0, 1), 10000}, {day.AddDate(0, 0, 2), 10000}},
			[]Points{100, 50, 0}, []Points{0, 100, 100}, map[string]Points{"purchases/d2026-03-12": 0, "purchases/m2026-03": 150}},
		{"a new month starts over", ExcessCap, PeriodCaps{Month: 100},
			[]buy{{day, 10000}, {time.Date(2026, 3, 31, 23, 30, 0, 0, time.UTC), 5000}},
			[]Points{100, 50}, []Points{0, 0}, map[string]Points{"purchases/m2026-04": 50}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prog := limitedProgram(t, c.onExcess, map[LimitSource]PeriodCaps{SourcePurchases: c.caps}, 0)
			acct := NewAccount("m1", day)
			acct.Version = 1
			for i, b := range c.buys {
				p := Purchase{Key: PurchaseKey("shop", string(rune('a'+i))), MemberID: "m1", Ref: "shop:x",
					Spend: Money{Minor: b.minor, Currency: "EUR"}, OccurredAt: b.at, Actor: "partner:shop"}
				ch, err := PlanEarning(acct, prog, p, b.at)
				if c.want[i] < 0 {
					if ErrorCode(err) != CodeLimitExceeded {
						t.Fatalf("purchase %d: got %v, want %s", i, err, CodeLimitExceeded)
					}
					continue
				}
				if err != nil {
					t.Fatalf("purchase %d: %v", i, err)
				}
				if ch.Entry.Earned != c.want[i] || ch.Entry.Uncapped != c.wantUncap[i] {
					t.Errorf("purchase %d: got %d points (uncapped %d), want %d (uncapped %d)", i, ch.Entry.Earned, ch.Entry.Uncapped, c.want[i], c.wantUncap[i])
				}
				var sum Points
				for _, r := range ch.Entry.Rules {
					sum += r.Points
				}
				if sum != ch.Entry.Earned {
					t.Errorf("purchase %d: rules %v sum to %d, want the %d earned", i, ch.Entry.Rules, sum, ch.Entry.Earned)
				}
				acct = ch.Account
			}
			for k, want := range c.wantCounts {
				if got := acct.Earned[k]; got != want {
					t.Errorf("counter %s: got %d, want %d (all: %v)", k, got, want, acct.Earned)
				}
			}
			if len(acct.Earned) > 2 {
				t.Errorf("counters: got %v, want at most this day's and month's", acct.Earned)
			}
		})
	}
}

// A partner's maximum purchase amount: above it the purchase is refused,
// or earns as if it were the maximum.
func TestPartnerMaximumPurchase(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := Purchase{Key: PurchaseKey("shop", "big"), MemberID: "m1", Ref: "shop:big",
		Spend: Money{Minor: 1_000_000_000_00, Currency: "EUR"}, OccurredAt: now, Actor: "partner:shop"}
	acct := NewAccount("m1", now)
	if _, err := PlanEarning(acct, limitedProgram(t, ExcessRefuse, nil, 50_000), p, now); ErrorCode(err) != CodeLimitExceeded {
		t.Errorf("refuse: got %v, want %s", err, CodeLimitExceeded)
	}
	ch, err := PlanEarning(acct, limitedProgram(t, ExcessCap, nil, 50_000), p, now)
	if err != nil || ch.Entry.Earned != 500 || ch.Entry.Uncapped != 1_000_000_000 {
		t.Errorf("cap: got %d points (uncapped %d, %v), want 500 for the 500.00 maximum (uncapped 1000000000)", ch.Entry.Earned, ch.Entry.Uncapped, err)
	}
	small := p
	small.Spend.Minor = 49_999
	if ch, err := PlanEarning(acct, limitedProgram(t, ExcessRefuse, nil, 50_000), small, now); err != nil || ch.Entry.Earned != 499 || ch.Entry.Uncapped != 0 {
		t.Errorf("below the maximum: got %d (uncapped %d, %v), want 499, not capped", ch.Entry.Earned, ch.Entry.Uncapped, err)
	}
}

// Adjustments and feedback bonuses count against their own sources' caps,
// not the purchases'.
func TestCapsPerSource(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	prog := limitedProgram(t, ExcessCap, map[LimitSource]PeriodCaps{
		SourcePurchases: {Day: 1000}, SourceAdjustments: {Day: 300}, SourceFeedback: {Day: 15}}, 0)
	acct := NewAccount("m1", now)
	acct.Version = 1
	ch, err := PlanAdjustment(acct, prog, Adjustment{Key: "a:1", MemberID: "m1", Points: 500, Reason: "goodwill", Actor: "ops:ana"}, now)
	if err != nil || ch.Entry.Earned != 300 || ch.Entry.Uncapped != 500 || ch.Account.Balance != 300 {
		t.Errorf("adjustment of 500 under a 300 cap: got %d (uncapped %d, balance %d, %v), want 300", ch.Entry.Earned, ch.Entry.Uncapped, ch.Account.Balance, err)
	}
	acct = ch.Account
	buy := Purchase{Key: PurchaseKey("shop", "p1"), MemberID: "m1", Ref: "shop:p1", Spend: Money{Minor: 2000, Currency: "EUR"}, OccurredAt: now, Actor: "partner:shop"}
	ch, err = PlanEarning(acct, prog, buy, now)
	if err != nil || ch.Entry.Earned != 20 {
		t.Fatalf("purchase after the adjustment: got %d, %v; want 20 (the adjustments' cap is its own)", ch.Entry.Earned, err)
	}
	acct = ch.Account
	purchase := ch.Entry
	for i, want := range []Points{10, 5, 0} {
		purchase.Key = PurchaseKey("shop", string(rune('x'+i)))
		fb, err := PlanFeedback(acct, prog, purchase, FeedbackRequest{MemberID: "m1", PurchaseID: purchase.Key, Rating: 5}, now)
		if err != nil || fb.Entry.Earned != want {
			t.Errorf("feedback %d: got bonus %d (%v), want %d under the 15-point day cap", i, fb.Entry.Earned, err, want)
		}
		acct = fb.Account
	}
	prog = limitedProgram(t, ExcessRefuse, map[LimitSource]PeriodCaps{SourceAdjustments: {Day: 300}}, 0)
	if _, err := PlanAdjustment(NewAccount("m2", now), prog, Adjustment{Key: "a:2", MemberID: "m2", Points: 301, Reason: "goodwill", Actor: "ops:ana"}, now); ErrorCode(err) != CodeLimitExceeded {
		t.Errorf("adjustment over a refusing cap: got %v, want %s", err, CodeLimitExceeded)
	}
}

func TestLimitsValidation(t *testing.T) {
	cases := map[string]*Program{
		"no policy":         {Limits: &Limits{PerMember: map[LimitSource]PeriodCaps{SourcePurchases: {Day: 10}}}},
		"unknown source":    {Limits: &Limits{OnExcess: ExcessCap, PerMember: map[LimitSource]PeriodCaps{"logins": {Day: 10}}}},
		"empty caps":        {Limits: &Limits{OnExcess: ExcessCap, PerMember: map[LimitSource]PeriodCaps{SourcePurchases: {}}}},
		"month below day":   {Limits: &Limits{OnExcess: ExcessCap, PerMember: map[LimitSource]PeriodCaps{SourcePurchases: {Day: 10, Month: 5}}}},
		"negative":          {Limits: &Limits{OnExcess: ExcessCap, PerMember: map[LimitSource]PeriodCaps{SourcePurchases: {Day: -1}}}},
		"max without rules": {Partners: []Partner{{ID: "shop", Name: "Shop", MaxPurchaseMinor: 100}}},
	}
	for name, p := range cases {
		p.Version, p.ID, p.Currency, p.Timezone, p.Refund = 1, "t", "EUR", "Europe/Berlin", RefundNegative
		p.Earn = EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown}
		if err := p.Validate(); ErrorCode(err) != CodeInvalid {
			t.Errorf("%s: got %v, want %s", name, err, CodeInvalid)
		}
	}
}
