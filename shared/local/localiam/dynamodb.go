package localiam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Authorizer decides one call of a principal; a non-nil error is the
// AccessDenied message the caller gets.
type Authorizer func(who Principal, req Request) error

// DynamoDBGate stands in front of DynamoDB Local as IAM stands in front of
// DynamoDB: it verifies each call's SigV4 signature, works out the IAM
// actions and resources the call needs (a transaction needs the action of
// each of its parts on its table; a Query of an index needs dynamodb:Query
// on table/T/index/I), asks Authorize about each, and forwards the call only
// when every one is allowed. A refused call gets DynamoDB's own
// AccessDeniedException.
type DynamoDBGate struct {
	Verifier  Verifier
	Target    *url.URL // DynamoDB Local
	Authorize Authorizer
	// Account and Region make the table ARNs.
	Account, Region string
	// Forward are the credentials the gate signs the calls it forwards
	// with: DynamoDB Local keeps the tables of each access key apart unless
	// it runs with -sharedDb, and the functions must see the stack's table.
	Forward aws.Credentials
	// Client forwards; default http.DefaultClient.
	Client *http.Client
}

// maxDynamoDBBody bounds a request body, well above DynamoDB's own limits.
const maxDynamoDBBody = 32 << 20

func (g *DynamoDBGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDynamoDBBody))
	if err != nil {
		writeDynamoDBError(w, "SerializationException", "could not read the request")
		return
	}
	who, err := g.Verifier.Verify(r, body)
	if err != nil {
		switch {
		case errors.Is(err, ErrNotSigned):
			writeDynamoDBError(w, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
		case strings.HasPrefix(err.Error(), "unknown access key"):
			writeDynamoDBError(w, "UnrecognizedClientException", "The security token included in the request is invalid.")
		default:
			writeDynamoDBError(w, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided: "+err.Error())
		}
		return
	}
	reqs, err := DynamoDBRequests(r.Header.Get("X-Amz-Target"), body, g.Account, g.Region)
	if err != nil {
		writeDynamoDBError(w, "ValidationException", err.Error())
		return
	}
	for _, req := range reqs {
		if err := g.Authorize(who, req); err != nil {
			writeDynamoDBError(w, "AccessDeniedException", err.Error())
			return
		}
	}
	g.forward(w, r, body)
}

// forward sends the call on to DynamoDB Local signed with g.Forward, and
// copies its answer back.
func (g *DynamoDBGate) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, g.Target.JoinPath(r.URL.Path).String(), bytes.NewReader(body))
	if err != nil {
		writeDynamoDBError(w, "InternalServerError", err.Error())
		return
	}
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Accept-Encoding", "Amz-Sdk-Invocation-Id", "Amz-Sdk-Request"} {
		if v := r.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), g.Forward, out, PayloadHash(body), "dynamodb", g.Region, time.Now()); err != nil {
		writeDynamoDBError(w, "InternalServerError", err.Error())
		return
	}
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(out)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func writeDynamoDBError(w http.ResponseWriter, errType, message string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", errType)
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazon.coral.service#" + errType, "Message": message})
}

// DynamoDBRequests are the IAM requests a DynamoDB call needs: target is
// its X-Amz-Target ("DynamoDB_20120810.Query"), body its JSON.
func DynamoDBRequests(target string, body []byte, account, region string) ([]Request, error) {
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	if !ok {
		return nil, fmt.Errorf("X-Amz-Target %q is not a DynamoDB operation", target)
	}
	arn := func(table string) string {
		if strings.HasPrefix(table, "arn:") {
			return table
		}
		return "arn:aws:dynamodb:" + region + ":" + account + ":table/" + table
	}
	var in struct {
		TableName     string
		IndexName     string
		RequestItems  map[string]json.RawMessage
		TransactItems []map[string]struct{ TableName string }
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, fmt.Errorf("the body of %s is not JSON: %v", op, err)
		}
	}
	var out []Request
	switch op {
	case "BatchGetItem", "BatchWriteItem":
		tables := make([]string, 0, len(in.RequestItems))
		for t := range in.RequestItems {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		for _, t := range tables {
			out = append(out, Request{Action: "dynamodb:" + op, Resource: arn(t)})
		}
	case "TransactWriteItems", "TransactGetItems":
		parts := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		for _, item := range in.TransactItems {
			for kind, p := range item {
				action, ok := parts[kind]
				if !ok {
					return nil, fmt.Errorf("%s: unknown part %q", op, kind)
				}
				out = append(out, Request{Action: "dynamodb:" + action, Resource: arn(p.TableName)})
			}
		}
	case "ListTables":
		out = append(out, Request{Action: "dynamodb:ListTables", Resource: "*"})
	default:
		if in.TableName == "" {
			return nil, fmt.Errorf("%s without a TableName", op)
		}
		res := arn(in.TableName)
		if in.IndexName != "" {
			res += "/index/" + in.IndexName
		}
		out = append(out, Request{Action: "dynamodb:" + op, Resource: res})
	}
	return out, nil
}
