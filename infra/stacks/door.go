package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// DoorURLOutput is the stack output that holds the partner door's URL.
const DoorURLOutput = "PartnerDoorUrl"

// newPartnerDoor gives the door function (KindDoor) its function URL and
// lets each partner sender of the program file invoke it, as the partner
// queue policy does (partners.go). An HTTP API cannot take principals of
// other accounts (it has no resource policy); a function URL with AuthType
// AWS_IAM can, through the function's resource-based policy. Since October
// 2025 a URL needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction;
// the second is limited to calls through the URL (InvokedViaFunctionUrl),
// so no partner can invoke the function directly. The function binds the
// caller AWS authenticated to the partner whose senders list it
// (shared/ingest door.go).
func newPartnerDoor(stack awscdk.Stack, f Function, fn awslambda.Function, partners []Partner) awslambda.FunctionUrl {
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{AuthType: awslambda.FunctionUrlAuthType_AWS_IAM})
	for _, p := range partners {
		for i, s := range p.Senders {
			id := partnerConstructID(p.ID) + "Sender" + strconv.Itoa(i)
			fn.AddPermission(jsii.String(id+"InvokeUrl"), &awslambda.Permission{
				Principal:           senderPrincipal(s),
				Action:              jsii.String("lambda:InvokeFunctionUrl"),
				FunctionUrlAuthType: awslambda.FunctionUrlAuthType_AWS_IAM,
			})
			fn.AddPermission(jsii.String(id+"InvokeViaUrl"), &awslambda.Permission{
				Principal:             senderPrincipal(s),
				Action:                jsii.String("lambda:InvokeFunction"),
				InvokedViaFunctionUrl: jsii.Bool(true),
			})
		}
	}
	output(stack, DoorURLOutput, url.Url(), "URL of the synchronous partner door ("+f.Name+"): POST a partner message, SigV4-signed for service lambda")
	return url
}
