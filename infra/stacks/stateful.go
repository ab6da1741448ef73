package stacks

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/shared/spec/table"
)

// StatefulStackProps configures NewStatefulStack.
type StatefulStackProps struct {
	awscdk.StackProps
	Config Config
}

// StatefulStack holds everything that keeps data or identity: replacing or
// deleting any of it loses members' points, partners' messages or logins.
// It has termination protection and every resource is RETAINed.
type StatefulStack struct {
	awscdk.Stack
	TableKey awskms.Key
	Table    awsdynamodb.Table
	// QueueKey encrypts the partner queues and their DLQs; each partner's
	// senders may use it through SQS, for their own queue only.
	QueueKey awskms.Key
	// PartnerQueues are one queue and DLQ per partner of the program file.
	PartnerQueues  []PartnerQueue
	EventBus       awsevents.EventBus
	UserPool       awscognito.IUserPool
	UserPoolClient awscognito.UserPoolClient
	// CodeSecret seals the members' rotating codes (codesecret.go).
	CodeSecret awssecretsmanager.Secret
}

// Partner queue settings. A message a partner sends must never be lost: its
// queue keeps it for 7 days (the backlog alarm fires within the hour), and
// after maxReceiveCount failed deliveries it moves to the DLQ, which keeps
// it for 14 days, the SQS maximum. A message moved to a DLQ keeps its first
// enqueue time, so the DLQ must keep messages longer than its source queue,
// or one that failed late would expire there at once.
const (
	PartnerMaxReceiveCount = 5
	PartnerQueueRetention  = 7 * 24 * time.Hour
	DLQRetention           = 14 * 24 * time.Hour
	archiveRetentionDays   = 365
)

// NewStatefulStack builds the table, the partner queue, the event bus and
// the user pool.
func NewStatefulStack(scope constructs.Construct, id string, props *StatefulStackProps) *StatefulStack {
	sp := props.StackProps
	sp.TerminationProtection = jsii.Bool(true)
	if sp.Description == nil {
		sp.Description = jsii.String(fmt.Sprintf("Loyalty engine (%s): data, queues, event bus and user pool. Retained on delete.", props.Config.Stage))
	}
	stack := awscdk.NewStack(scope, &id, &sp)
	s := &StatefulStack{Stack: stack}
	cfg := props.Config

	s.TableKey = awskms.NewKey(stack, jsii.String("TableKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the loyalty table: members' balances, ledger and lots"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	s.Table = newTable(stack, s.TableKey)

	s.QueueKey = awskms.NewKey(stack, jsii.String("QueueKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the partner queues and their dead-letter queues"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	s.PartnerQueues = newPartnerQueues(stack, s.QueueKey, cfg.Stage, cfg.Partners)
	s.CodeSecret = newCodeSecret(stack, s.TableKey)

	s.EventBus = awsevents.NewEventBus(stack, jsii.String("EventBus"), &awsevents.EventBusProps{
		Description: jsii.String("Outbound domain events of the loyalty engine (versioned detail-types)"),
	})
	s.EventBus.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	// The archive lets ops replay the domain events to a new subscriber or
	// after a subscriber's outage.
	archive := s.EventBus.Archive(jsii.String("EventArchive"), &awsevents.BaseArchiveProps{
		Description:  jsii.String("Every domain event published on the bus, for replay"),
		EventPattern: &awsevents.EventPattern{Account: jsii.Strings(*stack.Account())},
		Retention:    awscdk.Duration_Days(jsii.Number(archiveRetentionDays)),
	})
	archive.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)

	s.UserPool = newUserPool(stack, cfg)
	s.UserPoolClient = awscognito.NewUserPoolClient(stack, jsii.String("AppClient"), &awscognito.UserPoolClientProps{
		UserPool: s.UserPool,
		// The brand's mobile app is a public client: a secret in an app
		// binary is no secret. SRP keeps the password off the wire.
		GenerateSecret: jsii.Bool(false),
		// No hosted UI: the app signs in through the Cognito API, so no
		// OAuth flows or callback URLs are registered.
		DisableOAuth:               jsii.Bool(true),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})
	s.UserPoolClient.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)

	suppressStatefulFindings(s)

	output(stack, "TableName", s.Table.TableName(), "DynamoDB table of balances, ledger and lots")
	output(stack, "PartnerQueueKeyArn", s.QueueKey.KeyArn(), "KMS key partners need kms:GenerateDataKey on to send")
	output(stack, "EventBusName", s.EventBus.EventBusName(), "EventBridge bus of outbound domain events")
	output(stack, "UserPoolId", s.UserPool.UserPoolId(), "Cognito user pool of members")
	output(stack, "UserPoolClientId", s.UserPoolClient.UserPoolClientId(), "App client id the member app signs in with")
	return s
}

// newTable builds the one table from table.Definition, the definition the
// local stack also uses.
func newTable(stack awscdk.Stack, key awskms.IKey) awsdynamodb.Table {
	schema := table.Definition
	str := func(name string) *awsdynamodb.Attribute {
		if name == "" {
			return nil
		}
		return &awsdynamodb.Attribute{Name: jsii.String(name), Type: awsdynamodb.AttributeType_STRING}
	}
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:  str(schema.PartitionKey),
		SortKey:       str(schema.SortKey),
		BillingMode:   awsdynamodb.BillingMode_PAY_PER_REQUEST,
		Encryption:    awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
		EncryptionKey: key,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection:  jsii.Bool(true),
		TimeToLiveAttribute: jsii.String(schema.TTLAttribute),
		RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
	})
	for _, ix := range schema.GlobalIndexes {
		props := &awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(ix.Name),
			PartitionKey:   str(ix.PartitionKey),
			SortKey:        str(ix.SortKey),
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		}
		switch {
		case ix.KeysOnly && len(ix.Include) > 0:
			// The due index carries the copy of the lots the expiry job
			// writes from, so it need not read the account.
			props.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			props.NonKeyAttributes = jsii.Strings(ix.Include...)
		case ix.KeysOnly:
			props.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		}
		table.AddGlobalSecondaryIndex(props)
	}
	return table
}

// newUserPool imports the pool named in context or creates one for members.
func newUserPool(stack awscdk.Stack, cfg Config) awscognito.IUserPool {
	if cfg.UserPoolID != "" {
		return awscognito.UserPool_FromUserPoolId(stack, jsii.String("UserPool"), jsii.String(cfg.UserPoolID))
	}
	return awscognito.NewUserPool(stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(true),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		StandardAttributes: &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:        jsii.Number(10),
			RequireLowercase: jsii.Bool(true),
			RequireUppercase: jsii.Bool(true),
			RequireDigits:    jsii.Bool(true),
			RequireSymbols:   jsii.Bool(true),
		},
		// Members may turn on an authenticator app; see the COG2 suppression.
		Mfa:             awscognito.Mfa_OPTIONAL,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		AccountRecovery: awscognito.AccountRecovery_EMAIL_ONLY,
		// Deleting the pool would lock every member out of their points.
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
}

func output(stack awscdk.Stack, id string, value *string, description string) {
	awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
		Value:       value,
		Description: jsii.String(description),
	})
}
