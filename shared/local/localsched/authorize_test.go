package localsched

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// A PutEvents call the authorizer refuses gets EventBridge's
// AccessDeniedException and puts nothing; the authorizer sees the ARN of
// each bus the entries name.
func TestPutEventsRefusedByTheAuthorizer(t *testing.T) {
	sink, err := NewSink(filepath.Join(t.TempDir(), "events.jsonl"), "bus", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve("127.0.0.1:0", sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	var seen []string
	srv.Authorize(func(r *http.Request, body []byte, buses []string) error {
		seen = buses
		return errors.New("User: x is not authorized to perform: events:PutEvents")
	})
	req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(`{"Entries":[{"Source":"s","DetailType":"d","Detail":"{}","EventBusName":"loyalty"}]}`))
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"AccessDeniedException"`) {
		t.Errorf("got %d %s, want 400 AccessDeniedException", resp.StatusCode, body)
	}
	if len(seen) != 1 || seen[0] != "arn:aws:events:"+localRegion+":"+localAccount+":event-bus/loyalty" {
		t.Errorf("buses the authorizer saw: got %v, want the bus's ARN", seen)
	}
	if evs, _ := sink.Events(); len(evs) != 0 {
		t.Errorf("events put: got %d, want none", len(evs))
	}
}
