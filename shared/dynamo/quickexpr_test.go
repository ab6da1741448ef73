package dynamo

import (
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestExprWriterWritesTheExpressions: the condition, the update and the
// placeholders of a writer that had every kind of clause, as DynamoDB
// reads them; and every value still what it was given after the value
// slices grew past their first arrays (a value taken stays where it was).
func TestExprWriterWritesTheExpressions(t *testing.T) {
	x := newExprWriter()
	x.exists(x.path("pk", ""), true)
	nx := x.path("nx", "")
	x.compare(nx, "<=", x.str("2027-12-31"))
	x.exists(x.path("rfp", ""), false)
	card := x.path("stp", "coffee-card")
	x.absentOrBelow(card, x.num(6))
	x.addTo(card, x.num(1))
	x.addTo(x.path("bal", ""), x.num(-250))
	x.setTo(x.path("la", ""), x.str("2026-12-02T07:00:00Z"))
	x.setTo(card, x.num(0))
	x.drop(x.path("qp", "2024-11"))
	if got, want := x.condition(), "(attribute_exists(#n0)) AND (#n1 <= :v0) AND (attribute_not_exists(#n2)) AND (attribute_not_exists(#n3.#n4) OR #n3.#n4 < :v1)"; got != want {
		t.Errorf("condition:\n got %s\nwant %s", got, want)
	}
	if got, want := x.update(), "SET #n6 = :v4, #n3.#n4 = :v5 ADD #n3.#n4 :v2, #n5 :v3 REMOVE #n7.#n8"; got != want {
		t.Errorf("update:\n got %s\nwant %s", got, want)
	}
	names := x.names()
	for p, want := range map[string]string{"#n0": "pk", "#n1": "nx", "#n2": "rfp", "#n3": "stp", "#n4": "coffee-card", "#n5": "bal", "#n6": "la", "#n7": "qp", "#n8": "2024-11"} {
		if names[p] != want {
			t.Errorf("name %s = %q, want %q", p, names[p], want)
		}
	}
	if len(names) != 9 {
		t.Errorf("%d names, want 9: %v", len(names), names)
	}
	wantValues := map[string]types.AttributeValue{":v0": &types.AttributeValueMemberS{Value: "2027-12-31"},
		":v1": &types.AttributeValueMemberN{Value: "6"}, ":v2": &types.AttributeValueMemberN{Value: "1"},
		":v3": &types.AttributeValueMemberN{Value: "-250"}, ":v4": &types.AttributeValueMemberS{Value: "2026-12-02T07:00:00Z"},
		":v5": &types.AttributeValueMemberN{Value: "0"}}
	checkValues(t, x.values, wantValues)

	y := newExprWriter()
	want := map[string]types.AttributeValue{}
	for i := range 100 {
		if i%3 == 0 {
			want[y.str("s"+strconv.Itoa(i))] = &types.AttributeValueMemberS{Value: "s" + strconv.Itoa(i)}
		} else {
			want[y.num(int64(i*1000))] = &types.AttributeValueMemberN{Value: strconv.Itoa(i * 1000)}
		}
	}
	checkValues(t, y.values, want)
}

func checkValues(t *testing.T, got, want map[string]types.AttributeValue) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d values, want %d", len(got), len(want))
	}
	for p, w := range want {
		switch w := w.(type) {
		case *types.AttributeValueMemberS:
			if g, ok := got[p].(*types.AttributeValueMemberS); !ok || g.Value != w.Value {
				t.Errorf("value %s = %#v, want the string %q", p, got[p], w.Value)
			}
		case *types.AttributeValueMemberN:
			if g, ok := got[p].(*types.AttributeValueMemberN); !ok || g.Value != w.Value {
				t.Errorf("value %s = %#v, want the number %s", p, got[p], w.Value)
			}
		}
	}
}
