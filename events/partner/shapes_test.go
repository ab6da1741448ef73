package partner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShapesAgreeWithSchemas holds each hand-written shape to its compiled
// schema: on documents generated valid the schema and the shape both say
// yes, and on mutations of them (a character outside a pattern, a length
// or number over a bound, a number spelled 1.0, a day that does not exist,
// a leap second, a field missing, added or doubled) the shape never says
// yes where the schema says no.
func TestShapesAgreeWithSchemas(t *testing.T) {
	schemas, err := compiled()
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	r := rand.New(rand.NewPCG(seed, 7))
	for _, k := range published {
		g := &docGen{r: r, key: k}
		var valid, bothNo, schemaOnly int
		for i := range 3000 {
			doc := g.valid()
			got := roundTrip(t, doc)
			if err := schemas[k].Validate(got); err != nil {
				t.Fatalf("%s v%d (seed %d): the generator made an invalid document %s: %v", k.typ, k.version, seed, mustJSON(doc), err)
			}
			if !shapes[k](got) {
				t.Fatalf("%s v%d (seed %d): the shape refuses a valid document %s", k.typ, k.version, seed, mustJSON(doc))
			}
			valid++
			for m := 0; m < 1+i%3; m++ {
				g.mutate(doc)
			}
			got = roundTrip(t, doc)
			schemaYes := schemas[k].Validate(got) == nil
			shapeYes := shapes[k](got)
			switch {
			case shapeYes && !schemaYes:
				t.Fatalf("%s v%d (seed %d): the shape accepts what the schema refuses: %s (%v)", k.typ, k.version, seed, mustJSON(doc), schemas[k].Validate(got))
			case !shapeYes && !schemaYes:
				bothNo++
			case !shapeYes && schemaYes:
				schemaOnly++
			}
		}
		t.Logf("%s v%d: %d valid documents accepted by both; of their mutations %d refused by both, %d left to the schema, which accepted them", k.typ, k.version, valid, bothNo, schemaOnly)
		if bothNo < 1000 {
			t.Errorf("%s v%d: only %d mutations were invalid; the mutations test too little", k.typ, k.version, bothNo)
		}
	}
}

// TestShapesAcceptTheValidSamples: the shipped samples take the quick way.
func TestShapesAcceptTheValidSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("samples", "purchase.*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("samples: %d files, %v", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		obj := doc.(map[string]any)
		v, _ := integer(obj["version"])
		check, ok := shapes[schemaKey{obj["type"].(string), v}]
		if !ok || !check(doc) {
			t.Errorf("%s: the shape of its type and version does not accept it", f)
		}
	}
}

// TestShapeFixedCases are cases a generator may miss.
func TestShapeFixedCases(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"type": "purchase.completed", "version": json.Number("1"), "partnerId": "p", "eventId": "e",
			"memberRef": "m", "occurredAt": "2024-02-29T23:59:59.123456789+23:59", "currency": "EUR", "amountMinor": json.Number("0")}
	}
	for _, c := range []struct {
		name  string
		edit  func(map[string]any)
		shape bool
	}{
		{"as is", func(map[string]any) {}, true},
		{"no such day", func(m map[string]any) { m["occurredAt"] = "2023-02-29T10:00:00Z" }, false},
		{"hour 24", func(m map[string]any) { m["occurredAt"] = "2023-02-28T24:00:00Z" }, false},
		{"lower-case t", func(m map[string]any) { m["occurredAt"] = "2023-02-28t10:00:00Z" }, false},
		{"ten fraction digits", func(m map[string]any) { m["occurredAt"] = "2023-02-28T10:00:00.1234567890Z" }, false},
		{"offset hour 24", func(m map[string]any) { m["occurredAt"] = "2023-02-28T10:00:00+24:00" }, false},
		{"leap second (left to the schema)", func(m map[string]any) { m["occurredAt"] = "2016-12-31T23:59:60Z" }, false},
		{"amount 1.0 (left to the schema)", func(m map[string]any) { m["amountMinor"] = json.Number("1.0") }, false},
		{"amount at its maximum", func(m map[string]any) { m["amountMinor"] = json.Number("10000000000000") }, true},
		{"amount over its maximum", func(m map[string]any) { m["amountMinor"] = json.Number("10000000000001") }, false},
		{"negative amount", func(m map[string]any) { m["amountMinor"] = json.Number("-1") }, false},
		{"trailing newline in an id", func(m map[string]any) { m["eventId"] = "e\n" }, false},
		{"an unknown field", func(m map[string]any) { m["note"] = "x" }, false},
		{"no currency", func(m map[string]any) { delete(m, "currency") }, false},
		{"version 2's member in version 1", func(m map[string]any) { m["member"] = map[string]any{"kind": "card", "ref": "1"} }, false},
	} {
		m := base()
		c.edit(m)
		doc := roundTrip(t, m)
		if got := shapes[schemaKey{TypePurchaseCompleted, 1}](doc); got != c.shape {
			t.Errorf("%s: the shape says %v, want %v", c.name, got, c.shape)
		}
		if c.shape && Validate(doc) != nil {
			t.Errorf("%s: accepted by the shape but the schema says %v", c.name, Validate(doc))
		}
	}
}

func roundTrip(t *testing.T, doc any) any {
	t.Helper()
	got, err := DecodeJSON([]byte(mustJSON(doc)))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// docGen generates documents of one schema.
type docGen struct {
	r   *rand.Rand
	key schemaKey
}

const (
	idSet     = "ABCXYZabcxyz0189._-"
	refSet    = idSet + ":@"
	memberSet = refSet + " "
)

func (g *docGen) pick(s string) byte { return s[g.r.IntN(len(s))] }

// length is min, max or between, each often.
func (g *docGen) length(min, max int) int {
	switch g.r.IntN(4) {
	case 0:
		return min
	case 1:
		return max
	default:
		return min + g.r.IntN(max-min+1)
	}
}

func (g *docGen) text(set string, min, max int) string {
	b := make([]byte, g.length(min, max))
	for i := range b {
		b[i] = g.pick(set)
	}
	return string(b)
}

func (g *docGen) anyText(min, max int) string {
	runes := []rune("aZ09 -é☕€😀\u00a0")
	out := make([]rune, g.length(min, max))
	for i := range out {
		out[i] = runes[g.r.IntN(len(runes))]
	}
	return string(out)
}

func (g *docGen) number(min, max int64) json.Number {
	switch g.r.IntN(4) {
	case 0:
		return json.Number(strconv.FormatInt(min, 10))
	case 1:
		return json.Number(strconv.FormatInt(max, 10))
	default:
		return json.Number(strconv.FormatInt(min+g.r.Int64N(max-min+1), 10))
	}
}

func (g *docGen) dateTime() string {
	day := time.Date(g.r.IntN(10000), time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.r.IntN(366))
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", day.Year(), day.Month(), day.Day(), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60))
	if g.r.IntN(2) == 0 {
		s += "." + g.text("0123456789", 1, 9)
	}
	if g.r.IntN(3) == 0 {
		return s + "Z"
	}
	return s + fmt.Sprintf("%c%02d:%02d", "+-"[g.r.IntN(2)], g.r.IntN(24), g.r.IntN(60))
}

func (g *docGen) valid() map[string]any {
	m := map[string]any{"type": g.key.typ, "version": json.Number(strconv.FormatInt(g.key.version, 10)),
		"partnerId": g.text(idSet, 1, 40), "eventId": g.text(refSet, 1, 80), "occurredAt": g.dateTime(), "currency": g.text("ABCDEFXYZ", 3, 3)}
	if g.key.version == 1 {
		m["memberRef"] = g.text(refSet, 1, 128)
	} else {
		m["member"] = map[string]any{"kind": []string{"card", "code", "memberId"}[g.r.IntN(3)], "ref": g.text(memberSet, 1, 400)}
	}
	lines := func(item func() map[string]any) []any {
		n := 1 + g.r.IntN(4)
		if g.r.IntN(20) == 0 {
			n = 100
		}
		out := make([]any, n)
		for i := range out {
			out[i] = item()
		}
		return out
	}
	if g.key.typ == TypePurchaseCompleted {
		m["amountMinor"] = g.number(0, 10_000_000_000_000)
		if g.r.IntN(3) > 0 {
			m["lines"] = lines(func() map[string]any {
				return map[string]any{"lineId": g.text(refSet, 1, 40), "sku": g.anyText(1, 64), "category": g.anyText(1, 64),
					"quantity": g.number(1, 100_000), "amountMinor": g.number(0, 10_000_000_000_000)}
			})
		}
		return m
	}
	m["originalEventId"] = g.text(refSet, 1, 80)
	if g.r.IntN(2) == 0 {
		m["amountMinor"] = g.number(1, 10_000_000_000_000)
	} else {
		m["lines"] = lines(func() map[string]any {
			return map[string]any{"lineId": g.text(refSet, 1, 40), "quantity": g.number(1, 100_000)}
		})
	}
	return m
}

// slot is one place in a document: a key of an object or an index of an
// array.
type slot struct {
	obj   map[string]any
	arr   []any
	key   string
	index int
}

func (s slot) get() any {
	if s.obj != nil {
		return s.obj[s.key]
	}
	return s.arr[s.index]
}

func (s slot) set(v any) {
	if s.obj != nil {
		s.obj[s.key] = v
		return
	}
	s.arr[s.index] = v
}

func slots(v any, out []slot) []slot {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			out = append(out, slot{obj: x, key: k})
			out = slots(val, out)
		}
	case []any:
		for i, val := range x {
			out = append(out, slot{arr: x, index: i})
			out = slots(val, out)
		}
	}
	return out
}

var nastyNumbers = []string{"-1", "0", "1", "-0", "1.0", "0.5", "1e2", "1E0", "100000", "100001", "10000000000000",
	"10000000000001", "99999999999999999999", "2", "3"}

// mutate changes one place of doc, or adds or removes a property.
func (g *docGen) mutate(doc map[string]any) {
	all := slots(doc, nil)
	if len(all) == 0 {
		return
	}
	s := all[g.r.IntN(len(all))]
	switch g.r.IntN(10) {
	case 0: // remove or add a property of the object the slot is in
		if s.obj != nil {
			if g.r.IntN(2) == 0 {
				delete(s.obj, s.key)
			} else {
				names := []string{"extra", "amountMinor", "lines", "memberRef", "member", "originalEventId", "sku", "kind", "lineId"}
				s.obj[names[g.r.IntN(len(names))]] = s.get()
			}
		}
		return
	case 1: // another kind of value
		others := []any{nil, true, "x", "", json.Number("1"), map[string]any{}, []any{}, []any{"x"}}
		s.set(others[g.r.IntN(len(others))])
		return
	}
	switch v := s.get().(type) {
	case string:
		s.set(g.mutateText(v))
	case json.Number:
		s.set(json.Number(nastyNumbers[g.r.IntN(len(nastyNumbers))]))
	case []any:
		if len(v) > 0 && g.r.IntN(2) == 0 {
			s.set(v[:len(v)-1])
		} else {
			s.set(append(v, v...))
		}
	}
}

func (g *docGen) mutateText(s string) string {
	odd := "/ é\n\tazAZ09:.+-T"
	switch g.r.IntN(6) {
	case 0:
		return s + string(g.pick(odd))
	case 1:
		if s == "" {
			return s
		}
		return s[:len(s)-1]
	case 2:
		return s + s
	case 3:
		return strings.ToLower(s)
	case 4:
		return strings.ToUpper(s)
	default: // one byte changed
		if s == "" {
			return string(g.pick(odd))
		}
		b := []byte(s)
		b[g.r.IntN(len(b))] = g.pick(odd + "0123456789")
		return string(b)
	}
}

// FuzzShapesAgreeWithSchemas: on any body, a shape never passes what its
// schema refuses (go test -fuzz FuzzShapesAgreeWithSchemas ./events/partner).
// The seeds are the shipped samples, valid and invalid.
func FuzzShapesAgreeWithSchemas(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("samples", "*", "*.json"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	schemas, err := compiled()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, err := DecodeJSON(body)
		if err != nil {
			return
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return
		}
		typ, _ := obj["type"].(string)
		version, _ := integer(obj["version"])
		k := schemaKey{typ, version}
		check, ok := shapes[k]
		if !ok || !check(doc) {
			return
		}
		if err := schemas[k].Validate(doc); err != nil {
			t.Fatalf("the shape of %s v%d passes %s, which the schema refuses: %v", typ, version, body, err)
		}
	})
}
