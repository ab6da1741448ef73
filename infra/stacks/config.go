package stacks

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // validate the program's timezone even where the OS has no zoneinfo

	"github.com/aws/constructs-go/constructs/v10"
)

// Config is everything a deployment may choose. It comes from CDK context
// (cdk.json, overridden with `cdk synth -c key=value`); the defaults below
// are the ones cdk.json documents.
type Config struct {
	// Stage names the deployment (dev, prod, ...). It is part of the stack
	// names and the dimension of the business metrics.
	Stage string
	// Partners are the program file's partners and their senders: each
	// gets a queue only its senders may send to. main.go sets them from the
	// program file, which is where a partner is onboarded.
	Partners []Partner
	// ProgramFile is the program rules file the Makefile copies beside each
	// bootstrap; functions read it by its base name (env PROGRAM_FILE).
	ProgramFile string
	// AlarmEmail, when set, is subscribed to the alarm topic. Only stage
	// DevStage may go without one.
	AlarmEmail string
	// Timezone is the program's IANA timezone; schedules run in it.
	Timezone string
	// UserPoolID imports an existing Cognito user pool instead of creating one.
	UserPoolID string
	// DistDir holds dist/<function>/bootstrap as built by the Makefile.
	DistDir string
	// CorsOrigins are the origins the member app is served from.
	CorsOrigins []string
	// LogLevel is the functions' slog level (DEBUG, INFO, WARN, ERROR).
	LogLevel string
}

// Context keys read by ConfigFromContext.
const (
	CtxStage = "stage"
	// CtxPartnerAccounts is refused: partners and their senders moved to
	// the program file (partners[].senders).
	CtxPartnerAccounts = "partnerAccounts"
	CtxProgramFile     = "programFile"
	CtxAlarmEmail      = "alarmEmail"
	CtxTimezone        = "timezone"
	CtxUserPoolID      = "userPoolId"
	CtxDistDir         = "distDir"
	CtxCorsOrigins     = "corsOrigins"
	CtxLogLevel        = "logLevel"
)

// DevStage is the one stage that may deploy without an alarm subscriber:
// the developers' own, whose alarms nobody is on call for.
const DevStage = "dev"

// LocalStage is the stage the local stack synthesizes (shared/local/localstack):
// never deployed, so the only one whose partners may name example accounts.
const LocalStage = "local"

// exampleAccounts are the made-up AWS accounts of the demo program.json (its
// partners' senders, which the local stack's partner keys stand for) and of
// the AWS documentation's examples. They are not ours: a queue open to one
// would take purchases from whoever owns that number.
var exampleAccounts = map[string]bool{"111122223333": true, "123456789012": true, "444455556666": true, "777788889999": true}

// DefaultConfig is what a deployment gets when the context says nothing.
func DefaultConfig() Config {
	return Config{
		Stage:       DevStage,
		ProgramFile: "program.json",
		Timezone:    "Europe/Berlin",
		DistDir:     "dist",
		CorsOrigins: []string{"http://localhost:3000"},
		LogLevel:    "INFO",
	}
}

// ConfigFromContext reads the configuration from the CDK context of node,
// starting from DefaultConfig, and validates it. Lists may be JSON arrays
// (cdk.json) or comma-separated strings (`-c corsOrigins=https://a,https://b`).
func ConfigFromContext(node constructs.Node) (Config, error) {
	cfg := DefaultConfig()
	str := func(key string, dst *string) error {
		v := node.TryGetContext(&key)
		if v == nil {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("context %s: got %T, want a string", key, v)
		}
		*dst = strings.TrimSpace(s)
		return nil
	}
	list := func(key string, dst *[]string) error {
		v := node.TryGetContext(&key)
		if v == nil {
			return nil
		}
		got, err := stringList(v)
		if err != nil {
			return fmt.Errorf("context %s: %w", key, err)
		}
		*dst = got
		return nil
	}
	if v := node.TryGetContext(ptr(CtxPartnerAccounts)); v != nil {
		return Config{}, fmt.Errorf("context %s: partners and the AWS principals that may send for them are in the program file now (partners[].senders); remove %s from cdk.json or -c", CtxPartnerAccounts, CtxPartnerAccounts)
	}
	for _, err := range []error{
		str(CtxStage, &cfg.Stage),
		str(CtxProgramFile, &cfg.ProgramFile),
		str(CtxAlarmEmail, &cfg.AlarmEmail),
		str(CtxTimezone, &cfg.Timezone),
		str(CtxUserPoolID, &cfg.UserPoolID),
		str(CtxDistDir, &cfg.DistDir),
		list(CtxCorsOrigins, &cfg.CorsOrigins),
		str(CtxLogLevel, &cfg.LogLevel),
	} {
		if err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.Validate()
}

// stringList accepts a JSON array of strings, a JSON array in a string, or a
// comma-separated string.
func stringList(v any) ([]string, error) {
	var out []string
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("got element %v (%T), want strings", e, e)
			}
			out = append(out, strings.TrimSpace(s))
		}
	case string:
		t = strings.TrimSpace(t)
		if strings.HasPrefix(t, "[") {
			if err := json.Unmarshal([]byte(t), &out); err != nil {
				return nil, fmt.Errorf("got %q, want a JSON array of strings: %w", t, err)
			}
			return out, nil
		}
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, fmt.Errorf("got %T, want a list of strings", v)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// senderAccount is the account of a sender: itself, or the account field
// of its ARN.
func senderAccount(s string) string {
	if parts := strings.Split(s, ":"); len(parts) >= 5 {
		return parts[4]
	}
	return s
}

var (
	stagePattern      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	accountPattern    = regexp.MustCompile(`^[0-9]{12}$`)
	senderARNPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`)
	userPoolIDPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]_[0-9a-zA-Z]+$`)
	emailPattern      = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	originPattern     = regexp.MustCompile(`^https?://[^/\s*]+$`)
	logLevels         = map[string]bool{"DEBUG": true, "INFO": true, "WARN": true, "ERROR": true}
)

// Validate reports the first setting a deployment could not work with, so
// that a typo fails the synth instead of the deploy (or, worse, silently
// opening the queue to the wrong account).
func (c Config) Validate() error {
	if !stagePattern.MatchString(c.Stage) {
		return fmt.Errorf("stage: got %q, want lower-case letters, digits and '-', starting with a letter, at most 16", c.Stage)
	}
	for _, p := range c.Partners {
		for _, s := range p.Senders {
			if !accountPattern.MatchString(s) && !senderARNPattern.MatchString(s) {
				return fmt.Errorf("partner %s: sender %q is not a 12-digit account id or an IAM role or user ARN", p.ID, s)
			}
			if account := senderAccount(s); exampleAccounts[account] && c.Stage != LocalStage {
				return fmt.Errorf("partner %s: sender %q is in account %s, a made-up example (the demo program.json's partners use it for the local stack): "+
					"list the accounts or roles your partner really sends from before synthesizing stage %q", p.ID, s, account, c.Stage)
			}
		}
	}
	if b := filepath.Base(c.ProgramFile); c.ProgramFile == "" || b == "." || b == ".." || b == string(filepath.Separator) {
		return fmt.Errorf("programFile: got %q, want the path of the program rules file", c.ProgramFile)
	}
	if c.AlarmEmail != "" && !emailPattern.MatchString(c.AlarmEmail) {
		return fmt.Errorf("alarmEmail: got %q, want an e-mail address or empty", c.AlarmEmail)
	}
	// An alarm topic nobody subscribes to pages nobody: outside dev that is
	// refused at synth time, not found out at the first outage.
	if c.Stage != DevStage && c.AlarmEmail == "" {
		return fmt.Errorf("alarmEmail: got none for stage %q, want the address that receives its alarms (only stage %q may deploy without one): "+
			"set \"alarmEmail\" in cdk.json or pass -c alarmEmail=ops@example.com", c.Stage, DevStage)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || c.Timezone == "Local" {
		return fmt.Errorf("timezone: got %q, want an IANA timezone such as Europe/Berlin", c.Timezone)
	}
	if c.UserPoolID != "" && !userPoolIDPattern.MatchString(c.UserPoolID) {
		return fmt.Errorf("userPoolId: got %q, want an id such as eu-central-1_AbC123 or empty", c.UserPoolID)
	}
	if c.DistDir == "" {
		return fmt.Errorf("distDir: got \"\", want the folder holding <function>/bootstrap")
	}
	if len(c.CorsOrigins) == 0 {
		return fmt.Errorf("corsOrigins: got none, want at least one origin")
	}
	for _, o := range c.CorsOrigins {
		if !originPattern.MatchString(o) {
			return fmt.Errorf("corsOrigins: got %q, want scheme://host[:port] without path or wildcard", o)
		}
	}
	if !logLevels[c.LogLevel] {
		return fmt.Errorf("logLevel: got %q, want DEBUG, INFO, WARN or ERROR", c.LogLevel)
	}
	return nil
}

// ProgramFileName is the name functions open beside their bootstrap.
func (c Config) ProgramFileName() string { return filepath.Base(c.ProgramFile) }

func ptr(s string) *string { return &s }
