package localstack

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/loyalty-functions/loyalty/shared/local/assembly"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
)

// GIVEN DynamoDB Local in memory (its tables are per access key) behind
// the gate, WHEN a role's client calls through the gate, THEN an allowed
// call reaches the stack's table and a call its policy lacks fails with
// DynamoDB's AccessDeniedException.
func TestTheDynamoDBGateEvaluatesTheRole(t *testing.T) {
	ctx := context.Background()
	db, err := dynamolocal.Start(ctx, dynamolocal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Stop()
	in := tableInput(assembly.Table{Name: "tbl", KeySchema: []assembly.KeyElement{{AttributeName: "pk", KeyType: "HASH"}},
		AttributeDefinitions: []assembly.AttributeDefinition{{AttributeName: "pk", AttributeType: "S"}}})
	if _, err := db.Client().CreateTable(ctx, in); err != nil {
		t.Fatal(err)
	}
	st, err := localiam.ParsePolicy("p", []byte(`{"Statement":[{"Effect":"Allow","Action":["dynamodb:PutItem","dynamodb:GetItem"],"Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/tbl"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	iam := &localIAM{policies: map[string]localiam.Policy{"function:f": {Statements: st}}, roles: map[string]string{"function:f": "role-f"},
		logf: t.Logf, calls: &IAMRecord{}}
	target, _ := url.Parse(db.Endpoint)
	gate := &localiam.DynamoDBGate{Target: target, Authorize: iam.authorize, Account: "000000000000", Region: Region,
		Verifier: localiam.Verifier{Service: "dynamodb", Region: Region, Principals: []localiam.Principal{functionPrincipal("f")}},
		Forward:  aws.Credentials{AccessKeyID: dynamolocal.AccessKeyID, SecretAccessKey: dynamolocal.SecretAccessKey}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gate, ReadHeaderTimeout: time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	client := dynamodb.New(dynamodb.Options{Region: Region, BaseEndpoint: aws.String("http://" + ln.Addr().String()),
		Credentials: credentials.NewStaticCredentialsProvider(FunctionAccessKey("f"), FunctionSecret("f"), "")})

	item := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: item}); err != nil {
		t.Fatalf("PutItem (allowed): %v", err)
	}
	got, err := db.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: item})
	if err != nil || len(got.Item) == 0 {
		t.Fatalf("the item put through the gate: got %v, %v, want it in the stack's table", got, err)
	}
	_, err = client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("tbl"), Key: item})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("DeleteItem (not granted): got %v, want AccessDeniedException", err)
	}
	calls := iam.observed()
	if len(calls) != 2 || calls[0].Action != "dynamodb:DeleteItem" || calls[0].Allowed || calls[1].Action != "dynamodb:PutItem" || !calls[1].Allowed {
		t.Errorf("observed: got %+v, want DeleteItem denied and PutItem allowed", calls)
	}
}
