package localgateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
)

// The caller the local door names is what AWS names for a session of the
// partner's first sender.
func TestDoorCaller(t *testing.T) {
	for _, c := range []struct {
		senders      []string
		account, arn string
		ok           bool
	}{
		{[]string{"444455556666"}, "444455556666", "arn:aws:iam::444455556666:user/local-partner-p", true},
		{[]string{"arn:aws:iam::444455556666:role/shops/till"}, "444455556666", "arn:aws:sts::444455556666:assumed-role/till/local-p", true},
		{[]string{"arn:aws:iam::444455556666:user/shop"}, "444455556666", "arn:aws:iam::444455556666:user/shop", true},
		{nil, "", "", false},
	} {
		iam, ok := localgateway.DoorCaller(localgateway.DoorPartner{ID: "p", AccessKeyID: "LOCALPARTNER-p", Senders: c.senders})
		if ok != c.ok || (ok && (iam.AccountID != c.account || iam.UserARN != c.arn || iam.AccessKey != "LOCALPARTNER-p")) {
			t.Errorf("DoorCaller(%v): got %+v %v, want %s %s %v", c.senders, iam, ok, c.account, c.arn, c.ok)
		}
	}
}

// With Authorize set, the door asks it about the caller the key stands for
// and refuses as AWS does when it says no, before the function runs.
func TestDoorAsksAuthorize(t *testing.T) {
	invoked := 0
	var asked []string
	door := &localgateway.Door{Region: "us-east-1",
		Partners: []localgateway.DoorPartner{
			{ID: "a", AccessKeyID: "KEYA", SecretAccessKey: "sa", Senders: []string{"arn:aws:iam::444455556666:role/till"}},
			{ID: "b", AccessKeyID: "KEYB", SecretAccessKey: "sb", Senders: []string{"777788889999"}}},
		Authorize: func(partner string, caller *events.LambdaFunctionURLRequestContextAuthorizerIAMDescription) error {
			asked = append(asked, partner+" "+caller.UserARN)
			if partner == "b" {
				return errors.New("no resource-based policy allows it")
			}
			return nil
		},
		Invoke: func(context.Context, []byte) ([]byte, error) {
			invoked++
			return []byte(`{"statusCode":200,"body":"{}"}`), nil
		}}
	srv := httptest.NewServer(door)
	defer srv.Close()
	post := func(key, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader("{}"))
		if err := localgateway.SignRequestFor(req, []byte("{}"), key, secret, "us-east-1", localgateway.DoorService, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post("KEYA", "sa"); got != 200 {
		t.Errorf("allowed partner: got %d, want 200", got)
	}
	if got := post("KEYB", "sb"); got != 403 {
		t.Errorf("refused partner: got %d, want 403", got)
	}
	want := []string{"a arn:aws:sts::444455556666:assumed-role/till/local-a", "b arn:aws:iam::777788889999:user/local-partner-b"}
	if invoked != 1 || strings.Join(asked, ",") != strings.Join(want, ",") {
		t.Errorf("got %d invocations, asked %v; want 1 and %v", invoked, asked, want)
	}
}
