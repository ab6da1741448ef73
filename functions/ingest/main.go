// Command ingest is the Lambda behind the partner queues (one SQS event
// source mapping per partner's queue, with ReportBatchItemFailures). It only
// wires: configuration, clients and the handler of package ingest.
//
// Environment: TABLE_NAME, PROGRAM_FILE, STAGE (it names the partner queues,
// from which the handler knows each message's sender), LOG_LEVEL,
// DYNAMODB_ENDPOINT (see package config), CODE_SECRET_ARN or CODE_SECRET_FILE
// (the secret that seals the members' rotating codes, config/secret.go) and
// REFUND_WAIT_RECEIVES (default 4; keep it below the queues' maxReceiveCount).
//
// It imports only what it wires (config, dynamo, ingest, loyalty and the
// Lambda runtime); behaviour belongs in package ingest, where it is tested.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/ingest"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The DynamoDB store is each port this function uses.
var (
	_ loyalty.Store            = (*dynamo.Store)(nil)
	_ loyalty.ReferralStore    = (*dynamo.Store)(nil)
	_ ingest.RejectionRecorder = (*dynamo.Store)(nil)
	_ loyalty.CardStore        = (*dynamo.Store)(nil)
)

func main() {
	f := config.Load("ingest")
	wait, err := ingest.ParseRefundWaitReceives(os.Getenv("REFUND_WAIT_RECEIVES"))
	if err != nil {
		f.Log.Error("ingest: configuration", "error", err)
		os.Exit(1)
	}
	sealer, err := f.CodeSealer(context.Background()) // opens the members' rotating codes
	if err != nil {
		f.Log.Error("ingest: code secret", "error", err)
		os.Exit(1)
	}
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	h, err := ingest.New(ingest.Config{
		Service: &loyalty.Service{Store: store, Referrals: store, Cards: store, Codes: sealer, Inbox: store,
			Program: f.Program, Clock: loyalty.SystemClock{}},
		Rejections:         store,
		Logger:             f.Log,
		Stage:              f.Env.Stage,
		RefundWaitReceives: wait,
	})
	if err != nil {
		f.Log.Error("ingest: handler", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
