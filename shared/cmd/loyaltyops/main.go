// Command loyaltyops is the ops tool for a deployed engine and for the
// running local stack. It links the domain and the DynamoDB store only,
// never the local stack:
//
//	loyaltyops validate [FILE]        check a program file (default program.json); exit 1 with file, field and reason
//	loyaltyops audit [-table NAME]    check every member: balance = ledger = lots (it Scans: ops only, never a request path)
//
// Without -table, audit checks the running local stack, found through its
// state file (.cache/localstack.json, package localstate): no endpoint, key
// or region to give. With -table it talks to AWS with the standard
// credential chain (profiles, SSO, roles) and first says which account,
// identity and region that is. Flags may stand anywhere. Partner rejections
// and the DLQs are the replay command's (shared/cmd/replay).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/loyalty-functions/loyalty/shared/cmd/internal/opsaws"
	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
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
	fmt.Fprintln(os.Stderr, "usage: loyaltyops validate [FILE] | audit [-table NAME [-endpoint URL]] [-segments 4]")
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
	locales := p.Locales()
	fallbacks := p.LocaleFallbacks()
	fmt.Printf("%s: locales %s (default), %d others %v; %d texts fall back\n", path, locales[0], len(locales)-1, locales[1:], len(fallbacks))
	for _, f := range fallbacks {
		fmt.Printf("%s: %s\n", path, f)
	}
	return nil
}

// awsTarget is what names an AWS target for audit; without it, audit
// checks the running local stack.
const awsTarget = "-table NAME (the stack output TableName)"

func audit(args []string) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	table := fs.String("table", "", "the loyalty table on AWS (stack output TableName); empty: the running local stack's")
	endpoint := fs.String("endpoint", "", "a DynamoDB endpoint other than AWS's (another DynamoDB Local); needs -table")
	segments := fs.Int("segments", 4, "parallel scan segments")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("audit takes flags only, got the argument %q (the table is -table NAME)", rest[0])
	}
	if *endpoint != "" && *table == "" {
		return errors.New("audit: -endpoint needs -table")
	}
	ctx := context.Background()
	env := config.Env{TableName: *table, DynamoEndpoint: *endpoint}
	var cfg aws.Config
	switch {
	case *table == "":
		s, err := opsaws.FindLocal(awsTarget)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		cfg, env.TableName, env.DynamoEndpoint = opsaws.Local(s), s.DynamoDB.Table, s.DynamoDB.Endpoint
		fmt.Fprintf(os.Stderr, "loyaltyops: auditing table %s of the local stack (DynamoDB Local at %s)\n", env.TableName, env.DynamoEndpoint)
	case *endpoint != "":
		// Another DynamoDB Local: its tables live under the key it was
		// started with ("local" in the local stack) unless it shares one
		// database.
		cfg = aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
		fmt.Fprintf(os.Stderr, "loyaltyops: auditing table %s at %s\n", *table, *endpoint)
	default:
		var who string
		if cfg, who, err = opsaws.AWS(ctx); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		fmt.Fprintf(os.Stderr, "loyaltyops: auditing table %s on AWS: %s\n", *table, who)
	}
	rep, err := dynamo.New(env.DynamoDB(cfg), env.TableName).Audit(ctx, *segments)
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
