package localstack_test

import (
	"flag"
	"fmt"
	"os"

	"github.com/loyalty-functions/loyalty/shared/local/localiam"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
)

// unusedGrant is a grant of a function's role that the end-to-end suite may
// leave unused, and why it stays. Function "*" is every function; action
// and resource are IAM patterns (* and ?) matched against the grant's.
type unusedGrant struct {
	function, action, resource, reason string
}

// Reasons a grant stays unused locally.
const (
	byLambdaLogs  = "Lambda writes the function's logs to its log group with the role; the local host keeps them on stdout"
	byLambdaXRay  = "Lambda sends the active tracing's segments with the role; there is no local X-Ray"
	byDynamoDBKMS = "DynamoDB encrypts and decrypts the table's items with the table key on the caller's behalf; DynamoDB Local does not encrypt and there is no local KMS"
	byPollerKMS   = "Lambda's SQS pollers decrypt the KMS-encrypted partner queues' messages with the ingest role; the embedded SQS does not encrypt"
	byPoller      = "Lambda's SQS pollers (the event source mapping, CDK's grantConsumeMessages) use it with the ingest role; the local poller receives and deletes only"
	byDestination = "Lambda sends a job's failed asynchronous invocation to its DLQ (the on-failure destination) with the role: SendMessage; CDK's SqsDestination grants GetQueueAttributes and GetQueueUrl with it; the local scheduler logs a failed run instead"
	bySecretFile  = "the code secret (HMAC key of the tills' rotating codes) comes from Secrets Manager on AWS; locally it is a file (CODE_SECRET_FILE)"
)

// allowedUnused are the grants the suite may leave unused. A grant unused
// and not here fails the suite, and so does a row that no unused grant
// matches any more (stale: remove it, or the grant now in use).
var allowedUnused = []unusedGrant{
	{"*", "logs:CreateLogStream", "arn:aws:logs:*:*:log-group:*", byLambdaLogs},
	{"*", "logs:PutLogEvents", "arn:aws:logs:*:*:log-group:*", byLambdaLogs},
	{"*", "xray:PutTraceSegments", "*", byLambdaXRay},
	{"*", "xray:PutTelemetryRecords", "*", byLambdaXRay},
	{"*", "kms:Decrypt", "arn:aws:kms:*:*:key/TableKey*", byDynamoDBKMS},
	{"*", "kms:Encrypt", "arn:aws:kms:*:*:key/TableKey*", byDynamoDBKMS},
	{"*", "kms:GenerateDataKey", "arn:aws:kms:*:*:key/TableKey*", byDynamoDBKMS},
	{"*", "kms:DescribeKey", "arn:aws:kms:*:*:key/TableKey*", byDynamoDBKMS},
	{"ingest", "kms:Decrypt", "arn:aws:kms:*:*:key/QueueKey*", byPollerKMS},
	{"ingest", "sqs:ChangeMessageVisibility", "arn:aws:sqs:*:*:loyalty-local-partner-*", byPoller},
	{"ingest", "sqs:GetQueueAttributes", "arn:aws:sqs:*:*:loyalty-local-partner-*", byPoller},
	{"ingest", "sqs:GetQueueUrl", "arn:aws:sqs:*:*:loyalty-local-partner-*", byPoller},
	{"*", "sqs:SendMessage", "arn:aws:sqs:*:*:Loyalty-local-Service-*DLQ*", byDestination},
	{"*", "sqs:GetQueueAttributes", "arn:aws:sqs:*:*:Loyalty-local-Service-*DLQ*", byDestination},
	{"*", "sqs:GetQueueUrl", "arn:aws:sqs:*:*:Loyalty-local-Service-*DLQ*", byDestination},
	{"*", "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:*:*:secret:CodeSecret*", bySecretFile},
	{"*", "secretsmanager:DescribeSecret", "arn:aws:secretsmanager:*:*:secret:CodeSecret*", bySecretFile},
}

func (u unusedGrant) matches(g localstack.IAMGrant) bool {
	if u.function != "*" && u.function != g.Function {
		return false
	}
	// The row's patterns as one statement, matched as IAM matches them.
	row := localiam.Policy{Statements: []localiam.Statement{{Effect: "Allow", Action: []string{u.action}, Resource: []string{u.resource}}}}
	return row.Evaluate(localiam.Request{Action: g.Action, Resource: g.Resource}).Allowed
}

// reportIAM prints the distinct (function, action, resource) calls the
// functions made over the end-to-end suite, each with the statement of
// its role that allowed it, and the grants no call used with the reason
// each stays. It returns false when a call with the shipped template was
// denied (every flow of the suite must pass with the roles as they deploy)
// and, when the whole suite ran, when a grant is unused without a row of
// allowedUnused or a row matches no unused grant.
func reportIAM(st *localstack.Stack) bool {
	ok := true
	calls := st.IAMCalls()
	fmt.Fprintf(os.Stderr, "IAM: %d distinct (function, action, resource) calls over the end-to-end suite:\n", len(calls))
	for _, c := range calls {
		verdict := "allowed by " + c.Statement
		if !c.Allowed {
			verdict, ok = "DENIED", false
		}
		fmt.Fprintf(os.Stderr, "  %-15s %-28s %s  %s\n", c.Function, c.Action, c.Resource, verdict)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "IAM: a function's call was denied with the shipped template")
	}
	unused := st.UnusedIAMGrants()
	used := make([]bool, len(allowedUnused))
	byReason := map[string]int{}
	var unexplained []localstack.IAMGrant
	fmt.Fprintf(os.Stderr, "IAM: %d grants no call used:\n", len(unused))
	for _, g := range unused {
		why := ""
		for i, u := range allowedUnused {
			if u.matches(g) {
				used[i] = true
				if why == "" {
					why = u.reason
				}
			}
		}
		if why == "" {
			unexplained = append(unexplained, g)
			why = "NO REASON (add it to allowedUnused with one, or remove the grant)"
		}
		byReason[why]++
		fmt.Fprintf(os.Stderr, "  %-15s %-28s %s (%s): %s\n", g.Function, g.Action, g.Resource, g.Policy, why)
	}
	fmt.Fprintln(os.Stderr, "IAM: unused grants by reason:")
	for _, u := range allowedUnused {
		if n := byReason[u.reason]; n > 0 {
			fmt.Fprintf(os.Stderr, "  %3d  %s\n", n, u.reason)
			delete(byReason, u.reason)
		}
	}
	if run := flag.Lookup("test.run"); run != nil && run.Value.String() != "" {
		fmt.Fprintf(os.Stderr, "IAM: only the tests matching -run %q ran: the unused grants are not checked against allowedUnused\n", run.Value.String())
		return ok
	}
	for _, g := range unexplained {
		fmt.Fprintf(os.Stderr, "IAM: FAIL: %s %s on %s is unused and allowedUnused has no reason for it\n", g.Function, g.Action, g.Resource)
		ok = false
	}
	for i, u := range allowedUnused {
		if !used[i] {
			fmt.Fprintf(os.Stderr, "IAM: FAIL: allowedUnused row %s %s %s matches no unused grant: it is stale\n", u.function, u.action, u.resource)
			ok = false
		}
	}
	return ok
}
