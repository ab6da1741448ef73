package assembly

import (
	"encoding/json"
	"fmt"
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
