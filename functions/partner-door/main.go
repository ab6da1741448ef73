// Command partner-door is the Lambda behind the synchronous partner door: a
// function URL with AuthType AWS_IAM whose resource policy lets only the
// program's partner senders invoke it (infra/stacks/door.go). A till sends
// the message it would put on its queue and gets back the points earned,
// the balance and any reward issued. It only wires: configuration, clients
// and the door of package ingest, which takes the queue's own path.
//
// Environment: as functions/ingest (TABLE_NAME, PROGRAM_FILE, STAGE,
// LOG_LEVEL, DYNAMODB_ENDPOINT, CODE_SECRET_ARN or CODE_SECRET_FILE).
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
	f := config.Load("partner-door")
	sealer, err := f.CodeSealer(context.Background()) // opens the members' rotating codes
	if err != nil {
		f.Log.Error("partner-door: code secret", "error", err)
		os.Exit(1)
	}
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	h, err := ingest.New(ingest.Config{
		Service: &loyalty.Service{Store: store, Referrals: store, Cards: store, Codes: sealer, Inbox: store,
			Program: f.Program, Clock: loyalty.SystemClock{}},
		Rejections: store,
		Logger:     f.Log,
		Stage:      f.Env.Stage,
	})
	if err != nil {
		f.Log.Error("partner-door: handler", "error", err)
		os.Exit(1)
	}
	lambda.Start(h.HandleDoor)
}
