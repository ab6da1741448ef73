package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
)

// PartDoor is the partner door's function URL (Options.DoorAddr).
const PartDoor = "partner door (function URL)"

// readDoor finds the template's function URL with AuthType AWS_IAM (the
// partner door, infra/stacks/door.go) and the function it invokes.
func (p *plan) readDoor() error {
	for _, r := range p.asm.Resources("AWS::Lambda::Url") {
		var u struct {
			AuthType          string `json:"AuthType"`
			TargetFunctionArn string `json:"TargetFunctionArn"`
		}
		if err := r.Decode(&u); err != nil {
			return err
		}
		if u.AuthType != "AWS_IAM" {
			return fmt.Errorf("function URL %s: auth type %s is not run locally", r.LogicalID, u.AuthType)
		}
		name, ok := p.nameOf[u.TargetFunctionArn]
		if !ok {
			return fmt.Errorf("function URL %s: target %s is no function of the template", r.LogicalID, u.TargetFunctionArn)
		}
		if p.door != "" {
			return fmt.Errorf("function URL %s: got a second one (the first for %s), want one", r.LogicalID, p.door)
		}
		p.door = name
	}
	return nil
}

// startDoor serves the partner door on addr: each partner of the program
// signs with its local key (PartnerAccessKey) for service lambda, stands
// for the principal partnerCaller names (a session of its first sender),
// and may invoke the URL when the door function's permissions from the
// template allow that principal both lambda:InvokeFunctionUrl (with the
// URL's auth type) and lambda:InvokeFunction (via the URL), as AWS asks of
// a function URL; the function gets requestContext.authorizer.iam as AWS
// fills it (localgateway.Door).
func (st *Stack) startDoor(ctx context.Context, addr string, logf func(string, ...any)) error {
	if st.plan.door == "" {
		return nil
	}
	fn := st.funcs[st.plan.door]
	if fn == nil {
		return fmt.Errorf("localstack: the partner door's function %s is not running", st.plan.door)
	}
	arn := st.plan.functions[st.plan.door].ARN
	perms := st.plan.permissions[st.plan.door]
	d := &localgateway.Door{Region: Region, Invoke: fn.Invoke, Logf: logf,
		Authorize: func(partnerID string, iam *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription) error {
			return authorizeDoor(perms, arn, partnerID, localiam.Caller{Account: iam.AccountID, ARN: iam.UserARN}, logf)
		}}
	for _, p := range st.Program.Partners {
		d.Partners = append(d.Partners, localgateway.DoorPartner{ID: p.ID, AccessKeyID: PartnerAccessKey(p.ID),
			SecretAccessKey: PartnerSecret(p.ID), Senders: partnerSenders(p)})
	}
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return &AddrInUseError{Part: PartDoor, Addr: addr}
	}
	if err != nil {
		return fmt.Errorf("localstack: %s: %w", PartDoor, err)
	}
	st.door = &http.Server{Handler: d, ReadHeaderTimeout: 10 * time.Second}
	st.DoorURL = "http://" + ln.Addr().String() + "/"
	go func() { _ = st.door.Serve(ln) }()
	return nil
}

// doorContext is what Lambda's resource-based policy sees of a call through
// an AWS_IAM function URL.
var doorContext = map[string][]string{"lambda:functionurlauthtype": {"AWS_IAM"}, "lambda:invokedviafunctionurl": {"true"},
	"aws:securetransport": {"true"}}

// authorizeDoor decides a partner's call of the door by the function's
// permissions: a URL call needs lambda:InvokeFunctionUrl and
// lambda:InvokeFunction, each allowed for the caller.
func authorizeDoor(perms localiam.Policy, functionARN, partnerID string, caller localiam.Caller, logf func(string, ...any)) error {
	for _, action := range []string{"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} {
		d := perms.Evaluate(localiam.Request{Action: action, Resource: functionARN, Caller: &caller, Context: doorContext})
		if d.Allowed {
			continue
		}
		why := "because no resource-based policy allows the " + action + " action"
		if d.ExplicitDeny {
			why = "with an explicit deny in a resource-based policy (" + d.Statement.Policy + ")"
		}
		logf("IAM: AccessDenied: partner %s (%s), action %s, resource %s: %s", partnerID, caller.ARN, action, functionARN, strings.TrimPrefix(why, "because "))
		return fmt.Errorf("%s is not authorized to perform: %s on resource: %s %s", caller.ARN, action, functionARN, why)
	}
	return nil
}
