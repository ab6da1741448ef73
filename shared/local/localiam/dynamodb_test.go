package localiam

import (
	"slices"
	"testing"
)

// A DynamoDB call needs the IAM actions of what it does: a transaction the
// action of each part on its table, a Query of an index dynamodb:Query on
// the index, a batch its batch action on every table it names.
func TestDynamoDBRequestsNameTheActionsAndResources(t *testing.T) {
	table := "arn:aws:dynamodb:us-east-1:000000000000:table/"
	for _, c := range []struct {
		target, body string
		want         []string
	}{
		{"DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"t1"}},{"Update":{"TableName":"t1"}},{"ConditionCheck":{"TableName":"t2"}},{"Delete":{"TableName":"t1"}}]}`,
			[]string{"dynamodb:PutItem " + table + "t1", "dynamodb:UpdateItem " + table + "t1", "dynamodb:ConditionCheckItem " + table + "t2", "dynamodb:DeleteItem " + table + "t1"}},
		{"DynamoDB_20120810.TransactGetItems", `{"TransactItems":[{"Get":{"TableName":"t1"}}]}`, []string{"dynamodb:GetItem " + table + "t1"}},
		{"DynamoDB_20120810.Query", `{"TableName":"t1","IndexName":"due"}`, []string{"dynamodb:Query " + table + "t1/index/due"}},
		{"DynamoDB_20120810.Query", `{"TableName":"t1"}`, []string{"dynamodb:Query " + table + "t1"}},
		{"DynamoDB_20120810.BatchGetItem", `{"RequestItems":{"t2":{},"t1":{}}}`, []string{"dynamodb:BatchGetItem " + table + "t1", "dynamodb:BatchGetItem " + table + "t2"}},
		{"DynamoDB_20120810.GetItem", `{"TableName":"` + table + `t3"}`, []string{"dynamodb:GetItem " + table + "t3"}},
	} {
		reqs, err := DynamoDBRequests(c.target, []byte(c.body), "000000000000", "us-east-1")
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		var got []string
		for _, r := range reqs {
			got = append(got, r.Action+" "+r.Resource)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s: got %v, want %v", c.target, c.body, got, c.want)
		}
	}
	for _, bad := range [][2]string{{"DynamoDB_20120810.GetItem", `{}`}, {"AWSEvents.PutEvents", `{}`}, {"DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[{"Scan":{"TableName":"t"}}]}`}} {
		if _, err := DynamoDBRequests(bad[0], []byte(bad[1]), "000000000000", "us-east-1"); err == nil {
			t.Errorf("%s %s: got no error, want one", bad[0], bad[1])
		}
	}
}
