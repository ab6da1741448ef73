// Package localstack runs the whole engine on one machine with the real
// function binaries, as the cloud assembly the project's CDK app
// synthesizes describes it (synth.go, template.go): DynamoDB Local with the
// template's table, the functions built for this machine and run through
// the local Lambda Runtime API host with their template environment and
// timeout, the local HTTP API with the template's routes and JWT authorizer
// (SigV4 for the IAM routes), the embedded SQS with the queues the event
// source mappings read, polled into their function as the mappings say, and
// the schedules with their template input. Each function signs with its own
// role's credentials and every call it makes is evaluated against that
// role's policies (iam.go). Everything listens on 127.0.0.1.
//
// With a data folder (Options.DataDir; loyaltyctl run uses .cache/local)
// the table and the published events survive a restart and the seed goes
// only into a table the stack creates; without one (the tests) everything
// lives in memory and in a temporary folder. With a state file
// (Options.StateFile; loyaltyctl run writes .cache/localstack.json, package
// localstate) the tools find the running stack without flags.
//
// It is tooling: it may import every adapter and stand-in of the module, and
// nothing in the functions imports it.
package localstack

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// Development identities. They only ever exist on this machine.
const (
	TableName = "loyalty-local"
	// Issuer is the template's JWT issuer with the local user pool
	// (UserPoolID); Audience is the local app client's id.
	Issuer         = "https://cognito-idp." + Region + ".amazonaws.com/" + UserPoolID
	Audience       = "loyalty-local-app"
	AdminAccessKey = "LOCALADMINKEY"
	AdminSecret    = "local-admin-secret"
	Region         = "us-east-1"
)

// Options configure a local stack.
type Options struct {
	Addr     string // HTTP API address; default 127.0.0.1:3000, port 0 picks one
	RepoRoot string // where go.mod is; default: found from the working directory
	// Seed loads the demo catalog and member into a table the stack creates;
	// a table kept in DataDir is left as it is.
	Seed bool
	// DataDir keeps what survives a restart: the table (DynamoDB Local's
	// -dbPath, in DataDir/dynamodb) and the published events
	// (DataDir/events.jsonl). Empty: the table lives in memory and the
	// events in a temporary folder, both gone at Stop (what tests want).
	// One stack at a time may use a DataDir.
	DataDir string
	// StateFile, when set, is where the stack writes its state (package
	// localstate) once it is up, for the tools; Stop removes it. Start
	// refuses to run while the file names a stack that still runs.
	StateFile string
	// SQSAddr is the embedded SQS, whose queue URLs the partners send to;
	// default the port two after the HTTP API's (127.0.0.1:3002 beside
	// 3000), or a free port when the HTTP API's port is 0.
	SQSAddr string
	// ProgramFile runs this program file instead of the repository's
	// program.json, for the stack and its functions (the assembly is still
	// synthesized from program.json): a test's program.
	ProgramFile string
	// DoorAddr is the partner door's function URL; default the port three
	// after the HTTP API's (127.0.0.1:3003 beside 3000), or a free port
	// when the HTTP API's port is 0.
	DoorAddr string
	// Logs receives the functions' JSON logs; default os.Stderr.
	Logs io.Writer
	// Jobs: the scheduled jobs and the local event bus (jobs.go).
	Jobs JobOptions
	// AssemblyDir runs this cloud assembly instead of the one synthesized
	// from the repository (AssemblyDir): a test's edited copy.
	AssemblyDir string
	// IAMRecord, when set, collects the functions' calls (Stack.IAMCalls)
	// across the stacks started with it.
	IAMRecord *IAMRecord
	Logf      func(format string, args ...any)
}

// Stack is a running local stack.
type Stack struct {
	URL     string // http://127.0.0.1:PORT
	DB      *dynamolocal.Server
	Store   *dynamo.Store
	Key     *rsa.PrivateKey // signs development tokens
	gateway *localgateway.Gateway
	queue   *partnerQueues
	// SQSEndpoint is the embedded SQS; Partners are the queue, DLQ and
	// credentials of each partner of the program, in its order.
	SQSEndpoint string
	Partners    []PartnerQueue
	funcs       map[string]*runtimeapi.Function
	jobs        *localJobs // scheduled jobs, local event bus (jobs.go)
	Program     *loyalty.Program
	// Kept says the table came from DataDir, as a previous run left it;
	// false when this start created it (and seeded it, with Options.Seed).
	Kept      bool
	repoRoot  string
	dataDir   string
	stateFile string
	tempDir   string // events of a stack without DataDir
	unlock    func() // releases DataDir
	// AssemblyDir is the cloud assembly the stack runs (.cache/assembly/<hash>).
	AssemblyDir      string
	plan             *plan
	issuer, audience string // of the template's JWT authorizer
	iam              *localIAM
	dynamoGate       *http.Server // IAM in front of DynamoDB Local, for the functions

	// DoorURL is the partner door (door.go), http://127.0.0.1:PORT/; ""
	// when the template has none.
	DoorURL string
	door    *http.Server
}

// RepoRoot finds the module root (the folder holding go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) { return dynamolocal.ModuleRoot() }

// DevKeyPath is where the development signing key lives (git-ignored).
func DevKeyPath(repoRoot string) string {
	return filepath.Join(repoRoot, ".cache", "devkeys", "jwt.pem")
}

// DefaultDataDir is where `loyaltyctl run` keeps the local data; removing
// it (make reset) starts clean.
func DefaultDataDir(repoRoot string) string { return filepath.Join(repoRoot, ".cache", "local") }

// The parts of the stack that listen on an address the caller chooses.
const (
	PartHTTPAPI = "HTTP API"                 // Options.Addr
	PartJobs    = "EventBridge and jobs API" // Options.Jobs.Addr
	PartSQS     = "SQS partner queues"       // Options.SQSAddr
)

// AddrInUseError says an address the stack must listen on is taken.
type AddrInUseError struct {
	Part string // PartHTTPAPI or PartJobs: which option to change
	Addr string
}

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("localstack: %s is in use (wanted for the %s)", e.Addr, e.Part)
}

// RunningError says another local stack already runs from the same state
// file.
type RunningError struct {
	StateFile string
	PID       int
	URL       string
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("localstack: a local stack already runs (process %d, HTTP API %s, state %s): stop it first (Ctrl-C where it runs, or kill %d)",
		e.PID, e.URL, e.StateFile, e.PID)
}

// Start brings the stack up; on any failure it tears down what it started.
// It checks first what it can check at once (another stack on the state
// file, the addresses, the data folder), then builds the functions while
// DynamoDB Local starts.
func Start(ctx context.Context, opts Options) (st *Stack, err error) {
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Addr == "" {
		opts.Addr = localgateway.DefaultAddr
	}
	if opts.Jobs.Addr, err = nextAddr(opts.Addr, opts.Jobs.Addr, 1); err != nil {
		return nil, err
	}
	if opts.SQSAddr, err = nextAddr(opts.Addr, opts.SQSAddr, 2); err != nil {
		return nil, err
	}
	if opts.DoorAddr, err = nextAddr(opts.Addr, opts.DoorAddr, 3); err != nil {
		return nil, err
	}
	root := opts.RepoRoot
	if root == "" {
		if root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	st = &Stack{funcs: map[string]*runtimeapi.Function{}, repoRoot: root, dataDir: opts.DataDir}
	defer func() {
		if err != nil {
			st.Stop(context.Background())
			st = nil
		}
	}()

	programFile := filepath.Join(root, "program.json")
	if opts.ProgramFile != "" {
		programFile = opts.ProgramFile
	}
	programBytes, err := os.ReadFile(programFile)
	if err != nil {
		return st, fmt.Errorf("localstack: read program.json: %w", err)
	}
	if st.Program, err = config.ParseProgram("program.json", programBytes); err != nil {
		return st, err
	}
	if opts.StateFile != "" {
		if err := checkNoOtherStack(opts.StateFile, opts.Logf); err != nil {
			return st, err
		}
	}
	if err := checkFree(PartHTTPAPI, opts.Addr); err != nil {
		return st, err
	}
	if err := checkFree(PartJobs, opts.Jobs.Addr); err != nil {
		return st, err
	}
	if err := checkFree(PartSQS, opts.SQSAddr); err != nil {
		return st, err
	}
	if err := checkFree(PartDoor, opts.DoorAddr); err != nil {
		return st, err
	}
	eventsFile, err := st.claimDataDir()
	if err != nil {
		return st, err
	}

	opts.Logf("starting DynamoDB Local (%s)", storageName(opts.DataDir))
	dbStarted := make(chan error, 1)
	go func() {
		dbOpts := dynamolocal.Options{Logf: opts.Logf}
		if opts.DataDir != "" {
			dbOpts.DataDir = filepath.Join(opts.DataDir, "dynamodb")
		}
		db, err := dynamolocal.Start(ctx, dbOpts)
		st.DB = db
		dbStarted <- err
	}()
	type synthResult struct {
		dir    string
		cached bool
		err    error
	}
	synthDone := make(chan synthResult, 1)
	go func() {
		if opts.AssemblyDir != "" {
			synthDone <- synthResult{opts.AssemblyDir, true, nil}
			return
		}
		dir, cached, err := AssemblyDir(ctx, root, opts.Logf)
		synthDone <- synthResult{dir, cached, err}
	}()
	opts.Logf("building the functions for %s/%s", runtime.GOOS, runtime.GOARCH)
	began := time.Now()
	names, buildErr := functionDirs(root)
	var bins map[string]string
	if buildErr == nil {
		bins, buildErr = BuildFunctions(ctx, root, filepath.Join(root, ".cache", "local-functions"), names)
	}
	if buildErr == nil {
		opts.Logf("functions built (or up to date) in %s", time.Since(began).Round(time.Millisecond))
	}
	synthRes := <-synthDone
	if dbErr := <-dbStarted; dbErr != nil {
		return st, dbErr
	}
	if buildErr != nil {
		return st, buildErr
	}
	if synthRes.err != nil {
		return st, synthRes.err
	}
	if synthRes.cached {
		opts.Logf("cloud assembly reused (infra and the program unchanged): %s", synthRes.dir)
	}
	sqsEndpoint := "http://" + opts.SQSAddr
	p, err := loadPlan(synthRes.dir, func() string { return sqsEndpoint })
	if err != nil {
		return st, err
	}
	st.plan = p
	st.AssemblyDir = synthRes.dir
	if st.iam, err = newLocalIAM(p, opts.IAMRecord, opts.Logf); err != nil {
		return st, err
	}
	for name := range p.functions {
		if bins[name] == "" {
			return st, fmt.Errorf("localstack: the template has function %s, functions/ has no %s/main.go", name, name)
		}
	}

	client := st.DB.Client()
	created, err := ensureTable(ctx, client, p.table)
	if err != nil {
		return st, err
	}
	st.Kept = !created
	st.Store = dynamo.New(client, TableName)
	switch {
	case created && opts.Seed:
		if err := Seed(ctx, st.Store, st.Program); err != nil {
			return st, err
		}
		opts.Logf("created table %s and seeded the demo catalog and member", TableName)
	case created:
		opts.Logf("created table %s", TableName)
	default:
		opts.Logf("kept table %s from %s (make reset starts clean)", TableName, opts.DataDir)
	}

	if err := st.startJobs(ctx, eventsFile, opts); err != nil {
		return st, err
	}
	// What the local stack adds to each function's environment from the
	// template: the local endpoints its SDK clients use.
	secret, err := codeSecretFile(filepath.Dir(eventsFile)) // codesecret.go
	if err != nil {
		return st, err
	}
	// The functions reach DynamoDB Local through the IAM gate (iam.go).
	gateURL, err := st.startDynamoDBGate()
	if err != nil {
		return st, err
	}
	local := map[string]string{
		"DYNAMODB_ENDPOINT":      gateURL,
		eventbus.EndpointEnv:     st.jobs.srv.URL,
		config.CodeSecretFileEnv: secret,
	}
	concurrency := map[string]int{}
	for _, q := range p.queues {
		if sc := q.mapping.ScalingConfig; sc != nil && sc.MaximumConcurrency > 0 {
			concurrency[q.function] += sc.MaximumConcurrency
		} else {
			concurrency[q.function] += defaultMappingConcurrency
		}
	}
	scheduled := map[string]bool{}
	for _, sc := range p.schedules {
		scheduled[sc.function] = true
	}
	var configs []runtimeapi.FunctionConfig
	for name, f := range p.functions {
		env := p.functionEnv(name, root, local)
		if _, ok := env["PROGRAM_FILE"]; ok && opts.ProgramFile != "" {
			env["PROGRAM_FILE"] = opts.ProgramFile
		}
		env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = FunctionAccessKey(name), FunctionSecret(name)
		cfg := runtimeapi.FunctionConfig{Name: name, Binary: bins[name], Env: env, Concurrency: 4,
			Timeout: time.Duration(f.Timeout) * time.Second, MemoryMB: f.MemorySize, Stdout: opts.Logs, Stderr: opts.Logs}
		switch {
		case f.ReservedConcurrentExecutions != nil:
			cfg.Concurrency = max(1, *f.ReservedConcurrentExecutions)
		case concurrency[name] > 0:
			cfg.Concurrency = concurrency[name]
		case scheduled[name]:
			cfg.Concurrency = 1 // the local scheduler runs one job run at a time
		}
		configs = append(configs, cfg)
	}
	if err := st.startFunctions(ctx, configs); err != nil {
		return st, err
	}
	if err := st.scheduleJobs(opts); err != nil {
		return st, err
	}

	if st.queue, err = startPartnerQueues(ctx, opts.SQSAddr, p, st.iam, st.Program, st.funcs, opts.Logf); err != nil {
		return st, err
	}
	st.SQSEndpoint, st.Partners = st.queue.sqs.Endpoint, st.queue.queues
	if err := st.startDoor(ctx, opts.DoorAddr, opts.Logf); err != nil { // door.go
		return st, err
	}

	if st.Key, err = localgateway.LoadOrCreateDevKey(DevKeyPath(root)); err != nil {
		return st, err
	}
	var routes []localgateway.Route
	for _, r := range p.routes {
		rt := localgateway.Route{Method: r.method, Path: r.path, Function: st.funcs[r.function]}
		switch r.auth {
		case "JWT":
			rt.Auth, rt.Scopes = localgateway.AuthJWT, r.scopes
		case "AWS_IAM":
			rt.Auth = localgateway.AuthIAM
		}
		routes = append(routes, rt)
	}
	jwtCfg := localgateway.JWTVerifier{Issuer: Issuer, Audience: Audience, PublicKey: &st.Key.PublicKey}
	if p.jwt != nil {
		jwtCfg.Issuer, jwtCfg.Audiences = p.jwt.JwtConfiguration.Issuer, p.jwt.JwtConfiguration.Audience
	}
	st.issuer, st.audience = jwtCfg.Issuer, Audience
	if len(jwtCfg.Audiences) > 0 {
		st.audience = jwtCfg.Audiences[0]
	}
	st.gateway, err = localgateway.New(localgateway.Config{Addr: opts.Addr, Routes: routes,
		JWT:      jwtCfg,
		IAM:      localgateway.IAMVerifier{AccessKeyID: AdminAccessKey, SecretAccessKey: AdminSecret, Region: Region},
		Throttle: localgateway.Throttle{RatePerSecond: p.throttle.RateLimit, Burst: p.throttle.BurstLimit},
		Logf:     opts.Logf})
	if err != nil {
		return st, err
	}
	p.writeNotes(opts.Logf)
	addr, err := st.gateway.Start(ctx)
	if errors.Is(err, syscall.EADDRINUSE) {
		return st, &AddrInUseError{Part: PartHTTPAPI, Addr: opts.Addr}
	}
	if err != nil {
		return st, err
	}
	st.URL = "http://" + addr
	if opts.StateFile != "" {
		if err := localstate.Write(opts.StateFile, st.State()); err != nil {
			return st, err
		}
		st.stateFile = opts.StateFile
	}
	return st, nil
}

// State is what the stack writes to its state file for the tools.
func (st *Stack) State() localstate.State {
	s := localstate.State{PID: os.Getpid(), StartedAt: time.Now().UTC(), Region: Region,
		HTTPAPI: st.URL, Jobs: st.JobsURL(), DataDir: st.dataDir, EventsFile: st.EventsFile(),
		DynamoDB: localstate.DynamoDB{Endpoint: st.DB.Endpoint, Table: TableName,
			Credentials: localstate.Credentials{AccessKeyID: dynamolocal.AccessKeyID, SecretAccessKey: dynamolocal.SecretAccessKey}},
		SQS:   localstate.SQS{Endpoint: st.SQSEndpoint, Credentials: localstate.Credentials{AccessKeyID: OpsSQSAccessKey, SecretAccessKey: OpsSQSSecret}},
		Admin: localstate.Credentials{AccessKeyID: AdminAccessKey, SecretAccessKey: AdminSecret},
		JWT:   localstate.JWT{Issuer: st.issuer, Audience: st.audience, KeyFile: DevKeyPath(st.repoRoot)},
	}
	s.PartnerDoor = st.DoorURL
	for _, p := range st.Partners {
		s.Partners = append(s.Partners, localstate.Partner{ID: p.PartnerID, QueueURL: p.URL, DLQURL: p.DLQ, Principal: p.Principal,
			Credentials: localstate.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}})
	}
	return s
}

// nextAddr is the address of a part beside the HTTP API: the one asked
// for, else the HTTP API's port plus offset (127.0.0.1:3001 and :3002
// beside the default 3000), or a free one when the HTTP API takes a free
// one.
func nextAddr(apiAddr, asked string, offset int) (string, error) {
	if asked != "" {
		return asked, nil
	}
	host, port, err := net.SplitHostPort(apiAddr)
	if err != nil {
		return "", fmt.Errorf("localstack: HTTP API address %q: %w", apiAddr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65533 {
		return "", fmt.Errorf("localstack: HTTP API address %q: want a port from 0 to 65533", apiAddr)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	if n == 0 {
		return net.JoinHostPort(host, "0"), nil
	}
	return net.JoinHostPort(host, strconv.Itoa(n+offset)), nil
}

// checkFree fails with an *AddrInUseError when addr cannot be listened on
// because something else holds it; it runs before the slow parts of Start,
// so a taken port is reported at once.
func checkFree(part, addr string) error {
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return &AddrInUseError{Part: part, Addr: addr}
	}
	if err != nil {
		return fmt.Errorf("localstack: %s address %s: %w", part, addr, err)
	}
	return ln.Close()
}

// checkNoOtherStack refuses a state file whose stack still runs and notes
// one that is stale (Start replaces it).
func checkNoOtherStack(path string, logf func(string, ...any)) error {
	s, err := localstate.Read(path)
	if errors.Is(err, localstate.ErrNoStack) {
		return nil
	}
	if err != nil {
		logf("replacing the unreadable state file: %v", err)
		return nil
	}
	var stale *localstate.StaleError
	if err := s.Check(path); errors.As(err, &stale) {
		logf("replacing a stale state file: %s", stale.Reason)
		return nil
	}
	return &RunningError{StateFile: path, PID: s.PID, URL: s.HTTPAPI}
}

// claimDataDir takes the data folder for this stack (a lock that goes away
// with the process) and returns where the events go.
func (st *Stack) claimDataDir() (eventsFile string, err error) {
	if st.dataDir == "" {
		if st.tempDir, err = os.MkdirTemp("", "loyalty-localstack-"); err != nil {
			return "", fmt.Errorf("localstack: %w", err)
		}
		return filepath.Join(st.tempDir, "events.jsonl"), nil
	}
	if st.dataDir, err = filepath.Abs(st.dataDir); err != nil {
		return "", fmt.Errorf("localstack: %w", err)
	}
	if err := os.MkdirAll(st.dataDir, 0o755); err != nil {
		return "", fmt.Errorf("localstack: data folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(st.dataDir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("localstack: data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return "", fmt.Errorf("localstack: another local stack uses the data folder %s: stop it first, or give this one another folder", st.dataDir)
	}
	st.unlock = func() { f.Close() }
	return filepath.Join(st.dataDir, "events.jsonl"), nil
}

func storageName(dataDir string) string {
	if dataDir == "" {
		return "in memory"
	}
	return "data in " + dataDir
}

// startFunctions starts the functions at once: each waits for its init.
func (st *Stack) startFunctions(ctx context.Context, configs []runtimeapi.FunctionConfig) error {
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	for _, cfg := range configs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := runtimeapi.Start(ctx, cfg)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("localstack: start %s: %w", cfg.Name, err))
				return
			}
			st.funcs[cfg.Name] = f
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Token issues a development ID token for member, valid for ttl.
func (st *Stack) Token(member string, ttl time.Duration) (string, error) {
	return localgateway.IssueDevToken(st.Key, st.issuer, st.audience, member, ttl, time.Now(), nil)
}

// Stop tears the stack down: gateway, functions, DynamoDB Local; it
// removes the state file and releases the data folder.
func (st *Stack) Stop(ctx context.Context) error {
	var errs []error
	if st.stateFile != "" {
		errs = append(errs, localstate.Remove(st.stateFile, os.Getpid()))
	}
	errs = append(errs, st.stopJobs(ctx))
	if st.gateway != nil {
		errs = append(errs, st.gateway.Stop(ctx))
	}
	if st.queue != nil {
		errs = append(errs, st.queue.Stop(ctx))
	}
	if st.door != nil {
		errs = append(errs, st.door.Shutdown(ctx))
	}
	for _, f := range st.funcs {
		errs = append(errs, f.Stop())
	}
	if st.dynamoGate != nil {
		errs = append(errs, st.dynamoGate.Close())
	}
	if st.DB != nil {
		errs = append(errs, st.DB.Stop())
	}
	if st.unlock != nil {
		st.unlock()
	}
	if st.tempDir != "" {
		errs = append(errs, os.RemoveAll(st.tempDir))
	}
	return errors.Join(errs...)
}

// CreateTable creates the table from the schema the CDK stack also uses.
func CreateTable(ctx context.Context, client *dynamodb.Client, name string) error {
	if _, err := client.CreateTable(ctx, dynamo.Schema.CreateTableInput(name)); err != nil {
		return fmt.Errorf("localstack: create table %s: %w", name, err)
	}
	return nil
}

// EnsureTable creates the table unless it exists, and says whether it
// created it. A kept table must have the schema's indexes: one made by an
// older schema is refused with what differs (make reset starts clean).
func EnsureTable(ctx context.Context, client *dynamodb.Client, name string) (created bool, err error) {
	_, err = client.CreateTable(ctx, dynamo.Schema.CreateTableInput(name))
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		if err != nil {
			return false, fmt.Errorf("localstack: create table %s: %w", name, err)
		}
		return true, nil
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return false, fmt.Errorf("localstack: describe the kept table %s: %w", name, err)
	}
	var have, want []string
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have = append(have, aws.ToString(g.IndexName))
	}
	for _, g := range dynamo.Schema.CreateTableInput(name).GlobalSecondaryIndexes {
		want = append(want, aws.ToString(g.IndexName))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		return false, fmt.Errorf("localstack: the kept table %s has the indexes %v, the schema wants %v: it was made by another version; make reset starts clean", name, have, want)
	}
	return false, nil
}

// BuildFunctions builds functions/<name> of every name for this machine
// into binDir/<name> in one go install: the shared packages compile once,
// the binaries link in parallel, and a binary whose build ID (a hash of its
// sources, dependencies and flags) is current is not built again, so a warm
// start rebuilds nothing. The flags are the Makefile's, for the host
// architecture. It returns each name's binary.
func BuildFunctions(ctx context.Context, root, binDir string, names []string) (map[string]string, error) {
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return nil, err
	}
	args := []string{"install", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w"}
	bins := map[string]string{}
	for _, name := range names {
		args = append(args, "./functions/"+name)
		bins[name] = filepath.Join(binDir, name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+binDir, "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("localstack: build the functions: %v\n%s", err, out)
	}
	return bins, nil
}

// SQSClient is a client of the embedded SQS with the ops principal's
// credentials (any queue), for tests and tools.
func (st *Stack) SQSClient() *sqs.Client { return st.queue.sqs.Client() }

// Partner is the local queue and credentials of a partner of the program.
func (st *Stack) Partner(id string) (PartnerQueue, bool) {
	for _, p := range st.Partners {
		if p.PartnerID == id {
			return p, true
		}
	}
	return PartnerQueue{}, false
}

// PartnerSQSClient is a client of the embedded SQS that signs with the
// partner's own credentials: what it may do is what the template's queue
// policies allow the principal its key stands for (sending to its own
// queue).
func (st *Stack) PartnerSQSClient(id string) *sqs.Client {
	return sqs.New(sqs.Options{Region: sqslocal.Region, BaseEndpoint: aws.String(st.SQSEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(PartnerAccessKey(id), PartnerSecret(id), "")})
}

// FunctionEnvironment is the environment the stack's processes of a
// function get (runtimeapi.Function.Environment); nil for a function it
// does not run.
func (st *Stack) FunctionEnvironment(name string) map[string]string {
	f, ok := st.funcs[name]
	if !ok {
		return nil
	}
	return f.Environment()
}

// FunctionTimeout is the timeout the stack runs a function with (the
// template's); zero for a function it does not run.
func (st *Stack) FunctionTimeout(name string) time.Duration {
	f, ok := st.funcs[name]
	if !ok {
		return 0
	}
	return f.Timeout()
}
