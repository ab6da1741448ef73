package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
)

// The second harness: the jobs on the in-memory store, for the tests whose
// subject is the jobs' logic (scheduling, lookback, checkpoints, reports,
// notification rendering), which need no Java. Package storecontract holds
// the memory store to the DynamoDB store's guarantees; the tests of what
// only the table shows (consumed capacity, the outbox over the real table,
// transactions cut off in flight) keep newEnv.

// envStore is what a test reads and writes with directly, on either store.
type envStore interface {
	jobs.Store
	loyalty.ReferralStore
	Account(ctx context.Context, id loyalty.MemberID) (loyalty.Account, error)
	AuditMember(ctx context.Context, id loyalty.MemberID) (*loyalty.AuditProblem, error)
	Enrol(ctx context.Context, id loyalty.MemberID, now time.Time) (loyalty.Account, error)
	Notifications(ctx context.Context, member loyalty.MemberID, after string, limit int, now time.Time) ([]loyalty.Notification, string, error)
	PutReward(ctx context.Context, r loyalty.Reward) error
	Seed(ctx context.Context, accounts []loyalty.Account, entries []loyalty.Entry) error
	SetPreferredLocale(ctx context.Context, member loyalty.MemberID, locale string, at time.Time) error
}

var (
	_ envStore = (*dynamo.Store)(nil)
	_ envStore = (*memstore.Store)(nil)
)

// newMemEnv is newEnv (main_test.go) on a memory store. It has no table
// and no jstore: the jobs run on the test's store, which counts nothing.
func newMemEnv(tb testing.TB, cfg jobs.Config) *env {
	tb.Helper()
	st := memstore.New()
	e := &env{store: st, clock: &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}, sink: &sink{}}
	prog := testProgram(tb)
	e.svc = &loyalty.Service{Store: st, Referrals: st, Snapshots: st, Program: prog, Clock: e.clock}
	cfg.Shards = memstore.DueShards
	e.jobs = jobs.New(st, prog, e.clock, e.sink, cfg, nil)
	return e
}
