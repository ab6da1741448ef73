// Command member-api is the Lambda behind the mobile app's HTTP API routes
// (JWT-authorized). It only wires: configuration, clients and the handler.
package main

import (
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
)

func main() {
	f := config.Load("member-api")
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	svc := &loyalty.Service{Store: store, Referrals: store, Program: f.Program, Clock: loyalty.SystemClock{}}
	metrics := &emf.Writer{W: os.Stdout, Stage: f.Env.Stage}
	lambda.Start(httpapi.NewMemberAPI(svc, store, f.Log).WithMetrics(metrics).Handle)
}
