// Command infra is the CDK app of the loyalty engine: `cdk synth` and
// `cdk deploy` run it (cdk.json: "go run ./infra"). It reads the
// configuration from CDK context, builds the two stacks of package stacks
// and applies the cdk-nag AwsSolutions checks, so a finding fails the synth.
//
// It only wires: every resource lives in package stacks. It reads the
// program file with the domain's parser (loyalty.ParseProgram), so an
// invalid program never synthesizes, let alone deploys; it links no adapter
// and no AWS SDK for Go (an import-rules test holds it so).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/infra/stacks"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
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
	b, err := os.ReadFile(cfg.ProgramFile)
	if err != nil {
		return fmt.Errorf("program file: %w", err)
	}
	program, err := loyalty.ParseProgram(filepath.Base(cfg.ProgramFile), b)
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
