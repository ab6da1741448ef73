package loyalty

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestQuickCreditAgreesWithThePlanner holds the quick form of a credit
// against the full planner on generated accounts and purchases: wherever
// Holds says the account is in the named state, PlanEarning writes exactly
// the quick entry and changes the account exactly as Apply does, issues no
// reward (but the filled cards'), pays no referral and takes no budget;
// the same for the forms with limits per member reached or a card filling
// (With).
func TestQuickCreditAgreesWithThePlanner(t *testing.T) {
	base := rulesProgram(t)
	noTiers := rulesProgram(t)
	noTiers.Tiers = Tiers{}
	noExpiry := rulesProgram(t)
	noExpiry.Expiry = ExpiryPolicy{}
	withReferral := rulesProgram(t)
	withReferral.Referral = &Referral{ReferrerBonus: 100, RefereeBonus: 50, MinSpendMinor: 500}
	programs := []*Program{base, noTiers, noExpiry, withReferral}

	rng := rand.New(rand.NewPCG(13, 2026))
	var quick, held, heldReached, heldFilling, heldTier, withReached, filled, limited, tiered int
	for i := range 12000 {
		prog := programs[i%len(programs)]
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(330 * 24 * time.Hour))))
		p := genPurchase(rng, now)
		acct, exists := genAccount(rng, prog, p.MemberID, now)

		q, ok, err := prog.QuickCredit(p, now)
		if err != nil {
			t.Fatalf("case %d: QuickCredit: %v", i, err)
		}
		if levels := prog.Tiers.Levels; ok && len(levels) > 1 && rng.IntN(2) == 0 {
			// The form for an account above the base level: mostly the
			// account's own tier, sometimes another one.
			tier := acct.Tier
			if rng.IntN(4) == 0 {
				tier = levels[1+rng.IntN(len(levels)-1)].ID
			}
			if q, ok, err = q.OnTier(tier); err != nil {
				t.Fatalf("case %d: OnTier(%q): %v", i, tier, err)
			}
			if ok && q.Tier != tier {
				t.Fatalf("case %d: OnTier(%q) names tier %q", i, tier, q.Tier)
			}
		}
		if ok && (len(q.Uses) > 0 || len(q.Stamps) > 0) && rng.IntN(2) == 0 {
			// The form for an account whose limited promotions are used up,
			// or whose cards hold all their stamps but one.
			var reached, filling []string
			for _, c := range q.Uses {
				if rng.IntN(2) == 0 {
					reached = append(reached, c.ID)
				}
			}
			for _, c := range q.Stamps {
				if rng.IntN(2) == 0 {
					filling = append(filling, c.ID)
				}
			}
			if q, ok, err = q.With(reached, filling); err != nil {
				t.Fatalf("case %d: With: %v", i, err)
			}
			if ok && (len(q.Reached) != len(reached) || len(q.Filling) != len(filling) || len(q.Issued) != len(filling)) {
				t.Fatalf("case %d: with %v reached and %v filling: got reached %v, filling %v, issued %v", i, reached, filling, q.Reached, q.Filling, q.Issued)
			}
			if ok {
				withReached++
			}
		}
		if !ok {
			continue
		}
		quick++
		full, err := PlanEarning(acct, prog, p, now)
		if !q.Holds(acct, exists, now) {
			// Where the state differs in a way the description names, the
			// planner does something else: a card fills or a tier is reached.
			if err == nil && exists && acct.Tier == q.Tier && acct.Deficit == 0 && acct.Debt == 0 && acct.ReferredBy == "" {
				switch {
				case len(full.Issued) > 0:
					filled++
				case full.Account.Tier != acct.Tier:
					tiered++
				}
				for _, c := range q.Uses {
					if acct.PromoUses[c.ID] >= c.Limit {
						limited++
					}
				}
			}
			continue
		}
		held++
		if q.Tier != "" {
			heldTier++
		}
		if len(q.Reached) > 0 {
			heldReached++
		}
		if err != nil {
			t.Fatalf("case %d: the quick form holds, but the planner fails: %v", i, err)
		}
		if !reflect.DeepEqual(full.Entry, q.Entry) {
			t.Fatalf("case %d: entry\n got %+v\nwant %+v (planner)", i, q.Entry, full.Entry)
		}
		if !reflect.DeepEqual(full.Issued, q.Issued) || full.Referral != nil || len(full.Budgets) > 0 || full.Redemption != nil {
			t.Fatalf("case %d: the planner issues %v (quick: %v), pays %v, takes %v", i, full.Issued, q.Issued, full.Referral, full.Budgets)
		}
		if len(q.Filling) > 0 {
			heldFilling++
		}
		got, want := q.Apply(acct), full.Account
		today := prog.Today(now)
		if g, w := prog.QualifyingPoints(got, today), prog.QualifyingPoints(want, today); g != w {
			t.Fatalf("case %d: qualifying points %d, want %d", i, g, w)
		}
		for m, pts := range want.Qualifying {
			if got.Qualifying[m] != pts {
				t.Fatalf("case %d: qualifying points of %s: got %d, want %d", i, m, got.Qualifying[m], pts)
			}
		}
		got.Qualifying, want.Qualifying = nil, nil // the planner also drops months out of the window
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: account\n got %+v\nwant %+v (planner)", i, got, want)
		}
	}
	// The generator must reach every branch, or the test proves little.
	t.Logf("%d quick forms (%d variants), %d held (%d with limits reached, %d filling a card, %d above the base tier), counter or tier cases: %d filled cards, %d limits reached, %d tiers reached",
		quick, withReached, held, heldReached, heldFilling, heldTier, filled, limited, tiered)
	if held < 300 || heldReached < 50 || heldFilling < 20 || heldTier < 50 || filled < 20 || limited < 20 || tiered < 20 {
		t.Fatalf("generator too narrow: %d held (%d with limits reached, %d filling, %d above the base tier), %d filled cards, %d limits reached, %d tiers reached",
			held, heldReached, heldFilling, heldTier, filled, limited, tiered)
	}
}

func genPurchase(rng *rand.Rand, now time.Time) Purchase {
	cats := []string{"coffee", "beans", "gift-card", "fuel", "food", ""}
	var lines []Line
	var total int64
	for range rng.IntN(4) {
		l := Line{SKU: fmt.Sprint("SKU-", rng.IntN(5)), Category: cats[rng.IntN(len(cats))], Minor: 50 + rng.Int64N(3000)}
		if rng.IntN(10) == 0 {
			l.SKU = "LATTE-XL"
		}
		lines = append(lines, l)
		total += l.Minor
	}
	if len(lines) == 0 {
		total = rng.Int64N(20000)
	}
	return Purchase{Key: fmt.Sprint("p:partner:", rng.Uint64()), MemberID: "m-quick", Ref: "r", Actor: "partner:partner",
		Spend: Money{Minor: total, Currency: "EUR"}, OccurredAt: now.Add(-time.Duration(rng.Int64N(int64(72 * time.Hour)))), Lines: lines}
}

func genAccount(rng *rand.Rand, prog *Program, id MemberID, now time.Time) (Account, bool) {
	if rng.IntN(20) == 0 {
		return Account{MemberID: id}, false
	}
	created := now.AddDate(0, -rng.IntN(24), 0)
	a := NewAccount(id, created)
	a.Version = 1 + rng.Int64N(50)
	a.LastActivity = now.Add(-time.Duration(rng.Int64N(int64(900 * time.Hour))))
	today := prog.Today(now)
	for range rng.IntN(4) {
		exp := today.AddDays(rng.IntN(500) - 30)
		if prog.Expiry.Months == 0 && rng.IntN(2) == 0 {
			exp = NoExpiry
		}
		a.addLot(exp, Points(1+rng.IntN(300)))
	}
	if rng.IntN(10) == 0 {
		a.Deficit = Points(1 + rng.IntN(50))
	}
	if rng.IntN(10) == 0 {
		a.Debt = Points(1 + rng.IntN(50))
	}
	a.Balance = a.LotTotal() - a.Deficit
	a.Lifetime = a.Balance + Points(rng.IntN(1000))
	// The due day as the last write left it: a day between a week ago and now.
	a.refreshDue(today.AddDays(-rng.IntN(7)))
	if levels := prog.Tiers.Levels; len(levels) > 0 && rng.IntN(4) == 0 {
		a.Tier = levels[1+rng.IntN(len(levels)-1)].ID
		a.TierReviewOn = today.AddDays(1 + rng.IntN(300))
	}
	a.Qualifying = map[string]Points{}
	for range rng.IntN(5) {
		m := now.AddDate(0, -rng.IntN(16), 0).In(prog.Location()).Format("2006-01")
		a.Qualifying[m] += Points(rng.IntN(700))
	}
	if rng.IntN(3) > 0 {
		a.Stamps = map[string]int{"coffee": rng.IntN(7)}
		if rng.IntN(3) == 0 {
			a.Stamps["coffee"] = 6 // the last stamp but one
		}
	}
	if rng.IntN(3) > 0 {
		a.PromoUses = map[string]int{"welcome": rng.IntN(4)}
	}
	if rng.IntN(10) == 0 {
		a.ReferredBy = "m-referrer"
	}
	return a, true
}

// TestQuickBasisGivesTheSameForms: on generated purchases, a basis exists
// with a base-tier form exactly when QuickCredit gives one, its counters
// are that form's Uses and Stamps, and its Form for any tier, limits
// reached and cards filling is the form QuickCredit's OnTier and With give.
func TestQuickBasisGivesTheSameForms(t *testing.T) {
	base := rulesProgram(t)
	noTiers := rulesProgram(t)
	noTiers.Tiers = Tiers{}
	programs := []*Program{base, noTiers}
	rng := rand.New(rand.NewPCG(7, 2026))
	var compared, other int
	for i := range 6000 {
		prog := programs[i%len(programs)]
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(330 * 24 * time.Hour))))
		p := genPurchase(rng, now)
		q, qok, qerr := prog.QuickCredit(p, now)
		b, bok, berr := prog.QuickBasis(p, now)
		if (qerr == nil) != (berr == nil) {
			t.Fatalf("case %d: QuickCredit error %v, QuickBasis error %v", i, qerr, berr)
		}
		if qerr != nil {
			continue
		}
		var f QuickCredit
		fok := false
		if bok {
			var err error
			if f, fok, err = b.Form("", nil, nil); err != nil {
				t.Fatalf("case %d: Form: %v", i, err)
			}
		}
		if qok != fok {
			t.Fatalf("case %d: QuickCredit ok %v; basis ok %v, its base form ok %v", i, qok, bok, fok)
		}
		if !qok {
			continue
		}
		if !reflect.DeepEqual(f, q) || !reflect.DeepEqual(b.Limited, q.Uses) || !reflect.DeepEqual(b.Cards, q.Stamps) {
			t.Fatalf("case %d: basis form %+v (limited %v, cards %v), QuickCredit %+v", i, f, b.Limited, b.Cards, q)
		}
		compared++
		tier := ""
		if levels := prog.Tiers.Levels; len(levels) > 0 {
			tier = levels[rng.IntN(len(levels))].ID
			if tier == levels[0].ID && rng.IntN(2) == 0 {
				tier = ""
			}
		}
		var reached, filling []string
		for _, c := range b.Limited {
			if rng.IntN(2) == 0 {
				reached = append(reached, c.ID)
			}
		}
		for _, c := range b.Cards {
			if rng.IntN(2) == 0 {
				filling = append(filling, c.ID)
			}
		}
		got, gok, gerr := b.Form(tier, reached, filling)
		want, wok, werr := q.Form(tier, reached, filling)
		if gok != wok || (gerr == nil) != (werr == nil) || (gok && !reflect.DeepEqual(got, want)) {
			t.Fatalf("case %d: Form(%q, %v, %v): basis %v %v %+v, QuickCredit %v %v %+v", i, tier, reached, filling, gok, gerr, got, wok, werr, want)
		}
		if gok && (tier != "" || len(reached) > 0 || len(filling) > 0) {
			other++
		}
	}
	t.Logf("%d base forms compared, %d other forms", compared, other)
	if compared < 1000 || other < 300 {
		t.Errorf("only %d base forms and %d other forms compared", compared, other)
	}
}
