package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"
)

// The code secret seals the rotating codes members show at the till
// (issue 15): the member API seals them, the ingest opens them without a
// table read. It lives in Secrets Manager, generated at the first deploy and
// never in a template, the program file or a function's environment (which
// holds only its ARN, CODE_SECRET_ARN); each function reads it once at
// start (shared/config/secret.go).

// CodeSecretEnv names the code secret's ARN in a function's environment.
const CodeSecretEnv = "CODE_SECRET_ARN"

// CodeSecretReaders are the functions that seal or open codes, the only
// roles that may read the secret.
var CodeSecretReaders = map[string]bool{"member-api": true, "ingest": true, "partner-door": true}

// reasonCodeSecretRotation answers cdk-nag's AwsSolutions-SMG4.
const reasonCodeSecretRotation = "The code secret seals codes that live at most an hour, and functions read it once at start: " +
	"a rotation needs both secrets open for an hour, which the sealer does not support yet. Rotate by replacing the secret " +
	"in a quiet hour (codes in flight are then refused as code_forged, members open a new one)."

// newCodeSecret makes the secret: 64 random characters, encrypted with key,
// retained when the stack goes.
func newCodeSecret(stack awscdk.Stack, key awskms.IKey) awssecretsmanager.Secret {
	s := awssecretsmanager.NewSecret(stack, jsii.String("CodeSecret"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("Seals the rotating codes members show at the till (read by member-api and ingest)"),
		EncryptionKey: key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	suppress(s, "AwsSolutions-SMG4", reasonCodeSecretRotation)
	return s
}

// grantCodeSecret gives a reader of codes the secret's ARN and the right to
// read it, nothing else. On the role's policy only: the secret's GrantRead
// would also name the role in the table key's policy, in the stateful
// stack, which then depended on the service stack. Decrypting with the
// table key every function may already (newFunction).
func grantCodeSecret(name string, env map[string]*string, role awsiam.IRole, st *StatefulStack) {
	if !CodeSecretReaders[name] {
		return
	}
	env[CodeSecretEnv] = st.CodeSecret.SecretArn()
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      role,
		Actions:      jsii.Strings("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
		ResourceArns: jsii.Strings(*st.CodeSecret.SecretArn()),
	})
}
