// Command loyaltyops is the ops tool for a deployed engine (and, with
// -endpoint, DynamoDB Local). It links the domain and the DynamoDB store
// only, never the local stack:
//
//	loyaltyops validate [FILE]                       check a program file (default program.json); exit 1 with file, field and reason
//	loyaltyops audit -table NAME [-endpoint URL]     check every member: balance = ledger = lots (it Scans: ops only, never a request path)
//
// Against AWS it uses the standard credential chain (profiles, SSO, roles)
// and says which account and region it talks to. Partner rejections and the
// DLQs are the replay command's (shared/cmd/replay).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "validate":
		err = validate(os.Args[2:])
	case "audit":
		err = audit(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loyaltyops:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loyaltyops validate [FILE] | audit -table NAME [-endpoint URL] [-segments 4]")
	os.Exit(2)
}

// validate checks a program file the way every function does at start.
func validate(args []string) error {
	path := "program.json"
	if len(args) > 1 {
		return fmt.Errorf("validate takes one file, got %v", args)
	}
	if len(args) == 1 {
		path = args[0]
	}
	p, err := config.ReadProgram(path)
	if err != nil {
		return err
	}
	fmt.Printf("%s: valid (program %s, %s, %s; %d promotions, %d tiers, %d stamp cards, %d rewards, %d partners)\n",
		path, p.ID, p.Currency, p.Timezone, len(p.Promotions), len(p.Tiers.Levels), len(p.StampCards), len(p.Rewards), len(p.Partners))
	return nil
}

// localRegion is the region DynamoDB Local is addressed in.
const localRegion = "us-east-1"

func audit(args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	table := fs.String("table", "", "the loyalty table (stack output TableName)")
	endpoint := fs.String("endpoint", "", "DynamoDB endpoint, e.g. DynamoDB Local's; empty for AWS")
	segments := fs.Int("segments", 4, "parallel scan segments")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit: unexpected arguments %v (flags go before nothing else)", fs.Args())
	}
	if *table == "" {
		return errors.New("audit: -table is required")
	}
	env := config.Env{TableName: *table, DynamoEndpoint: *endpoint}
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	if *endpoint != "" {
		// DynamoDB Local takes any key; its tables live under the key it
		// was started with ("local" in the local stack).
		cfg.Region = localRegion
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		fmt.Fprintf(os.Stderr, "loyaltyops: auditing table %s at %s\n", *table, *endpoint)
	} else {
		fmt.Fprintf(os.Stderr, "loyaltyops: auditing table %s in region %s with the default AWS credentials\n", *table, cfg.Region)
	}
	rep, err := dynamo.New(env.DynamoDB(cfg), *table).Audit(ctx, *segments)
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(rep, "", "  ")
	fmt.Println(string(out))
	if len(rep.Problems) > 0 {
		return fmt.Errorf("audit: %d of %d members disagree", len(rep.Problems), rep.Members)
	}
	return nil
}
