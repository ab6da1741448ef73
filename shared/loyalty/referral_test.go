package loyalty

import (
	"strings"
	"testing"
	"time"
)

func referralProgram(tb testing.TB) *Program {
	tb.Helper()
	p := program(tb, RefundNegative)
	p.Referral = &Referral{ReferrerBonus: 100, RefereeBonus: 50, MonthlyCap: 2, MinSpendMinor: 500}
	p.Feedback = &Feedback{BonusPoints: 10, MaxCommentLength: 20}
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestNormalizeReferralCode(t *testing.T) {
	code := referralCode("m-1", 0)
	cases := []struct {
		in, want string
		ok       bool
	}{
		{code, code, true},
		{strings.ToLower(code), code, true},
		{code[:5] + "-" + code[5:], code, true},
		{" " + code[:3] + " " + code[3:] + " ", code, true},
		{"O0IL1ABCDE", "00111ABCDE", true}, // O is 0, I and L are 1
		{"ABCDEFGHJ", "", false},           // too short
		{"ABCDEFGHJKM", "", false},         // too long
		{"ABCDEFGHJU", "", false},          // U is not in the alphabet
		{"ABCDE_FGHJ", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, err := NormalizeReferralCode(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%q: got %q, %v; want %q (ok %v)", c.in, got, err, c.want, c.ok)
		}
		if err != nil && ErrorCode(err) != CodeInvalid {
			t.Errorf("%q: got code %q, want %q", c.in, ErrorCode(err), CodeInvalid)
		}
	}
	if referralCode("m-1", 0) != code || referralCode("m-1", 1) == code || referralCode("m-2", 0) == code {
		t.Errorf("codes: want stable per member and attempt, distinct across them")
	}
	if _, err := NormalizeReferralCode(referralCode("anyone", 3)); err != nil {
		t.Errorf("a derived code does not read back: %v", err)
	}
}

func TestReferralPayoutOnTheFirstQualifyingPurchase(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	buy := func(minor int64) Purchase {
		return Purchase{Key: "p:s:1", MemberID: "referee", Ref: "s:1", Spend: Money{Minor: minor, Currency: "EUR"}, OccurredAt: now}
	}
	pending := Account{MemberID: "referee", CreatedAt: now, Version: 3, ReferredBy: "referrer"}
	inDeficit := pending
	inDeficit.Deficit, inDeficit.Balance = 30, -30
	cases := []struct {
		name        string
		acct        Account
		prog        func(*Program)
		minor       int64
		wantDelta   Points
		wantEarned  Points
		wantPayout  bool
		wantPending bool
	}{
		{"qualifying", pending, nil, 1000, 60, 60, true, false},
		{"exactly the minimum", pending, nil, 500, 55, 55, true, false},
		{"below the minimum", pending, nil, 499, 4, 4, false, true},
		{"not referred", Account{MemberID: "referee", CreatedAt: now}, nil, 1000, 10, 10, false, false},
		{"no referral programme", pending, func(p *Program) { p.Referral = nil }, 1000, 10, 10, false, true},
		{"no referee bonus", pending, func(p *Program) { p.Referral.RefereeBonus = 0 }, 1000, 10, 10, true, false},
		{"the bonus first repays a deficit", inDeficit, nil, 1000, 60, 60, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := referralProgram(t)
			if c.prog != nil {
				c.prog(p)
			}
			ch, err := PlanEarning(c.acct, p, buy(c.minor), now)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Entry.Delta != c.wantDelta || ch.Entry.Earned != c.wantEarned {
				t.Errorf("got delta %d earned %d, want %d and %d", ch.Entry.Delta, ch.Entry.Earned, c.wantDelta, c.wantEarned)
			}
			if (ch.Referral != nil) != c.wantPayout {
				t.Errorf("got payout %+v, want payout %v", ch.Referral, c.wantPayout)
			}
			if (ch.Account.ReferredBy != "") != c.wantPending {
				t.Errorf("got ReferredBy %q, want pending %v", ch.Account.ReferredBy, c.wantPending)
			}
			var sum Points
			for _, r := range ch.Entry.Rules {
				sum += r.Points
			}
			if sum != ch.Entry.Earned {
				t.Errorf("rules %v add up to %d, want %d", ch.Entry.Rules, sum, ch.Entry.Earned)
			}
			if p := AuditAccount(ch.Account, append([]Entry{{Delta: c.acct.Balance, DeficitDelta: c.acct.Deficit}}, ch.Entry)); p != nil {
				t.Errorf("the planned account does not audit: %v", p.Problems)
			}
			if ch.Referral != nil && (ch.Referral.Referee.Referrer != "referrer" || ch.Referral.Month != "2026-03" || ch.Referral.Cap != 2) {
				t.Errorf("payout: got %+v, want referrer, month 2026-03, cap 2", ch.Referral)
			}
		})
	}
}

func TestReferrerBonusAndCap(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	p := referralProgram(t)
	referrer := Account{MemberID: "referrer", CreatedAt: now, Version: 7, Balance: 5, Lots: []Lot{{Expires: "2027-03-31", Points: 5}}}
	pay := ReferralPayout{Month: "2026-03", Cap: 2, Referee: Referee{Referrer: "referrer", Member: "referee"}}

	under := PlanReferrerBonus(referrer, p, pay, ReferralMonth{Paid: 1}, now)
	if under.Capped || under.Entry == nil || under.Entry.Delta != 100 || under.Account.Balance != 105 || under.Account.Version != 7 {
		t.Fatalf("under the cap: got %+v, want 100 points to a balance of 105 at version 7", under)
	}
	if under.PaidBefore != 1 || under.Referee.State != ReferralPaid || under.Entry.Kind != KindReferralBonus {
		t.Errorf("under the cap: got %+v, want paid before 1, state paid, a referral_bonus entry", under)
	}
	if strings.Contains(under.Entry.Key, "referee") {
		t.Errorf("the referrer's entry key %q names the referee", under.Entry.Key)
	}
	if under.Entry.Key != referralEntryKey("referee") || under.Entry.Key == referralEntryKey("other") {
		t.Errorf("entry key: want one per referee")
	}
	at := PlanReferrerBonus(referrer, p, pay, ReferralMonth{Paid: 2}, now)
	if !at.Capped || at.Entry != nil || at.Referee.State != ReferralCapped || !strings.Contains(at.Referee.Reason, "cap of 2") {
		t.Errorf("at the cap: got %+v, want capped, nothing paid, a reason", at)
	}
	p.Referral.ReferrerBonus = 0
	if none := PlanReferrerBonus(referrer, p, pay, ReferralMonth{}, now); none.Entry != nil || none.Capped || none.Referee.State != ReferralPaid {
		t.Errorf("no referrer bonus: got %+v, want paid with no entry", none)
	}
}

func TestFeedbackValidation(t *testing.T) {
	p := referralProgram(t)
	ok := FeedbackRequest{MemberID: "m", PurchaseID: "p:shop:1", Rating: 5, Comment: "good"}
	cases := []struct {
		name  string
		mut   func(*FeedbackRequest)
		field string
	}{
		{"valid", func(*FeedbackRequest) {}, ""},
		{"no comment", func(r *FeedbackRequest) { r.Comment = "" }, ""},
		{"twenty characters, some wide", func(r *FeedbackRequest) { r.Comment = strings.Repeat("ü", 20) }, ""},
		{"spaces around are trimmed", func(r *FeedbackRequest) { r.Comment = "   " + strings.Repeat("a", 20) + "   " }, ""},
		{"new lines are fine", func(r *FeedbackRequest) { r.Comment = "good\nvery" }, ""},
		{"rating 0", func(r *FeedbackRequest) { r.Rating = 0 }, "rating"},
		{"rating 6", func(r *FeedbackRequest) { r.Rating = 6 }, "rating"},
		{"rating -1", func(r *FeedbackRequest) { r.Rating = -1 }, "rating"},
		{"comment too long", func(r *FeedbackRequest) { r.Comment = strings.Repeat("a", 21) }, "comment"},
		{"a bell", func(r *FeedbackRequest) { r.Comment = "ding\adong" }, "comment"},
		{"not UTF-8", func(r *FeedbackRequest) { r.Comment = "bad \xff" }, "comment"},
		{"purchase id empty", func(r *FeedbackRequest) { r.PurchaseID = "" }, "purchaseId"},
		{"purchase id with a space", func(r *FeedbackRequest) { r.PurchaseID = "p: x" }, "purchaseId"},
		{"purchase id too long", func(r *FeedbackRequest) { r.PurchaseID = strings.Repeat("p", 301) }, "purchaseId"},
		{"member id", func(r *FeedbackRequest) { r.MemberID = "a/b" }, "memberId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.mut(&r)
			err := r.Validate(p)
			var e *Error
			switch {
			case c.field == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case c.field != "" && (!asErr(err, &e) || e.Field != c.field || e.Code != CodeInvalid):
				t.Errorf("got %v, want invalid %s", err, c.field)
			}
		})
	}
}

func TestPlanFeedback(t *testing.T) {
	now := time.Date(2026, 3, 10, 23, 30, 0, 0, time.UTC) // already March 11 in Berlin
	p := referralProgram(t)
	acct := Account{MemberID: "m", CreatedAt: now, Version: 2}
	spend := Money{Minor: 1000, Currency: "EUR"}
	purchase := Entry{MemberID: "m", Key: "p:shop:1", Kind: KindAccrual, Ref: "shop:1", Spend: &spend, Earned: 10}
	req := FeedbackRequest{MemberID: "m", PurchaseID: "p:shop:1", Rating: 4, Comment: "ok"}
	c, err := PlanFeedback(acct, p, purchase, req, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Entry.Key != "fb:p:shop:1" || c.Entry.Kind != KindFeedback || c.Entry.Delta != 10 || c.Account.Balance != 10 || c.Entry.Ref != "p:shop:1" {
		t.Errorf("entry: got %+v, want fb:p:shop:1 crediting 10", c.Entry)
	}
	if fb := c.Feedback; fb == nil || fb.Day != "2026-03-11" || fb.Bonus != 10 || fb.PurchaseRef != "shop:1" || fb.Rating != 4 {
		t.Errorf("feedback: got %+v, want day 2026-03-11 (Berlin), 10 points, rating 4", fb)
	}
	p.Feedback = nil
	if c, err := PlanFeedback(acct, p, purchase, req, now); err != nil || c.Entry.Delta != 0 || len(c.Entry.Lots) != 0 || c.Feedback.Bonus != 0 {
		t.Errorf("without a feedback bonus: got %+v, %v; want feedback with no points", c.Entry, err)
	}
	redemption := Entry{MemberID: "m", Key: "r:1", Kind: KindRedemption}
	if _, err := PlanFeedback(acct, p, redemption, req, now); ErrorCode(err) != CodeInvalid {
		t.Errorf("feedback on a redemption: got %v, want invalid", err)
	}
}

func TestPointValue(t *testing.T) {
	cases := []struct {
		value, currency string
		points          Points
		want            string
		ok              bool
	}{
		{"0.01", "EUR", 1496, "14.96 EUR", true},
		{"0.0125", "EUR", 1496, "18.70 EUR", true},
		{"0.005", "EUR", 3, "0.02 EUR", true}, // 1.5 cents rounds half up
		{"0.005", "EUR", -3, "-0.02 EUR", true},
		{"1", "JPY", 250, "250 JPY", true},
		{"0.0001", "KWD", 12345, "1.235 KWD", true}, // 1234.5 fils rounds half up
		{"0", "EUR", 100, "0.00 EUR", true},
		{"2.5", "EUR", 0, "0.00 EUR", true},
		{"one cent", "EUR", 0, "", false},
		{"-0.01", "EUR", 0, "", false},
		{".01", "EUR", 0, "", false},
		{"0.0000001", "EUR", 0, "", false},
		{"0.01", "EURO", 0, "", false},
	}
	for _, c := range cases {
		v, err := ParsePointValue(c.value, c.currency)
		if (err == nil) != c.ok {
			t.Errorf("%s %s: got %v, want ok %v", c.value, c.currency, err, c.ok)
			continue
		}
		if c.ok {
			if got := FormatMoney(v.Of(c.points)); got != c.want {
				t.Errorf("%d points at %s %s: got %s, want %s", c.points, c.value, c.currency, got, c.want)
			}
		}
	}
}

func TestBacktestReplaysInOrderOncePerPurchase(t *testing.T) {
	cur := program(t, RefundNegative)
	cand := program(t, RefundNegative)
	cand.ID = "candidate"
	cand.Promotions = []Promotion{{ID: "first-two", Name: "20 points on the first two purchases", From: "2026-01-01", BonusPoints: 20, LimitPerMember: 2}}
	cand.Tiers = Tiers{Window: WindowRolling12, Levels: []TierLevel{{ID: "base", Name: "Base"}, {ID: "vip", Name: "VIP", Threshold: 100, Multiplier: 2000}}}
	if err := cand.Validate(); err != nil {
		t.Fatal(err)
	}
	at := func(day int) time.Time { return time.Date(2026, 3, day, 12, 0, 0, 0, time.UTC) }
	buy := func(member MemberID, key string, minor int64, day int) Purchase {
		return Purchase{Key: key, MemberID: member, Spend: Money{Minor: minor, Currency: "EUR"}, OccurredAt: at(day)}
	}
	// Out of order and with a repeated delivery: the replay sorts by time.
	purchases := []Purchase{
		buy("a", "p:s:3", 1000, 3), buy("a", "p:s:1", 1000, 1), buy("b", "p:s:9", 500, 2),
		buy("a", "p:s:2", 10000, 2), buy("a", "p:s:1", 1000, 1),
	}
	rep, err := Backtest(cur, cand, purchases)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Purchases != 4 || rep.Duplicates != 1 || rep.Members != 2 {
		t.Errorf("counts: got %+v, want 4 purchases, 1 duplicate, 2 members", rep)
	}
	if rep.Current.Points != 10+100+10+5 || rep.Current.Rules["base"] != 125 {
		t.Errorf("current: got %+v, want 125 base points", rep.Current)
	}
	// a: day 1 10+20, day 2 100+20 (reaches VIP), day 3 10 + 10 VIP (no third
	// bonus); b: 5+20.
	want := map[string]Points{"base": 125, "promo:first-two": 60, "tier:vip": 10}
	for rule, w := range want {
		if got := rep.Candidate.Rules[rule]; got != w {
			t.Errorf("candidate %s: got %d, want %d", rule, got, w)
		}
	}
	if rep.Candidate.Points != 195 || rep.Candidate.TierUpgrades != 1 {
		t.Errorf("candidate: got %d points, %d upgrades; want 195 and 1", rep.Candidate.Points, rep.Candidate.TierUpgrades)
	}
	usd := program(t, RefundNegative)
	usd.Currency = "USD"
	if _, err := Backtest(cur, usd, purchases); err == nil || !strings.Contains(err.Error(), "p:s:1") {
		t.Errorf("a candidate in USD: got %v, want an error naming the purchase", err)
	}
}
