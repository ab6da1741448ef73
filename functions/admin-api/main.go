// Command admin-api is the Lambda behind the ops routes of the HTTP API
// (IAM-authorized). It only wires: configuration, clients and the handler.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func main() {
	env, err := config.FromEnvironment()
	if err != nil {
		slog.Error("admin-api: configuration", "error", err)
		os.Exit(1)
	}
	log := env.Logger().With("function", "admin-api")
	program, err := env.Program()
	if err != nil {
		log.Error("admin-api: program file", "error", err)
		os.Exit(1)
	}
	awsCfg, err := env.AWS(context.Background())
	if err != nil {
		log.Error("admin-api: AWS configuration", "error", err)
		os.Exit(1)
	}
	store := dynamo.New(env.DynamoDB(awsCfg), env.TableName)
	svc := &loyalty.Service{Store: store, Program: program, Clock: loyalty.SystemClock{}}
	metrics := &emf.Writer{W: os.Stdout, Stage: env.Stage}
	lambda.Start(httpapi.NewAdminAPI(svc, store, log).WithMetrics(metrics).Handle)
}
