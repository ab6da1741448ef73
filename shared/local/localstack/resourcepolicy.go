package localstack

import (
	"strings"

	"github.com/loyalty-functions/loyalty/shared/local/assembly"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
)

// Resource-based policies from the template, evaluated for the callers
// from other accounts (the partners) and, with the role's own policies,
// for the functions: each queue's AWS::SQS::QueuePolicy (queue.go) and the
// AWS::Lambda::Permission statements of each function (the partner door,
// door.go). KMS key policies are not: there is no local KMS.

// readResourcePolicies reads the queue policies and the permissions.
func (p *plan) readResourcePolicies() error {
	p.queuePolicies, p.permissions = map[string]localiam.Policy{}, map[string]localiam.Policy{}
	qps, err := p.asm.QueuePolicies()
	if err != nil {
		return err
	}
	secure := false
	for _, qp := range qps {
		sts, err := localiam.ParsePolicy(qp.LogicalID, qp.Document)
		if err != nil {
			return err
		}
		for _, st := range sts {
			for _, keys := range st.Condition {
				_, has := keys["aws:securetransport"]
				secure = secure || has
			}
		}
		for _, q := range qp.QueueNames {
			pol := p.queuePolicies[q]
			pol.Statements = append(pol.Statements, sts...)
			p.queuePolicies[q] = pol
		}
	}
	if secure {
		p.note("queue policies: aws:SecureTransport is true for every call, as the local endpoints (plain HTTP on 127.0.0.1) stand for AWS's HTTPS ones, so their Deny of plain HTTP never matches here")
	}
	perms, err := p.asm.Permissions()
	if err != nil {
		return err
	}
	for _, pm := range perms {
		fn, ok := p.nameOf[pm.FunctionName]
		if !ok {
			p.note("permission %s: function %s is not in the assembly; not evaluated", pm.LogicalID, pm.FunctionName)
			continue
		}
		pol := p.permissions[fn]
		pol.Statements = append(pol.Statements, permissionStatement(pm, p.functions[fn].ARN))
		p.permissions[fn] = pol
	}
	if n := len(p.asm.Resources("AWS::KMS::Key")); n > 0 {
		p.note("KMS key policies (%d keys) are not evaluated: there is no local KMS, nothing is encrypted and no kms: call is made", n)
	}
	return nil
}

// permissionStatement is the statement Lambda adds to a function's
// resource-based policy for an AWS::Lambda::Permission, with the condition
// keys Lambda writes for its properties.
func permissionStatement(pm assembly.Permission, functionARN string) localiam.Statement {
	kind := "AWS"
	if strings.HasSuffix(pm.Principal, ".amazonaws.com") {
		kind = "Service"
	}
	st := localiam.Statement{Policy: "permission " + pm.LogicalID, Sid: pm.LogicalID, Effect: "Allow",
		Principal: map[string][]string{kind: {pm.Principal}}, Action: []string{pm.Action}, Resource: []string{functionARN},
		Condition: map[string]map[string][]string{}}
	add := func(op, key, value string) {
		if value == "" {
			return
		}
		if st.Condition[op] == nil {
			st.Condition[op] = map[string][]string{}
		}
		st.Condition[op][key] = []string{value}
	}
	add("StringEquals", "lambda:functionurlauthtype", pm.FunctionUrlAuthType)
	if pm.InvokedViaFunctionURL {
		add("Bool", "lambda:invokedviafunctionurl", "true")
	}
	add("ArnLike", "aws:sourcearn", pm.SourceArn)
	add("StringEquals", "aws:sourceaccount", pm.SourceAccount)
	add("StringEquals", "aws:principalorgid", pm.PrincipalOrgID)
	add("StringEquals", "lambda:eventsourcetoken", pm.EventSourceToken)
	return st
}
