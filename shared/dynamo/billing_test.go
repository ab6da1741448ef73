package dynamo

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// Sizes by the guide's rules: names plus values; a number 1 byte per two
// significant digits plus 1; a map 3 bytes plus 1 per element.
func TestItemSize(t *testing.T) {
	for _, tt := range []struct {
		num  string
		want int
	}{{"0", 2}, {"7", 2}, {"12", 2}, {"123", 3}, {"-1000", 2}, {"1.50", 2}, {"0.001", 2}, {"123456", 4}} {
		if got := numberSize(tt.num); got != tt.want {
			t.Errorf("numberSize(%s): got %d, want %d", tt.num, got, tt.want)
		}
	}
	item := map[string]types.AttributeValue{
		"pk":  s("M#m-1"),                                                                        // 2 + 5
		"bal": n("1500"),                                                                         // 3 + 2
		"ok":  &types.AttributeValueMemberBOOL{Value: true},                                      // 2 + 1
		"stp": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"c": n("3")}}, // 3 + 3 + (1 + 2 + 1)
	}
	if got, want := ItemSize(item), 7+5+3+10; got != want {
		t.Errorf("itemSize: got %d, want %d", got, want)
	}
}

// Write units: per KB of the larger image, doubled in a transaction; an
// index entry added costs one write, a key change two, an unrelated
// change none.
func TestBillWrite(t *testing.T) {
	big := make([]byte, 1500)
	for i := range big {
		big[i] = 'x'
	}
	before := map[string]types.AttributeValue{"pk": s("M#m"), "sk": s("A"), "note": s(string(big))}
	after := map[string]types.AttributeValue{"pk": s("M#m"), "sk": s("A"), "note": s("short")}
	if tu, iu := BilledWrite(before, after, 2); tu != 4 || iu != 0 {
		t.Errorf("shrinking a 1.5 KB item in a transaction: got %.0f table and %.0f index units, want 4 and 0", tu, iu)
	}
	act := table.AttrActivity
	withKey := func(week string) map[string]types.AttributeValue {
		return map[string]types.AttributeValue{"pk": s("M#m"), "sk": s("A"), act: s(week), "bal": n("1")}
	}
	if _, iu := BilledWrite(after, withKey("2026-W10#3"), 1); iu != 1 {
		t.Errorf("index key added: got %.0f index units, want 1", iu)
	}
	if _, iu := BilledWrite(withKey("2026-W10#3"), withKey("2026-W11#3"), 1); iu != 2 {
		t.Errorf("index key changed: got %.0f index units, want 2 (delete and put)", iu)
	}
	changed := withKey("2026-W10#3")
	changed["bal"] = n("2")
	if _, iu := BilledWrite(withKey("2026-W10#3"), changed, 1); iu != 0 {
		t.Errorf("a keys-only index, an attribute it does not hold changed: got %.0f index units, want 0", iu)
	}
}

// Reads: 4 KB units, each item of a batch on its own, a query's items
// summed; half when eventually consistent.
func TestBillReads(t *testing.T) {
	small := map[string]types.AttributeValue{"pk": s("M#m"), "sk": s("A")}
	if got := BilledReads([]map[string]types.AttributeValue{small, small}, true); got != 2 {
		t.Errorf("two small items, strongly consistent: got %.1f, want 2", got)
	}
	if got := BilledQuery([]map[string]types.AttributeValue{small, small}, false); got != 0.5 {
		t.Errorf("a query of two small items, eventually consistent: got %.1f, want 0.5", got)
	}
}
