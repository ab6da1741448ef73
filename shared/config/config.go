// Package config loads what every function needs at start: its environment,
// the program file, a JSON logger and the AWS clients. It runs once per cold
// start, outside the handler, and fails loudly so a bad deploy never serves.
//
// It imports the domain and the AWS SDK, never an adapter package.
package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/loyalty-functions/loyalty/shared/locale"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Env is the environment a function reads at start.
type Env struct {
	TableName   string // TABLE_NAME, required
	EventBus    string // EVENT_BUS_NAME, optional locally
	Stage       string // STAGE, default "dev"
	ProgramFile string // PROGRAM_FILE, default program.json beside the binary
	LogLevel    string // LOG_LEVEL: debug, info (default), warn, error
	// DynamoEndpoint (DYNAMODB_ENDPOINT) points the SDK at DynamoDB Local;
	// empty in AWS.
	DynamoEndpoint string
}

// FromEnvironment reads Env from the process environment.
func FromEnvironment() (Env, error) {
	e := Env{
		TableName:      os.Getenv("TABLE_NAME"),
		EventBus:       os.Getenv("EVENT_BUS_NAME"),
		Stage:          getenv("STAGE", "dev"),
		ProgramFile:    getenv("PROGRAM_FILE", "program.json"),
		LogLevel:       getenv("LOG_LEVEL", "info"),
		DynamoEndpoint: os.Getenv("DYNAMODB_ENDPOINT"),
	}
	if e.TableName == "" {
		return Env{}, fmt.Errorf("config: TABLE_NAME is not set")
	}
	if !filepath.IsAbs(e.ProgramFile) {
		// Lambda runs the binary from LAMBDA_TASK_ROOT; locally, beside it.
		root := os.Getenv("LAMBDA_TASK_ROOT")
		if root == "" {
			if exe, err := os.Executable(); err == nil {
				root = filepath.Dir(exe)
			}
		}
		e.ProgramFile = filepath.Join(root, e.ProgramFile)
	}
	return e, nil
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Logger returns a JSON slog logger at the configured level, as CloudWatch
// Logs and the local stack both read it.
func (e Env) Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(e.LogLevel))); err != nil {
		level = slog.LevelInfo
	}
	return newLogger(os.Stdout, level).With("stage", e.Stage)
}

// newLogger writes JSON lines as Lambda's JSON log format reads them: the
// level under "level" (slog's DEBUG, INFO, WARN, ERROR are Lambda's names)
// and the time under "timestamp" (RFC 3339), so Lambda's application
// log-level filter sees each line's real level and keeps WARN and ERROR
// lines at every level the stage allows.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				a.Key = "timestamp"
			}
			return a
		}}))
}

// Program reads and validates the program file.
func (e Env) Program() (*loyalty.Program, error) {
	b, err := os.ReadFile(e.ProgramFile)
	if err != nil {
		return nil, fmt.Errorf("config: read program file: %w", err)
	}
	return ParseProgram(filepath.Base(e.ProgramFile), b)
}

// ReadProgram reads and validates a program file from a path.
func ReadProgram(path string) (*loyalty.Program, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read program file: %w", err)
	}
	return ParseProgram(filepath.Base(path), b)
}

// ParseProgram decodes and validates a program file (loyalty.ParseProgram),
// then checks its locales and plural forms against CLDR (locale.Check).
func ParseProgram(name string, b []byte) (*loyalty.Program, error) {
	p, err := loyalty.ParseProgram(name, b)
	if err != nil {
		return nil, err
	}
	if err := locale.Check(p); err != nil {
		var le *loyalty.Error
		if errors.As(err, &le) && le.Field != "" {
			return nil, fmt.Errorf("%s: %s: %s", name, le.Field, le.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// AWS builds the SDK configuration the way a Lambda function gets it: the
// region from AWS_REGION and the execution role's credentials from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. It does not
// use the SDK's config package on purpose: its shared-config, SSO, STS and
// IMDS providers add about 2 MiB to every bootstrap and time to every cold
// start, and a function never needs them. Tools run by people (loyaltyctl)
// load the full default chain instead.
func (e Env) AWS(ctx context.Context) (aws.Config, error) {
	region := getenv("AWS_REGION", os.Getenv("AWS_DEFAULT_REGION"))
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("config: AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (Lambda sets them)")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))),
	}, nil
}

// DynamoDB builds the DynamoDB client, pointed at DynamoDB Local when
// DYNAMODB_ENDPOINT is set.
func (e Env) DynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if e.DynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(e.DynamoEndpoint)
		}
	})
}

// Function is what every function loads once per cold start.
type Function struct {
	Env     Env
	Log     *slog.Logger
	Program *loyalty.Program
	AWS     aws.Config
}

// Load reads the environment, the program file and the AWS configuration of
// the function name. A function that cannot serve must not start: on any
// failure Load logs why and exits, which Lambda reports as an init error.
func Load(name string) Function {
	env, err := FromEnvironment()
	if err != nil {
		slog.Error(name+": configuration", "error", err)
		os.Exit(1)
	}
	f := Function{Env: env, Log: env.Logger().With("function", name)}
	fail := func(what string, err error) {
		f.Log.Error(name+": "+what, "error", err)
		os.Exit(1)
	}
	if f.Program, err = env.Program(); err != nil {
		fail("program file", err)
	}
	if f.AWS, err = env.AWS(context.Background()); err != nil {
		fail("AWS configuration", err)
	}
	return f
}
