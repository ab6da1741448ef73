package loyalty

import (
	"fmt"
	"testing"
	"time"
)

func rulesProgram(tb testing.TB) *Program {
	tb.Helper()
	p := &Program{Version: 1, ID: "r", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn: EarnRate{Points: 1, PerMinor: 100, Rounding: RoundDown,
			Categories: map[string]LineRule{"beans": {Multiplier: 2000}, "gift-card": {Exclude: true}, "fuel": {Multiplier: 500}},
			SKUs:       map[string]LineRule{"LATTE-XL": {Multiplier: 1500}, "BEANS-PROMO": {Multiplier: 3000}}},
		Expiry: ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: RefundNegative,
		Rewards: []Reward{{ID: "free-coffee", Name: "Free coffee", Kind: RewardFreeProduct, Cost: 20, Active: true, ValidDays: 30}},
		Promotions: []Promotion{
			{ID: "happy-hour", Name: "x2 weekdays 14-17", From: "2026-01-01", Days: []string{"MON", "TUE", "WED", "THU", "FRI"},
				Hours: &HourWindow{From: "14:00", Until: "17:00"}, Multiplier: 2000},
			{ID: "beans-week", Name: "x3 beans", From: "2026-11-23", Until: "2026-11-29", Categories: []string{"beans"}, Multiplier: 3000},
			{ID: "welcome", Name: "50 bonus", From: "2026-01-01", BonusPoints: 50, MinSpendMinor: 1000, LimitPerMember: 2},
		},
		Tiers: Tiers{Window: WindowRolling12, Levels: []TierLevel{{ID: "bronze", Name: "Bronze"},
			{ID: "silver", Name: "Silver", Threshold: 500, Multiplier: 1250}, {ID: "gold", Name: "Gold", Threshold: 1500, Multiplier: 1500}}},
		StampCards: []StampCard{{ID: "coffee", Name: "7+1", Stamps: 7, Categories: []string{"coffee"}, RewardID: "free-coffee", OnRefund: StampRefundRevoke}},
	}
	if err := p.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

// berlin is a local time in the program's timezone.
func berlin(tb testing.TB, s string) time.Time {
	tb.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestEarnRules(t *testing.T) {
	p := rulesProgram(t)
	// 2026-11-24 is a Tuesday; 2026-11-28 a Saturday; beans-week runs 23-29 Nov.
	cases := []struct {
		name  string
		at    string
		tier  string
		uses  map[string]int
		spend int64
		lines []Line
		want  string // rules as "rule=points" in order, then "=total"
	}{
		{"base only, rounding down", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 999, nil, "base=9 =9"},
		{"excluded gift card earns nothing", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 5000,
			[]Line{{ID: "1", Category: "gift-card", Quantity: 1, Minor: 5000}}, "base=0 =0"},
		{"category multiplier and the rest of the spend", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 1250,
			[]Line{{ID: "1", Category: "fuel", Quantity: 1, Minor: 1000}}, "base=12 category:fuel=-5 =7"},
		{"SKU beats category", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 1000,
			[]Line{{ID: "1", SKU: "BEANS-PROMO", Category: "beans", Quantity: 1, Minor: 1000}}, "base=10 sku:BEANS-PROMO=20 promo:beans-week=60 =90"},
		{"half-up rounding per rule", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 333,
			[]Line{{ID: "1", SKU: "LATTE-XL", Quantity: 1, Minor: 333}}, "base=3 sku:LATTE-XL=2 =5"},
		{"happy hour at 14:00 local", "2026-11-24 14:00", "", map[string]int{"welcome": 2}, 1000, nil, "base=10 promo:happy-hour=10 =20"},
		{"happy hour ends at 17:00 local", "2026-11-24 17:00", "", map[string]int{"welcome": 2}, 1000, nil, "base=10 =10"},
		{"13:30 UTC is 14:30 in Berlin", "", "", map[string]int{"welcome": 2}, 1000, nil, "base=10 promo:happy-hour=10 =20"},
		{"no happy hour on Saturday", "2026-11-28 15:00", "", map[string]int{"welcome": 2}, 1000, nil, "base=10 =10"},
		{"overlapping promotions add up", "2026-11-24 15:00", "", map[string]int{"welcome": 2}, 1000,
			[]Line{{ID: "1", Category: "beans", Quantity: 1, Minor: 1000}}, "base=10 category:beans=10 promo:happy-hour=20 promo:beans-week=40 =80"},
		{"bonus within its limit", "2026-11-28 10:00", "", map[string]int{"welcome": 1}, 1000, nil, "base=10 promo:welcome=50 =60"},
		{"bonus limit reached", "2026-11-28 10:00", "", map[string]int{"welcome": 2}, 1000, nil, "base=10 =10"},
		{"bonus below minimum spend", "2026-11-28 10:00", "", nil, 999, nil, "base=9 =9"},
		{"silver multiplier", "2026-11-28 10:00", "silver", map[string]int{"welcome": 2}, 1000, nil, "base=10 tier:silver=2 =12"},
		{"gold multiplier on a multiplied line", "2026-11-28 10:00", "gold", map[string]int{"welcome": 2}, 1000,
			[]Line{{ID: "1", SKU: "LATTE-XL", Quantity: 1, Minor: 1000}}, "base=10 sku:LATTE-XL=5 tier:gold=7 =22"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at := time.Date(2026, 11, 24, 13, 30, 0, 0, time.UTC)
			if c.at != "" {
				at = berlin(t, c.at)
			}
			pr := *p
			if c.name == "half-up rounding per rule" {
				pr.Earn.Rounding = RoundHalfUp
			}
			e, err := pr.Earnings(Purchase{MemberID: "m", Spend: Money{Minor: c.spend, Currency: "EUR"}, OccurredAt: at, Lines: c.lines}, c.tier, c.uses)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, r := range e.Rules {
				got += fmt.Sprintf("%s=%d ", r.Rule, r.Points)
			}
			got += fmt.Sprintf("=%d", e.Points)
			if got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestPromotionLimitIsCountedOnTheAccount(t *testing.T) {
	p := rulesProgram(t)
	a := NewAccount("m", now)
	at := berlin(t, "2026-11-28 10:00")
	var got []Points
	for i := range 3 {
		c, err := PlanEarning(a, p, Purchase{Key: fmt.Sprint("p", i), MemberID: "m", Spend: Money{Minor: 1000, Currency: "EUR"}, OccurredAt: at}, at)
		if err != nil {
			t.Fatal(err)
		}
		a = c.Account
		got = append(got, c.Entry.Delta)
	}
	if fmt.Sprint(got) != "[60 60 10]" {
		t.Errorf("three purchases with a 2-use bonus: got %v, want [60 60 10]", got)
	}
}

func TestTierUpgradeAtOnceDowngradeAtCycleEnd(t *testing.T) {
	p := rulesProgram(t)
	a := NewAccount("m", now)
	a.PromoUses = map[string]int{"welcome": 2}
	at := berlin(t, "2026-03-07 10:00") // a Saturday, no happy hour
	buy := func(minor int64, when time.Time) Change {
		t.Helper()
		c, err := PlanEarning(a, p, Purchase{Key: fmt.Sprint("p", minor, when.Unix()), MemberID: "m", Spend: Money{Minor: minor, Currency: "EUR"}, OccurredAt: when}, when)
		if err != nil {
			t.Fatal(err)
		}
		a = c.Account
		return c
	}
	if c := buy(40_000, at); c.Account.Tier != "" || p.TierHeadroom(c.Account, p.Today(at)) != 100 {
		t.Fatalf("400 points: got tier %q headroom %d, want base and headroom 100", c.Account.Tier, p.TierHeadroom(c.Account, p.Today(at)))
	}
	c := buy(10_000, at) // crosses 500: silver at once
	if c.Account.Tier != "silver" || c.Entry.Tier != "silver" || c.Account.TierReviewOn != "2027-03-07" {
		t.Fatalf("crossing 500: got tier %q (entry %q) review %s, want silver now and review on 2027-03-07", c.Account.Tier, c.Entry.Tier, c.Account.TierReviewOn)
	}
	if c.Entry.Delta != 100 {
		t.Errorf("the crossing purchase earns at the old tier: got %d, want 100", c.Entry.Delta)
	}
	if got := buy(10_000, at).Entry.Delta; got != 125 {
		t.Errorf("next purchase at silver: got %d, want 125", got)
	}
	prog := p.Progress(a, "2026-03-08")
	if prog.Tier != "silver" || prog.NextTier != "gold" || prog.PointsToNext != 1500-625 {
		t.Errorf("progress: got %+v, want silver, gold in 875", prog)
	}
	// Not due before the review day.
	if _, ok := PlanTierReview(a, p, "t:1", "2027-03-06", now); ok {
		t.Errorf("review a day early: got due, want not due")
	}
	// A year later the window holds nothing: down one tier, not two.
	r, ok := PlanTierReview(a, p, "t:2", "2027-03-07", now)
	if !ok || r.Account.Tier != "" || r.Entry.Tier != "bronze" {
		t.Errorf("review with 0 qualifying points: got ok=%v tier %q entry %q, want bronze", ok, r.Account.Tier, r.Entry.Tier)
	}
	// A gold member with nothing left drops to silver only.
	g := a.Clone()
	g.Tier, g.TierReviewOn = "gold", "2027-03-07"
	r, _ = PlanTierReview(g, p, "t:3", "2027-03-07", now)
	if r.Account.Tier != "silver" || r.Account.TierReviewOn != "2028-03-07" {
		t.Errorf("gold with nothing: got %q review %s, want silver, review 2028-03-07", r.Account.Tier, r.Account.TierReviewOn)
	}
	// Keeping enough points keeps the tier for another cycle.
	k := a.Clone()
	k.Qualifying = map[string]Points{"2027-02": 600}
	r, _ = PlanTierReview(k, p, "t:4", "2027-03-07", now)
	if r.Account.Tier != "silver" || r.Entry.Tier != "" {
		t.Errorf("silver with 600 in the window: got %q (entry %q), want silver kept", r.Account.Tier, r.Entry.Tier)
	}
}

func TestStampCardFillsAndRestarts(t *testing.T) {
	p := rulesProgram(t)
	a := NewAccount("m", now)
	at := berlin(t, "2026-11-28 10:00")
	coffee := []Line{{ID: "1", SKU: "ESPRESSO", Category: "coffee", Quantity: 1, Minor: 300}}
	var issued []Redemption
	for i := 1; i <= 15; i++ {
		c, err := PlanEarning(a, p, Purchase{Key: fmt.Sprint("c", i), MemberID: "m", Spend: Money{Minor: 300, Currency: "EUR"}, OccurredAt: at, Lines: coffee}, at)
		if err != nil {
			t.Fatal(err)
		}
		a = c.Account
		issued = append(issued, c.Issued...)
		if i == 7 && (len(c.Issued) != 1 || a.Stamps["coffee"] != 0 || c.Entry.Stamps[0].RedemptionID == "") {
			t.Errorf("7th coffee: got %d issued, %d stamps, want the free coffee and a fresh card", len(c.Issued), a.Stamps["coffee"])
		}
	}
	if len(issued) != 2 || a.Stamps["coffee"] != 1 || issued[0].Cost != 0 || issued[0].RewardID != "free-coffee" {
		t.Errorf("15 coffees: got %d rewards (%+v), %d stamps, want 2 free coffees and 1 stamp", len(issued), issued, a.Stamps["coffee"])
	}
	// A purchase without coffee earns no stamp.
	c, _ := PlanEarning(a, p, Purchase{Key: "tea", MemberID: "m", Spend: Money{Minor: 300, Currency: "EUR"}, OccurredAt: at,
		Lines: []Line{{ID: "1", SKU: "TEA", Category: "tea", Quantity: 1, Minor: 300}}}, at)
	if len(c.Entry.Stamps) != 0 || c.Account.Stamps["coffee"] != 1 {
		t.Errorf("tea: got stamps %v, want none", c.Entry.Stamps)
	}
}

func TestRefundOfAStampedPurchase(t *testing.T) {
	at := berlin(t, "2026-11-28 10:00")
	coffee := []Line{{ID: "1", SKU: "ESPRESSO", Category: "coffee", Quantity: 1, Minor: 300}}
	for _, policy := range []string{StampRefundRevoke, StampRefundRemove} {
		t.Run(policy, func(t *testing.T) {
			p := rulesProgram(t)
			p.StampCards[0].OnRefund = policy
			a := NewAccount("m", now)
			var purchases []Entry
			issued := map[string]Redemption{}
			for i := 1; i <= 8; i++ {
				c, err := PlanEarning(a, p, Purchase{Key: fmt.Sprint("c", i), MemberID: "m", Spend: Money{Minor: 300, Currency: "EUR"}, OccurredAt: at, Lines: coffee}, at)
				if err != nil {
					t.Fatal(err)
				}
				a = c.Account
				purchases = append(purchases, c.Entry)
				for _, r := range c.Issued {
					issued[r.ID] = r
				}
			}
			lookup := func(id string) (Redemption, error) { return issued[id], nil }
			refund := func(i int, key string, minor int64) Change {
				orig := purchases[i]
				c, err := PlanRefund(a, p, orig, Refund{Key: key, MemberID: "m", OriginalKey: orig.Key, Amount: &Money{Minor: minor, Currency: "EUR"}, OccurredAt: at}, at)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.unstamp(&c, orig, lookup, at); err != nil {
					t.Fatal(err)
				}
				a, purchases[i] = c.Account, *c.Original
				return c
			}
			// A partial refund of the 8th keeps its stamp; the full refund removes it.
			if c := refund(7, "f1", 100); c.Account.Stamps["coffee"] != 1 {
				t.Errorf("partial refund: got %d stamps, want 1", c.Account.Stamps["coffee"])
			}
			if c := refund(7, "f2", 200); c.Account.Stamps["coffee"] != 0 {
				t.Errorf("full refund of a stamped purchase: got %d stamps, want 0", c.Account.Stamps["coffee"])
			}
			// Refunding the 7th, whose stamp filled the card.
			c := refund(6, "f3", 300)
			revoked := c.Redemption != nil && c.Redemption.State == RedemptionCancelled
			if want := policy == StampRefundRevoke; revoked != want {
				t.Errorf("refund of the card-filling purchase: got revoked=%v, want %v (%s)", revoked, want, c.Entry.Reason)
			}
		})
	}
}
