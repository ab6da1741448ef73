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
