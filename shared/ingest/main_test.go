package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/dynamotest"
)

// The local DynamoDB and SQS start on first use, not in TestMain, so that
// `go test -fuzz` workers (which run TestMain too) start neither.
var (
	dbOnce   sync.Once
	dbServer *dynamolocal.Server
	dbErr    error

	sqsOnce   sync.Once
	sqsServer *sqslocal.Server
	sqsErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dbServer != nil {
		if err := dbServer.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if sqsServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := sqsServer.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		cancel()
	}
	os.Exit(code)
}

// localDynamo returns the test binary's DynamoDB Local, started once.
func localDynamo(tb testing.TB) *dynamolocal.Server {
	tb.Helper()
	dbOnce.Do(func() {
		dbServer, dbErr = dynamolocal.Start(context.Background(), dynamolocal.Options{Logf: func(string, ...any) {}})
	})
	if dbErr != nil {
		tb.Fatalf("start DynamoDB Local: %v", dbErr)
	}
	return dbServer
}

// localSQS returns the test binary's embedded SQS, started once.
func localSQS(tb testing.TB) *sqslocal.Server {
	tb.Helper()
	sqsOnce.Do(func() { sqsServer, sqsErr = sqslocal.Start(context.Background()) })
	if sqsErr != nil {
		tb.Fatalf("start local SQS: %v", sqsErr)
	}
	return sqsServer
}

// newTable creates a fresh table from the shared schema and returns its name.
func newTable(tb testing.TB, db *dynamodb.Client) string {
	tb.Helper()
	name := dynamotest.NewTable(tb, db, "ingest-test")
	return name
}

// testProgram is the demo program's rules with the partners the samples
// use; tests do not read program.json, which ops may change.
func testProgram(tb testing.TB, refund loyalty.RefundPolicy) *loyalty.Program {
	tb.Helper()
	p := &loyalty.Program{Version: 1, ID: "ingest-test", Currency: "EUR", Timezone: "Europe/Berlin",
		Earn:   loyalty.EarnRate{Points: 1, PerMinor: 100, Rounding: loyalty.RoundDown},
		Expiry: loyalty.ExpiryPolicy{Months: 12, EndOfMonth: true}, Refund: refund,
		// Both may name members by id: the version 1 samples do (till_test.go
		// takes it from the coffee shop).
		Partners: []loyalty.Partner{{ID: "demo-coffee-berlin", Name: "Coffee", MemberIDs: true}, {ID: "demo-webshop", Name: "Web shop", MemberIDs: true}}}
	if err := p.Validate(); err != nil {
		tb.Fatalf("program: %v", err)
	}
	return p
}

// fixture is a handler on a fresh table, with its logs and metrics captured.
type fixture struct {
	store   *dynamo.Store
	handler *ingest.Handler
	logs    *syncBuffer
	metrics *syncBuffer
	now     time.Time
}

// testStage is the fixtures' stage: the samples in events/partner/sqs come
// from the partner queues of a dev deployment.
const testStage = "dev"

// clockAt is the fixtures' time: after every sample's occurredAt.
var clockAt = time.Date(2026, 3, 13, 9, 0, 0, 0, time.UTC)

func newFixture(tb testing.TB, client dynamo.Client, opts ...func(*ingest.Config)) fixture {
	tb.Helper()
	db := localDynamo(tb).Client()
	if client == nil {
		client = db
	}
	store := dynamo.New(client, newTable(tb, db))
	f := fixture{store: store, logs: &syncBuffer{}, metrics: &syncBuffer{}, now: clockAt}
	cfg := ingest.Config{
		Service:    &loyalty.Service{Store: store, Referrals: store, Program: testProgram(tb, loyalty.RefundNegative), Clock: loyalty.ClockFunc(func() time.Time { return clockAt })},
		Rejections: store,
		Logger:     slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Metrics:    f.metrics,
		Stage:      testStage,
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := ingest.New(cfg)
	if err != nil {
		tb.Fatalf("ingest.New: %v", err)
	}
	f.handler = h
	return f
}

func (f fixture) balance(tb testing.TB, member string) loyalty.Points {
	tb.Helper()
	a, err := f.store.Account(context.Background(), loyalty.MemberID(member))
	if loyalty.ErrorCode(err) == loyalty.CodeNotFound {
		return 0
	}
	if err != nil {
		tb.Fatalf("account %s: %v", member, err)
	}
	return a.Balance
}

func (f fixture) audit(tb testing.TB) dynamo.AuditReport {
	tb.Helper()
	rep, err := f.store.Audit(context.Background(), 4)
	if err != nil {
		tb.Fatalf("audit: %v", err)
	}
	for _, p := range rep.Problems {
		tb.Errorf("audit: member %s: %v", p.MemberID, p.Problems)
	}
	return rep
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// partnerDir is the partner contract's folder: samples and SQS wrappers.
var partnerDir = filepath.Join("..", "..", "events", "partner")

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return b
}
