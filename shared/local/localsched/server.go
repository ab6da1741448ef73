package localsched

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Server is the local EventBridge endpoint (PutEvents into the sink) and the
// control API of the scheduler, on 127.0.0.1.
type Server struct {
	URL   string // http://127.0.0.1:PORT
	sink  *Sink
	sched atomic.Pointer[Scheduler]
	srv   *http.Server
	auth  atomic.Pointer[PutAuthorizer]
}

// PutAuthorizer decides a PutEvents call before any entry is taken: r and
// body are the signed request, buses the ARNs of the event buses its
// entries name. A non-nil error is EventBridge's AccessDeniedException
// with its text.
type PutAuthorizer func(r *http.Request, body []byte, buses []string) error

// Authorize makes every PutEvents call pass a; without one every call is
// taken (the scheduler's own tests).
func (s *Server) Authorize(a PutAuthorizer) { s.auth.Store(&a) }

// Serve listens on addr (a loopback address; port 0 picks one). sched may
// be nil and attached later (Attach): the functions need the server's URL
// before the scheduler can invoke them.
func Serve(addr string, sink *Sink, sched *Scheduler) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		return nil, fmt.Errorf("localsched: listen on 127.0.0.1 only, not %q", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("localsched: %w", err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), sink: sink}
	s.sched.Store(sched)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.putEvents)
	mux.HandleFunc("POST /jobs/{name}", s.runJob)
	mux.HandleFunc("GET /events", s.listEvents)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Attach sets the scheduler the control API runs jobs with.
func (s *Server) Attach(sched *Scheduler) { s.sched.Store(sched) }

// Close stops the server.
func (s *Server) Close(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// putEntry is one entry of a PutEvents request (JSON 1.1; Time in epoch
// seconds).
type putEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	EventBusName string   `json:"EventBusName"`
	Time         *float64 `json:"Time"`
	Resources    []string `json:"Resources"`
}

type awsError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// putEvents answers EventBridge's PutEvents as AWS does, for the SDK.
func (s *Server) putEvents(w http.ResponseWriter, r *http.Request) {
	const ct = "application/x-amz-json-1.1"
	if target := r.Header.Get("X-Amz-Target"); target != "AWSEvents.PutEvents" {
		writeJSON(w, http.StatusBadRequest, ct, awsError{"UnknownOperationException", "only AWSEvents.PutEvents is served here, not " + target})
		return
	}
	var in struct {
		Entries []putEntry `json:"Entries"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &in) != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeJSON(w, http.StatusBadRequest, ct, awsError{"ValidationException", "Entries must hold 1 to 10 entries"})
		return
	}
	if a := s.auth.Load(); a != nil {
		var buses []string
		for _, e := range in.Entries {
			bus := e.EventBusName
			if bus == "" {
				bus = "default"
			}
			if !strings.HasPrefix(bus, "arn:") {
				bus = "arn:aws:events:" + localRegion + ":" + localAccount + ":event-bus/" + bus
			}
			if !slices.Contains(buses, bus) {
				buses = append(buses, bus)
			}
		}
		if err := (*a)(r, body, buses); err != nil {
			writeJSON(w, http.StatusBadRequest, ct, awsError{"AccessDeniedException", err.Error()})
			return
		}
	}
	type result struct {
		EventID      string `json:"EventId,omitempty"`
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorMessage string `json:"ErrorMessage,omitempty"`
	}
	var (
		out    []Event
		res    []result
		failed int
	)
	for _, e := range in.Entries {
		if e.Source == "" || e.DetailType == "" || !json.Valid([]byte(e.Detail)) {
			failed++
			res = append(res, result{ErrorCode: "MalformedDetail", ErrorMessage: "Source, DetailType and a JSON Detail are required"})
			continue
		}
		at := time.Now().UTC()
		if e.Time != nil {
			sec := int64(*e.Time)
			at = time.Unix(sec, int64((*e.Time-float64(sec))*1e9)).UTC()
		}
		ev := Event{Version: "0", ID: newID(), DetailType: e.DetailType, Source: e.Source, Account: localAccount, Time: at,
			Region: localRegion, Resources: e.Resources, Detail: json.RawMessage(e.Detail), EventBusName: e.EventBusName}
		if ev.Resources == nil {
			ev.Resources = []string{}
		}
		out = append(out, ev)
		res = append(res, result{EventID: ev.ID})
	}
	if err := s.sink.Put(out); err != nil {
		writeJSON(w, http.StatusInternalServerError, ct, awsError{"InternalException", err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, ct, map[string]any{"FailedEntryCount": failed, "Entries": res})
}

// runJob: POST /jobs/{name}?date=YYYY-MM-DD&shards=0-7 runs a job now (for
// date, default today in the program's timezone) and answers its report.
func (s *Server) runJob(w http.ResponseWriter, r *http.Request) {
	const ct = "application/json"
	name := r.PathValue("name")
	detail := jobs.Detail{Job: name, Shards: r.URL.Query().Get("shards")}
	if d := r.URL.Query().Get("date"); d != "" {
		if _, err := loyalty.ParseDate(d); err != nil {
			writeJSON(w, http.StatusBadRequest, ct, map[string]string{"error": err.Error()})
			return
		}
		detail.Day = d
	}
	sched := s.sched.Load()
	if sched == nil {
		writeJSON(w, http.StatusServiceUnavailable, ct, map[string]string{"error": "the job functions are not started yet"})
		return
	}
	out, err := sched.Run(r.Context(), name, time.Now(), detail)
	switch {
	case errors.Is(err, ErrUnknownJob):
		writeJSON(w, http.StatusNotFound, ct, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusBadGateway, ct, map[string]string{"error": err.Error()})
	default:
		w.Header().Set("Content-Type", ct)
		w.Write(out)
	}
}

// listEvents: GET /events?type=points.expired.v1&member=m1 lists the sink.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	all, err := s.sink.Events()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, "application/json", map[string]string{"error": err.Error()})
		return
	}
	typ, member := r.URL.Query().Get("type"), r.URL.Query().Get("member")
	out := []Event{}
	for _, e := range all {
		if typ != "" && e.DetailType != typ {
			continue
		}
		if member != "" {
			var d struct {
				MemberID string `json:"memberId"`
			}
			if json.Unmarshal(e.Detail, &d) != nil || d.MemberID != member {
				continue
			}
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, "application/json", out)
}
