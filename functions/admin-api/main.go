// Command admin-api is the Lambda behind the ops routes of the HTTP API
// (IAM-authorized). It only wires: configuration, clients and the handler.
package main

import (
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/events/partner"
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
	_ loyalty.Catalog       = (*dynamo.Store)(nil)
	_ loyalty.Eraser        = (*dynamo.Store)(nil)
	_ loyalty.ErasureLog    = (*dynamo.Store)(nil)
	_ httpapi.AdminStore    = (*dynamo.Store)(nil)
)

func main() {
	f := config.Load("admin-api")
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	svc := &loyalty.Service{Store: store, Referrals: store, Catalog: store, Erasures: store, ErasureLog: store, Cards: store,
		Inbox: store, Program: f.Program, Clock: loyalty.SystemClock{}}
	metrics := &emf.Writer{W: os.Stdout, Stage: f.Env.Stage}
	api := httpapi.NewAdminAPI(svc, store, f.Log).WithMetrics(metrics).WithPartnerDecoder(partner.DecodeParts)
	lambda.Start(api.Handle)
}
