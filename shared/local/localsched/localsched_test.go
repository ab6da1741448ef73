package localsched_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/loyalty-functions/loyalty/events/domain"
	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/local/localsched"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// fakeFunction records the payloads it is invoked with.
type fakeFunction struct {
	mu       sync.Mutex
	payloads []events.EventBridgeEvent
}

func (f *fakeFunction) Invoke(_ context.Context, payload []byte) ([]byte, error) {
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.payloads = append(f.payloads, ev)
	f.mu.Unlock()
	return []byte(`{"complete":true}`), nil
}

func (f *fakeFunction) days(tb testing.TB, loc *time.Location) []string {
	tb.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, ev := range f.payloads {
		out = append(out, ev.Time.In(loc).Format("Mon 2006-01-02 15:04"))
	}
	return out
}

func start(tb testing.TB) (*localsched.Server, *localsched.Sink, *localsched.Scheduler, map[string]*fakeFunction, *time.Location) {
	tb.Helper()
	loc, _ := time.LoadLocation("Europe/Berlin")
	sink, err := localsched.NewSink(filepath.Join(tb.TempDir(), "events.jsonl"), "loyalty-local", tb.Logf)
	if err != nil {
		tb.Fatal(err)
	}
	fakes := map[string]*fakeFunction{jobs.ExpirePoints: {}, jobs.SendReminders: {}, jobs.WinBack: {}}
	invokers := map[string]localsched.Invoker{}
	for k, v := range fakes {
		invokers[k] = v
	}
	sched, err := localsched.NewScheduler(localsched.JobsFromSchedules(invokers), loc, tb.Logf)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := localsched.Serve("127.0.0.1:0", sink, sched)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sched.Stop(); srv.Close(context.Background()) })
	return srv, sink, sched, fakes, loc
}

// The functions' real EventBridge adapter, pointed at the local endpoint,
// lands events in the sink as a subscriber would get them.
func TestPutEventsThroughTheSDK(t *testing.T) {
	srv, sink, _, _, _ := start(t)
	client := eventbridge.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")},
		func(o *eventbridge.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	bus := eventbus.New(client, "loyalty-local")
	at := time.Date(2026, 4, 1, 0, 5, 0, 0, time.UTC)
	var evs []loyalty.DomainEvent
	for i := range 12 {
		n := loyalty.NewNotification(&loyalty.Program{ID: "demo"}, loyalty.MemberID(fmt.Sprintf("m%d", i%3)), loyalty.NotePointsExpiring,
			"2026-04-30", "points expire", map[string]any{"points": 10 + i, "expires": "2026-04-30", "daysLeft": 29}, at)
		evs = append(evs, n.Event("demo"))
	}
	if err := bus.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Events()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 {
		t.Fatalf("sink: got %d events, want 12", len(got))
	}
	e := got[0]
	if e.Source != "loyalty" || e.DetailType != loyalty.EventPointsExpiring || !e.Time.Equal(at) || e.EventBusName != "loyalty-local" {
		t.Errorf("event: got source %s type %s time %s bus %s", e.Source, e.DetailType, e.Time, e.EventBusName)
	}
	if err := domain.Validate(e.DetailType, e.Detail); err != nil {
		t.Errorf("detail: %v", err)
	}
	resp, err := http.Get(srv.URL + "/events?type=" + loyalty.EventPointsExpiring + "&member=m1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var listed []localsched.Event
	json.NewDecoder(resp.Body).Decode(&listed)
	if len(listed) != 4 {
		t.Errorf("GET /events for m1: got %d, want 4", len(listed))
	}
	// The in-process port writes the same shape.
	if err := sink.Publish(context.Background(), evs[:1]); err != nil {
		t.Fatal(err)
	}
	if all, _ := sink.Events(); len(all) != 13 || string(all[12].Detail) != string(all[0].Detail) {
		t.Errorf("Publish: got %d events, the last %s; want 13, the last like the first", len(all), all[len(all)-1].Detail)
	}
}

// Fast-forward runs each simulated day's schedule in order, with the
// payload time of the simulated run.
func TestFastForward(t *testing.T) {
	_, _, sched, fakes, loc := start(t)
	sched.FastForward(time.Date(2026, 3, 28, 12, 0, 0, 0, loc), 30*time.Millisecond) // Saturday
	deadline := time.Now().Add(5 * time.Second)
	for len(fakes[jobs.SendReminders].days(t, loc)) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sched.Stop()
	rem := fakes[jobs.SendReminders].days(t, loc)[:4]
	if fmt.Sprint(rem) != "[Sat 2026-03-28 09:00 Sun 2026-03-29 09:00 Mon 2026-03-30 09:00 Tue 2026-03-31 09:00]" {
		t.Errorf("reminders: got %v, want one a day at 09:00 from Saturday", rem)
	}
	exp := fakes[jobs.ExpirePoints].days(t, loc)
	if len(exp) < 12 || exp[0] != "Sat 2026-03-28 00:05" || exp[5] != "Sat 2026-03-28 05:05" || exp[6] != "Sun 2026-03-29 00:05" {
		t.Errorf("expiry: got %v, want 00:05 to 05:05 hourly each day", exp)
	}
	wb := fakes[jobs.WinBack].days(t, loc)
	if len(wb) != 1 || wb[0] != "Mon 2026-03-30 06:00" {
		t.Errorf("win-back: got %v, want Monday 06:00 only", wb)
	}
	var detail jobs.Detail
	json.Unmarshal(fakes[jobs.WinBack].payloads[0].Detail, &detail)
	if p := fakes[jobs.WinBack].payloads[0]; p.DetailType != "Scheduled Event" || p.Source != "aws.scheduler" || detail.Job != jobs.WinBack || !strings.Contains(string(p.Detail), `"attempt":"1"`) {
		t.Errorf("payload: got %+v (detail %+v), want a Scheduled Event for win-back", p, detail)
	}
}

func TestRunJobNow(t *testing.T) {
	srv, _, _, fakes, _ := start(t)
	post := func(path string) (int, string) {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := post("/jobs/expire-points?date=2026-04-01&shards=0-7"); status != 200 || body != `{"complete":true}` {
		t.Errorf("run now: got %d %s, want 200 and the function's answer", status, body)
	}
	var d jobs.Detail
	json.Unmarshal(fakes[jobs.ExpirePoints].payloads[0].Detail, &d)
	if d != (jobs.Detail{Job: "expire-points", Day: "2026-04-01", Shards: "0-7", Attempt: 1}) {
		t.Errorf("detail: got %+v", d)
	}
	if status, _ := post("/jobs/no-such-job"); status != 404 {
		t.Errorf("unknown job: got %d, want 404", status)
	}
	if status, _ := post("/jobs/win-back?date=01.04.2026"); status != 400 {
		t.Errorf("bad date: got %d, want 400", status)
	}
	if _, err := localsched.Serve("0.0.0.0:0", nil, nil); err == nil {
		t.Errorf("listening beyond loopback: got no error, want one")
	}
}
