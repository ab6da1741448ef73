package localstack

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

// GIVEN the synthesized assembly of program.json, WHEN its resource-based
// policies are read, THEN each partner's queue policy lets the principal
// its key stands for send to that queue and not the other's, the queues'
// Deny of plain HTTP denies a call without TLS, the door's permissions let
// every partner with senders in and nobody else, and the start notes say
// what is assumed (aws:SecureTransport) and not evaluated (KMS key policies).
func TestResourcePoliciesComeFromTheTemplate(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, _, err := AssemblyDir(context.Background(), root, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := loadPlan(dir, func() string { return "http://127.0.0.1:1" })
	if err != nil {
		t.Fatal(err)
	}
	prog, err := config.ReadProgram(filepath.Join(root, "program.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Partners) < 2 {
		t.Fatalf("program.json: got %d partners, want at least 2", len(prog.Partners))
	}
	for i, pt := range prog.Partners {
		other := prog.Partners[(i+1)%len(prog.Partners)]
		if len(pt.Senders) == 0 {
			t.Fatalf("program.json: partner %s has no senders", pt.ID)
		}
		queue := partnerqueue.Name(Stage, pt.ID)
		pol, ok := p.queuePolicies[queue]
		if !ok {
			t.Fatalf("queue %s: no policy in the template", queue)
		}
		send := func(c localiam.Caller, secure string) localiam.Decision {
			return pol.Evaluate(localiam.Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:" + Region + ":" + sqslocal.AccountID + ":" + queue,
				Caller: &c, Context: map[string][]string{"aws:securetransport": {secure}}})
		}
		if d := send(partnerCaller(pt), "true"); !d.Allowed {
			t.Errorf("%s to its own queue: got %+v, want allowed", pt.ID, d)
		}
		if d := send(partnerCaller(other), "true"); d.Allowed {
			t.Errorf("%s to %s's queue: got allowed by %s, want denied", other.ID, pt.ID, d.Statement.Policy)
		}
		if d := send(partnerCaller(pt), "false"); !d.ExplicitDeny {
			t.Errorf("%s to its own queue without TLS: got %+v, want the explicit deny", pt.ID, d)
		}
		if err := authorizeDoor(p.permissions[p.door], p.functions[p.door].ARN, pt.ID, partnerCaller(pt), t.Logf); err != nil {
			t.Errorf("%s at the door: %v", pt.ID, err)
		}
	}
	stranger := localiam.Caller{Account: NoSenderAccount, ARN: "arn:aws:iam::" + NoSenderAccount + ":user/local-partner-x"}
	if err := authorizeDoor(p.permissions[p.door], p.functions[p.door].ARN, "x", stranger, t.Logf); err == nil ||
		!strings.Contains(err.Error(), "because no resource-based policy allows the lambda:InvokeFunctionUrl action") {
		t.Errorf("a principal no sender names at the door: got %v, want refused for lambda:InvokeFunctionUrl", err)
	}
	notes := strings.Join(p.notes, "\n")
	for _, want := range []string{"aws:SecureTransport is true", "KMS key policies"} {
		if !strings.Contains(notes, want) {
			t.Errorf("start notes: got none with %q in\n%s", want, notes)
		}
	}
}
