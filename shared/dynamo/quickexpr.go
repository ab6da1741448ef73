package dynamo

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// exprWriter writes the condition and the update expression of a quick
// credit with their placeholders. A quick credit is on every purchase's
// path; the SDK's expression builder (a tree of operands, aliases made with
// fmt) was a quarter of the ingest handler's CPU in BenchmarkIngestBatch,
// so this path writes the strings itself, straight into one buffer per
// part, with the values' attribute values taken from one slice: a quick
// credit makes about twenty clauses and values in a handful of
// allocations. Every other write keeps the builder. Paths are an
// attribute, or an attribute and one key of its map (a key is never split
// at dots: it is a date or a program id).
type exprWriter struct {
	attrs  []string // #n<i> stands for attrs[i]; few, so found by a scan
	values map[string]types.AttributeValue
	nums   []types.AttributeValueMemberN // the values' storage: taken in order, never moved once taken
	strs   []types.AttributeValueMemberS

	cond, set, add, remove strings.Builder
}

// Placeholders are made once: a quick credit uses about twenty of each.
var namePlaceholders, valuePlaceholders = placeholders("#n", 64), placeholders(":v", 64)

func placeholders(prefix string, n int) []string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = prefix + strconv.Itoa(i)
	}
	return ps
}

func placeholder(ps []string, prefix string, i int) string {
	if i < len(ps) {
		return ps[i]
	}
	return prefix + strconv.Itoa(i)
}

func newExprWriter() *exprWriter {
	w := &exprWriter{values: make(map[string]types.AttributeValue, 24), attrs: make([]string, 0, 24),
		nums: make([]types.AttributeValueMemberN, 0, 16), strs: make([]types.AttributeValueMemberS, 0, 8)}
	w.cond.Grow(512)
	w.set.Grow(64)
	w.add.Grow(160)
	return w
}

// path is the placeholder path of attr, or of attr's map key when key is
// not empty.
func (w *exprWriter) path(attr, key string) string {
	p := w.name(attr)
	if key != "" {
		p += "." + w.name(key)
	}
	return p
}

func (w *exprWriter) name(n string) string {
	for i, a := range w.attrs {
		if a == n {
			return placeholder(namePlaceholders, "#n", i)
		}
	}
	w.attrs = append(w.attrs, n)
	return placeholder(namePlaceholders, "#n", len(w.attrs)-1)
}

func (w *exprWriter) value(v types.AttributeValue) string {
	p := placeholder(valuePlaceholders, ":v", len(w.values))
	w.values[p] = v
	return p
}

// num and str are placeholders of new values. An element of nums or strs
// is pointed to once taken; append may move the slice's later elements to
// a new array, never the ones already taken (those stay where they are,
// in the old array).
func (w *exprWriter) num(n int64) string {
	w.nums = append(w.nums, types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)})
	return w.value(&w.nums[len(w.nums)-1])
}

func (w *exprWriter) str(s string) string {
	w.strs = append(w.strs, types.AttributeValueMemberS{Value: s})
	return w.value(&w.strs[len(w.strs)-1])
}

// clause starts a clause of the condition; clauses are joined with AND,
// each in parentheses (endClause closes it).
func (w *exprWriter) clause() *strings.Builder {
	if w.cond.Len() > 0 {
		w.cond.WriteString(" AND ")
	}
	w.cond.WriteByte('(')
	return &w.cond
}

func (w *exprWriter) endClause() { w.cond.WriteByte(')') }

// compare adds the clause "path op value".
func (w *exprWriter) compare(path, op, value string) {
	b := w.clause()
	b.WriteString(path)
	b.WriteByte(' ')
	b.WriteString(op)
	b.WriteByte(' ')
	b.WriteString(value)
	w.endClause()
}

// exists adds "attribute_exists(path)", or attribute_not_exists when not.
func (w *exprWriter) exists(path string, yes bool) {
	b := w.clause()
	if yes {
		b.WriteString("attribute_exists(")
	} else {
		b.WriteString("attribute_not_exists(")
	}
	b.WriteString(path)
	b.WriteByte(')')
	w.endClause()
}

// absentOrBelow adds "attribute_not_exists(path) OR path < value".
func (w *exprWriter) absentOrBelow(path, value string) {
	b := w.clause()
	b.WriteString("attribute_not_exists(")
	b.WriteString(path)
	b.WriteString(") OR ")
	b.WriteString(path)
	b.WriteString(" < ")
	b.WriteString(value)
	w.endClause()
}

func listItem(b *strings.Builder, parts ...string) {
	if b.Len() > 0 {
		b.WriteString(", ")
	}
	for _, p := range parts {
		b.WriteString(p)
	}
}

func (w *exprWriter) setTo(path, value string) { listItem(&w.set, path, " = ", value) }
func (w *exprWriter) addTo(path, value string) { listItem(&w.add, path, " ", value) }
func (w *exprWriter) drop(path string)         { listItem(&w.remove, path) }

func (w *exprWriter) condition() string { return w.cond.String() }

func (w *exprWriter) update() string {
	var b strings.Builder
	b.Grow(w.set.Len() + w.add.Len() + w.remove.Len() + 20)
	for _, part := range []struct {
		verb    string
		clauses *strings.Builder
	}{{"SET ", &w.set}, {"ADD ", &w.add}, {"REMOVE ", &w.remove}} {
		if part.clauses.Len() == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(part.verb)
		b.WriteString(part.clauses.String())
	}
	return b.String()
}

func (w *exprWriter) names() map[string]string {
	m := make(map[string]string, len(w.attrs))
	for i, a := range w.attrs {
		m[placeholder(namePlaceholders, "#n", i)] = a
	}
	return m
}
