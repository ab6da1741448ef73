package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// send -sync signs as the partner, for service lambda, so that the local
// door verifies it and hands the function the message and the caller.
func TestSendSyncIsSignedAsThePartner(t *testing.T) {
	a, err := parseSend([]string{"-partner", "demo-coffee-berlin", "-sync", "x.json"})
	if err != nil || !a.sync || a.partner != "demo-coffee-berlin" || len(a.files) != 1 {
		t.Fatalf("parseSend: got %+v, %v", a, err)
	}
	var got events.LambdaFunctionURLRequest
	door := &localgateway.Door{Region: localstack.Region, Partners: []localgateway.DoorPartner{{ID: "demo-coffee-berlin",
		AccessKeyID: localstack.PartnerAccessKey("demo-coffee-berlin"), SecretAccessKey: localstack.PartnerSecret("demo-coffee-berlin"),
		Senders: []string{"444455556666"}}},
		Invoke: func(_ context.Context, payload []byte) ([]byte, error) {
			if err := json.Unmarshal(payload, &got); err != nil {
				return nil, err
			}
			return json.Marshal(events.LambdaFunctionURLResponse{StatusCode: 200, Body: `{"pointsEarned":3}`})
		}}
	srv := httptest.NewServer(door)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(file, []byte(`{"partnerId":"demo-coffee-berlin"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	creds := localstate.Credentials{AccessKeyID: localstack.PartnerAccessKey("demo-coffee-berlin"), SecretAccessKey: localstack.PartnerSecret("demo-coffee-berlin")}
	if err := sendSync(srv.URL+"/", localstack.Region, "demo-coffee-berlin", creds, []string{file}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `200 {"pointsEarned":3}`) || got.Body != `{"partnerId":"demo-coffee-berlin"}` {
		t.Errorf("send -sync: printed %q, the function got body %q", out.String(), got.Body)
	}
	if got.RequestContext.Authorizer == nil || got.RequestContext.Authorizer.IAM.AccountID != "444455556666" {
		t.Errorf("the function's caller: got %+v, want the partner's sender", got.RequestContext.Authorizer)
	}
	// Signed with another secret, the door refuses it as AWS does.
	out.Reset()
	creds.SecretAccessKey = "wrong"
	if err := sendSync(srv.URL+"/", localstack.Region, "demo-coffee-berlin", creds, []string{file}, &out); err != nil || !strings.Contains(out.String(), `403 {"Message":"Forbidden"}`) {
		t.Errorf("wrong secret: got %q, %v; want 403 Forbidden", out.String(), err)
	}
}
