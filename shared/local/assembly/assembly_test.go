package assembly_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/local/assembly"
)

func load(tb testing.TB) *assembly.Assembly {
	tb.Helper()
	a, err := assembly.Load("testdata/two-stacks", assembly.Env{Account: "000000000000", Region: "eu-west-1",
		Names:    map[string]string{"Table1": "local-table"},
		QueueURL: func(name string) string { return "http://127.0.0.1:9/000000000000/" + name }})
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

func TestIntrinsicsResolveAcrossStacks(t *testing.T) {
	a := load(t)
	fns, err := a.Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 {
		t.Fatalf("functions: got %d, want 1", len(fns))
	}
	f := fns[0]
	if got := f.Environment.Variables["TABLE_NAME"]; got != "local-table" {
		t.Errorf("TABLE_NAME (Fn::ImportValue of a Ref): got %q, want local-table", got)
	}
	if got := f.Environment.Variables["WHERE"]; got != "eu-west-1/000000000000/${literal}" {
		t.Errorf("Fn::Sub: got %q", got)
	}
	if f.Timeout != 30 || f.MemorySize != 128 || f.Role != "arn:aws:iam::000000000000:role/App-Role1" {
		t.Errorf("function: got timeout %d, memory %d, role %q", f.Timeout, f.MemorySize, f.Role)
	}
	code, err := f.ReadCode("bootstrap")
	if err != nil || string(code) != "loyalty-local-function fn\n" {
		t.Errorf("code asset: got %q, %v", code, err)
	}
	pol, err := a.RolePoliciesOf(f.Role)
	if err != nil {
		t.Fatal(err)
	}
	if len(pol.Documents) != 1 || !strings.Contains(string(pol.Documents[0].Document), `"arn:aws:dynamodb:eu-west-1:000000000000:table/local-table/index/due"`) {
		t.Errorf("role policies: got %+v, want the index ARN resolved", pol)
	}
}

func TestQueuesMappingsAndSchedules(t *testing.T) {
	a := load(t)
	qs, err := a.Queues()
	if err != nil {
		t.Fatal(err)
	}
	var q assembly.Queue
	for _, x := range qs {
		if x.Name == "q" {
			q = x
		}
	}
	if q.RedrivePolicy == nil || q.RedrivePolicy.MaxReceiveCount != 5 || q.RedrivePolicy.DeadLetterTargetArn != "arn:aws:sqs:eu-west-1:000000000000:q-dlq" ||
		*q.VisibilityTimeout != 180 || q.URL != "http://127.0.0.1:9/000000000000/q" {
		t.Errorf("queue: got %+v", q)
	}
	ms, err := a.EventSourceMappings()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].EventSourceArn != q.ARN || ms[0].FunctionName != "App-Fn1" || ms[0].BatchSize != 10 || ms[0].ScalingConfig.MaximumConcurrency != 5 {
		b, _ := json.Marshal(ms)
		t.Errorf("mappings: got %s", b)
	}
	ss, err := a.Schedules()
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].Target.Input != `{"account":"000000000000","attempt":"<aws.scheduler.attempt-number>"}` || ss[0].ScheduleExpressionTimezone != "Europe/Berlin" ||
		ss[0].ARN != "arn:aws:scheduler:eu-west-1:000000000000:schedule/default/App-Sched1" {
		t.Errorf("schedules: got %+v", ss)
	}
	tables, err := a.Tables()
	if err != nil || len(tables) != 1 || tables[0].TimeToLiveSpecification.AttributeName != "ttl" || tables[0].ARN != "arn:aws:dynamodb:eu-west-1:000000000000:table/local-table" {
		t.Errorf("tables: got %+v, %v", tables, err)
	}
}

// An intrinsic the package does not resolve is an error naming it, never
// a value passed on as it is.
func TestAnUnknownIntrinsicIsAnError(t *testing.T) {
	a := load(t)
	r, ok := a.Resource("Bad")
	if !ok {
		t.Fatal("no resource Bad")
	}
	var v map[string]any
	err := r.Decode(&v)
	if err == nil || !strings.Contains(err.Error(), "Fn::GetAZs") {
		t.Errorf("got %v, want an error naming Fn::GetAZs", err)
	}
}
