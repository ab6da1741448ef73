package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// Attribute and index names of the one table, as package table defines
// them (the CDK stack builds the table from table.Definition too).
const (
	AttrPK       = table.AttrPK
	AttrSK       = table.AttrSK
	AttrDue      = table.AttrDue
	AttrTTL      = table.AttrTTL
	AttrReview   = table.AttrReview
	AttrActivity = table.AttrActivity
	AttrHistory  = table.AttrHistory

	IndexDue      = table.IndexDue
	IndexReview   = table.IndexReview
	IndexActivity = table.IndexActivity
	IndexHistory  = table.IndexHistory
)

// AttrStamps is the account item's map of stamp counts per card and
// AttrTierRoom its stored tier headroom (the bench's bare coffee
// transaction finds a card's limit by the one and raises the other).
const (
	AttrStamps   = aStamps
	AttrTierRoom = aRoom
)

// TableSchema is the table's shape (table.Schema) with the request that
// creates it.
type TableSchema table.Schema

// Schema is the table every function uses.
var Schema = TableSchema(table.Definition)

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
