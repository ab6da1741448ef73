package localiam

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
)

// Policy is an IAM policy: the statements of one or more policy documents
// of a role (identity-based) or of a resource (resource-based: a queue
// policy, a function's permissions), evaluated as IAM evaluates one
// policy: an explicit Deny wins, else an Allow that matches allows, else
// the request is implicitly denied. A statement with a Principal (or
// NotPrincipal) matches only a request whose Caller it names (principal.go).
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a policy document, as IAM reads it.
type Statement struct {
	Policy      string // the document it came from, for reports
	Sid         string
	Effect      string // Allow or Deny
	Action      []string
	NotAction   []string
	Resource    []string
	NotResource []string
	// Principal and NotPrincipal are a resource-based statement's
	// principals by kind ("AWS", "Service"), "*" as {"AWS": ["*"]}; nil in
	// an identity-based policy.
	Principal    map[string][]string
	NotPrincipal map[string][]string
	// Condition is operator -> key -> values.
	Condition map[string]map[string][]string
}

// stringList reads an IAM string-or-list field.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*s = many
	return nil
}

// ParsePolicy reads a policy document (JSON, its intrinsic functions
// resolved) into statements; name says where it came from.
func ParsePolicy(name string, doc []byte) ([]Statement, error) {
	var d struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("localiam: policy %s: %w", name, err)
	}
	type rawStatement struct {
		Sid          string                           `json:"Sid"`
		Effect       string                           `json:"Effect"`
		Action       stringList                       `json:"Action"`
		NotAction    stringList                       `json:"NotAction"`
		Resource     stringList                       `json:"Resource"`
		NotResource  stringList                       `json:"NotResource"`
		Principal    json.RawMessage                  `json:"Principal"`
		NotPrincipal json.RawMessage                  `json:"NotPrincipal"`
		Condition    map[string]map[string]stringList `json:"Condition"`
	}
	var raws []rawStatement
	if len(d.Statement) > 0 && d.Statement[0] == '{' {
		var one rawStatement
		if err := json.Unmarshal(d.Statement, &one); err != nil {
			return nil, fmt.Errorf("localiam: policy %s: %w", name, err)
		}
		raws = []rawStatement{one}
	} else if err := json.Unmarshal(d.Statement, &raws); err != nil {
		return nil, fmt.Errorf("localiam: policy %s: %w", name, err)
	}
	var out []Statement
	for i, r := range raws {
		if r.Effect != "Allow" && r.Effect != "Deny" {
			return nil, fmt.Errorf("localiam: policy %s statement %d: Effect %q", name, i, r.Effect)
		}
		st := Statement{Policy: name, Sid: r.Sid, Effect: r.Effect, Action: r.Action, NotAction: r.NotAction,
			Resource: r.Resource, NotResource: r.NotResource}
		var err error
		if st.Principal, err = parsePrincipal(r.Principal); err != nil {
			return nil, fmt.Errorf("localiam: policy %s statement %d: Principal: %w", name, i, err)
		}
		if st.NotPrincipal, err = parsePrincipal(r.NotPrincipal); err != nil {
			return nil, fmt.Errorf("localiam: policy %s statement %d: NotPrincipal: %w", name, i, err)
		}
		for op, keys := range r.Condition {
			if !knownOperator(op) {
				return nil, fmt.Errorf("localiam: policy %s statement %d: condition operator %s is not evaluated locally", name, i, op)
			}
			if st.Condition == nil {
				st.Condition = map[string]map[string][]string{}
			}
			st.Condition[op] = map[string][]string{}
			for k, v := range keys {
				st.Condition[op][strings.ToLower(k)] = v
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func knownOperator(op string) bool {
	switch strings.TrimSuffix(op, "IfExists") {
	case "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringLike", "StringNotLike",
		"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool":
		return true
	}
	return false
}

// Request is one authorization question: an action ("dynamodb:Query") on
// a resource ARN, with the values of the condition keys it carries.
type Request struct {
	Action   string
	Resource string
	// Context holds condition keys (lower case, "aws:sourcearn") and their
	// values.
	Context map[string][]string
	// Caller is who signed the request, for the Principal of a
	// resource-based policy; nil matches no statement with a Principal.
	Caller *Caller
}

// Decision says how a request was decided and by which statement.
type Decision struct {
	Allowed      bool
	ExplicitDeny bool
	Statement    *Statement // the Deny that denied, or the first Allow that allowed
}

// Evaluate decides a request.
func (p Policy) Evaluate(req Request) Decision {
	var allow *Statement
	for i := range p.Statements {
		st := &p.Statements[i]
		if !st.matches(req) {
			continue
		}
		if st.Effect == "Deny" {
			return Decision{ExplicitDeny: true, Statement: st}
		}
		if allow == nil {
			allow = st
		}
	}
	return Decision{Allowed: allow != nil, Statement: allow}
}

func (st *Statement) matches(req Request) bool {
	switch {
	case len(st.Action) > 0 && !anyMatch(st.Action, req.Action, true):
		return false
	case len(st.NotAction) > 0 && anyMatch(st.NotAction, req.Action, true):
		return false
	case len(st.Resource) > 0 && !anyMatch(st.Resource, req.Resource, false):
		return false
	case len(st.NotResource) > 0 && anyMatch(st.NotResource, req.Resource, false):
		return false
	case st.Principal != nil && (req.Caller == nil || !req.Caller.namedBy(st.Principal)):
		return false
	case st.NotPrincipal != nil && (req.Caller == nil || req.Caller.namedBy(st.NotPrincipal)):
		return false
	}
	for op, keys := range st.Condition {
		for key, want := range keys {
			if !conditionHolds(op, req.Context[key], want) {
				return false
			}
		}
	}
	return true
}

// anyMatch: IAM patterns with * and ? wildcards; actions match without
// regard to case, resources with it.
func anyMatch(patterns []string, value string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if wildcard(strings.ToLower(p), strings.ToLower(value)) {
				return true
			}
		} else if wildcard(p, value) {
			return true
		}
	}
	return false
}

// wildcard matches * (any run, "/" included) and ? (one character).
func wildcard(pattern, value string) bool {
	if pattern == "*" {
		return true
	}
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == value
	}
	// path.Match stops * at "/"; IAM's does not, so match "/" as a plain
	// character by swapping it for one neither side holds.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(escapeBrackets(pattern), "/", sep), strings.ReplaceAll(value, "/", sep))
	return err == nil && ok
}

func escapeBrackets(p string) string {
	return strings.NewReplacer("[", `\[`, "]", `\]`, `\`, `\\`).Replace(p)
}

func conditionHolds(op string, have, want []string) bool {
	base, ifExists := strings.CutSuffix(op, "IfExists")
	if len(have) == 0 {
		// A missing key fails every operator but the negated ones (and
		// ...IfExists), as IAM evaluates it.
		return ifExists || strings.Contains(base, "Not")
	}
	negated := strings.Contains(base, "Not")
	match := func(h, w string) bool {
		switch base {
		case "StringEquals", "StringNotEquals", "ArnEquals", "ArnNotEquals":
			return h == w
		case "StringEqualsIgnoreCase":
			return strings.EqualFold(h, w)
		case "StringLike", "StringNotLike", "ArnLike", "ArnNotLike":
			return wildcard(w, h)
		case "Bool":
			return strings.EqualFold(h, w)
		}
		return false
	}
	for _, h := range have {
		for _, w := range want {
			if match(h, w) {
				return !negated
			}
		}
	}
	return negated
}
