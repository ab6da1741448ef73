package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

// call is one recorded DynamoDB call: what was asked and what came back.
type call struct {
	in  any
	out any
	err error
}

// Recorder is a dynamo.Client that passes every call on and keeps it, in
// order, per operation. Its calls feed a Stub, and its inputs are the
// templates of the bare transactions the throughput figures compare with.
type Recorder struct {
	next  dynamo.Client
	mu    sync.Mutex
	calls map[string][]call
}

// NewRecorder wraps next.
func NewRecorder(next dynamo.Client) *Recorder {
	return &Recorder{next: next, calls: map[string][]call{}}
}

func (r *Recorder) keep(op string, in, out any, err error) {
	r.mu.Lock()
	r.calls[op] = append(r.calls[op], call{in: in, out: out, err: err})
	r.mu.Unlock()
}

// Reset forgets what was recorded.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = map[string][]call{}
	r.mu.Unlock()
}

// Transactions returns the recorded TransactWriteItems requests that succeeded.
func (r *Recorder) Transactions() []*dynamodb.TransactWriteItemsInput {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ins []*dynamodb.TransactWriteItemsInput
	for _, c := range r.calls["TransactWriteItems"] {
		if c.err == nil {
			ins = append(ins, c.in.(*dynamodb.TransactWriteItemsInput))
		}
	}
	return ins
}

// Stub returns a client that answers each operation with this recorder's
// answers to that operation, in turn and round and round.
func (r *Recorder) Stub() *Stub {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &Stub{calls: map[string][]call{}, next: map[string]*atomic.Int64{}}
	for op, cs := range r.calls {
		s.calls[op] = append([]call(nil), cs...)
		s.next[op] = new(atomic.Int64)
	}
	return s
}

func (r *Recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := r.next.GetItem(ctx, in, opts...)
	r.keep("GetItem", in, out, err)
	return out, err
}

func (r *Recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := r.next.PutItem(ctx, in, opts...)
	r.keep("PutItem", in, out, err)
	return out, err
}

func (r *Recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := r.next.UpdateItem(ctx, in, opts...)
	r.keep("UpdateItem", in, out, err)
	return out, err
}

func (r *Recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := r.next.DeleteItem(ctx, in, opts...)
	r.keep("DeleteItem", in, out, err)
	return out, err
}

func (r *Recorder) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.next.Query(ctx, in, opts...)
	r.keep("Query", in, out, err)
	return out, err
}

func (r *Recorder) Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	out, err := r.next.Scan(ctx, in, opts...)
	r.keep("Scan", in, out, err)
	return out, err
}

func (r *Recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	out, err := r.next.BatchGetItem(ctx, in, opts...)
	r.keep("BatchGetItem", in, out, err)
	return out, err
}

func (r *Recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := r.next.TransactWriteItems(ctx, in, opts...)
	r.keep("TransactWriteItems", in, out, err)
	return out, err
}

// Stub is a dynamo.Client that answers from a recording and never touches
// the network, so a benchmark through it measures the handler's own CPU.
type Stub struct {
	calls map[string][]call
	next  map[string]*atomic.Int64
}

func (s *Stub) answer(op string) (any, error) {
	cs := s.calls[op]
	if len(cs) == 0 {
		return nil, fmt.Errorf("bench stub: no recorded answer to %s", op)
	}
	c := cs[int(s.next[op].Add(1)-1)%len(cs)]
	return c.out, c.err
}

func stubAnswer[T any](s *Stub, op string) (*T, error) {
	out, err := s.answer(op)
	if out == nil {
		return nil, err
	}
	o, _ := out.(*T)
	return o, err
}

func (s *Stub) GetItem(_ context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return stubAnswer[dynamodb.GetItemOutput](s, "GetItem")
}

func (s *Stub) PutItem(_ context.Context, _ *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return stubAnswer[dynamodb.PutItemOutput](s, "PutItem")
}

func (s *Stub) UpdateItem(_ context.Context, _ *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return stubAnswer[dynamodb.UpdateItemOutput](s, "UpdateItem")
}

func (s *Stub) DeleteItem(_ context.Context, _ *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return stubAnswer[dynamodb.DeleteItemOutput](s, "DeleteItem")
}

func (s *Stub) Query(_ context.Context, _ *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return stubAnswer[dynamodb.QueryOutput](s, "Query")
}

func (s *Stub) Scan(_ context.Context, _ *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	return stubAnswer[dynamodb.ScanOutput](s, "Scan")
}

func (s *Stub) BatchGetItem(_ context.Context, _ *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return stubAnswer[dynamodb.BatchGetItemOutput](s, "BatchGetItem")
}

func (s *Stub) TransactWriteItems(_ context.Context, _ *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	return stubAnswer[dynamodb.TransactWriteItemsOutput](s, "TransactWriteItems")
}

// BatchWriteItem is recorded like the other calls.
func (r *Recorder) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := r.next.BatchWriteItem(ctx, in, opts...)
	r.keep("BatchWriteItem", in, out, err)
	return out, err
}

// BatchWriteItem answers from the recording.
func (s *Stub) BatchWriteItem(_ context.Context, _ *dynamodb.BatchWriteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return stubAnswer[dynamodb.BatchWriteItemOutput](s, "BatchWriteItem")
}

var (
	_ dynamo.Client = (*Recorder)(nil)
	_ dynamo.Client = (*Stub)(nil)
)

// httpAnswer is one recorded HTTP answer of DynamoDB.
type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

// wireRecorder is an http.RoundTripper that passes requests on and keeps
// the answers per DynamoDB operation (the X-Amz-Target header), so that a
// wireStub can replay them to a real SDK client: a benchmark through that
// client also pays for the SDK's serialising, signing and parsing, as the
// function does in Lambda.
type wireRecorder struct {
	next    http.RoundTripper
	mu      sync.Mutex
	answers map[string][]httpAnswer
}

func newWireRecorder(next http.RoundTripper) *wireRecorder {
	return &wireRecorder{next: next, answers: map[string][]httpAnswer{}}
}

func (w *wireRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	w.mu.Lock()
	target := req.Header.Get("X-Amz-Target")
	w.answers[target] = append(w.answers[target], httpAnswer{status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	w.mu.Unlock()
	return resp, nil
}

func (w *wireRecorder) stub() *wireStub {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := &wireStub{answers: map[string][]httpAnswer{}, next: map[string]*atomic.Int64{}}
	for t, as := range w.answers {
		s.answers[t] = append([]httpAnswer(nil), as...)
		s.next[t] = new(atomic.Int64)
	}
	return s
}

// wireStub answers DynamoDB requests from a wireRecorder's answers, in turn
// per operation.
type wireStub struct {
	answers map[string][]httpAnswer
	next    map[string]*atomic.Int64
}

func (s *wireStub) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	target := req.Header.Get("X-Amz-Target")
	as := s.answers[target]
	if len(as) == 0 {
		return nil, fmt.Errorf("bench wire stub: no recorded answer to %q", target)
	}
	a := as[int(s.next[target].Add(1)-1)%len(as)]
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: a.header, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(bytes.NewReader(a.body)), ContentLength: int64(len(a.body)), Request: req}, nil
}
