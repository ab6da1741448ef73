package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// StackIDs are the stack names of a stage: one stage per account and region
// is the expected layout, but the stage in the name keeps two apart.
func StackIDs(stage string) (stateful, service string) {
	return "Loyalty-" + stage + "-Stateful", "Loyalty-" + stage + "-Service"
}

// NewApp adds both stacks of cfg's stage to app and applies the cdk-nag
// AwsSolutions checks to everything in it, so the app and the tests run the
// same checks on the same constructs.
func NewApp(app awscdk.App, cfg Config) (*StatefulStack, *ServiceStack) {
	statefulID, serviceID := StackIDs(cfg.Stage)
	stateful := NewStatefulStack(app, statefulID, &StatefulStackProps{Config: cfg})
	service := NewServiceStack(app, serviceID, &ServiceStackProps{Config: cfg, Stateful: stateful})
	// The dashboard stays untagged, as it was before CDK tagged dashboards:
	// cfn-lint 1.51.0, the one these machines have, does not know the Tags
	// of AWS::CloudWatch::Dashboard and would fail the template.
	tags := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard")}
	awscdk.Tags_Of(app).Add(jsii.String("app"), jsii.String("loyalty"), tags)
	awscdk.Tags_Of(app).Add(jsii.String("stage"), jsii.String(cfg.Stage), tags)
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stateful, service
}
