package assembly

import (
	"encoding/json"
	"fmt"
	"strings"
)

// RolePolicies are the policy documents of a role, resolved: its inline
// policies and every AWS::IAM::Policy attached to it, each with the name
// the template gives it. ManagedPolicyARNs are the managed policies it
// names, which an assembly does not hold.
type RolePolicies struct {
	RoleLogicalID, RoleName, RoleARN string
	Documents                        []PolicyDocument
	ManagedPolicyARNs                []string
}

// PolicyDocument is one named policy document as JSON.
type PolicyDocument struct {
	Name     string // the AWS::IAM::Policy's logical id, or the inline policy's name
	Document json.RawMessage
}

// RolePoliciesOf finds the role whose ARN is roleARN and its policies.
func (a *Assembly) RolePoliciesOf(roleARN string) (RolePolicies, error) {
	for _, r := range a.Resources(TypeRole) {
		arn, err := r.ARN()
		if err != nil {
			return RolePolicies{}, err
		}
		if arn != roleARN {
			continue
		}
		out := RolePolicies{RoleLogicalID: r.LogicalID, RoleARN: arn}
		if out.RoleName, err = r.Name(); err != nil {
			return out, err
		}
		var role struct {
			Policies []struct {
				PolicyName     string          `json:"PolicyName"`
				PolicyDocument json.RawMessage `json:"PolicyDocument"`
			} `json:"Policies"`
			ManagedPolicyArns []string `json:"ManagedPolicyArns"`
		}
		if err := r.Decode(&role); err != nil {
			return out, err
		}
		for _, p := range role.Policies {
			out.Documents = append(out.Documents, PolicyDocument{Name: p.PolicyName, Document: p.PolicyDocument})
		}
		out.ManagedPolicyARNs = role.ManagedPolicyArns
		for _, pr := range a.Resources(TypePolicy) {
			var p struct {
				PolicyDocument json.RawMessage `json:"PolicyDocument"`
				Roles          []string        `json:"Roles"`
			}
			if err := pr.Decode(&p); err != nil {
				return out, err
			}
			for _, name := range p.Roles {
				if name == out.RoleName {
					out.Documents = append(out.Documents, PolicyDocument{Name: pr.LogicalID, Document: p.PolicyDocument})
				}
			}
		}
		return out, nil
	}
	return RolePolicies{}, fmt.Errorf("assembly: no role %s", roleARN)
}

// Resource-based policy types the views read.
const (
	TypeQueuePolicy = "AWS::SQS::QueuePolicy"
	TypePermission  = "AWS::Lambda::Permission"
)

// QueuePolicy is an AWS::SQS::QueuePolicy: one document for the queues it
// names (their names, from the URLs that Ref of a queue gives).
type QueuePolicy struct {
	LogicalID  string
	QueueNames []string
	Document   json.RawMessage
}

// QueuePolicies are the queue policies of the assembly.
func (a *Assembly) QueuePolicies() ([]QueuePolicy, error) {
	var out []QueuePolicy
	for _, r := range a.Resources(TypeQueuePolicy) {
		var p struct {
			Queues         []string        `json:"Queues"`
			PolicyDocument json.RawMessage `json:"PolicyDocument"`
		}
		if err := r.Decode(&p); err != nil {
			return nil, err
		}
		qp := QueuePolicy{LogicalID: r.LogicalID, Document: p.PolicyDocument}
		for _, u := range p.Queues {
			qp.QueueNames = append(qp.QueueNames, u[strings.LastIndexByte(u, '/')+1:])
		}
		out = append(out, qp)
	}
	return out, nil
}

// Permission is an AWS::Lambda::Permission: one statement of a function's
// resource-based policy.
type Permission struct {
	LogicalID             string
	Action                string `json:"Action"`
	FunctionName          string `json:"FunctionName"` // as the template gives it: a name or an ARN
	Principal             string `json:"Principal"`    // an account id, an ARN, a service or "*"
	SourceArn             string `json:"SourceArn"`
	SourceAccount         string `json:"SourceAccount"`
	PrincipalOrgID        string `json:"PrincipalOrgID"`
	EventSourceToken      string `json:"EventSourceToken"`
	FunctionUrlAuthType   string `json:"FunctionUrlAuthType"`
	InvokedViaFunctionURL bool   `json:"InvokedViaFunctionUrl"`
}

// Permissions are the Lambda permissions of the assembly.
func (a *Assembly) Permissions() ([]Permission, error) {
	var out []Permission
	for _, r := range a.Resources(TypePermission) {
		var p Permission
		if err := r.Decode(&p); err != nil {
			return nil, err
		}
		p.LogicalID = r.LogicalID
		out = append(out, p)
	}
	return out, nil
}
