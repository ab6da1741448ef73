// Package opsaws gives the ops commands (loyaltyops, replay) the AWS
// configuration of their target. Against AWS: the standard credential
// chain (environment, profiles, SSO, roles) and a line saying which
// account, identity and region the command talks to, checked with STS
// before anything else is called. Against the local stack: the endpoints,
// region and development keys of its state file (package localstate), so
// nothing waits on instance metadata or needs a profile.
//
// It links the AWS SDK and localstate, never the local stack itself.
package opsaws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// Local is the configuration for the local stack s: its region and the
// static development key of its DynamoDB Local (which, keeping its data
// with -sharedDb, shows every key the same tables).
func Local(s localstate.State) aws.Config {
	return aws.Config{Region: s.Region,
		Credentials: credentials.NewStaticCredentialsProvider(s.DynamoDB.AccessKeyID, s.DynamoDB.SecretAccessKey, "")}
}

// FindLocal finds the running local stack, with an error that says what
// to do when none runs: start it, or name an AWS target with awsFlags.
func FindLocal(awsFlags string) (localstate.State, error) {
	s, _, err := localstate.Find()
	if err != nil {
		var stale *localstate.StaleError
		if errors.As(err, &stale) {
			return s, err
		}
		return s, fmt.Errorf("%w; for AWS, give %s", err, awsFlags)
	}
	return s, nil
}

// AWS loads the standard chain and says who and where it is, as
// "account 123456789012 as arn:aws:iam::...:role/ops in eu-central-1".
// It fails with a plain reason when no region or no credentials are set.
func AWS(ctx context.Context) (aws.Config, string, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return cfg, "", fmt.Errorf("load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return cfg, "", errors.New("no AWS region: set AWS_REGION, or AWS_PROFILE with a profile that has one")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return cfg, "", fmt.Errorf("who am I on AWS (sts:GetCallerIdentity in %s): %w; check the credentials (AWS_PROFILE, aws sso login)", cfg.Region, err)
	}
	return cfg, fmt.Sprintf("account %s as %s in %s", aws.ToString(id.Account), aws.ToString(id.Arn), cfg.Region), nil
}
