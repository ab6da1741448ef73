// Package localstack runs the whole engine on one machine with the real
// function binaries: DynamoDB Local with the table built from the shared
// schema, the functions built for this machine and run through the local
// Lambda Runtime API host, the local HTTP API that verifies development JWTs
// and SigV4 like API Gateway does, and the embedded SQS with a queue per
// partner, each polled into the ingest binary like its event source mapping
// and open to that partner's own credentials only. Everything listens on
// 127.0.0.1.
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
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/localgateway"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/runtimeapi"
	"github.com/loyalty-functions/loyalty/shared/sqslocal"
)

// Development identities. They only ever exist on this machine.
const (
	TableName      = "loyalty-local"
	Issuer         = "http://127.0.0.1/local-user-pool"
	Audience       = "loyalty-local-app"
	AdminAccessKey = "LOCALADMINKEY"
	AdminSecret    = "local-admin-secret"
	Region         = "us-east-1"
)

// Options configure a local stack.
type Options struct {
	Addr     string // HTTP API address; default 127.0.0.1:3000, port 0 picks one
	RepoRoot string // where go.mod is; default: found from the working directory
	Seed     bool   // load the demo catalog and member
	// Logs receives the functions' JSON logs; default os.Stderr.
	Logs io.Writer
	// Jobs: the scheduled jobs and the local event bus (jobs.go).
	Jobs JobOptions
	Logf func(format string, args ...any)
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
	repoRoot    string
}

// RepoRoot finds the module root (the folder holding go.mod) from the
// working directory upwards.
func RepoRoot() (string, error) { return dynamolocal.ModuleRoot() }

// DevKeyPath is where the development signing key lives (git-ignored).
func DevKeyPath(repoRoot string) string {
	return filepath.Join(repoRoot, ".cache", "devkeys", "jwt.pem")
}

// Start brings the stack up; on any failure it tears down what it started.
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
	root := opts.RepoRoot
	if root == "" {
		if root, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	st = &Stack{funcs: map[string]*runtimeapi.Function{}, repoRoot: root}
	defer func() {
		if err != nil {
			st.Stop(context.Background())
			st = nil
		}
	}()

	programBytes, err := os.ReadFile(filepath.Join(root, "program.json"))
	if err != nil {
		return st, fmt.Errorf("localstack: read program.json: %w", err)
	}
	if st.Program, err = config.ParseProgram("program.json", programBytes); err != nil {
		return st, err
	}

	opts.Logf("starting DynamoDB Local")
	if st.DB, err = dynamolocal.Start(ctx, dynamolocal.Options{Logf: opts.Logf}); err != nil {
		return st, err
	}
	client := st.DB.Client()
	if err := CreateTable(ctx, client, TableName); err != nil {
		return st, err
	}
	st.Store = dynamo.New(client, TableName)
	if opts.Seed {
		if err := Seed(ctx, st.Store, st.Program); err != nil {
			return st, err
		}
	}

	opts.Logf("building the functions for %s/%s", runtime.GOOS, runtime.GOARCH)
	binDir := filepath.Join(root, ".cache", "local-bin")
	env := map[string]string{
		"TABLE_NAME":        TableName,
		"DYNAMODB_ENDPOINT": st.DB.Endpoint,
		"STAGE":             Stage,
		"LOG_LEVEL":         "info",
	}
	for _, name := range []string{"member-api", "admin-api", "ingest"} {
		bin, err := BuildFunction(ctx, root, binDir, name)
		if err != nil {
			return st, err
		}
		f, err := runtimeapi.Start(ctx, runtimeapi.FunctionConfig{Name: name, Binary: bin, Env: env, Concurrency: 4,
			Timeout: 10 * time.Second, Stdout: opts.Logs, Stderr: opts.Logs})
		if err != nil {
			return st, fmt.Errorf("localstack: start %s: %w", name, err)
		}
		st.funcs[name] = f
	}
	if err := st.startJobs(ctx, root, binDir, env, opts); err != nil {
		return st, err
	}

	var partnerIDs []string
	for _, p := range st.Program.Partners {
		partnerIDs = append(partnerIDs, p.ID)
	}
	if st.queue, err = startPartnerQueues(ctx, partnerIDs, st.funcs["ingest"], opts.Logf); err != nil {
		return st, err
	}
	st.SQSEndpoint, st.Partners = st.queue.sqs.Endpoint, st.queue.queues

	if st.Key, err = localgateway.LoadOrCreateDevKey(DevKeyPath(root)); err != nil {
		return st, err
	}
	var routes []localgateway.Route
	for _, r := range httpapi.MemberRoutes {
		routes = append(routes, localgateway.Route{Method: r.Method, Path: r.Path, Auth: localgateway.AuthJWT, Function: st.funcs["member-api"]})
	}
	for _, r := range httpapi.AdminRoutes {
		routes = append(routes, localgateway.Route{Method: r.Method, Path: r.Path, Auth: localgateway.AuthIAM, Function: st.funcs["admin-api"]})
	}
	st.gateway, err = localgateway.New(localgateway.Config{Addr: opts.Addr, Routes: routes,
		JWT:  localgateway.JWTVerifier{Issuer: Issuer, Audience: Audience, PublicKey: &st.Key.PublicKey},
		IAM:  localgateway.IAMVerifier{AccessKeyID: AdminAccessKey, SecretAccessKey: AdminSecret, Region: Region},
		Logf: opts.Logf})
	if err != nil {
		return st, err
	}
	addr, err := st.gateway.Start(ctx)
	if err != nil {
		return st, err
	}
	st.URL = "http://" + addr
	return st, nil
}

// Token issues a development ID token for member, valid for ttl.
func (st *Stack) Token(member string, ttl time.Duration) (string, error) {
	return localgateway.IssueDevToken(st.Key, Issuer, Audience, member, ttl, time.Now(), nil)
}

// Stop tears the stack down: gateway, functions, DynamoDB Local.
func (st *Stack) Stop(ctx context.Context) error {
	errs := []error{st.stopJobs(ctx)}
	if st.gateway != nil {
		errs = append(errs, st.gateway.Stop(ctx))
	}
	if st.queue != nil {
		errs = append(errs, st.queue.Stop(ctx))
	}
	for _, f := range st.funcs {
		errs = append(errs, f.Stop())
	}
	if st.DB != nil {
		errs = append(errs, st.DB.Stop())
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

// BuildFunction builds functions/<name> for this machine as
// <binDir>/<name>/bootstrap, with program.json beside it, and returns the
// binary's path. The flags are the Makefile's, but for the host architecture.
func BuildFunction(ctx context.Context, root, binDir, name string) (string, error) {
	dir := filepath.Join(binDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc", "-ldflags=-s -w", "-o", bin, "./functions/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("localstack: build %s: %v\n%s", name, err, out)
	}
	program, err := os.ReadFile(filepath.Join(root, "program.json"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "program.json"), program, 0o644); err != nil {
		return "", err
	}
	return bin, nil
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
// partner's own credentials: it may send to that partner's queue only.
func (st *Stack) PartnerSQSClient(id string) *sqs.Client {
	return sqs.New(sqs.Options{Region: sqslocal.Region, BaseEndpoint: aws.String(st.SQSEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(PartnerAccessKey(id), PartnerSecret(id), "")})
}
