package sqslocal

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Admiral-Piett/goaws/app/models"
)

// gate stands between our http.Server and goaws' router. It serialises what
// goaws leaves unsynchronised, does long polling itself, and rewrites the
// JSON-protocol answers goaws gets wrong (see the package doc).
type gate struct {
	goaws     http.Handler
	done      <-chan struct{}
	authorize Authorizer // nil: every call runs

	// mu guards goaws' queue map and queue settings, which most goaws
	// handlers read without goaws' own lock: actions that change them run
	// alone, data-plane actions run together. A long poll holds it only
	// while goaws looks at the queue, never while waiting.
	mu sync.RWMutex

	signalMu sync.Mutex
	signal   chan struct{} // closed (and replaced) when a message may have become receivable

	firstMu      sync.Mutex
	firstReceive map[string]string // message id -> ApproximateFirstReceiveTimestamp
}

const (
	jsonContentType = "application/x-amz-json-1.0"
	// maxRequestBytes fits a SendMessageBatch of 10 x 256 KiB after encoding.
	maxRequestBytes = 4 << 20
	// pollEvery is how often a waiting long poll looks again for messages
	// whose visibility timeout ended; new messages wake it at once.
	pollEvery = 25 * time.Millisecond
	// maxWaitSeconds is the SQS limit for WaitTimeSeconds.
	maxWaitSeconds = 20
	// noWait makes goaws' ReceiveMessage skip its own wait loop: it waits
	// WaitTimeSeconds*10 rounds of 100 ms, and treats 0 as "use the queue's
	// default", so only a negative value means "look once".
	noWait = -1
)

// dataPlane lists the actions that may run side by side in goaws. Everything
// else (CreateQueue, SetQueueAttributes, DeleteQueue, PurgeQueue, SNS) runs
// alone.
var dataPlane = map[string]bool{
	"SendMessage":             true,
	"SendMessageBatch":        true,
	"ReceiveMessage":          true,
	"DeleteMessage":           true,
	"DeleteMessageBatch":      true,
	"ChangeMessageVisibility": true,
	"GetQueueAttributes":      true,
	"GetQueueUrl":             true,
	"ListQueues":              true,
}

// wakers are the actions after which a waiting long poll should look again.
var wakers = map[string]bool{
	"SendMessage":             true,
	"SendMessageBatch":        true,
	"ChangeMessageVisibility": true,
}

func newGate(goaws http.Handler, done <-chan struct{}) *gate {
	return &gate{
		goaws:        goaws,
		done:         done,
		signal:       make(chan struct{}),
		firstReceive: make(map[string]string),
	}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		http.Error(w, "request body unreadable or larger than 4 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	req := parseRequest(r, body)
	if req.json && req.action == "" {
		// goaws indexes the X-Amz-Target split without checking and panics.
		writeJSONError(w, http.StatusBadRequest, "InvalidAction", "InvalidAction", "missing or malformed X-Amz-Target header")
		return
	}
	if g.authorize != nil {
		if err := g.authorize(r, body, req.action, req.queueName()); err != nil {
			writeAccessDenied(w, req, err.Error())
			return
		}
	}
	if req.json && dataPlane[req.action] && req.queueName() != "" && !queueExists(req.queueName()) {
		// goaws answers some actions on a missing queue with
		// InvalidParameterValue; SQS always says QueueDoesNotExist.
		writeJSONError(w, http.StatusBadRequest, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")
		return
	}

	switch {
	case req.action == "ReceiveMessage":
		g.receive(w, r, req)
	case dataPlane[req.action]:
		g.mu.RLock()
		rec := g.forward(r, body)
		if req.json && rec.status == http.StatusOK {
			switch req.action {
			case "GetQueueAttributes":
				rec.body = patchMessageCounts(rec.body, req.queueName(), req.strings("AttributeNames"))
			case "SendMessage", "SendMessageBatch":
				rec.body = patchSent(rec.body, req)
			}
		}
		g.mu.RUnlock()
		if wakers[req.action] && rec.status == http.StatusOK {
			g.wake()
		}
		reply(w, req, rec)
	default:
		g.mu.Lock()
		rec := g.forward(r, body)
		if req.action == "CreateQueue" && rec.status == http.StatusOK {
			setRegionalARNs()
		}
		g.mu.Unlock()
		reply(w, req, rec)
	}
}

// receive answers a ReceiveMessage, waiting up to its WaitTimeSeconds (or
// the queue's ReceiveMessageWaitTimeSeconds) for a message without holding
// the gate.
func (g *gate) receive(w http.ResponseWriter, r *http.Request, req request) {
	name := req.queueName()
	wait, ok := req.int("WaitTimeSeconds")
	if !ok {
		wait = queueWaitSeconds(name)
	}
	wait = max(0, min(wait, maxWaitSeconds))
	body := req.withWaitTime(noWait)
	deadline := time.Now().Add(time.Duration(wait) * time.Second)

	for {
		signal := g.nextSignal()
		g.mu.RLock()
		if !req.json {
			syncReceiveCounts(name)
		}
		rec := g.forward(r, body)
		got := false
		if rec.status == http.StatusOK {
			if req.json {
				rec.body, got = g.patchReceived(rec.body, name, req)
			} else {
				got = bytes.Contains(rec.body, []byte("<Message>"))
			}
		}
		g.mu.RUnlock()

		remaining := time.Until(deadline)
		if rec.status != http.StatusOK || got || remaining <= 0 {
			reply(w, req, rec)
			return
		}
		t := time.NewTimer(min(remaining, pollEvery))
		select {
		case <-signal:
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-g.done:
			t.Stop()
			reply(w, req, rec)
			return
		}
		t.Stop()
	}
}

func (g *gate) nextSignal() <-chan struct{} {
	g.signalMu.Lock()
	defer g.signalMu.Unlock()
	return g.signal
}

func (g *gate) wake() {
	g.signalMu.Lock()
	defer g.signalMu.Unlock()
	close(g.signal)
	g.signal = make(chan struct{})
}

// forward runs one request through goaws and keeps its answer for patching.
func (g *gate) forward(r *http.Request, body []byte) *recorder {
	inner := r.Clone(r.Context())
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	inner.GetBody = nil
	rec := &recorder{header: make(http.Header)}
	g.goaws.ServeHTTP(rec, inner)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// janitor forgets first-receive times of messages goaws no longer holds.
func (g *gate) janitor(done <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		live := make(map[string]bool)
		models.SyncQueues.RLock()
		for _, q := range models.SyncQueues.Queues {
			for _, m := range q.Messages {
				live[m.Uuid] = true
			}
		}
		models.SyncQueues.RUnlock()
		g.firstMu.Lock()
		for id := range g.firstReceive {
			if !live[id] {
				delete(g.firstReceive, id)
			}
		}
		g.firstMu.Unlock()
	}
}

// firstReceived returns the first receive time of message id, recording now
// if this is its first receive.
func (g *gate) firstReceived(id string, now time.Time) string {
	g.firstMu.Lock()
	defer g.firstMu.Unlock()
	if at, ok := g.firstReceive[id]; ok {
		return at
	}
	at := strconv.FormatInt(now.UnixMilli(), 10)
	g.firstReceive[id] = at
	return at
}

// request is what the gate needs to know about an SQS call in either of the
// two protocols: AWS JSON 1.0 (SDKs of today) or the query protocol (older
// SDKs and the AWS CLI 2.9).
type request struct {
	action string
	json   bool
	fields map[string]json.RawMessage // JSON protocol body
	query  url.Values                 // query protocol: URL query plus form body
	posted url.Values                 // query protocol: form body only, which goaws decodes
	path   string
	body   []byte
}

func parseRequest(r *http.Request, body []byte) request {
	req := request{path: r.URL.Path, body: body}
	if r.Header.Get("Content-Type") == jsonContentType {
		req.json = true
		if _, action, ok := strings.Cut(r.Header.Get("X-Amz-Target"), "."); ok {
			req.action = action
		}
		// A malformed body is goaws' to reject; the gate then sees no fields.
		_ = json.Unmarshal(body, &req.fields)
		return req
	}
	req.query = r.URL.Query()
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if posted, err := url.ParseQuery(string(body)); err == nil {
			req.posted = posted
			for k, v := range posted {
				req.query[k] = append(req.query[k], v...)
			}
		}
	}
	req.action = req.query.Get("Action")
	return req
}

// queueName is the last path segment of the request's QueueUrl, or of the
// request path for query-protocol calls addressed to /ACCOUNT/QUEUE.
func (req request) queueName() string {
	u, _ := req.string("QueueUrl")
	if u == "" && !req.json && strings.Count(strings.Trim(req.path, "/"), "/") == 1 {
		u = req.path
	}
	if u == "" {
		return ""
	}
	return u[strings.LastIndex(u, "/")+1:]
}

func (req request) string(name string) (string, bool) {
	if !req.json {
		_, ok := req.query[name]
		return req.query.Get(name), ok
	}
	raw, ok := req.fields[name]
	var s string
	if !ok || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func (req request) int(name string) (int, bool) {
	if !req.json {
		n, err := strconv.Atoi(req.query.Get(name))
		return n, err == nil
	}
	raw, ok := req.fields[name]
	var n int
	if !ok || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

// strings reads a JSON string list; query-protocol lists are not needed.
func (req request) strings(name string) []string {
	var list []string
	if raw, ok := req.fields[name]; ok {
		_ = json.Unmarshal(raw, &list)
	}
	return list
}

// withWaitTime returns the body with WaitTimeSeconds set to seconds.
func (req request) withWaitTime(seconds int) []byte {
	if req.json {
		fields := make(map[string]json.RawMessage, len(req.fields)+1)
		for k, v := range req.fields {
			fields[k] = v
		}
		fields["WaitTimeSeconds"] = json.RawMessage(strconv.Itoa(seconds))
		body, err := json.Marshal(fields)
		if err != nil {
			return req.body
		}
		return body
	}
	if req.posted == nil {
		return req.body
	}
	posted := make(url.Values, len(req.posted))
	for k, v := range req.posted {
		posted[k] = v
	}
	posted.Set("WaitTimeSeconds", strconv.Itoa(seconds))
	return []byte(posted.Encode())
}

// recorder keeps goaws' answer so the gate can check and rewrite it.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, p...)
	return len(p), nil
}

func reply(w http.ResponseWriter, req request, rec *recorder) {
	if req.json && rec.status >= 400 {
		replyJSONError(w, rec)
		return
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rec.body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

// sqsErrors maps goaws' error codes to the error types of the SQS JSON
// protocol, so SDK callers can use errors.As with the types of service/sqs.
// goaws reports an unknown receipt handle as 404 with code QueueExists.
var sqsErrors = map[string]struct{ errType, queryCode string }{
	"AWS.SimpleQueueService.NonExistentQueue":             {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"},
	"AWS.SimpleQueueService.QueueExists":                  {"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid"},
	"AWS.SimpleQueueService.MessageNotInFlight":           {"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight"},
	"AWS.SimpleQueueService.TooManyEntriesInBatchRequest": {"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"},
	"AWS.SimpleQueueService.BatchEntryIdsNotDistinct":     {"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"},
	"AWS.SimpleQueueService.EmptyBatchRequest":            {"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest"},
	"AWS.SimpleQueueService.InvalidAttributeValue":        {"InvalidAttributeValue", "InvalidAttributeValue"},
	"AWS.SimpleQueueService.InvalidParameterValue":        {"InvalidParameterValue", "InvalidParameterValue"},
	"InvalidParameterValue":                               {"InvalidParameterValue", "InvalidParameterValue"},
}

func replyJSONError(w http.ResponseWriter, rec *recorder) {
	var goawsErr struct{ Code, Message string }
	_ = json.Unmarshal(rec.body, &goawsErr)
	mapped, ok := sqsErrors[goawsErr.Code]
	if !ok {
		mapped.errType, mapped.queryCode = "InternalError", "InternalError"
		if goawsErr.Message == "" {
			goawsErr.Message = strings.TrimSpace(string(rec.body))
		}
	}
	status := http.StatusBadRequest
	if !ok && rec.status >= 500 {
		status = rec.status
	}
	writeJSONError(w, status, mapped.errType, mapped.queryCode, goawsErr.Message)
}

// writeAccessDenied refuses a call as SQS refuses one its policies do not
// allow: 403 AccessDenied, in the protocol of the request.
func writeAccessDenied(w http.ResponseWriter, req request, message string) {
	if req.json {
		writeJSONError(w, http.StatusForbidden, "AccessDenied", "AccessDenied", message)
		return
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>`)
	xml.EscapeText(&b, []byte(message))
	b.WriteString(`</Message><Detail/></Error><RequestId>local</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusForbidden)
	w.Write(b.Bytes())
}

func writeJSONError(w http.ResponseWriter, status int, errType, queryCode, message string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazonaws.sqs#" + errType, message})
	fault := "Sender"
	if status >= 500 {
		fault = "Receiver"
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-Query-Error", queryCode+";"+fault)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func queueExists(name string) bool {
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	_, ok := models.SyncQueues.Queues[name]
	return ok
}

func queueWaitSeconds(name string) int {
	models.SyncQueues.RLock()
	defer models.SyncQueues.RUnlock()
	if q, ok := models.SyncQueues.Queues[name]; ok {
		return q.ReceiveMessageWaitTimeSeconds
	}
	return 0
}

// setRegionalARNs gives every queue the ARN SQS would, with Region in it
// (see resetGoaws for why goaws' environment has no region).
func setRegionalARNs() {
	models.SyncQueues.Lock()
	defer models.SyncQueues.Unlock()
	for name, q := range models.SyncQueues.Queues {
		q.Arn = queueARN(name)
	}
}

// syncReceiveCounts makes goaws' ApproximateReceiveCount right for
// query-protocol clients: goaws reports NumberOfReceives+1 but never counts
// NumberOfReceives; it counts ended receives in Retry instead.
func syncReceiveCounts(name string) {
	models.SyncQueues.Lock()
	defer models.SyncQueues.Unlock()
	if q, ok := models.SyncQueues.Queues[name]; ok {
		for i := range q.Messages {
			q.Messages[i].NumberOfReceives = q.Messages[i].Retry
		}
	}
}
