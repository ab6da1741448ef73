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
// so this path writes the strings itself. Every other write keeps the
// builder. Paths are an attribute, or an attribute and one key of its map
// (a key is never split at dots: it is a date or a program id).
type exprWriter struct {
	attrs  []string // #n<i> stands for attrs[i]; few, so found by a scan
	values map[string]types.AttributeValue
	cond   []string
	set    []string
	add    []string
	remove []string
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
	return &exprWriter{values: make(map[string]types.AttributeValue, 16)}
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

func (w *exprWriter) num(n int64) string {
	return w.value(&types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)})
}
func (w *exprWriter) str(s string) string { return w.value(&types.AttributeValueMemberS{Value: s}) }

// when adds a clause to the condition; clauses are joined with AND.
func (w *exprWriter) when(clause string) { w.cond = append(w.cond, "("+clause+")") }

func (w *exprWriter) setTo(path, value string) { w.set = append(w.set, path+" = "+value) }
func (w *exprWriter) addTo(path, value string) { w.add = append(w.add, path+" "+value) }
func (w *exprWriter) drop(path string)         { w.remove = append(w.remove, path) }

func (w *exprWriter) condition() string { return strings.Join(w.cond, " AND ") }

func (w *exprWriter) update() string {
	var b strings.Builder
	for _, part := range []struct {
		verb    string
		clauses []string
	}{{"SET", w.set}, {"ADD", w.add}, {"REMOVE", w.remove}} {
		if len(part.clauses) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(part.verb)
		b.WriteByte(' ')
		b.WriteString(strings.Join(part.clauses, ", "))
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
