package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the one table. The CDK stack (infra/) and the
// local stack both build the table from Schema, so there is one definition.
const (
	AttrPK     = "pk"  // partition key, string
	AttrSK     = "sk"  // sort key, string
	AttrDue    = "dk"  // sparse, sharded due-date key of the "due" index
	AttrTTL    = "ttl" // epoch seconds after which DynamoDB may delete the item
	AttrReview = "rk"  // sparse, sharded tier-review key of the "review" index
	// AttrActivity is the key of the "activity" index: the week of an
	// account's last activity (jobs.go).
	AttrActivity = "ak"

	IndexDue      = "due"
	IndexReview   = "review"
	IndexActivity = "activity"
)

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

// TableSchema is the shape of the table: keys, indexes and TTL attribute. All
// key attributes are strings.
type TableSchema struct {
	PartitionKey  string
	SortKey       string
	GlobalIndexes []Index
	TTLAttribute  string
}

// Schema is the table every function uses.
var Schema = TableSchema{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	GlobalIndexes: []Index{
		// due: accounts whose oldest lot expires on a day, sharded so that a
		// busy day spreads over several partitions. Only accounts holding
		// lots carry the attribute (sparse), and it changes only when the
		// oldest expiry changes, so a plain accrual never writes the index.
		// It also carries "ds", the account's lots as of its last planned
		// write, for the expiry job; a plain accrual never changes it. Issued
		// rewards with an end date carry "RWD#<day>#<shard>" in the same key.
		{Name: IndexDue, PartitionKey: AttrDue, SortKey: AttrPK, KeysOnly: true, Include: []string{aSnapshot}},
		// review: accounts above the base tier by the day their tier is
		// reviewed. It changes only when a tier changes or is reviewed,
		// which a plain accrual never does (the room condition sends a
		// tier-crossing purchase through the planned path).
		{Name: IndexReview, PartitionKey: AttrReview, SortKey: AttrPK, KeysOnly: true},
		// activity: accounts by the ISO week of their last activity, for
		// win-back and affordability reminders. A credit sets the key to the
		// value it already has all week, so only a member's first credit of
		// a week writes the index (a delete and a put of a keys-only entry).
		{Name: IndexActivity, PartitionKey: AttrActivity, SortKey: AttrPK, KeysOnly: true},
	},
	TTLAttribute: AttrTTL,
}

// CreateTableInput builds the on-demand CreateTable request for the schema,
// used by the local stack and tests. Infra builds the same table with CDK.
func (s TableSchema) CreateTableInput(tableName string) *dynamodb.CreateTableInput {
	attrs := map[string]bool{s.PartitionKey: true, s.SortKey: true}
	defs := []types.AttributeDefinition{
		{AttributeName: aws.String(s.PartitionKey), AttributeType: types.ScalarAttributeTypeS},
		{AttributeName: aws.String(s.SortKey), AttributeType: types.ScalarAttributeTypeS},
	}
	var gsis []types.GlobalSecondaryIndex
	for _, ix := range s.GlobalIndexes {
		for _, a := range []string{ix.PartitionKey, ix.SortKey} {
			if a != "" && !attrs[a] {
				attrs[a] = true
				defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(a), AttributeType: types.ScalarAttributeTypeS})
			}
		}
		keys := []types.KeySchemaElement{{AttributeName: aws.String(ix.PartitionKey), KeyType: types.KeyTypeHash}}
		if ix.SortKey != "" {
			keys = append(keys, types.KeySchemaElement{AttributeName: aws.String(ix.SortKey), KeyType: types.KeyTypeRange})
		}
		proj := &types.Projection{ProjectionType: types.ProjectionTypeAll}
		if ix.KeysOnly {
			proj = &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly}
			if len(ix.Include) > 0 {
				proj = &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: ix.Include}
			}
		}
		gsis = append(gsis, types.GlobalSecondaryIndex{IndexName: aws.String(ix.Name), KeySchema: keys, Projection: proj})
	}
	return &dynamodb.CreateTableInput{
		TableName:            aws.String(tableName),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: defs,
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(s.PartitionKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(s.SortKey), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: gsis,
	}
}
