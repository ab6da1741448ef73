// Package jobrun is the composition root the scheduled job functions share:
// each functions/<job>/main.go calls Start with its job's name, and this
// package wires configuration, the DynamoDB store, the EventBridge bus and
// the metrics to the job's handler in package jobs.
//
// It imports the adapters and the jobs; nothing imports it but the job
// functions.
package jobrun

import (
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The DynamoDB store is the jobs' store.
var _ jobs.Store = (*dynamo.Store)(nil)

// Start runs the Lambda of one job (jobs.ExpirePoints, ...). It returns only
// if the function cannot start, after logging why.
func Start(job string) {
	f := config.Load(job)
	fail := func(err error) {
		f.Log.Error(job+": configuration", "error", err)
		os.Exit(1)
	}
	if f.Env.EventBus == "" {
		fail(errors.New("EVENT_BUS_NAME is not set"))
	}
	cfg, err := jobs.ConfigFromEnvironment(os.Getenv)
	if err != nil {
		fail(err)
	}
	cfg.Shards = dynamo.DueShards
	store := dynamo.New(f.Env.DynamoDB(f.AWS), f.Env.TableName)
	bus := eventbus.New(eventbus.NewClient(f.AWS, os.Getenv), f.Env.EventBus)
	j := jobs.New(store, f.Program, loyalty.SystemClock{}, bus, cfg, f.Log)
	j.Metrics = &emf.Writer{W: os.Stdout, Stage: f.Env.Stage}
	lambda.Start(j.Handler(job))
}
