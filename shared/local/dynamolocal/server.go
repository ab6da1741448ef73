package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/local/tail"
)

const (
	// startTimeout bounds the wait for the first answer; a start takes about 3 s.
	startTimeout = 60 * time.Second
	// portAttempts is how many ports Start tries before giving up.
	portAttempts = 5
	// maxOutput caps the captured emulator output kept for error messages.
	maxOutput = 64 << 10
	// region is what the clients sign with; DynamoDB Local keeps one database per
	// access key and region, so every client of a Server must agree on both.
	region = "us-east-1"
)

// Options configures Ensure and Start. The zero value is ready to use.
type Options struct {
	// CacheDir replaces the cache folder (default $LOYALTY_CACHE_DIR, else
	// <module root>/.cache); the emulator goes to CacheDir/dynamodb-local/2.9.30.
	CacheDir string
	// Logf receives progress messages (fetching, started, stopped); nil logs
	// through log/slog at Info level.
	Logf func(format string, args ...any)
	// DataDir, when set, makes Start keep the database in that folder
	// (created if missing) instead of in memory, so it survives a restart;
	// it runs the emulator with -sharedDb there, so every client sees the
	// same tables whatever key and region it signs with. Empty (what the
	// tests use): a fresh in-memory database per Server.
	DataDir string
}

func (o Options) logf() func(string, ...any) {
	if o.Logf != nil {
		return o.Logf
	}
	return func(format string, args ...any) { slog.Info(fmt.Sprintf(format, args...)) }
}

// Server is a running DynamoDB Local. Stop it when done.
type Server struct {
	// Endpoint is the base URL clients use, http://127.0.0.1:PORT.
	Endpoint string
	// Port is the TCP port the emulator listens on.
	Port int

	cmd      *exec.Cmd
	out      *tail.Buffer
	exited   chan struct{} // closed once the java process has been reaped
	waitErr  error         // valid after exited is closed
	portLock func()
	client   *dynamodb.Client
	logf     func(string, ...any)

	stopOnce sync.Once
	stopErr  error
	stopped  chan struct{} // closed when Stop has finished
}

// The key every Server's own clients sign with. DynamoDB Local keeps a
// database per access key and region unless it runs with -sharedDb (as it
// does with a DataDir); it accepts keys of letters and digits only.
const (
	AccessKeyID     = "local"
	SecretAccessKey = "local"
	// Region is the region the clients sign with.
	Region = region
)

// errPortTaken says the emulator could not bind its port; Start tries another.
var errPortTaken = errors.New("port taken")

// Start ensures the emulator is cached, runs it (in memory, or in
// Options.DataDir) on a free port of 127.0.0.1 and returns once it answers ListTables. The process is killed when
// ctx ends or Stop is called, whichever comes first.
func Start(ctx context.Context, opts Options) (*Server, error) {
	dir, err := Ensure(ctx, opts)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("DynamoDB Local needs Java 17 on PATH: %w", err)
	}
	logf := opts.logf()
	if opts.DataDir != "" {
		if opts.DataDir, err = filepath.Abs(opts.DataDir); err == nil {
			err = os.MkdirAll(opts.DataDir, 0o755)
		}
		if err != nil {
			return nil, fmt.Errorf("DynamoDB Local data folder: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		port, unlock, err := reservePort()
		if err != nil {
			return nil, err
		}
		s, err := startOnPort(ctx, java, dir, opts.DataDir, port, unlock, logf)
		if err == nil {
			go func() {
				select {
				case <-ctx.Done():
					_ = s.Stop()
				case <-s.stopped:
				}
			}()
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return nil, err
		}
		logf("dynamolocal: %v; trying another port", err)
	}
}

// startOnPort runs the emulator on port; unlock releases the port's reservation
// and is called when the emulator stops or fails to start.
func startOnPort(ctx context.Context, java, dir, dataDir string, port int, unlock func(), logf func(string, ...any)) (*Server, error) {
	s := &Server{
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		Port:     port,
		out:      &tail.Buffer{Max: maxOutput},
		exited:   make(chan struct{}),
		stopped:  make(chan struct{}),
		portLock: unlock,
		logf:     logf,
	}
	storage := []string{"-inMemory"}
	if dataDir != "" {
		storage = []string{"-sharedDb", "-dbPath", dataDir}
	}
	args := append([]string{
		"-Djava.library.path=" + filepath.Join(dir, libDirName),
		"-jar", filepath.Join(dir, jarName),
	}, storage...)
	args = append(args,
		"-disableTelemetry", // this machine must never try to reach the internet
		"-port", strconv.Itoa(port),
	)
	s.cmd = exec.Command(java, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	s.cmd.SysProcAttr = processAttributes()
	began := time.Now()
	if err := s.cmd.Start(); err != nil {
		unlock()
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	s.client = newClient(s.Endpoint)

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		if errors.Is(err, errPortTaken) {
			return nil, fmt.Errorf("DynamoDB Local on port %d: %w", port, err)
		}
		return nil, fmt.Errorf("start DynamoDB Local on port %d: %w\noutput:\n%s", port, err, s.out.String())
	}
	logf("dynamolocal: DynamoDB Local ready at %s in %s", s.Endpoint, time.Since(began).Round(time.Millisecond))
	return s, nil
}

// waitReady polls ListTables until the emulator answers, it exits, it reports
// that its port is taken, ctx ends or startTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	probe := dynamodb.NewFromConfig(clientConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.Retryer = aws.NopRetryer{} // the loop below is the retry
	})
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// Jetty logs the bind failure and keeps the JVM alive, so the output
		// is the only sign that another process owns the port.
		if s.out.Contains("BindException") || s.out.Contains("Failed to bind") {
			return errPortTaken
		}
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := probe.ListTables(callCtx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.exited:
			return fmt.Errorf("exited before answering: %v", s.waitErr)
		case <-deadline.C:
			return fmt.Errorf("no answer after %s: %w", startTimeout, err)
		case <-tick.C:
		}
	}
}

// Stop kills the emulator's process group and waits for it to exit. It
// returns an error if the emulator had died on its own before. Calling it again
// returns the same result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		defer close(s.stopped)
		defer s.portLock()
		select {
		case <-s.exited:
			s.stopErr = fmt.Errorf("DynamoDB Local at %s had exited: %v\noutput:\n%s", s.Endpoint, s.waitErr, s.out.String())
			return
		default:
		}
		// The negative pid addresses the process group the emulator leads.
		if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			s.stopErr = fmt.Errorf("kill DynamoDB Local at %s: %w", s.Endpoint, err)
		}
		<-s.exited
		s.logf("dynamolocal: DynamoDB Local at %s stopped", s.Endpoint)
	})
	return s.stopErr
}

// Client returns a DynamoDB client for this server: static dummy credentials,
// region us-east-1 and the SDK's default retries. All calls share one client.
func (s *Server) Client() *dynamodb.Client {
	return s.client
}

func newClient(endpoint string) *dynamodb.Client {
	return dynamodb.NewFromConfig(clientConfig(), func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
}

func clientConfig() aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// reservePort picks a free port of 127.0.0.1 and takes a lock named after it,
// held until unlock. The kernel may hand the same free port to two processes
// between close and bind; the lock keeps two of our emulators off one port, so
// a ListTables answer on that port always comes from our own emulator.
func reservePort() (port int, unlock func(), err error) {
	lockDir := filepath.Join(os.TempDir(), "loyalty-dynamodb-local-ports")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return 0, nil, fmt.Errorf("create port lock folder: %w", err)
	}
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, nil, fmt.Errorf("find a free port: %w", err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()

		f, err := os.OpenFile(filepath.Join(lockDir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return 0, nil, fmt.Errorf("open port lock: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue // another emulator of ours holds this port
		}
		return port, func() { f.Close() }, nil
	}
	return 0, nil, errors.New("find a free port: every candidate was locked by another emulator")
}
