package localsched

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// localAccount and region are what the sink writes into the events it keeps.
const (
	localAccount = "000000000000"
	localRegion  = "us-east-1"
)

// Event is one published event as an EventBridge subscriber receives it.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// EventBusName is which bus it was put on (not part of what a
	// subscriber gets; kept for the reader).
	EventBusName string `json:"eventBusName,omitempty"`
}

// Sink keeps published events in a JSON Lines file.
type Sink struct {
	path string
	bus  string
	logf func(format string, args ...any)

	mu sync.Mutex
}

// NewSink appends to the file at path (its folder is created) the events
// put on bus.
func NewSink(path, bus string, logf func(format string, args ...any)) (*Sink, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return &Sink{path: path, bus: bus, logf: logf}, nil
}

// Reset empties the file. The local stack never calls it: the events of
// its data folder are kept across restarts, like its table.
func (s *Sink) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return os.WriteFile(s.path, nil, 0o644)
}

// Path is the JSON Lines file.
func (s *Sink) Path() string { return s.path }

// Put appends events to the file and logs one line each.
func (s *Sink) Put(events []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, e := range events {
		b, err := json.Marshal(e)
		if err != nil {
			f.Close()
			return err
		}
		w.Write(b)
		w.WriteByte('\n')
		var d struct {
			MemberID string `json:"memberId"`
			EventID  string `json:"eventId"`
		}
		json.Unmarshal(e.Detail, &d)
		s.logf("event %s for member %s (eventId %s) on bus %s", e.DetailType, d.MemberID, d.EventID, e.EventBusName)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Publish implements loyalty.Publisher: the same events the EventBridge
// adapter would put.
func (s *Sink) Publish(_ context.Context, events []loyalty.DomainEvent) error {
	out := make([]Event, 0, len(events))
	for _, e := range events {
		detail, err := json.Marshal(e.Body())
		if err != nil {
			return err
		}
		out = append(out, Event{Version: "0", ID: newID(), DetailType: e.Type, Source: loyalty.EventSource, Account: localAccount,
			Time: e.OccurredAt.UTC(), Region: localRegion, Resources: []string{}, Detail: detail, EventBusName: s.bus})
	}
	return s.Put(out)
}

// Events reads back every event of the file, oldest first.
func (s *Sink) Events() ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("%s: %w", s.path, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// newID is a random UUID (version 4), as EventBridge gives every event.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
