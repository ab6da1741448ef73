package sqslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Admiral-Piett/goaws/app/gosqs"
	"github.com/Admiral-Piett/goaws/app/models"
	"github.com/Admiral-Piett/goaws/app/router"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/sirupsen/logrus"
)

// Region and AccountID are what the local queues pretend to live in: every
// queue ARN is arn:aws:sqs:<Region>:<AccountID>:<name>.
const (
	Region    = "us-east-1"
	AccountID = "000000000000"
)

// ErrAlreadyRunning is returned by Start while another Server of this process
// has not been stopped: goaws keeps its queues in package variables, so two
// servers would share (and corrupt) one queue set.
var ErrAlreadyRunning = errors.New("sqslocal: a server is already running in this process")

// sweepEvery is how often goaws' own sweeper makes expired in-flight messages
// visible again and moves them to the DLQ. goaws' binary uses 1 s, which makes a
// 1 s visibility timeout last up to 2 s; 50 ms keeps short test timeouts honest.
const sweepEvery = 50 * time.Millisecond

var (
	runningMu sync.Mutex
	running   *Server
	queueSeq  atomic.Uint64
)

// Server is goaws' SQS API served in-process on 127.0.0.1.
type Server struct {
	// Endpoint is the base URL clients use, http://127.0.0.1:PORT.
	Endpoint string

	http      *http.Server
	gate      *gate
	done      chan struct{} // closed by Stop: ends long polls and the janitor
	sweepQuit chan bool     // closed by Stop: ends goaws' sweeper
	stopped   sync.WaitGroup
	stopOnce  sync.Once
	stopErr   error
}

// Option changes how Start sets the server up.
type Option func(*options)

type options struct {
	logf      func(format string, args ...any)
	authorize Authorizer
	addr      string
}

// WithAddr listens on addr, an address of 127.0.0.1 ("127.0.0.1:3002"),
// instead of a free port: queue URLs then stay the same from run to run.
func WithAddr(addr string) Option {
	return func(o *options) { o.addr = addr }
}

// Authorizer decides whether a request may run: it checks who signed it
// and whether that principal may call action on the named queue ("" for
// calls of no queue). An error refuses the call as SQS does, with
// AccessDenied (403), and says why in the message.
type Authorizer func(r *http.Request, body []byte, action, queue string) error

// WithAuthorizer checks every call with a before goaws sees it. Without it
// every call runs (goaws checks no credentials).
func WithAuthorizer(a Authorizer) Option {
	return func(o *options) { o.authorize = a }
}

// WithGoawsLog routes goaws' own log lines (info level and up) to logf, for
// example a test's t.Logf. Without it goaws logs nothing: it logs every message
// body at info level, which drowns test output and would leak payloads.
func WithGoawsLog(logf func(format string, args ...any)) Option {
	return func(o *options) { o.logf = logf }
}

// Start serves a fresh, empty goaws on a free port of 127.0.0.1 (or the
// address of WithAddr). Only one
// Server may run per process at a time (see ErrAlreadyRunning); tests that need
// isolation share one Server and create their own queues with NewQueueName.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start local sqs: %w", err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}

	runningMu.Lock()
	defer runningMu.Unlock()
	if running != nil {
		return nil, ErrAlreadyRunning
	}

	addr := "127.0.0.1:0"
	if o.addr != "" {
		if host, _, err := net.SplitHostPort(o.addr); err != nil || host != "127.0.0.1" {
			return nil, fmt.Errorf("start local sqs: listen on 127.0.0.1 only, not %q", o.addr)
		}
		addr = o.addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("start local sqs: listen on %s: %w", addr, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)

	routeGoawsLog(o.logf)
	resetGoaws(port)

	s := &Server{
		Endpoint:  "http://127.0.0.1:" + port,
		done:      make(chan struct{}),
		sweepQuit: make(chan bool),
	}
	s.gate = newGate(router.New(), s.done)
	s.gate.authorize = o.authorize
	s.http = &http.Server{
		Handler:           s.gate,
		ReadHeaderTimeout: 10 * time.Second,
	}

	s.stopped.Add(3)
	go func() {
		defer s.stopped.Done()
		gosqs.PeriodicTasks(sweepEvery, s.sweepQuit)
	}()
	go func() {
		defer s.stopped.Done()
		s.gate.janitor(s.done)
	}()
	go func() {
		defer s.stopped.Done()
		// Serve returns http.ErrServerClosed after Shutdown/Close; nothing
		// else can end it for a listener we own.
		_ = s.http.Serve(ln)
	}()

	running = s
	return s, nil
}

// Stop ends long polls, shuts the HTTP server down (forcefully once ctx ends)
// and empties goaws' queue set so the next Start begins fresh. Calling it again
// returns the first result.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		close(s.done)
		err := s.http.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, s.http.Close())
		}
		close(s.sweepQuit)
		s.stopped.Wait()
		resetGoaws("")

		runningMu.Lock()
		if running == s {
			running = nil
		}
		runningMu.Unlock()
		if err != nil {
			s.stopErr = fmt.Errorf("stop local sqs: %w", err)
		}
	})
	return s.stopErr
}

// Client returns an SQS client for this server: region Region, static dummy
// credentials, BaseEndpoint set to Endpoint.
func (s *Server) Client() *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// QueueARN is the ARN goaws reports for the queue called name.
func (s *Server) QueueARN(name string) string {
	return queueARN(name)
}

func queueARN(name string) string {
	return "arn:aws:sqs:" + Region + ":" + AccountID + ":" + name
}

var invalidNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// NewQueueName returns a queue name unique in this process that starts with
// prefix (characters SQS rejects become '-', for example from t.Name()). It
// leaves room for the "-dlq" suffix of CreateQueueWithDLQ.
func (s *Server) NewQueueName(prefix string) string {
	suffix := "-" + strconv.FormatUint(queueSeq.Add(1), 10)
	prefix = invalidNameChars.ReplaceAllString(prefix, "-")
	if prefix == "" {
		prefix = "q"
	}
	if max := maxQueueName - len(dlqSuffix) - len(suffix); len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix + suffix
}

const (
	maxQueueName = 80
	dlqSuffix    = "-dlq"
)

var validQueueName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CreateQueueWithDLQ creates name+"-dlq" and then name with a redrive policy
// to it: a message received maxReceive times without being deleted moves to
// the DLQ once its last visibility timeout ends. Both queues get the
// visibility timeout, rounded up to whole seconds as SQS counts it. FIFO
// queues are not supported. It returns both queue URLs.
func (s *Server) CreateQueueWithDLQ(ctx context.Context, name string, maxReceive int, visibility time.Duration) (queueURL, dlqURL string, err error) {
	dlqName := name + dlqSuffix
	switch {
	case !validQueueName.MatchString(name) || len(dlqName) > maxQueueName:
		return "", "", fmt.Errorf("create queue %q: name must be 1 to %d letters, digits, '-' or '_'", name, maxQueueName-len(dlqSuffix))
	case maxReceive < 1 || maxReceive > 1000:
		return "", "", fmt.Errorf("create queue %q: maxReceive %d outside 1..1000", name, maxReceive)
	case visibility < 0 || visibility > 12*time.Hour:
		return "", "", fmt.Errorf("create queue %q: visibility timeout %s outside 0..12h", name, visibility)
	}
	seconds := strconv.Itoa(int(math.Ceil(visibility.Seconds())))

	client := s.Client()
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(dlqName),
		Attributes: map[string]string{
			string(types.QueueAttributeNameVisibilityTimeout): seconds,
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create dead-letter queue %q: %w", dlqName, err)
	}
	policy, err := json.Marshal(struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     string `json:"maxReceiveCount"`
	}{queueARN(dlqName), strconv.Itoa(maxReceive)})
	if err != nil {
		return "", "", fmt.Errorf("create queue %q: encode redrive policy: %w", name, err)
	}
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{
		QueueName: aws.String(name),
		Attributes: map[string]string{
			string(types.QueueAttributeNameVisibilityTimeout): seconds,
			string(types.QueueAttributeNameRedrivePolicy):     string(policy),
		},
	})
	if err != nil {
		return "", "", fmt.Errorf("create queue %q: %w", name, err)
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}

// resetGoaws points goaws' global environment at port and empties its queue
// and topic sets. Region stays empty in goaws' environment: with a region
// goaws builds queue URLs on the host "<region>.127.0.0.1", which does not
// resolve. The gate writes the regional ARN into each queue it creates.
func resetGoaws(port string) {
	models.SyncQueues.Lock()
	models.SyncTopics.Lock()
	models.CurrentEnvironment = models.Environment{
		Host:      "127.0.0.1",
		Port:      port,
		AccountID: AccountID,
		QueueAttributeDefaults: models.EnvQueueAttributes{
			VisibilityTimeout:  30,
			MaximumMessageSize: 262144,
			// 4 days, the SQS default; goaws does not expire messages.
			MessageRetentionPeriod: 345600,
		},
	}
	models.SyncQueues.Queues = make(map[string]*models.Queue)
	models.SyncTopics.Topics = make(map[string]*models.Topic)
	models.SyncTopics.Unlock()
	models.SyncQueues.Unlock()
}

// routeGoawsLog points logrus' standard logger, which goaws logs through, at
// logf, or silences it when logf is nil.
func routeGoawsLog(logf func(string, ...any)) {
	std := logrus.StandardLogger()
	if logf == nil {
		std.SetOutput(io.Discard)
		std.SetLevel(logrus.PanicLevel)
		return
	}
	std.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true, DisableColors: true})
	std.SetOutput(logfWriter(logf))
	std.SetLevel(logrus.InfoLevel)
}

type logfWriter func(string, ...any)

func (w logfWriter) Write(p []byte) (int, error) {
	w("goaws: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
