package localiam

import "testing"

func TestPolicyEvaluation(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
	 {"Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Put*"],"Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/t"},
	 {"Effect":"Allow","Action":"dynamodb:Query","Resource":["arn:aws:dynamodb:us-east-1:000000000000:table/t/index/*"]},
	 {"Effect":"Deny","Action":"dynamodb:Query","Resource":"arn:aws:dynamodb:us-east-1:000000000000:table/t/index/secret"},
	 {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:scheduler:*:000000000000:schedule/*"}}}]}`
	st, err := ParsePolicy("p", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Statements: st}
	table := "arn:aws:dynamodb:us-east-1:000000000000:table/t"
	for _, c := range []struct {
		req         Request
		allow, deny bool
	}{
		{Request{Action: "dynamodb:GetItem", Resource: table}, true, false},
		{Request{Action: "DynamoDB:getitem", Resource: table}, true, false}, // actions ignore case
		{Request{Action: "dynamodb:PutItem", Resource: table}, true, false}, // action wildcard
		{Request{Action: "dynamodb:DeleteItem", Resource: table}, false, false},
		{Request{Action: "dynamodb:GetItem", Resource: table + "/index/due"}, false, false},
		{Request{Action: "dynamodb:Query", Resource: table + "/index/due"}, true, false},
		{Request{Action: "dynamodb:Query", Resource: table}, false, false},
		{Request{Action: "dynamodb:Query", Resource: table + "/index/secret"}, false, true}, // explicit Deny wins
		{Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:q",
			Context: map[string][]string{"aws:sourcearn": {"arn:aws:scheduler:us-east-1:000000000000:schedule/default/x"}}}, true, false},
		{Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:q"}, false, false}, // condition key missing
	} {
		d := p.Evaluate(c.req)
		if d.Allowed != c.allow || d.ExplicitDeny != c.deny {
			t.Errorf("%s on %s: got allowed %v, explicit deny %v, want %v, %v", c.req.Action, c.req.Resource, d.Allowed, d.ExplicitDeny, c.allow, c.deny)
		}
	}
}

func TestAnUnknownConditionOperatorIsRefused(t *testing.T) {
	_, err := ParsePolicy("p", []byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"x":"1"}}}]}`))
	if err == nil {
		t.Error("got no error, want the operator refused")
	}
}

// A resource-based statement names its callers as IAM matches Principal:
// "*" anyone, an account id or the account's root any principal of that
// account, a role ARN its sessions (the session ARN has no path), a user
// ARN that user, a list any of them; NotPrincipal everyone else.
func TestPrincipalMatching(t *testing.T) {
	role := Caller{Account: "444455556666", ARN: "arn:aws:sts::444455556666:assumed-role/till/local-shop"}
	user := Caller{Account: "777788889999", ARN: "arn:aws:iam::777788889999:user/local-partner-web"}
	service := Caller{Service: "apigateway.amazonaws.com"}
	for _, c := range []struct {
		principal string
		caller    Caller
		want      bool
	}{
		{`"*"`, role, true},
		{`{"AWS":"*"}`, user, true},
		{`{"AWS":"444455556666"}`, role, true},
		{`{"AWS":"444455556666"}`, user, false},
		{`{"AWS":"arn:aws:iam::777788889999:root"}`, user, true},
		{`{"AWS":"arn:aws:iam::777788889999:root"}`, role, false},
		{`{"AWS":"arn:aws:iam::444455556666:role/till"}`, role, true},
		{`{"AWS":"arn:aws:iam::444455556666:role/shops/till"}`, role, true}, // the path is not in the session ARN
		{`{"AWS":"arn:aws:iam::444455556666:role/other"}`, role, false},
		{`{"AWS":"arn:aws:iam::111122223333:role/till"}`, role, false}, // same name, another account
		{`{"AWS":"arn:aws:iam::444455556666:role/till"}`, Caller{Account: "444455556666", ARN: "arn:aws:sts::444455556666:assumed-role/till/a/b"}, false},
		{`{"AWS":"arn:aws:iam::777788889999:user/local-partner-web"}`, user, true},
		{`{"AWS":"arn:aws:iam::777788889999:user/other"}`, user, false},
		{`{"AWS":["arn:aws:iam::444455556666:role/till","777788889999"]}`, user, true},
		{`{"AWS":["arn:aws:iam::444455556666:role/till","777788889999"]}`, Caller{Account: "000000000000", ARN: "arn:aws:iam::000000000000:user/x"}, false},
		{`{"Service":"apigateway.amazonaws.com"}`, service, true},
		{`{"Service":"apigateway.amazonaws.com"}`, role, false},
		{`{"AWS":"444455556666"}`, service, false},
	} {
		doc := `{"Statement":[{"Effect":"Allow","Principal":` + c.principal + `,"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:q"}]}`
		st, err := ParsePolicy("p", []byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", c.principal, err)
		}
		caller := c.caller
		d := Policy{Statements: st}.Evaluate(Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:q", Caller: &caller})
		if d.Allowed != c.want {
			t.Errorf("Principal %s, caller %+v: got allowed %v, want %v", c.principal, c.caller, d.Allowed, c.want)
		}
		// Without a caller no statement with a Principal matches.
		if (Policy{Statements: st}).Evaluate(Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:q"}).Allowed {
			t.Errorf("Principal %s: a request without a caller was allowed", c.principal)
		}
	}
	// NotPrincipal: everyone but the one named.
	st, err := ParsePolicy("p", []byte(`{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"777788889999"},"Action":"sqs:*","Resource":"*"},
		{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Statements: st}
	if d := p.Evaluate(Request{Action: "sqs:SendMessage", Resource: "q", Caller: &user}); !d.Allowed {
		t.Errorf("NotPrincipal: the named account's user: got %+v, want allowed", d)
	}
	if d := p.Evaluate(Request{Action: "sqs:SendMessage", Resource: "q", Caller: &role}); d.Allowed || !d.ExplicitDeny {
		t.Errorf("NotPrincipal: another account's role: got %+v, want an explicit deny", d)
	}
	for _, bad := range []string{`"everyone"`, `["*"]`} {
		if _, err := ParsePolicy("p", []byte(`{"Statement":[{"Effect":"Allow","Principal":`+bad+`,"Action":"*","Resource":"*"}]}`)); err == nil {
			t.Errorf("Principal %s: got no error, want it refused", bad)
		}
	}
}

// The queues' own Deny of plain HTTP (aws:SecureTransport false) matches a
// call whose context says it came without TLS, and only that one; an
// explicit Deny of a resource policy wins over its Allow.
func TestSecureTransportDenyWins(t *testing.T) {
	st, err := ParsePolicy("queue", []byte(`{"Statement":[
	 {"Effect":"Deny","Principal":{"AWS":"*"},"Action":"sqs:*","Resource":"arn:aws:sqs:us-east-1:000000000000:q","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
	 {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:role/till"},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:000000000000:q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p := Policy{Statements: st}
	caller := Caller{Account: "444455556666", ARN: "arn:aws:sts::444455556666:assumed-role/till/s"}
	req := func(secure string) Request {
		return Request{Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:000000000000:q", Caller: &caller,
			Context: map[string][]string{"aws:securetransport": {secure}}}
	}
	if d := p.Evaluate(req("true")); !d.Allowed {
		t.Errorf("over TLS: got %+v, want allowed", d)
	}
	if d := p.Evaluate(req("false")); d.Allowed || !d.ExplicitDeny {
		t.Errorf("without TLS: got %+v, want the explicit deny", d)
	}
}
