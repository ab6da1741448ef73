package localiam

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Caller is the principal that made a request, as the Principal element of
// a resource-based policy names it.
type Caller struct {
	// Account is the 12-digit account the principal belongs to.
	Account string
	// ARN is the principal's own ARN: a user (arn:aws:iam::A:user/NAME), a
	// role's session (arn:aws:sts::A:assumed-role/ROLE/SESSION) or the
	// account's root (arn:aws:iam::A:root).
	ARN string
	// Service is a service principal ("lambda.amazonaws.com") when a
	// service makes the call; empty for an account's principals.
	Service string
}

// parsePrincipal reads a Principal element: "*", or an object of kind ->
// one value or a list ({"AWS": ["123456789012", "arn:..."], "Service":
// "x.amazonaws.com"}). An absent element is nil.
func parsePrincipal(raw json.RawMessage) (map[string][]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return nil, fmt.Errorf("got %q, want \"*\" or an object such as {\"AWS\": ...}", star)
		}
		return map[string][]string{"AWS": {"*"}}, nil
	}
	var kinds map[string]stringList
	if err := json.Unmarshal(raw, &kinds); err != nil {
		return nil, fmt.Errorf("got %s, want \"*\" or an object such as {\"AWS\": ...}", raw)
	}
	// Federated and CanonicalUser name principals the local stack never
	// has: kept, they match no local caller.
	out := make(map[string][]string, len(kinds))
	for kind, values := range kinds {
		out[kind] = values
	}
	return out, nil
}

// namedBy reports whether one of the principals names c, as IAM matches
// the Principal element: "*" is everyone; an account id, or the account's
// root ARN, is every principal of that account (the account's own
// policies decide further); a role ARN is the role and its sessions (the
// session ARN drops the role's path); any other ARN is that principal; a
// service name is that service.
func (c *Caller) namedBy(principals map[string][]string) bool {
	for kind, values := range principals {
		for _, v := range values {
			switch kind {
			case "AWS":
				if awsPrincipalNames(v, *c) {
					return true
				}
			case "Service":
				if c.Service != "" && v == c.Service {
					return true
				}
			}
		}
	}
	return false
}

// awsPrincipalNames matches one value of Principal {"AWS": ...}.
func awsPrincipalNames(p string, c Caller) bool {
	if c.Service != "" {
		return p == "*"
	}
	if p == "*" {
		return true
	}
	if isAccountID(p) {
		return c.Account == p
	}
	parts := strings.SplitN(p, ":", 6) // arn, partition, service, region, account, resource
	if len(parts) != 6 || parts[0] != "arn" {
		return false
	}
	if parts[2] == "iam" && parts[5] == "root" {
		return c.Account == parts[4]
	}
	if p == c.ARN {
		return true
	}
	if parts[2] == "iam" && strings.HasPrefix(parts[5], "role/") {
		name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
		prefix := "arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/"
		session, ok := strings.CutPrefix(c.ARN, prefix)
		return ok && session != "" && !strings.Contains(session, "/")
	}
	return false
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
