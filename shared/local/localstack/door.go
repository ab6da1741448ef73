package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
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
// signs with its local key (PartnerAccessKey) for service lambda, and the
// function gets requestContext.authorizer.iam as AWS fills it for a
// session of the partner's first sender (localgateway.Door). A partner
// without senders is refused as the URL's resource policy refuses it.
func (st *Stack) startDoor(ctx context.Context, addr string, logf func(string, ...any)) error {
	if st.plan.door == "" {
		return nil
	}
	fn := st.funcs[st.plan.door]
	if fn == nil {
		return fmt.Errorf("localstack: the partner door's function %s is not running", st.plan.door)
	}
	d := &localgateway.Door{Region: Region, Invoke: fn.Invoke, Logf: logf}
	for _, p := range st.Program.Partners {
		d.Partners = append(d.Partners, localgateway.DoorPartner{ID: p.ID, AccessKeyID: PartnerAccessKey(p.ID),
			SecretAccessKey: PartnerSecret(p.ID), Senders: p.Senders})
		if len(p.Senders) == 0 {
			logf("partner door: partner %s has no senders in program.json, so the door refuses it (403) as on AWS; add one to call it", p.ID)
		}
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
