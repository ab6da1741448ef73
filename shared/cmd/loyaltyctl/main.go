// Command loyaltyctl is the developer tool of the local stack (ops tools for
// a deployed engine are loyaltyops and replay, which never link it):
//
//	loyaltyctl run [-addr 127.0.0.1:3000]      run the local stack until Ctrl-C
//	    [-schedules=true] [-fast-forward 1m]    the jobs on their schedules; replay one past day per minute up to today
//	loyaltyctl job NAME [-date YYYY-MM-DD]     run expire-points, send-reminders or win-back now (job.go)
//	loyaltyctl token [-member ID] [-ttl 1h]    print a development JWT for a member
//	loyaltyctl admin METHOD PATH [BODY]        call an admin route, SigV4-signed with the local admin key
//
// Everything it starts listens on 127.0.0.1 and stops on Ctrl-C.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/localgateway"
	"github.com/loyalty-functions/loyalty/shared/localstack"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = run(os.Args[2:])
	case "token":
		err = token(os.Args[2:])
	case "admin":
		err = admin(os.Args[2:])
	case "job":
		err = job(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loyaltyctl:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loyaltyctl run [-addr 127.0.0.1:3000] [-schedules] [-fast-forward 1m] | job NAME [-date YYYY-MM-DD] | token [-member ID] [-ttl 1h] | admin METHOD PATH [BODY]")
	os.Exit(2)
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	addr := fs.String("addr", localgateway.DefaultAddr, "address of the local HTTP API (loopback only)")
	jobOpts := jobFlags(fs)
	fs.Parse(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	logf := func(format string, a ...any) { log.Info(fmt.Sprintf(format, a...)) }
	st, err := localstack.Start(ctx, localstack.Options{Addr: *addr, Seed: true, Logf: logf, Jobs: *jobOpts})
	if err != nil {
		return err
	}
	tok, err := st.Token(localstack.DemoMember, 12*time.Hour)
	if err != nil {
		st.Stop(context.Background())
		return err
	}
	var queues strings.Builder
	for _, p := range st.Partners {
		fmt.Fprintf(&queues, "    %-20s %s   (DLQ %s)\n", p.PartnerID, p.URL, p.DLQ)
	}
	coffee, _ := st.Partner("demo-coffee-berlin")
	if coffee.URL == "" && len(st.Partners) > 0 {
		coffee = st.Partners[0]
	}
	fmt.Printf(`
Local stack is up.
  HTTP API        %[1]s   (member routes need a JWT, admin routes a SigV4 signature)
  DynamoDB Local  %[2]s   table %[3]s
  Partner queues  one per partner; each partner signs with its own key (LOCALPARTNER-<id> / local-secret-<id>)
                  and may send to its own queue only
%[11]s
Try it (token for %[4]q, valid 12 h; another: go run ./shared/cmd/loyaltyctl token -member NAME):
  export TOKEN=%[5]s
  curl -s %[1]s/v1/me -H "Authorization: Bearer $TOKEN"
  curl -s %[1]s/v1/rewards -H "Authorization: Bearer $TOKEN"
  curl -s -X POST %[1]s/v1/me/redemptions -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: try-1" -H "Content-Type: application/json" -d '{"rewardId":"free-coffee"}'
  curl -s %[1]s/v1/me/activity?limit=5 -H "Authorization: Bearer $TOKEN"
  go run ./shared/cmd/loyaltyctl admin GET /admin/members/%[4]s/audit
  go run ./shared/cmd/loyaltyops audit -table %[3]s -endpoint %[2]s

Scheduled jobs (%[9]s); what they publish goes to %[10]s:
  go run ./shared/cmd/loyaltyctl job expire-points -date 2027-04-01
  curl -s %[1]s/v1/me/notifications -H "Authorization: Bearer $TOKEN"

A partner drops a purchase on its queue (AWS CLI from Debian's awscli package, the partner's own key):
  AWS_ACCESS_KEY_ID=%[12]s AWS_SECRET_ACCESS_KEY=%[13]s /usr/bin/aws sqs send-message --region us-east-1 \
    --endpoint-url %[8]s --queue-url %[6]s --message-body file://events/partner/samples/purchase.completed/coffee-with-lines.json
  (what fails for good is recorded as a rejection; what fails 5 deliveries waits in %[7]s)

Ctrl-C stops everything.
`, st.URL, st.DB.Endpoint, localstack.TableName, localstack.DemoMember, tok, coffee.URL, coffee.DLQ, st.SQSEndpoint, jobsMode(*jobOpts), st.EventsFile(),
		queues.String(), coffee.AccessKeyID, coffee.SecretAccessKey)
	<-ctx.Done()
	fmt.Println("\nstopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return st.Stop(sctx)
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ExitOnError)
	member := fs.String("member", localstack.DemoMember, "the member (JWT sub)")
	ttl := fs.Duration("ttl", time.Hour, "validity")
	fs.Parse(args)
	root, err := localstack.RepoRoot()
	if err != nil {
		return err
	}
	key, err := localgateway.LoadOrCreateDevKey(localstack.DevKeyPath(root))
	if err != nil {
		return err
	}
	tok, err := localgateway.IssueDevToken(key, localstack.Issuer, localstack.Audience, *member, *ttl, time.Now(), nil)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func admin(args []string) error {
	fs := flag.NewFlagSet("admin", flag.ExitOnError)
	base := fs.String("url", "http://"+localgateway.DefaultAddr, "the local HTTP API")
	idem := fs.String("idempotency-key", "", "Idempotency-Key header, for adjustments")
	fs.Parse(args)
	if fs.NArg() < 2 {
		return errors.New("admin: METHOD PATH [BODY]")
	}
	var body []byte
	if fs.NArg() > 2 {
		body = []byte(fs.Arg(2))
	}
	req, err := http.NewRequest(strings.ToUpper(fs.Arg(0)), *base+fs.Arg(1), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if *idem != "" {
		req.Header.Set("Idempotency-Key", *idem)
	}
	if err := localgateway.SignRequest(req, body, localstack.AdminAccessKey, localstack.AdminSecret, localstack.Region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s\n", resp.StatusCode, out)
	if resp.StatusCode >= 400 {
		os.Exit(1)
	}
	return nil
}

// audit runs the whole-table audit with the caller's AWS credentials. It
// Scans for accounts, which is why it is an ops command and not a route.
