// Command member-api is the Lambda behind the mobile app's HTTP API routes
// (JWT-authorized). It only wires: configuration, clients and the handler.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The DynamoDB store is each port this function uses.
var (
	_ loyalty.Store         = (*dynamo.Store)(nil)
	_ loyalty.ReferralStore = (*dynamo.Store)(nil)
	_ httpapi.MemberStore   = (*dynamo.Store)(nil)
	_ loyalty.CardStore     = (*dynamo.Store)(nil)
)

func main() {
	f := config.Load("member-api")
	sealer, err := f.CodeSealer(context.Background()) // CODE_SECRET_ARN, or CODE_SECRET_FILE locally
	if err != nil {
		f.Log.Error("member-api: code secret", "error", err)
		os.Exit(1)
	}
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	svc := &loyalty.Service{Store: store, Referrals: store, Cards: store, Codes: sealer, Inbox: store, Program: f.Program, Clock: loyalty.SystemClock{}}
	metrics := &emf.Writer{W: os.Stdout, Stage: f.Env.Stage}
	lambda.Start(httpapi.NewMemberAPI(svc, store, f.Log).WithMetrics(metrics).Handle)
}
