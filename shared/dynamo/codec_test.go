package dynamo

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// TestEntryItemIsMarshalMap checks the hand-written entry encoder against
// attributevalue.MarshalMap of an entryRecord on generated entries: every
// field empty, zero or set, lists and maps absent, empty or full. Both
// must give the same item, and the item must decode to the entry.
func TestEntryItemIsMarshalMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	n := func() int64 { return []int64{0, 0, 1, -7, 250, 1 << 40}[r.IntN(6)] }
	for i := range 2000 {
		e := loyalty.Entry{MemberID: loyalty.MemberID(pick("m1", "card:4000123412341234", "x-9")),
			Key: pick("purchase:p1:e1", "redeem:r-1", "k"), Kind: loyalty.EntryKind(pick("earn", "redeem", "expire", "")),
			Delta: loyalty.Points(n()), At: time.Date(2026, 11, 1+r.IntN(20), r.IntN(24), 0, r.IntN(60), r.IntN(3)*500_000_000, time.UTC),
			DeficitDelta: loyalty.Points(n()), DebtDelta: loyalty.Points(n()), Ref: pick("", "coffee:e1"), Reason: pick("", "goodwill"),
			Actor: pick("", "partner:coffee"), Earned: loyalty.Points(n()), Reversed: loyalty.Points(n()), RedemptionID: pick("", "r1"),
			Fingerprint: pick("", "fp1"), Uncapped: loyalty.Points(n()), Tier: pick("", "silver")}
		if r.IntN(2) == 0 {
			e.At = e.At.In(time.FixedZone("x", 3600))
		}
		for range r.IntN(3) {
			e.Lots = append(e.Lots, loyalty.Lot{Expires: loyalty.Date(pick("2027-11-30", "2027-12-31")), Points: loyalty.Points(n())})
		}
		if r.IntN(2) == 0 {
			e.Spend = &loyalty.Money{Minor: n(), Currency: pick("", "EUR")}
		}
		for range r.IntN(3) {
			e.Rules = append(e.Rules, loyalty.RuleResult{Rule: pick("base", "welcome"), Points: loyalty.Points(n())})
		}
		for j := range r.IntN(3) {
			e.Lines = append(e.Lines, loyalty.Line{ID: strconv.Itoa(j), SKU: pick("", "latte"), Category: pick("", "coffee"), Quantity: n(), Minor: n()})
		}
		for range r.IntN(3) {
			e.Stamps = append(e.Stamps, loyalty.StampMark{Card: pick("coffee", "tea"), RedemptionID: pick("", "r2")})
		}
		switch r.IntN(4) {
		case 1:
			e.Refund = &loyalty.RefundState{Seq: n(), Minor: n(), Points: loyalty.Points(n())}
		case 2:
			e.Refund = &loyalty.RefundState{Seq: 1, Lines: map[string]int64{}}
		case 3:
			e.Refund = &loyalty.RefundState{Seq: 2, Minor: 5, Lines: map[string]int64{"1": 2, "0": 1}}
		}
		got, err := entryItem(e)
		if err != nil {
			t.Fatal(err)
		}
		want, err := entryItemReflect(e)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("entry %d %+v:\nhand-written %#v\nMarshalMap   %#v", i, e, got, want)
		}
		if _, err := decodeEntry(got); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
}

// entryItemReflect is entryItem by attributevalue.MarshalMap of an
// entryRecord: the definition entryItem is tested against.
func entryItemReflect(e loyalty.Entry) (map[string]types.AttributeValue, error) {
	r := entryRecord{PK: memberPK(e.MemberID), SK: entrySK(e.Key), Kind: string(e.Kind), Delta: int64(e.Delta), At: e.At.UTC(),
		DeficitDelta: int64(e.DeficitDelta), DebtDelta: int64(e.DebtDelta), Ref: e.Ref, Reason: e.Reason, Actor: e.Actor,
		Earned: int64(e.Earned), Reversed: int64(e.Reversed), RedemptionID: e.RedemptionID, Fingerprint: e.Fingerprint,
		Uncapped: int64(e.Uncapped), History: historyKey(e.At, e.Key)}
	if len(e.Lots) > 0 {
		r.Lots = map[string]int64{}
		for _, l := range e.Lots {
			r.Lots[string(l.Expires)] += int64(l.Points)
		}
	}
	if e.Spend != nil {
		m := e.Spend.Minor
		r.SpendMinor, r.Currency = &m, e.Spend.Currency
	}
	for _, rr := range e.Rules {
		r.Rules = append(r.Rules, ruleRecord{Rule: rr.Rule, Points: int64(rr.Points)})
	}
	for _, l := range e.Lines {
		r.Lines = append(r.Lines, lineRecord{ID: l.ID, SKU: l.SKU, Category: l.Category, Quantity: l.Quantity, Minor: l.Minor})
	}
	r.Refund = toRefundRecord(e.Refund)
	r.Tier = e.Tier
	for _, m := range e.Stamps {
		r.Stamps = append(r.Stamps, stampRecord{Card: m.Card, RedemptionID: m.RedemptionID})
	}
	return attributevalue.MarshalMap(r)
}
