// Package table describes the one DynamoDB table: its keys, its sparse
// global secondary indexes and their projections, and the TTL attribute.
// The CDK stack (infra/) builds the deployed table from Definition, and the
// store (shared/dynamo) and the local stack create theirs from it, so there
// is one definition.
//
// It imports only the standard library.
package table

import "hash/fnv"

// Attribute and index names.
const (
	AttrPK     = "pk"  // partition key, string
	AttrSK     = "sk"  // sort key, string
	AttrDue    = "dk"  // sparse, sharded due-date key of the "due" index
	AttrTTL    = "ttl" // epoch seconds after which DynamoDB may delete the item
	AttrReview = "rk"  // sparse, sharded tier-review key of the "review" index
	// AttrActivity is the key of the "activity" index: the week of an
	// account's last activity.
	AttrActivity = "ak"
	// AttrLotsCopy is the account's lots as of its last planned write,
	// projected into the due index for the expiry job.
	AttrLotsCopy = "ds"
	// AttrHistory is a ledger entry's time and key (fixed-width Unix
	// nanoseconds, "#", the key): the sort key of the "history" index.
	AttrHistory = "ht"

	IndexDue      = "due"
	IndexReview   = "review"
	IndexActivity = "activity"
	IndexHistory  = "history"
)

// HistoryAttributes are the entry attributes the history index carries:
// what a page of activity shows (kind, points, time, reference, reason,
// spend and currency, rules, tier, stamps, uncapped points), and nothing a
// page does not (lots, lines, refund state, fingerprint, actor).
var HistoryAttributes = []string{"k", "d", "at", "ref", "rsn", "sp", "cur", "rules", "tier", "stp", "unc"}

// Index describes one global secondary index.
type Index struct {
	Name         string
	PartitionKey string // a string attribute
	SortKey      string // a string attribute
	// KeysOnly projects only the keys, so writes that do not touch the index
	// keys never cost an index write.
	KeysOnly bool
	// Include adds these non-key attributes to a KeysOnly index (projection
	// INCLUDE): only attributes that change on writes that may write the
	// index anyway. A builder that ignores it still gets a correct, smaller
	// KEYS_ONLY index; readers then find the attributes missing.
	Include []string
}

// Schema is the shape of a table: keys, indexes and TTL attribute. All key
// attributes are strings.
type Schema struct {
	PartitionKey  string
	SortKey       string
	GlobalIndexes []Index
	TTLAttribute  string
}

// Definition is the table every function uses.
var Definition = Schema{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	GlobalIndexes: []Index{
		// due: accounts whose oldest lot expires on a day, sharded so that a
		// busy day spreads over several partitions. Only accounts holding
		// lots carry the attribute (sparse), and it changes only when the
		// oldest expiry changes, so a plain accrual never writes the index.
		// It also carries the lots copy, the account's lots as of its last
		// planned write, for the expiry job; a plain accrual never changes
		// it. Issued rewards with an end date carry "RWD#<day>#<shard>" in
		// the same key.
		{Name: IndexDue, PartitionKey: AttrDue, SortKey: AttrPK, KeysOnly: true, Include: []string{AttrLotsCopy}},
		// review: accounts above the base tier by the day their tier is
		// reviewed. It changes only when a tier changes or is reviewed,
		// which a plain accrual never does.
		{Name: IndexReview, PartitionKey: AttrReview, SortKey: AttrPK, KeysOnly: true},
		// activity: accounts by the ISO week of their last activity, for
		// win-back and affordability reminders. A credit sets the key to the
		// value it already has all week, so only a member's first credit of
		// a week writes the index (a delete and a put of a keys-only entry).
		{Name: IndexActivity, PartitionKey: AttrActivity, SortKey: AttrPK, KeysOnly: true},
		// history: a member's ledger entries by time, newest first for
		// GET /v1/me/activity, so a page reads the page whatever the length
		// of the history (the ledger itself is keyed by idempotency key,
		// in no time order). Only entries carry the sort key. Every ledger
		// write adds one index entry: an entry is well under 1 KB, so that
		// is one write unit (BENCHMARKS.md weighs it against the targets).
		{Name: IndexHistory, PartitionKey: AttrPK, SortKey: AttrHistory, KeysOnly: true, Include: HistoryAttributes},
	},
	TTLAttribute: AttrTTL,
}

// Shards is how many partitions one day of the sparse indexes (due, review,
// activity) spreads over.
const Shards = 16

// Shard is the index shard of a member: FNV-1a of the member id modulo
// Shards. Every store shards alike, so the jobs' shard ranges mean the same
// on all of them.
func Shard(memberID string) int {
	h := fnv.New32a()
	h.Write([]byte(memberID))
	return int(h.Sum32() % Shards)
}
