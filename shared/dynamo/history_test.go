package dynamo_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// seedHistory gives member n accrual entries, one a minute, and the account
// they add up to.
func seedHistory(tb testing.TB, f fixture, member loyalty.MemberID, n int) {
	tb.Helper()
	start := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	a := loyalty.NewAccount(member, start)
	var entries []loyalty.Entry
	for i := range n {
		at := start.Add(time.Duration(i) * time.Minute)
		spend := loyalty.Money{Minor: 1000, Currency: "EUR"}
		entries = append(entries, loyalty.Entry{MemberID: member, Key: fmt.Sprintf("p:shop1:h%05d", i), Kind: loyalty.KindAccrual,
			Delta: 10, Earned: 10, At: at, Ref: fmt.Sprintf("shop1:h%05d", i), Actor: "partner:shop1", Spend: &spend,
			Lots: []loyalty.Lot{{Expires: "2026-12-31", Points: 10}}, Rules: []loyalty.RuleResult{{Rule: "base", Points: 10}}})
	}
	a.Balance, a.Lifetime, a.Lots, a.LastActivity = loyalty.Points(10*n), loyalty.Points(10*n), []loyalty.Lot{{Expires: "2026-12-31", Points: loyalty.Points(10 * n)}}, start
	if err := f.store.Seed(context.Background(), []loyalty.Account{a}, entries); err != nil {
		tb.Fatal(err)
	}
}

// A page of activity reads the page, not the history: for a member with 20
// entries and one with 5,000, a first page reads the same items and read
// units, and so does a page deep in the long history; the pages come
// newest first and each continues where the cursor left off.
func TestActivityPageCostsTheSameAtAnyHistoryLength(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seedHistory(t, f, "m-short", 20)
	seedHistory(t, f, "m-long", 5000)

	pageOf := func(member loyalty.MemberID, cursor string, limit int) ([]loyalty.Entry, string, dynamoCost) {
		t.Helper()
		before := f.store.Consumed()
		entries, next, err := f.store.Activity(ctx, member, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		after := f.store.Consumed()
		return entries, next, dynamoCost{items: after.ItemsRead - before.ItemsRead, units: after.Read - before.Read, queries: after.Queries - before.Queries}
	}
	page := func(member loyalty.MemberID, cursor string) ([]loyalty.Entry, string, dynamoCost) {
		t.Helper()
		return pageOf(member, cursor, 20)
	}
	// Pages of 10: both members have more than a page, and a page reads
	// the page and one entry more (to know a next page exists).
	_, _, short10 := pageOf("m-short", "", 10)
	_, _, long10 := pageOf("m-long", "", 10)
	if short10 != long10 || long10.queries != 1 || long10.items != 11 {
		t.Errorf("first page of 10: got %+v for 20 entries and %+v for 5,000, want the same: one query of 11 items", short10, long10)
	}
	// The default page of 20: the whole short history, the same units.
	short, shortNext, shortCost := page("m-short", "")
	long, longNext, longCost := page("m-long", "")
	if len(short) != 20 || shortNext != "" || len(long) != 20 || longNext == "" {
		t.Fatalf("first pages: got %d entries (next %q) and %d entries (next %q), want 20 without a next page and 20 with one",
			len(short), shortNext, len(long), longNext)
	}
	if shortCost.units != longCost.units || longCost.queries != 1 || longCost.items != 21 || shortCost.items != 20 {
		t.Errorf("first page of 20: got %+v for 20 entries and %+v for 5,000, want the same read units, one query of 20 and 21 items", shortCost, longCost)
	}
	if long[0].Key != "p:shop1:h04999" || long[19].Key != "p:shop1:h04980" {
		t.Errorf("newest first: got %s ... %s, want p:shop1:h04999 ... p:shop1:h04980", long[0].Key, long[19].Key)
	}
	// Deep in the history: page 100 costs what page 1 did.
	cursor := longNext
	for range 98 {
		_, next, _ := page("m-long", cursor)
		cursor = next
	}
	deep, _, deepCost := page("m-long", cursor)
	if deepCost != longCost {
		t.Errorf("page 100: got %+v, want %+v as for page 1", deepCost, longCost)
	}
	if len(deep) != 20 || deep[0].Key != "p:shop1:h03019" {
		t.Errorf("page 100: got %d entries from %s, want 20 from p:shop1:h03019", len(deep), deep[0].Key)
	}
	t.Logf("a page of 10: %+v (20 entries) and %+v (5,000 entries); of 20: %+v and %+v; page 100 of 20: %+v", short10, long10, shortCost, longCost, deepCost)
}

type dynamoCost struct {
	items   int64
	units   float64
	queries int64
}

// An entry read through the history index carries every field a page of
// activity shows, as the ledger holds it.
func TestActivityEntriesCarryWhatAPageShows(t *testing.T) {
	f, _ := coffeeFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Accrue(ctx, f.coffee("m-coffee", "shown")); err != nil {
		t.Fatal(err)
	}
	page, _, err := f.store.Activity(ctx, "m-coffee", "", 1)
	if err != nil || len(page) != 1 {
		t.Fatalf("activity: got %d entries, %v, want 1", len(page), err)
	}
	full, err := f.store.Entry(ctx, "m-coffee", page[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	got, want := page[0], full
	// What a page shows (httpapi's entryView), field by field.
	shown := func(e loyalty.Entry) []any {
		return []any{e.Key, e.Kind, e.Delta, e.At, e.Ref, e.Reason, e.Spend, e.Rules, e.Stamps, e.Tier, e.Uncapped}
	}
	if !reflect.DeepEqual(shown(got), shown(want)) {
		t.Errorf("the page's entry: got %+v, want %+v", shown(got), shown(want))
	}
	if len(want.Stamps) != 1 || len(want.Rules) < 2 || want.Spend == nil {
		t.Errorf("the entry: got stamps %v, rules %v, spend %v, want a stamp, the base and bonus rules and a spend", want.Stamps, want.Rules, want.Spend)
	}
}
