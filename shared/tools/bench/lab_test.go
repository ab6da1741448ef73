package bench

import (
	"context"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
)

// testLab is a lab on a DynamoDB Local of its own, stopped when the test
// or benchmark ends.
func testLab(tb testing.TB) *lab {
	tb.Helper()
	root, err := dynamolocal.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	prog, err := loadProgram(root)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := dynamolocal.Start(context.Background(), dynamolocal.Options{Logf: tb.Logf})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	return &lab{root: root, program: prog, endpoint: srv.Endpoint, ddb: newDynamoClient(srv.Endpoint, nil), logf: tb.Logf}
}
