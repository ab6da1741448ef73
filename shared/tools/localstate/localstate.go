// Package localstate is the state file of a running local stack
// (.cache/localstack.json under the module root): where each of its parts
// listens, its table and partner queues, and the development credentials,
// so that the tools (loyaltyctl admin, job and token, loyaltyops audit,
// replay) find the stack by themselves, with no endpoint, key or region
// flags. The stack writes the file atomically once it is up and removes it
// on a clean stop; a file whose stack is gone (its process ended, or its
// HTTP API port no longer answers) is reported as stale, never trusted.
//
// It imports the standard library only, so the ops commands read it
// without linking the local stack; no function binary imports it.
package localstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// FileName is the state file's name in the module's .cache folder.
const FileName = "localstack.json"

// version is the layout of the file; a reader refuses another.
const version = 1

// State is what a running local stack tells its tools.
type State struct {
	Version   int       `json:"version"`
	PID       int       `json:"pid"` // the process that runs the stack
	StartedAt time.Time `json:"startedAt"`
	Region    string    `json:"region"` // what every local client signs with
	// HTTPAPI is the local HTTP API, http://127.0.0.1:PORT.
	HTTPAPI string `json:"httpApiUrl"`
	// Jobs is the local EventBridge endpoint and the job control API.
	Jobs     string      `json:"jobsUrl"`
	DynamoDB DynamoDB    `json:"dynamodb"`
	SQS      SQS         `json:"sqs"`
	Partners []Partner   `json:"partners"`
	Admin    Credentials `json:"admin"` // the SigV4 key the admin routes accept
	JWT      JWT         `json:"jwt"`
	// DataDir holds what survives a restart; empty when the stack keeps its
	// data in memory.
	DataDir string `json:"dataDir,omitempty"`
	// EventsFile is the JSON Lines file of the events the functions published.
	EventsFile string `json:"eventsFile"`

	// PartnerDoor is the partner door's function URL, http://127.0.0.1:PORT/
	// (partners sign for service lambda with their own key); empty when
	// the template has none.
	PartnerDoor string `json:"partnerDoorUrl,omitempty"`
}

// Credentials are a development access key and its secret.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// DynamoDB is the local table.
type DynamoDB struct {
	Endpoint string `json:"endpoint"`
	Table    string `json:"table"`
	Credentials
}

// SQS is the embedded SQS and the ops principal's key (any queue).
type SQS struct {
	Endpoint string `json:"endpoint"`
	Credentials
}

// Partner is a partner's local queue, its DLQ and the key it sends with.
type Partner struct {
	ID       string `json:"id"`
	QueueURL string `json:"queueUrl"`
	DLQURL   string `json:"dlqUrl"`
	Credentials
	// Principal is the AWS principal the key stands for (a session of the
	// partner's first sender): the template's queue policy and door
	// permissions decide its calls.
	Principal string `json:"principal"`
}

// JWT says how development tokens are issued.
type JWT struct {
	Issuer   string `json:"issuer"`
	Audience string `json:"audience"`
	KeyFile  string `json:"keyFile"` // the RS256 signing key, PEM
}

// Partner returns the partner with id.
func (s State) Partner(id string) (Partner, bool) {
	for _, p := range s.Partners {
		if p.ID == id {
			return p, true
		}
	}
	return Partner{}, false
}

// Path is the state file of the module at root.
func Path(root string) string { return filepath.Join(root, ".cache", FileName) }

// ErrNoStack says no state file exists: no local stack runs from this module.
var ErrNoStack = errors.New("no local stack is running")

// StaleError says a state file names a stack that is gone.
type StaleError struct {
	Path   string
	PID    int
	Reason string // "process 1234 is gone", "nothing answers on 127.0.0.1:3000"
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s is stale: %s (the stack that wrote it did not stop cleanly); start the stack again with make run, which replaces the file", e.Path, e.Reason)
}

// Write puts s at path atomically: a reader sees the old file or the whole
// new one, never a part. The file holds development secrets only, yet it is
// readable by its owner alone.
func Write(path string, s State) error {
	s.Version = version
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("localstate: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("localstate: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("localstate: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("localstate: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("localstate: %w", err)
	}
	return nil
}

// Read reads the state file at path. A missing file is ErrNoStack.
func Read(path string) (State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, fmt.Errorf("%w (no %s): start it with make run", ErrNoStack, path)
	}
	if err != nil {
		return State{}, fmt.Errorf("localstate: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("localstate: %s: %w", path, err)
	}
	if s.Version != version {
		return State{}, fmt.Errorf("localstate: %s has layout version %d, want %d: restart the stack (make run)", path, s.Version, version)
	}
	return s, nil
}

// Remove deletes the state file at path if it is still the one process pid
// wrote: a stack that stops never removes the file of a stack started after
// it.
func Remove(path string, pid int) error {
	s, err := Read(path)
	if errors.Is(err, ErrNoStack) {
		return nil
	}
	if err == nil && s.PID != pid {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localstate: %w", err)
	}
	return nil
}

// Check tells whether the stack s describes still runs: its process exists
// and its HTTP API accepts connections. It returns a *StaleError when not.
func (s State) Check(path string) error {
	if s.PID <= 0 {
		return &StaleError{Path: path, PID: s.PID, Reason: "it names no process"}
	}
	// Signal 0 checks that the process exists without touching it.
	if err := syscall.Kill(s.PID, 0); errors.Is(err, syscall.ESRCH) {
		return &StaleError{Path: path, PID: s.PID, Reason: fmt.Sprintf("process %d is gone", s.PID)}
	}
	u, err := url.Parse(s.HTTPAPI)
	if err != nil || u.Host == "" {
		return &StaleError{Path: path, PID: s.PID, Reason: fmt.Sprintf("its HTTP API URL %q is not a URL", s.HTTPAPI)}
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		return &StaleError{Path: path, PID: s.PID, Reason: fmt.Sprintf("process %d runs, but nothing answers on %s", s.PID, u.Host)}
	}
	conn.Close()
	return nil
}

// Find reads the state file of the module holding the working directory
// and checks that its stack runs. It returns the state and the file's path;
// the error is ErrNoStack (wrapped) or a *StaleError when no stack runs.
func Find() (State, string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return State{}, "", fmt.Errorf("%w: %v (run the tools from the repository)", ErrNoStack, err)
	}
	path := Path(root)
	s, err := Read(path)
	if err != nil {
		return State{}, path, err
	}
	if err := s.Check(path); err != nil {
		return State{}, path, err
	}
	return s, path, nil
}

// ModuleRoot walks up from the working directory to the folder holding
// go.mod: where the git-ignored .cache lives. The local stand-ins and the
// tools all find it here.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod in the working directory or above")
		}
		dir = up
	}
}
