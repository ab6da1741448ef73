// Command replay is the ops tool for partner messages that did not go
// through: it lists the rejections the ingest function recorded and the
// messages in a partner queue's dead-letter queue, and re-drives chosen
// ones to the partner queue (see package replay for what each command does).
//
//	replay [flags] rejections [-state open] [-reason R] [-partner P] [-json]
//	replay [flags] replay [-body-file F] MESSAGE_ID...
//	replay [flags] dlq [-max N] [-json]
//	replay [flags] redrive (-all | MESSAGE_ID...)
//
// Its target is the running local stack unless an AWS table is named
// (-table or TABLE_NAME). Locally everything comes from the stack's state
// file (.cache/localstack.json): the table, the endpoints, the region, the
// ops key; -partner-queue ID picks the partner whose queue and DLQ dlq and
// redrive work on. On AWS the usual credential chain applies and replay
// first says which account, identity and region it talks to; the queue and
// DLQ are -queue-url and -dlq-url (QUEUE_URL, DLQ_URL), or -partner-queue ID
// with -stage, and -dynamodb-endpoint / -sqs-endpoint point elsewhere than
// AWS. Replays are recorded as "ops:<-actor>" (default $USER). The
// command's own flags may stand before or after its arguments; replay's
// flags go before the command.
//
// It only wires flags, clients and package replay; it must not grow logic of
// its own, so that other ops CLIs can offer the same commands through
// replay.Command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/cmd/internal/opsaws"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
	"github.com/loyalty-functions/loyalty/shared/tools/replay"
)

// target is where replay works, from its flags.
type target struct {
	table, queueURL, dlqURL, dynamoEndpoint, sqsEndpoint string
	partnerQueue, stage, actor                           string
}

func main() {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	var t target
	fs.StringVar(&t.table, "table", os.Getenv("TABLE_NAME"), "DynamoDB table on AWS (TABLE_NAME); empty: the running local stack's")
	fs.StringVar(&t.queueURL, "queue-url", os.Getenv("QUEUE_URL"), "a partner queue's URL (QUEUE_URL)")
	fs.StringVar(&t.dlqURL, "dlq-url", os.Getenv("DLQ_URL"), "its dead-letter queue's URL (DLQ_URL)")
	fs.StringVar(&t.partnerQueue, "partner-queue", "", "the partner whose queue and DLQ dlq and redrive use (instead of -queue-url and -dlq-url)")
	fs.StringVar(&t.stage, "stage", "", "on AWS, the stage whose queue -partner-queue names")
	fs.StringVar(&t.dynamoEndpoint, "dynamodb-endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "a DynamoDB endpoint other than AWS's (DYNAMODB_ENDPOINT)")
	fs.StringVar(&t.sqsEndpoint, "sqs-endpoint", os.Getenv("SQS_ENDPOINT"), "an SQS endpoint other than AWS's (SQS_ENDPOINT)")
	fs.StringVar(&t.actor, "actor", os.Getenv("USER"), "who replays, recorded on each rejection")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: replay [flags] command [args]\n\n"+replay.Usage+"\n\nflags:")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:]) // replay's flags stop at the command; the command parses the rest
	if name := misplacedFlag(fs, fs.Args()); name != "" {
		fmt.Fprintf(os.Stderr, "replay: -%s is a flag of replay itself: put it before the command (replay -%s VALUE %s ...)\n", name, name, fs.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	tool, err := newTool(ctx, t, fs.Args())
	if err != nil {
		fail(err)
	}
	if err := replay.Command(ctx, tool, fs.Args(), os.Stdout); err != nil {
		if errors.Is(err, replay.ErrUsage) {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(2)
		}
		fail(err)
	}
}

// needsQueues says whether the command works on a queue and its DLQ.
func needsQueues(args []string) bool {
	return len(args) > 0 && (args[0] == "dlq" || args[0] == "redrive")
}

// newTool builds the tool for the local stack or for AWS.
func newTool(ctx context.Context, t target, args []string) (*replay.Tool, error) {
	tool := &replay.Tool{QueueURL: t.queueURL, DLQURL: t.dlqURL, Actor: "ops:" + t.actor}
	if t.table == "" {
		s, err := opsaws.FindLocal("-table TABLE (or TABLE_NAME)")
		if err != nil {
			return nil, err
		}
		if err := pickLocalQueues(tool, s, t.partnerQueue, needsQueues(args)); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "replay: the local stack: table %s at %s, SQS at %s\n", s.DynamoDB.Table, s.DynamoDB.Endpoint, s.SQS.Endpoint)
		cfg := opsaws.Local(s)
		tool.Store = dynamo.New(config.Env{TableName: s.DynamoDB.Table, DynamoEndpoint: s.DynamoDB.Endpoint}.DynamoDB(cfg), s.DynamoDB.Table)
		tool.SQS = sqs.New(sqs.Options{Region: s.Region, BaseEndpoint: aws.String(s.SQS.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(s.SQS.AccessKeyID, s.SQS.SecretAccessKey, "")})
		return tool, nil
	}
	cfg, who, err := opsaws.AWS(ctx)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "replay: table %s on AWS: %s\n", t.table, who)
	tool.Store = dynamo.New(config.Env{TableName: t.table, DynamoEndpoint: t.dynamoEndpoint}.DynamoDB(cfg), t.table)
	tool.SQS = sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if t.sqsEndpoint != "" {
			o.BaseEndpoint = aws.String(t.sqsEndpoint)
		}
	})
	if t.partnerQueue != "" {
		if t.stage == "" {
			return nil, errors.New("-partner-queue on AWS needs -stage (the stage the engine is deployed as, e.g. dev)")
		}
		name := partnerqueue.Name(t.stage, t.partnerQueue)
		for _, q := range []struct {
			name string
			url  *string
		}{{name, &tool.QueueURL}, {name + partnerqueue.DLQSuffix, &tool.DLQURL}} {
			out, err := tool.SQS.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(q.name)})
			if err != nil {
				return nil, fmt.Errorf("the queue of partner %s in stage %s (%s): %w", t.partnerQueue, t.stage, q.name, err)
			}
			*q.url = aws.ToString(out.QueueUrl)
		}
	}
	return tool, nil
}

// pickLocalQueues sets the queue and DLQ of the partner the local stack
// names; a command that needs them and has neither a partner nor URLs is
// told which partners there are.
func pickLocalQueues(tool *replay.Tool, s localstate.State, partner string, needed bool) error {
	var ids []string
	for _, p := range s.Partners {
		ids = append(ids, p.ID)
	}
	if partner != "" {
		p, ok := s.Partner(partner)
		if !ok {
			return fmt.Errorf("-partner-queue %s: the local stack has no such partner (it has %s)", partner, strings.Join(ids, ", "))
		}
		tool.QueueURL, tool.DLQURL = p.QueueURL, p.DLQURL
		return nil
	}
	if needed && (tool.QueueURL == "" || tool.DLQURL == "") {
		if len(s.Partners) == 1 {
			tool.QueueURL, tool.DLQURL = s.Partners[0].QueueURL, s.Partners[0].DLQURL
			return nil
		}
		return fmt.Errorf("choose whose DLQ: replay -partner-queue ID dlq (one of %s)", strings.Join(ids, ", "))
	}
	return nil
}

// misplacedFlag names the first of replay's own flags that stands after
// the command, where only the command's flags go ("" when none does).
func misplacedFlag(fs *flag.FlagSet, args []string) string {
	for i, a := range args {
		if i == 0 || a == "--" {
			if a == "--" {
				return ""
			}
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name != "" && fs.Lookup(name) != nil {
			return name
		}
	}
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "replay:", err)
	os.Exit(1)
}
