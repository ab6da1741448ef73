package stacks

import (
	"fmt"
	"regexp"

	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// cdk-nag suppressions. Each one names the finding it accepts, on the one
// construct it applies to (and, for IAM5, the one wildcard it accepts), and
// says why. Anything else cdk-nag reports fails the synth and the tests.

// Reasons, shared with the IAM test's list of allowed wildcards.
const (
	ReasonXRay = "X-Ray tracing (Tracing: ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, " +
		"which support no resource-level permissions, so Resource must be *. The IAM test allows exactly these two actions on *."
	ReasonInvokeVersions = "CDK's LambdaInvoke target grants lambda:InvokeFunction on the one job function's ARN and ARN:* " +
		"(its versions and aliases); the wildcard never reaches another function."
	reasonJobDLQ = "This queue is itself a dead-letter queue: the EventBridge Scheduler DeadLetterConfig of its job's schedule " +
		"and the job function's async on-failure destination point at it; cdk-nag only recognises DLQs named in an SQS RedrivePolicy."
	reasonMFA = "Members sign in to a brand's loyalty app; forcing MFA on every member would block sign-up for a points balance. " +
		"MFA is OPTIONAL with TOTP, so members may turn it on; redemption is bounded by the points held."
	reasonAdvancedSecurity = "Threat protection (advanced security) needs the Cognito Plus feature plan, billed per monthly active user, " +
		"which the brand opts into; the engine must cost nothing at idle. API throttling bounds abuse meanwhile."
)

func suppressStatefulFindings(s *StatefulStack) {
	if s.UserPool.Node().DefaultChild() == nil {
		return // imported pool: not ours to configure
	}
	suppress(s.UserPool, "AwsSolutions-COG2", reasonMFA)
	suppress(s.UserPool, "AwsSolutions-COG3", reasonAdvancedSecurity)
}

func suppressServiceFindings(s *ServiceStack) {
	for name, fn := range s.Functions {
		suppress(fn.Role(), "AwsSolutions-IAM5", ReasonXRay, "Resource::*")
		if _, ok := s.JobDLQs[name]; ok {
			// The schedule role of this job: the wildcard on its function's
			// versions, matched by the function's construct id.
			role := s.Node().FindChild(jsii.String(constructID(name) + "ScheduleRole"))
			suppressRegex(role, "AwsSolutions-IAM5", ReasonInvokeVersions,
				fmt.Sprintf(`/^Resource::<%s[0-9A-F]{8}\.Arn>:\*$/`, regexp.QuoteMeta(constructID(name))))
			suppress(s.JobDLQs[name], "AwsSolutions-SQS3", reasonJobDLQ)
		}
	}
}

func suppress(c constructs.IConstruct, id, reason string, appliesTo ...string) {
	var applies *[]interface{}
	if len(appliesTo) > 0 {
		a := make([]interface{}, len(appliesTo))
		for i, v := range appliesTo {
			a[i] = v
		}
		applies = &a
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(id), Reason: jsii.String(reason), AppliesTo: applies},
	}, jsii.Bool(true))
}

func suppressRegex(c constructs.IConstruct, id, reason, regex string) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{Id: jsii.String(id), Reason: jsii.String(reason), AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(regex)}}},
	}, jsii.Bool(true))
}
