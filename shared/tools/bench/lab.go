package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// lab is what every figure works in: the module, the program file and one
// DynamoDB Local.
type lab struct {
	root     string // module root
	program  *loyalty.Program
	endpoint string
	ddb      *dynamodb.Client // one SDK client for every table, sized for 32+ callers
	logf     func(format string, args ...any)
	memory   map[string]float64 // each function's memory in MB (infra/stacks/functions.go)
	tables   atomic.Int64
}

// newDynamoClient builds an SDK client on DynamoDB Local. The credentials
// and region are the ones dynamolocal's own client uses, as DynamoDB Local
// keeps one database per access key and region. transport nil means a real
// HTTP transport with enough idle connections for 32 concurrent callers.
func newDynamoClient(endpoint string, transport http.RoundTripper) *dynamodb.Client {
	var hc aws.HTTPClient
	if transport == nil {
		hc = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 256
			t.MaxIdleConnsPerHost = 256
		})
	} else {
		hc = &http.Client{Transport: transport}
	}
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   hc,
	})
}

// realTransport is a fresh HTTP transport like the one newDynamoClient uses.
func realTransport() http.RoundTripper {
	t := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 256
	})
	return t.GetTransport()
}

func loadProgram(root string) (*loyalty.Program, error) {
	b, err := os.ReadFile(filepath.Join(root, "program.json"))
	if err != nil {
		return nil, err
	}
	return config.ParseProgram("program.json", b)
}

// newTable creates a fresh table of the store's schema.
func (l *lab) newTable(ctx context.Context, purpose string) (string, error) {
	name := fmt.Sprintf("bench-%s-%d-%d", purpose, time.Now().Unix(), l.tables.Add(1))
	if _, err := l.ddb.CreateTable(ctx, dynamo.Schema.CreateTableInput(name)); err != nil {
		return "", fmt.Errorf("create table %s: %w", name, err)
	}
	return name, nil
}

// discardLogger logs JSON at Info level to nowhere: the handlers pay for
// their logging as in Lambda, and nothing is printed.
func discardLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// world is the engine wired on one table the way the functions wire it: a
// store on a metered client, the service, the ingest handler and the
// member API.
type world struct {
	table  string
	meter  *Meter
	store  *dynamo.Store
	svc    *loyalty.Service
	ingest *ingestPath
	member *httpapi.MemberAPI
}

// newWorld wires the engine on table over client (metered here).
func (l *lab) newWorld(table string, client dynamo.Client, clock loyalty.Clock) (*world, error) {
	m := NewMeter(client)
	st := dynamo.New(m, table)
	svc := &loyalty.Service{Store: st, Referrals: st, Snapshots: st, Program: l.program, Clock: clock}
	in, err := newIngestPath(svc, st, 1)
	if err != nil {
		return nil, err
	}
	return &world{table: table, meter: m, store: st, svc: svc, ingest: in,
		member: httpapi.NewMemberAPI(svc, st, discardLogger())}, nil
}

// settableClock is a clock the expiry figures move.
type settableClock struct{ now atomic.Int64 }

func newSettableClock(t time.Time) *settableClock {
	c := &settableClock{}
	c.set(t)
	return c
}

func (c *settableClock) Now() time.Time  { return time.Unix(0, c.now.Load()).UTC() }
func (c *settableClock) set(t time.Time) { c.now.Store(t.UnixNano()) }
