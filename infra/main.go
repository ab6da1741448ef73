// Command infra is the CDK app of the loyalty engine: `cdk synth` and
// `cdk deploy` run it (cdk.json: "go run ./infra"). It reads the
// configuration from CDK context, builds the two stacks of package stacks
// and applies the cdk-nag AwsSolutions checks, so a finding fails the synth.
//
// It only wires: every resource lives in package stacks. It imports
// shared/config only to validate the program file, so an invalid program
// never synthesizes, let alone deploys; it must not import function code.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/config"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	cfg, err := stacks.ConfigFromContext(app.Node())
	if err != nil {
		return err
	}
	program, err := config.ReadProgram(cfg.ProgramFile)
	if err != nil {
		return fmt.Errorf("program file: %w", err)
	}
	// The schedules run in the program's timezone, whatever the context says;
	// each partner of the program gets its queue, open to its senders only.
	cfg.Timezone = program.Timezone
	for _, p := range program.Partners {
		cfg.Partners = append(cfg.Partners, stacks.Partner{ID: p.ID, Senders: p.Senders})
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if missing := stacks.MissingBootstraps(cfg.DistDir, stacks.Functions); len(missing) > 0 {
		return fmt.Errorf("missing %v: build the functions first (make build), or point -c distDir=... at a folder holding <function>/bootstrap", missing)
	}
	stacks.NewApp(app, cfg)
	app.Synth(nil)
	return nil
}
