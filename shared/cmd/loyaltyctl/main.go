// Command loyaltyctl is the developer tool of the local stack (ops tools for
// a deployed engine are loyaltyops and replay, which never link it):
//
//	loyaltyctl run [-addr 127.0.0.1:3000]                     run the local stack until Ctrl-C (make run PORT=3000)
//	    [-jobs-addr ADDR] [-sqs-addr ADDR]                    default the two ports after -addr's (make run JOBS_PORT=3001 SQS_PORT=3002)
//	    [-data .cache/local | -in-memory] [-reset]            keep the data across restarts (default), or not; -reset starts clean
//	    [-schedules=true] [-fast-forward 1m]                  the jobs on their schedules; replay one past day per minute up to today
//	loyaltyctl reset                                          delete the kept local data (make reset)
//	loyaltyctl job NAME [-date YYYY-MM-DD]                    run expire-points, send-reminders or win-back now (job.go)
//	loyaltyctl token [-member ID | ID] [-ttl 1h]              print a development JWT for a member
//	loyaltyctl admin METHOD PATH [BODY] [-idempotency-key K]  call an admin route, SigV4-signed with the local admin key
//
// run writes .cache/localstack.json (package localstate) once the stack is
// up and removes it when it stops; job, token and admin read it, so they
// reach the stack on whatever addresses it took, with no flags. Flags may
// stand before or after the arguments.
//
// Everything it starts listens on 127.0.0.1 and stops on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

const usageText = `usage:
  loyaltyctl run [-addr 127.0.0.1:3000] [-jobs-addr ADDR] [-sqs-addr ADDR] [-data DIR | -in-memory] [-reset] [-schedules] [-fast-forward 1m]
  loyaltyctl reset
  loyaltyctl job NAME [-date YYYY-MM-DD] [-shards 0-7]
  loyaltyctl token [-member ID | ID] [-ttl 1h]
  loyaltyctl admin METHOD PATH [BODY] [-idempotency-key KEY]
  loyaltyctl send -partner ID FILE...`

// errExit is returned after a command printed a failed answer: exit 1
// with nothing more to say.
var errExit = errors.New("exit 1")

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "run":
		err = run(args)
	case "reset":
		err = reset(args, os.Stdout)
	case "token":
		err = token(args, os.Stdout)
	case "admin":
		err = admin(args, os.Stdout)
	case "job":
		err = job(args, os.Stdout)
	case "send":
		err = send(args, os.Stdout)
	case "-h", "-help", "--help", "help":
		fmt.Println(usageText)
		return
	default:
		fmt.Fprintf(os.Stderr, "loyaltyctl: unknown command %q\n%s\n", os.Args[1], usageText)
		os.Exit(2)
	}
	switch {
	case errors.Is(err, errExit):
		os.Exit(1)
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "loyaltyctl:", err)
		os.Exit(1)
	}
}

// runOptions are run's flags.
type runOptions struct {
	stack    localstack.Options
	inMemory bool
	reset    bool
}

func parseRun(args []string, root string) (runOptions, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	o := runOptions{stack: localstack.Options{Seed: true, RepoRoot: root, StateFile: localstate.Path(root)}}
	fs.StringVar(&o.stack.Addr, "addr", localgateway.DefaultAddr, "address of the local HTTP API (loopback only; make run PORT=N)")
	fs.StringVar(&o.stack.SQSAddr, "sqs-addr", "", "address of the embedded SQS the partners send to (make run SQS_PORT=N); default two ports after -addr's")
	fs.StringVar(&o.stack.DoorAddr, "door-addr", "", "address of the partner door (the function URL tills call for an answer); default three ports after -addr's")
	fs.StringVar(&o.stack.DataDir, "data", localstack.DefaultDataDir(root), "folder that keeps the table and the published events across restarts")
	fs.BoolVar(&o.inMemory, "in-memory", false, "keep nothing: the table in memory, the events in a temporary folder")
	fs.BoolVar(&o.reset, "reset", false, "delete the kept data first and start with a freshly seeded table (make reset)")
	jobFlags(fs, &o.stack.Jobs)
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return o, err
	}
	if len(rest) > 0 {
		return o, fmt.Errorf("run takes flags only, got the argument %q (did you mean -addr 127.0.0.1:%s?)", rest[0], rest[0])
	}
	if o.inMemory {
		if o.reset {
			return o, errors.New("run: -in-memory keeps nothing, so there is nothing to -reset")
		}
		o.stack.DataDir = ""
	}
	return o, nil
}

func run(args []string) error {
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	o, err := parseRun(args, root)
	if err != nil {
		return err
	}
	if o.reset {
		if err := resetData(o.stack.DataDir, o.stack.StateFile, os.Stdout); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	o.stack.Logf = func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }
	began := time.Now()
	st, err := localstack.Start(ctx, o.stack)
	if err != nil {
		return explainStartError(err)
	}
	tok, err := st.Token(localstack.DemoMember, 12*time.Hour)
	if err != nil {
		st.Stop(context.Background())
		return err
	}
	printBanner(os.Stdout, st, o, tok, time.Since(began))
	<-ctx.Done()
	fmt.Println("\nstopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return st.Stop(sctx)
}

// explainStartError says which setting to change when an address is taken
// or another stack runs, with a port that is free now.
func explainStartError(err error) error {
	var inUse *localstack.AddrInUseError
	if !errors.As(err, &inUse) {
		return err
	}
	host, port, splitErr := net.SplitHostPort(inUse.Addr)
	n, atoiErr := strconv.Atoi(port)
	if splitErr != nil || atoiErr != nil {
		return err
	}
	switch inUse.Part {
	case localstack.PartJobs:
		free := freePort(host, n+100, 1)
		return fmt.Errorf("%s is in use (the local EventBridge and jobs API listens there): run make run JOBS_PORT=%d (or loyaltyctl run -jobs-addr %s)",
			inUse.Addr, free, net.JoinHostPort(host, strconv.Itoa(free)))
	case localstack.PartSQS:
		free := freePort(host, n+100, 1)
		return fmt.Errorf("%s is in use (the local SQS of the partner queues listens there): run make run SQS_PORT=%d (or loyaltyctl run -sqs-addr %s)",
			inUse.Addr, free, net.JoinHostPort(host, strconv.Itoa(free)))
	}
	free := freePort(host, n+100, 3) // the jobs API and SQS take the two ports after it
	return fmt.Errorf("%s is in use (the local HTTP API listens there): run make run PORT=%d (or loyaltyctl run -addr %s)",
		inUse.Addr, free, net.JoinHostPort(host, strconv.Itoa(free)))
}

// freePort is the first port from start with n free ports in a row on host.
func freePort(host string, start, n int) int {
	for p := start; p < start+1000 && p+n <= 65535; p++ {
		ok := true
		for i := range n {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p+i)))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return p
		}
	}
	return start
}

func printBanner(w io.Writer, st *localstack.Stack, o runOptions, tok string, took time.Duration) {
	var queues strings.Builder
	for _, p := range st.Partners {
		fmt.Fprintf(&queues, "    %-20s %s   (DLQ %s)\n    %-20s key %s stands for %s\n", p.PartnerID, p.URL, p.DLQ, "", p.AccessKeyID, p.Principal)
	}
	coffee, _ := st.Partner("demo-coffee-berlin")
	if coffee.URL == "" && len(st.Partners) > 0 {
		coffee = st.Partners[0]
	}
	data := "kept in " + o.stack.DataDir + " across restarts (make reset starts clean)"
	switch {
	case o.stack.DataDir == "":
		data = "in memory: gone when the stack stops (-in-memory)"
	case st.Kept:
		data = "the table a previous run left in " + o.stack.DataDir + " (make reset starts clean)"
	}
	fmt.Fprintf(w, `
Local stack is up (%[15]s).
  HTTP API        %[1]s   (member routes need a JWT, admin routes a SigV4 signature)
  Jobs API        %[14]s   (local EventBridge; POST /jobs/NAME)
  DynamoDB Local  %[2]s   table %[3]s
  Data            %[16]s
  State file      %[17]s   (loyaltyctl, loyaltyops and replay find the stack through it)
  Partner queues  one per partner; each partner signs with its own key (LOCALPARTNER-<id> / local-secret-<id>),
                  which stands for a session of its first sender in program.json; the template's queue policies decide
  Partner door    %[19]s   (function URL, AWS_IAM: SigV4 for service lambda with the partner's key; answers points and balance)
%[11]s
Try it (token for %[4]q, valid 12 h; another: make token MEMBER=NAME):
  export TOKEN=%[5]s
  curl -s %[1]s/v1/me -H "Authorization: Bearer $TOKEN"
  curl -s %[1]s/v1/rewards -H "Authorization: Bearer $TOKEN"
  curl -s -X POST %[1]s/v1/me/redemptions -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: try-1" -H "Content-Type: application/json" -d '{"rewardId":"free-coffee"}'
  curl -s %[1]s/v1/me/activity?limit=5 -H "Authorization: Bearer $TOKEN"
  go run ./shared/cmd/loyaltyctl admin GET /admin/members/%[4]s/audit
  go run ./shared/cmd/loyaltyops audit

Scheduled jobs (%[9]s); what they publish is appended to %[10]s:
  go run ./shared/cmd/loyaltyctl job expire-points             (today; -date YYYY-MM-DD for an earlier day)
  curl -s %[1]s/v1/me/notifications -H "Authorization: Bearer $TOKEN"

A partner drops a purchase for %[4]s on its queue, signed with the partner's own key:
  go run ./shared/cmd/loyaltyctl send -partner demo-coffee-berlin events/partner/samples/purchase.completed/demo-member-coffee.json
  or with the AWS CLI (Debian's awscli package):
  AWS_ACCESS_KEY_ID=%[12]s AWS_SECRET_ACCESS_KEY=%[13]s /usr/bin/aws sqs send-message --region %[18]s \
    --endpoint-url %[8]s --queue-url %[6]s --message-body file://events/partner/samples/purchase.completed/demo-member-coffee.json
  (what fails for good is recorded as a rejection: go run ./shared/cmd/replay rejections; what fails 5 deliveries waits in %[7]s)
  or through the partner door, for the till's receipt (points earned, balance, rewards):
  go run ./shared/cmd/loyaltyctl send -partner demo-coffee-berlin -sync events/partner/samples/purchase.completed/demo-member-coffee.json

Ctrl-C stops everything.
`, st.URL, st.DB.Endpoint, localstack.TableName, localstack.DemoMember, tok, coffee.URL, coffee.DLQ, st.SQSEndpoint, jobsMode(o.stack.Jobs), st.EventsFile(),
		queues.String(), coffee.AccessKeyID, coffee.SecretAccessKey, st.JobsURL(), took.Round(100*time.Millisecond), data, o.stack.StateFile, localstack.Region,
		doorLine(st.DoorURL))
}

// reset deletes the kept local data.
func reset(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	dir := fs.String("data", localstack.DefaultDataDir(root), "the data folder to delete")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("reset takes no arguments, got %q", rest)
	}
	return resetData(*dir, localstate.Path(root), out)
}

// resetData deletes dir, refusing while a stack runs from stateFile.
func resetData(dir, stateFile string, out io.Writer) error {
	if s, err := localstate.Read(stateFile); err == nil && s.Check(stateFile) == nil {
		return fmt.Errorf("reset: a local stack runs (process %d, %s): stop it first", s.PID, s.HTTPAPI)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "reset: %s holds no data: the next start begins clean\n", dir)
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	fmt.Fprintf(out, "reset: deleted %s: the next start creates and seeds a fresh table\n", dir)
	return nil
}

func token(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	member := fs.String("member", "", "the member (JWT sub); default "+localstack.DemoMember)
	ttl := fs.Duration("ttl", time.Hour, "validity")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 1, len(rest) == 1 && *member != "":
		return fmt.Errorf("token takes one member, as -member ID or ID, got %q", append(rest, *member))
	case len(rest) == 1:
		*member = rest[0]
	case *member == "":
		*member = localstack.DemoMember
	}
	tok, err := tokenClient().Token(*member, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, tok)
	return nil
}

// tokenClient is the running stack's issuer and key, or, with no stack
// running, the ones the next start uses: a token made before the stack
// starts works once it is up.
func tokenClient() *localstack.Client {
	if c, err := localstack.Connect(""); err == nil {
		return c
	}
	root, err := localstack.RepoRoot()
	if err != nil {
		root = "."
	}
	return &localstack.Client{State: localstate.State{JWT: localstate.JWT{Issuer: localstack.Issuer, Audience: localstack.Audience, KeyFile: localstack.DevKeyPath(root)}}}
}

// adminArgs are admin's command line.
type adminArgs struct {
	method, path string
	body         []byte
	idem, url    string
}

func parseAdmin(args []string) (adminArgs, error) {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	var a adminArgs
	fs.StringVar(&a.url, "url", "", "the local HTTP API; default: the running stack's, from its state file")
	fs.StringVar(&a.idem, "idempotency-key", "", "Idempotency-Key header, for adjustments and purchases")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return a, err
	}
	if len(rest) < 2 || len(rest) > 3 {
		return a, fmt.Errorf("admin METHOD PATH [BODY]: got %d arguments %q", len(rest), rest)
	}
	a.method, a.path = rest[0], rest[1]
	if len(rest) == 3 {
		a.body = []byte(rest[2])
	}
	return a, nil
}

func admin(args []string, out io.Writer) error {
	a, err := parseAdmin(args)
	if err != nil {
		return err
	}
	c, err := localstack.Connect("")
	if err != nil && a.url == "" {
		return fmt.Errorf("admin: %w", err)
	}
	if err != nil { // -url given with no state file: the stack's fixed keys
		c = &localstack.Client{State: localstate.State{Region: localstack.Region,
			Admin: localstate.Credentials{AccessKeyID: localstack.AdminAccessKey, SecretAccessKey: localstack.AdminSecret}}}
		c.HTTP = httpClient()
	}
	if a.url != "" {
		c.State.HTTPAPI = strings.TrimSuffix(a.url, "/")
	}
	status, body, err := c.Admin(context.Background(), a.method, a.path, a.body, a.idem)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	fmt.Fprintf(out, "%d %s\n", status, body)
	if status >= 400 {
		return errExit
	}
	return nil
}
