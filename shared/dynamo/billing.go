package dynamo

import (
	"math"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// Billed units: what AWS bills for a request, computed from the items it
// touched, because DynamoDB Local's ConsumedCapacity is not a bill (it
// reports a cancelled transaction as nothing, and a transaction that
// writes an index at several times the table's units). The bench
// (shared/tools/bench) and the store's capacity tests use these; the store itself
// does not. The rules, from the DynamoDB Developer Guide:
//
//   - Item size (CapacityUnitCalculations.html, "DynamoDB item sizes and
//     formats"): the sum of the attribute names' and values' lengths; a
//     string is its UTF-8 bytes; a number about 1 byte per two significant
//     digits plus 1; binary its raw bytes; null and Boolean 1 byte; a List
//     or Map 3 bytes plus its elements, each element 1 byte more.
//   - Writes (read-write-operations.html, "Capacity unit consumption for
//     write operations"): 1 write unit per 1 KB, rounded up, of the larger
//     of the item before and after the write (PutItem, UpdateItem,
//     DeleteItem); transactional writes (transaction-apis.html, "Capacity
//     management for transactions") cost 2 units per KB and item, a prepare
//     and a commit.
//   - Reads (read-write-operations.html, "Capacity unit consumption for
//     read operations"): 1 read unit per 4 KB, rounded up, strongly
//     consistent, half that eventually consistent; BatchGetItem rounds each
//     item up on its own, Query the sum of the items it returns (at least
//     one unit); index queries are eventually consistent.
//   - Global secondary indexes (GSI.html, "Provisioned throughput
//     considerations for global secondary indexes"): a write that adds an
//     item to an index costs one index write per KB of the index entry (its
//     projected attributes: the index keys, the table keys and the included
//     attributes); one that removes it, one write; one that changes an
//     index key, two (delete the old entry, put the new); one that changes
//     only a projected non-key attribute, one; a write that changes nothing
//     the index holds, none. Index writes are propagated after the commit
//     and billed at the standard rate, also for transactions.
//
// One reading of ours where the guide says nothing explicit: a cancelled
// transaction is billed for its prepare phase, 1 unit per KB of each item
// it names, and writes no index; a failed conditional write, 1 unit per KB
// of the item it checked.

const (
	writeUnitBytes = 1024
	readUnitBytes  = 4096
)

// attrSize is the size of one attribute value, without its name.
func attrSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += attrSize(e) + 1
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += len(k) + attrSize(e) + 1
		}
		return n
	}
	return 0
}

// numberSize is 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	s = strings.TrimLeft(s, "+-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		s = s[:i]
	}
	digits := strings.Replace(s, ".", "", 1)
	digits = strings.TrimLeft(digits, "0")
	if strings.Contains(s, ".") || digits != "" {
		digits = strings.TrimRight(digits, "0")
	}
	if digits == "" {
		return 1 + 1 // zero: one digit
	}
	return (len(digits)+1)/2 + 1
}

// ItemSize is the size of an item: its attribute names and values.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + attrSize(v)
	}
	return n
}

func unitsOf(bytes, per int) float64 {
	return math.Max(1, math.Ceil(float64(bytes)/float64(per)))
}

// indexEntry is item's entry in the index, nil when the item has none.
func indexEntry(ix table.Index, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil || item[ix.PartitionKey] == nil || (ix.SortKey != "" && item[ix.SortKey] == nil) {
		return nil
	}
	if !ix.KeysOnly {
		return item
	}
	e := map[string]types.AttributeValue{}
	for _, a := range append([]string{ix.PartitionKey, ix.SortKey, table.Definition.PartitionKey, table.Definition.SortKey}, ix.Include...) {
		if v, ok := item[a]; ok && a != "" {
			e[a] = v
		}
	}
	return e
}

// BilledWrite is what one item's write costs: table units (per KB, times
// factor) and index units.
func BilledWrite(before, after map[string]types.AttributeValue, factor float64) (tableUnits, indexUnits float64) {
	size := max(ItemSize(before), ItemSize(after))
	tableUnits = factor * unitsOf(size, writeUnitBytes)
	for _, u := range BilledIndexWrites(before, after) {
		indexUnits += u
	}
	return tableUnits, indexUnits
}

// BilledIndexWrites is the index part of BilledWrite, by index name (an
// index the write does not change is absent).
func BilledIndexWrites(before, after map[string]types.AttributeValue) map[string]float64 {
	var units map[string]float64
	add := func(ix string, u float64) {
		if units == nil {
			units = map[string]float64{}
		}
		units[ix] += u
	}
	for _, ix := range table.Definition.GlobalIndexes {
		old, cur := indexEntry(ix, before), indexEntry(ix, after)
		switch {
		case old == nil && cur == nil:
		case old == nil:
			add(ix.Name, unitsOf(ItemSize(cur), writeUnitBytes))
		case cur == nil:
			add(ix.Name, unitsOf(ItemSize(old), writeUnitBytes))
		case !sameAttr(old[ix.PartitionKey], cur[ix.PartitionKey]) || !sameAttr(old[ix.SortKey], cur[ix.SortKey]):
			add(ix.Name, unitsOf(ItemSize(old), writeUnitBytes)+unitsOf(ItemSize(cur), writeUnitBytes))
		case !sameItem(old, cur):
			add(ix.Name, unitsOf(max(ItemSize(old), ItemSize(cur)), writeUnitBytes))
		}
	}
	return units
}

func sameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !sameAttr(v, b[k]) {
			return false
		}
	}
	return true
}

func sameAttr(a, b types.AttributeValue) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case *types.AttributeValueMemberS:
		bb, ok := b.(*types.AttributeValueMemberS)
		return ok && a.Value == bb.Value
	case *types.AttributeValueMemberN:
		bb, ok := b.(*types.AttributeValueMemberN)
		return ok && a.Value == bb.Value
	case *types.AttributeValueMemberM:
		bb, ok := b.(*types.AttributeValueMemberM)
		return ok && sameItem(a.Value, bb.Value)
	}
	// Other kinds do not occur in index entries here: compare by size.
	return b != nil && attrSize(a) == attrSize(b)
}

// BilledReads is the read units of items read one by one (GetItem,
// BatchGetItem): each rounded up to 4 KB, half when eventually consistent.
func BilledReads(items []map[string]types.AttributeValue, consistent bool) float64 {
	var u float64
	for _, it := range items {
		u += unitsOf(ItemSize(it), readUnitBytes)
	}
	if !consistent {
		u /= 2
	}
	return u
}

// BilledQuery is the read units of one Query page: the items' sizes summed,
// then rounded up to 4 KB.
func BilledQuery(items []map[string]types.AttributeValue, consistent bool) float64 {
	n := 0
	for _, it := range items {
		n += ItemSize(it)
	}
	u := unitsOf(n, readUnitBytes)
	if !consistent {
		u /= 2
	}
	return u
}

// BilledFailedWrite is what a write whose condition failed costs, or one
// item of a cancelled transaction (its prepare phase): 1 unit per KB of the
// item as it is.
func BilledFailedWrite(item map[string]types.AttributeValue) float64 {
	return unitsOf(ItemSize(item), writeUnitBytes)
}
