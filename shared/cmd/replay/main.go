// Command replay is the ops tool for partner messages that did not go
// through: it lists the rejections the ingest function recorded and the
// messages in the partner queue's dead-letter queue, and re-drives chosen
// ones to the partner queue (see package replay for what each command does).
//
//	replay [flags] rejections [-state open] [-reason R] [-partner P] [-json]
//	replay [flags] replay [-body-file F] MESSAGE_ID...
//	replay [flags] dlq [-max N] [-json]
//	replay [flags] redrive (-all | MESSAGE_ID...)
//
// Flags default to the environment: -table TABLE_NAME, -queue-url QUEUE_URL,
// -dlq-url DLQ_URL, -dynamodb-endpoint DYNAMODB_ENDPOINT, -sqs-endpoint
// SQS_ENDPOINT (the endpoints point at the local stack; empty in AWS, where
// the usual AWS credentials and region apply). Replays are recorded as
// "ops:<-actor>" (default $USER).
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

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/replay"
)

func main() {
	fs := flag.NewFlagSet("replay", flag.ExitOnError)
	table := fs.String("table", os.Getenv("TABLE_NAME"), "DynamoDB table (TABLE_NAME)")
	queueURL := fs.String("queue-url", os.Getenv("QUEUE_URL"), "partner queue URL (QUEUE_URL)")
	dlqURL := fs.String("dlq-url", os.Getenv("DLQ_URL"), "dead-letter queue URL (DLQ_URL)")
	dynamoEndpoint := fs.String("dynamodb-endpoint", os.Getenv("DYNAMODB_ENDPOINT"), "DynamoDB endpoint, for the local stack (DYNAMODB_ENDPOINT)")
	sqsEndpoint := fs.String("sqs-endpoint", os.Getenv("SQS_ENDPOINT"), "SQS endpoint, for the local stack (SQS_ENDPOINT)")
	actor := fs.String("actor", os.Getenv("USER"), "who replays, recorded on each rejection")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: replay [flags] command [args]\n\n"+replay.Usage+"\n\nflags:")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if *table == "" {
		fail(errors.New("the table is not set: -table or TABLE_NAME"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	env := config.Env{TableName: *table, DynamoEndpoint: *dynamoEndpoint}
	// An ops tool: the full default chain (profiles, SSO, roles).
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		fail(err)
	}
	queue := sqs.NewFromConfig(awsCfg, func(o *sqs.Options) {
		if *sqsEndpoint != "" {
			o.BaseEndpoint = aws.String(*sqsEndpoint)
		}
	})
	tool := &replay.Tool{Store: dynamo.New(env.DynamoDB(awsCfg), *table), SQS: queue,
		QueueURL: *queueURL, DLQURL: *dlqURL, Actor: "ops:" + *actor}
	if err := replay.Command(ctx, tool, fs.Args(), os.Stdout); err != nil {
		if errors.Is(err, replay.ErrUsage) {
			fmt.Fprintln(os.Stderr, "replay:", err)
			os.Exit(2)
		}
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "replay:", err)
	os.Exit(1)
}
