package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loyalty-functions/loyalty/shared/spec/schedules"
	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// Kind is how a function is invoked; it decides its wiring.
type Kind int

const (
	KindMemberAPI Kind = iota + 1 // HTTP API routes under /v1, JWT
	KindAdminAPI                  // HTTP API routes under /admin, IAM (SigV4)
	KindQueue                     // the partner SQS queue
	KindJob                       // an EventBridge Scheduler schedule
	KindDoor                      // the partner door: a function URL, IAM (SigV4) by the partners' senders (door.go)
)

func (k Kind) String() string {
	switch k {
	case KindMemberAPI:
		return "member-api"
	case KindAdminAPI:
		return "admin-api"
	case KindQueue:
		return "queue"
	case KindJob:
		return "job"
	case KindDoor:
		return "door"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Cron is when a job runs, in the program's timezone, so 00:05 stays 00:05
// local across daylight saving. It comes from schedules.All, the one table
// the local scheduler also runs.
type Cron struct {
	Minute  int
	Hours   []int
	WeekDay string // MON..SUN; empty means every day
}

// HourList is the hour field of the cron expression, "0,1,2".
func (c Cron) HourList() string {
	parts := make([]string, len(c.Hours))
	for i, h := range c.Hours {
		parts[i] = strconv.Itoa(h)
	}
	return strings.Join(parts, ",")
}

func (c Cron) String() string {
	when := "daily"
	if c.WeekDay != "" {
		when = "weekly on " + c.WeekDay
	}
	return fmt.Sprintf("%s at minute %d of hours %s", when, c.Minute, c.HourList())
}

// cronOf is the schedule of a job in schedules.All.
func cronOf(job string) *Cron {
	for _, s := range schedules.All {
		if s.Job == job {
			c := &Cron{Minute: s.Minute, Hours: s.Hours}
			if s.Weekday != nil {
				c.WeekDay = strings.ToUpper(s.Weekday.String()[:3])
			}
			return c
		}
	}
	panic("infra: no schedule for job " + job + " in schedules.All")
}

// Function is one Lambda: what it is called, how it is invoked and what it
// may do. The infra takes the list of functions from Functions, never from
// the folder listing, so a half-written function cannot deploy by accident.
type Function struct {
	Name     string // functions/<Name>/main.go, built to <distDir>/<Name>/bootstrap
	Kind     Kind
	MemoryMB float64
	Timeout  time.Duration
	Schedule *Cron // KindJob only
	// TableActions are the DynamoDB actions allowed on the table itself.
	TableActions []string
	// QueryIndexes are the global indexes it may Query; nothing else is
	// allowed on an index.
	QueryIndexes []string
	// Publishes: the function puts domain events on the bus (the jobs, with
	// their outbox); only these get events:PutEvents and EVENT_BUS_NAME.
	Publishes bool
}

// Timeouts shared between the function table and the resources fitted to them.
const (
	APITimeout = 10 * time.Second
	// IngestTimeout also sets the partner queue's visibility timeout
	// (QueueVisibilityFactor times this), which the stateful stack reads.
	IngestTimeout = 30 * time.Second
	JobTimeout    = 15 * time.Minute

	// QueueVisibilityFactor is the AWS guidance for SQS event sources: the
	// visibility timeout is at least six times the function timeout, so a
	// batch retried by Lambda is not redelivered while still in flight.
	QueueVisibilityFactor = 6
)

// DynamoDB actions. There is no IAM action for TransactWriteItems: a
// transaction is authorized by the actions of its parts (PutItem,
// UpdateItem, DeleteItem, ConditionCheckItem), so granting those is what
// lets a function write a ledger entry and a balance in one transaction.
// Scan is granted to nobody: the design keeps due work in sparse indexes.
const (
	ddbGetItem            = "dynamodb:GetItem"
	ddbBatchGetItem       = "dynamodb:BatchGetItem"
	ddbQuery              = "dynamodb:Query"
	ddbPutItem            = "dynamodb:PutItem"
	ddbUpdateItem         = "dynamodb:UpdateItem"
	ddbDeleteItem         = "dynamodb:DeleteItem"
	ddbConditionCheckItem = "dynamodb:ConditionCheckItem"
)

var (
	// DeleteItem: claiming a printed card moves its anonymous account's
	// entries to the member and deletes them there, in one transaction
	// (shared/dynamo/claim.go).
	memberAPIActions = []string{ddbGetItem, ddbBatchGetItem, ddbQuery, ddbPutItem, ddbUpdateItem, ddbDeleteItem, ddbConditionCheckItem}
	// DeleteItem is for erasure requests (GDPR), which only ops may make.
	adminAPIActions = []string{ddbGetItem, ddbBatchGetItem, ddbQuery, ddbPutItem, ddbUpdateItem, ddbDeleteItem, ddbConditionCheckItem}
	// BatchGetItem: the store's Apply reads the idempotency entry and the
	// account in one BatchGetItem before it writes (shared/dynamo).
	ingestActions = []string{ddbGetItem, ddbBatchGetItem, ddbQuery, ddbPutItem, ddbUpdateItem, ddbConditionCheckItem}
	jobActions    = []string{ddbGetItem, ddbBatchGetItem, ddbQuery, ddbPutItem, ddbUpdateItem, ddbConditionCheckItem}
	// The expiry writes from the due index's copy of the lots (Put of the
	// entry, Update of the account, Put of the notification; no condition
	// check, no batch read: shared/dynamo ExpireFromSnapshot); GetItem reads
	// the account when that copy is stale or missing and a notification of
	// the outbox; PutItem and Query are its checkpoints.
	expireActions = []string{ddbGetItem, ddbQuery, ddbPutItem, ddbUpdateItem}
)

// Functions is every Lambda of the engine. Add a function here (and its
// folder under functions/) to deploy it.
var Functions = []Function{
	// Both APIs page a member's activity through the history index.
	{Name: "member-api", Kind: KindMemberAPI, MemoryMB: 256, Timeout: APITimeout, TableActions: memberAPIActions,
		QueryIndexes: []string{table.IndexHistory}},
	{Name: "admin-api", Kind: KindAdminAPI, MemoryMB: 256, Timeout: APITimeout, TableActions: adminAPIActions,
		QueryIndexes: []string{table.IndexHistory}},
	{Name: "ingest", Kind: KindQueue, MemoryMB: 256, Timeout: IngestTimeout, TableActions: ingestActions},
	// The synchronous door takes the queue's messages, on the same path:
	// the same grants as the ingest.
	{Name: "partner-door", Kind: KindDoor, MemoryMB: 256, Timeout: APITimeout, TableActions: ingestActions},
	{Name: "expire-points", Kind: KindJob, MemoryMB: 512, Timeout: JobTimeout, TableActions: expireActions, Publishes: true,
		QueryIndexes: []string{table.IndexDue}, Schedule: cronOf(schedules.ExpirePoints)},
	{Name: "send-reminders", Kind: KindJob, MemoryMB: 512, Timeout: JobTimeout, TableActions: jobActions, Publishes: true,
		QueryIndexes: []string{table.IndexActivity, table.IndexDue}, Schedule: cronOf(schedules.SendReminders)},
	{Name: "tier-review", Kind: KindJob, MemoryMB: 512, Timeout: JobTimeout, TableActions: jobActions, Publishes: true,
		// IndexDue: it republishes its outbox entries left unpublished, which
		// sit in the due index like every job's (found by the local stack's IAM).
		QueryIndexes: []string{table.IndexDue, table.IndexReview}, Schedule: cronOf(schedules.TierReview)},
	{Name: "win-back", Kind: KindJob, MemoryMB: 512, Timeout: JobTimeout, TableActions: jobActions, Publishes: true,
		QueryIndexes: []string{table.IndexActivity, table.IndexDue}, Schedule: cronOf(schedules.WinBack)},
}

// FunctionsOfKind returns the functions of one kind, in table order.
func FunctionsOfKind(fns []Function, k Kind) []Function {
	var out []Function
	for _, f := range fns {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// MissingBootstraps lists the bootstrap files of fns that distDir lacks, so
// that the app can say "build first" instead of failing inside jsii.
func MissingBootstraps(distDir string, fns []Function) []string {
	var missing []string
	for _, f := range fns {
		p := filepath.Join(distDir, f.Name, "bootstrap")
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			missing = append(missing, p)
		}
	}
	return missing
}
