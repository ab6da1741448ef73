package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// shared is the server TestMain starts for the whole package.
var shared *Server

func TestMain(m *testing.M) {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	if err := s.Stop(); err != nil && code == 0 {
		fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func TestSharedServerAnswers(t *testing.T) {
	if shared == nil {
		t.Fatalf("got no server from TestMain, want one")
	}
	if _, err := shared.Client().ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables on the shared server: got %v, want no error", err)
	}
}

func TestStartPutGetStop(t *testing.T) {
	s := startServer(t)
	if want := "http://127.0.0.1:" + strconv.Itoa(s.Port); s.Endpoint != want {
		t.Errorf("Endpoint: got %q, want %q", s.Endpoint, want)
	}
	ctx := t.Context()
	db := s.Client()
	createTable(t, db, "members")

	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("members"),
		Item: map[string]types.AttributeValue{
			"pk":      &types.AttributeValueMemberS{Value: "MEMBER#1"},
			"balance": &types.AttributeValueMemberN{Value: "120"},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil {
		t.Fatalf("PutItem: got %v, want no error", err)
	}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String("members"),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "MEMBER#1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: got %v, want no error", err)
	}
	balance, ok := got.Item["balance"].(*types.AttributeValueMemberN)
	if !ok || balance.Value != "120" {
		t.Fatalf("balance: got %#v, want N 120", got.Item["balance"])
	}

	// A second conditional put must fail with the typed error, as on AWS.
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String("members"),
		Item:                map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "MEMBER#1"}},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second conditional put: got %v, want ConditionalCheckFailedException", err)
	}

	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: got %v, want no error", err)
	}
	assertPortClosed(t, s.Port)
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: got %v, want no error", err)
	}
}

func TestParallelStartsGetDifferentPorts(t *testing.T) {
	var (
		wg      sync.WaitGroup
		servers [2]*Server
		errs    [2]error
	)
	for i := range servers {
		wg.Go(func() { servers[i], errs[i] = Start(t.Context(), quietOptions(t)) })
	}
	wg.Wait()
	for i, s := range servers {
		if errs[i] != nil {
			t.Fatalf("Start %d: got %v, want no error", i, errs[i])
		}
		t.Cleanup(func() { _ = s.Stop() })
	}
	if servers[0].Port == servers[1].Port {
		t.Fatalf("ports: got %d twice, want two different ports", servers[0].Port)
	}
	// Each server has its own data: a table in one is absent from the other.
	createTable(t, servers[0].Client(), "only-in-first")
	out, err := servers[1].Client().ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables on the second server: got %v, want no error", err)
	}
	if len(out.TableNames) != 0 {
		t.Fatalf("tables on the second server: got %v, want none", out.TableNames)
	}
}

func TestContextEndStopsServer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := Start(ctx, quietOptions(t))
	if err != nil {
		t.Fatalf("Start: got %v, want no error", err)
	}
	cancel()
	select {
	case <-s.stopped:
	case <-time.After(10 * time.Second):
		t.Fatalf("server still running 10s after its context ended, want it stopped")
	}
	assertPortClosed(t, s.Port)
}

func startServer(tb testing.TB) *Server {
	tb.Helper()
	s, err := Start(context.Background(), quietOptions(tb))
	if err != nil {
		tb.Fatalf("Start: got %v, want no error", err)
	}
	tb.Cleanup(func() { _ = s.Stop() })
	return s
}

func quietOptions(tb testing.TB) Options {
	tb.Helper()
	return Options{Logf: tb.Logf}
}

func createTable(tb testing.TB, db *dynamodb.Client, name string) {
	tb.Helper()
	_, err := db.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		tb.Fatalf("CreateTable %s: got %v, want no error", name, err)
	}
}

func assertPortClosed(tb testing.TB, port int) {
	tb.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		conn.Close()
		tb.Fatalf("dial port %d after Stop: got a connection, want refused", port)
	}
}

func TestStartOnATakenPortSaysSo(t *testing.T) {
	// Jetty binds every interface, so a listener on 127.0.0.1 is enough to block it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir, err := Ensure(t.Context(), quietOptions(t))
	if err != nil {
		t.Fatalf("Ensure: got %v, want no error", err)
	}
	unlocked := false
	port := l.Addr().(*net.TCPAddr).Port
	_, err = startOnPort(t.Context(), "java", dir, "", port, func() { unlocked = true }, t.Logf)
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: got %v, want errPortTaken", err)
	}
	if !unlocked {
		t.Fatalf("port reservation: got still held, want released")
	}
}

func TestReservedPortIsNotHandedOutTwice(t *testing.T) {
	port, unlock, err := reservePort()
	if err != nil {
		t.Fatalf("reservePort: got %v, want no error", err)
	}
	defer unlock()
	for range 50 {
		other, unlockOther, err := reservePort()
		if err != nil {
			t.Fatalf("reservePort: got %v, want no error", err)
		}
		unlockOther()
		if other == port {
			t.Fatalf("reservePort: got port %d while it is reserved, want another", port)
		}
	}
}

// With a data folder the tables outlive the process, and -sharedDb makes
// them visible whatever key and region a client signs with (DynamoDB Local
// 2 accepts access keys of letters and digits only).
func TestADataDirKeepsTablesAcrossRestarts(t *testing.T) {
	opts := quietOptions(t)
	opts.DataDir = filepath.Join(t.TempDir(), "db")
	first, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: got %v, want no error", err)
	}
	createTable(t, first.Client(), "kept")
	if _, err := first.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("kept"),
		Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "written-before"}}}); err != nil {
		t.Fatalf("PutItem: got %v, want no error", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: got %v, want no error", err)
	}

	second, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("second Start: got %v, want no error", err)
	}
	defer second.Stop()
	other := dynamodb.New(dynamodb.Options{Region: "eu-west-1", BaseEndpoint: aws.String(second.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AnotherKey", "x", "")})
	out, err := other.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("kept"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "written-before"}}})
	if err != nil {
		t.Fatalf("GetItem after restart with another key and region: got %v, want the item", err)
	}
	if len(out.Item) == 0 {
		t.Errorf("item after restart: got none, want the one written before")
	}
}
