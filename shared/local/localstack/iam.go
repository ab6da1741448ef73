package localstack

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/loyalty-functions/loyalty/shared/local/dynamolocal"
	"github.com/loyalty-functions/loyalty/shared/local/localiam"
	"github.com/loyalty-functions/loyalty/shared/local/sqslocal"
)

// IAM in the local stack: every function process signs with credentials of
// its own role, and every call it makes to DynamoDB (through a gate in front
// of DynamoDB Local), to the partner queues and to the local EventBridge is
// verified and evaluated against that role's policies from the template.
// The ops principal (the stack itself, the tests, the tools) may do
// anything, as an administrator of the account may.

// FunctionAccessKey and FunctionSecret are the local credentials of a
// function's role. The key is letters and digits only, as DynamoDB Local
// accepts keys ("LOCALROLEMEMBERAPI" for member-api).
func FunctionAccessKey(function string) string {
	return "LOCALROLE" + strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(function))
}

// FunctionSecret is the secret of FunctionAccessKey.
func FunctionSecret(function string) string { return "local-secret-role-" + function }

func functionPrincipal(function string) localiam.Principal {
	return localiam.Principal{Name: "function:" + function, AccessKeyID: FunctionAccessKey(function), SecretAccessKey: FunctionSecret(function)}
}

// IAMCall is one (function, action, resource) a function's call needed, and
// how its role decided it.
type IAMCall struct {
	Function, Action, Resource string
	Allowed                    bool
	// Statement names the policy and the statement that allowed or
	// explicitly denied it; empty for an implicit deny.
	Statement string
}

// IAMGrant is one action of one statement of a function's role on one of
// its resources.
type IAMGrant struct {
	Function, Policy, Action, Resource string
}

type localIAM struct {
	policies map[string]localiam.Policy // principal name -> its role's policy
	roles    map[string]string          // principal name -> role name
	logf     func(string, ...any)
	calls    *IAMRecord
}

// IAMRecord collects the distinct calls the functions make, for one stack
// or, passed in Options.IAMRecord, for several (a test suite that restarts
// its stack).
type IAMRecord struct {
	mu    sync.Mutex
	calls map[IAMCall]bool
}

func (r *IAMRecord) add(c IAMCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[IAMCall]bool{}
	}
	r.calls[c] = true
}

// Calls are the distinct calls recorded, ordered by function, action and
// resource.
func (r *IAMRecord) Calls() []IAMCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]IAMCall, 0, len(r.calls))
	for c := range r.calls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Function+a.Action+a.Resource < b.Function+b.Action+b.Resource
	})
	return out
}

// newLocalIAM reads each function's role and policies from the template.
func newLocalIAM(p *plan, record *IAMRecord, logf func(string, ...any)) (*localIAM, error) {
	if record == nil {
		record = &IAMRecord{}
	}
	m := &localIAM{policies: map[string]localiam.Policy{}, roles: map[string]string{}, logf: logf, calls: record}
	for name, f := range p.functions {
		rp, err := p.asm.RolePoliciesOf(f.Role)
		if err != nil {
			return nil, fmt.Errorf("localstack: function %s: %w", name, err)
		}
		var pol localiam.Policy
		for _, d := range rp.Documents {
			st, err := localiam.ParsePolicy(d.Name, d.Document)
			if err != nil {
				return nil, fmt.Errorf("localstack: function %s: %w", name, err)
			}
			pol.Statements = append(pol.Statements, st...)
		}
		for _, arn := range rp.ManagedPolicyARNs {
			p.note("function %s: managed policy %s is not in the assembly: its grants are missing locally", name, arn)
		}
		principal := functionPrincipal(name).Name
		m.policies[principal], m.roles[principal] = pol, rp.RoleName
	}
	return m, nil
}

// authorize decides a call of who: the ops principal passes; a function's
// role decides.
func (m *localIAM) authorize(who localiam.Principal, req localiam.Request) error {
	return m.authorizeWith(who, req, nil)
}

// authorizeWith decides a call of a function's role to a resource with a
// resource-based policy (nil: none), as IAM decides a call within one
// account: an explicit Deny in either policy denies, else an Allow in
// either allows. Other principals pass (their checks are the resource
// policy's, queue.go and door.go).
func (m *localIAM) authorizeWith(who localiam.Principal, req localiam.Request, resource *localiam.Policy) error {
	pol, ok := m.policies[who.Name]
	if !ok {
		return nil
	}
	fn := strings.TrimPrefix(who.Name, "function:")
	d := pol.Evaluate(req)
	denyIn := "an identity-based policy"
	if resource != nil {
		caller := localiam.Caller{Account: sqslocal.AccountID,
			ARN: "arn:aws:sts::" + sqslocal.AccountID + ":assumed-role/" + m.roles[who.Name] + "/" + fn}
		rreq := req
		rreq.Caller = &caller
		switch rd := resource.Evaluate(rreq); {
		case rd.ExplicitDeny && !d.ExplicitDeny:
			d, denyIn = rd, "a resource-based policy"
		case rd.Allowed && !d.Allowed && !d.ExplicitDeny:
			d = rd
		}
	}
	call := IAMCall{Function: fn, Action: req.Action, Resource: req.Resource, Allowed: d.Allowed}
	if d.Statement != nil {
		call.Statement = d.Statement.Policy + " " + fmt.Sprint(d.Statement.Action)
	}
	m.calls.add(call)
	if d.Allowed {
		return nil
	}
	why := "because no identity-based policy allows the " + req.Action + " action"
	if d.ExplicitDeny {
		why = "with an explicit deny in " + denyIn + " (" + d.Statement.Policy + ")"
	}
	m.logf("IAM: AccessDenied: function %s, action %s, resource %s: %s", fn, req.Action, req.Resource, strings.TrimPrefix(why, "because "))
	//lint:ignore ST1005 the text is AWS's own AccessDenied message, which the caller gets as it is
	return fmt.Errorf("User: arn:aws:sts::%s:assumed-role/%s/%s is not authorized to perform: %s on resource: %s %s",
		sqslocal.AccountID, m.roles[who.Name], fn, req.Action, req.Resource, why)
}

func (m *localIAM) observed() []IAMCall { return m.calls.Calls() }

// unused are the grants no observed allowed call of their function used.
func (m *localIAM) unused() []IAMGrant {
	calls := m.observed()
	var out []IAMGrant
	for principal, pol := range m.policies {
		fn := strings.TrimPrefix(principal, "function:")
		for _, st := range pol.Statements {
			if st.Effect != "Allow" {
				continue
			}
			for _, action := range st.Action {
				for _, res := range st.Resource {
					single := localiam.Policy{Statements: []localiam.Statement{{Effect: "Allow", Action: []string{action}, Resource: []string{res}}}}
					if !slices.ContainsFunc(calls, func(c IAMCall) bool {
						return c.Function == fn && c.Allowed && single.Evaluate(localiam.Request{Action: c.Action, Resource: c.Resource}).Allowed
					}) {
						out = append(out, IAMGrant{Function: fn, Policy: st.Policy, Action: action, Resource: res})
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Function+a.Action+a.Resource < b.Function+b.Action+b.Resource
	})
	return out
}

// IAMCalls are the distinct (function, action, resource) calls the
// functions made so far, with their decisions.
func (st *Stack) IAMCalls() []IAMCall { return st.iam.observed() }

// UnusedIAMGrants are the grants of the functions' roles that no allowed
// call so far used.
func (st *Stack) UnusedIAMGrants() []IAMGrant { return st.iam.unused() }

// startDynamoDBGate starts the gate the functions reach DynamoDB Local
// through, on 127.0.0.1.
func (st *Stack) startDynamoDBGate() (string, error) {
	target, err := url.Parse(st.DB.Endpoint)
	if err != nil {
		return "", err
	}
	verifier := localiam.Verifier{Service: "dynamodb", Region: Region,
		Principals: []localiam.Principal{{Name: "ops", AccessKeyID: "local", SecretAccessKey: "local"}}}
	for name := range st.plan.functions {
		verifier.Principals = append(verifier.Principals, functionPrincipal(name))
	}
	gate := &localiam.DynamoDBGate{Verifier: verifier, Target: target, Authorize: st.iam.authorize, Account: sqslocal.AccountID, Region: Region,
		Forward: aws.Credentials{AccessKeyID: dynamolocal.AccessKeyID, SecretAccessKey: dynamolocal.SecretAccessKey}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("localstack: DynamoDB gate: %w", err)
	}
	st.dynamoGate = &http.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second}
	go st.dynamoGate.Serve(ln)
	return "http://" + ln.Addr().String(), nil
}

// eventsAuthorizer checks PutEvents calls of the functions against their
// roles (events:PutEvents on each bus named).
func (st *Stack) eventsAuthorizer() func(r *http.Request, body []byte, buses []string) error {
	verifier := localiam.Verifier{Service: "events", Region: Region,
		Principals: []localiam.Principal{{Name: "ops", AccessKeyID: "local", SecretAccessKey: "local"}}}
	for name := range st.plan.functions {
		verifier.Principals = append(verifier.Principals, functionPrincipal(name))
	}
	return func(r *http.Request, body []byte, buses []string) error {
		who, err := verifier.Verify(r, body)
		if err != nil {
			return fmt.Errorf("not authorized: %v", err)
		}
		for _, bus := range buses {
			if err := st.iam.authorize(who, localiam.Request{Action: "events:PutEvents", Resource: bus}); err != nil {
				return err
			}
		}
		return nil
	}
}
