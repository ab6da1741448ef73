// Command send-reminders is the Lambda that EventBridge Scheduler runs daily to send expiry, reward and affordability reminders. It
// only wires: configuration, clients and the job's handler (shared/jobs).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/emf"
	"github.com/loyalty-functions/loyalty/shared/eventbus"
	"github.com/loyalty-functions/loyalty/shared/jobs"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

func main() {
	env, err := config.FromEnvironment()
	if err != nil {
		slog.Error("send-reminders: configuration", "error", err)
		os.Exit(1)
	}
	log := env.Logger().With("function", "send-reminders")
	fail := func(what string, err error) {
		log.Error("send-reminders: "+what, "error", err)
		os.Exit(1)
	}
	program, err := env.Program()
	if err != nil {
		fail("program file", err)
	}
	if env.EventBus == "" {
		fail("configuration", errNoBus)
	}
	cfg, err := jobs.ConfigFromEnvironment(os.Getenv)
	if err != nil {
		fail("configuration", err)
	}
	cfg.Shards = dynamo.DueShards
	awsCfg, err := env.AWS(context.Background())
	if err != nil {
		fail("AWS configuration", err)
	}
	store := dynamo.New(env.DynamoDB(awsCfg), env.TableName)
	bus := eventbus.New(eventbus.NewClient(awsCfg, os.Getenv), env.EventBus)
	j := jobs.New(store, program, loyalty.SystemClock{}, bus, cfg, log)
	j.Metrics = &emf.Writer{W: os.Stdout, Stage: env.Stage}
	lambda.Start(j.Handler(jobs.SendReminders))
}

var errNoBus = configError("EVENT_BUS_NAME is not set")

type configError string

func (e configError) Error() string { return string(e) }
