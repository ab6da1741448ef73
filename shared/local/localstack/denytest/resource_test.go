package denytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
)

// The senders of program.json, as the template's resource policies name
// them.
const (
	coffeeSender  = "arn:aws:iam::444455556666:role/till" // demo-coffee-berlin
	webshopSender = "777788889999"                        // demo-webshop
)

// GIVEN the synthesized assembly with demo-coffee-berlin's sender removed
// from its queue's policy and demo-webshop's lambda:InvokeFunctionUrl
// permission removed from the partner door, WHEN each partner sends to its
// queue and calls the door, THEN the coffee shop's send fails with SQS's
// AccessDenied while the web shop's passes, and the web shop's door call is
// refused (403) while the coffee shop's passes; each refusal is logged
// with the partner, its principal, the action and the resource.
func TestAPartnerWithoutItsResourcePolicyIsDenied(t *testing.T) {
	ctx := context.Background()
	dir := assemblyCopy(t)
	editTemplate(t, dir, "Stateful", removeQueueSender(coffeeSender))
	editTemplate(t, dir, "Service", removeDoorPermission(webshopSender, "lambda:InvokeFunctionUrl"))

	var logMu sync.Mutex
	var logs bytes.Buffer
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(&logs, format+"\n", args...)
	}
	st, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0", DoorAddr: "127.0.0.1:0",
		Jobs: localstack.JobOptions{Addr: "127.0.0.1:0"}, AssemblyDir: dir, Seed: true, Logs: io.Discard, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(ctx)

	purchase := func(partner, event string) string {
		return fmt.Sprintf(`{"type":"purchase.completed","version":1,"partnerId":%q,"eventId":%q,"memberRef":"demo-member",`+
			`"occurredAt":%q,"currency":"EUR","amountMinor":350}`, partner, event, time.Now().Add(-time.Minute).Format(time.RFC3339))
	}
	sendTo := func(sender, queueOf, body string) error {
		q, ok := st.Partner(queueOf)
		if !ok {
			t.Fatalf("no queue of %s", queueOf)
		}
		_, err := st.PartnerSQSClient(sender).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)})
		return err
	}
	coffee, _ := st.Partner("demo-coffee-berlin")
	var api smithy.APIError
	err = sendTo("demo-coffee-berlin", "demo-coffee-berlin", purchase("demo-coffee-berlin", "res-1"))
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" || !strings.Contains(api.ErrorMessage(), "User: "+coffee.Principal+" is not authorized") {
		t.Errorf("coffee shop to its queue without its sender in the policy: got %v, want AccessDenied naming %s", err, coffee.Principal)
	}
	if err := sendTo("demo-webshop", "demo-webshop", purchase("demo-webshop", "res-2")); err != nil {
		t.Errorf("web shop to its own queue: %v", err)
	}

	door := func(partner string) (int, string) {
		body := purchase(partner, "res-door-"+partner)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.DoorURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := localgateway.SignRequestFor(req, []byte(body), localstack.PartnerAccessKey(partner), localstack.PartnerSecret(partner),
			localstack.Region, localgateway.DoorService, time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if status, body := door("demo-coffee-berlin"); status != 200 || !strings.Contains(body, `"pointsEarned"`) {
		t.Errorf("coffee shop at the door: got %d %s, want 200 with its points", status, body)
	}
	if status, body := door("demo-webshop"); status != 403 || body != `{"Message":"Forbidden"}` {
		t.Errorf("web shop at the door without its permission: got %d %s, want 403 Forbidden", status, body)
	}

	webshop, _ := st.Partner("demo-webshop")
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{
		"IAM: AccessDenied: partner demo-coffee-berlin (" + coffee.Principal + "), action sqs:SendMessage, resource arn:aws:sqs:us-east-1:000000000000:" + queueName(coffee.URL),
		"IAM: AccessDenied: partner demo-webshop (" + webshop.Principal + "), action lambda:InvokeFunctionUrl, resource arn:aws:lambda:",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log has no line %q", want)
		}
	}
	if t.Failed() {
		t.Logf("the stack's log:\n%s", logs.String())
	}
}

func queueName(url string) string { return url[strings.LastIndexByte(url, '/')+1:] }

// editTemplate rewrites the template of the stack whose name ends in
// -<stack> in dir with edit, which must change it.
func editTemplate(tb testing.TB, dir, stack string, edit func(tb testing.TB, resources map[string]any) bool) {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*-"+stack+".template.json"))
	if len(files) != 1 {
		tb.Fatalf("%s template: got %v", stack, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		tb.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(b, &tpl); err != nil {
		tb.Fatal(err)
	}
	if !edit(tb, tpl["Resources"].(map[string]any)) {
		tb.Fatalf("%s template: the edit found nothing to change", stack)
	}
	if b, err = json.Marshal(tpl); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(files[0], b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// removeQueueSender drops the queue policy statements that name sender.
func removeQueueSender(sender string) func(testing.TB, map[string]any) bool {
	return func(tb testing.TB, resources map[string]any) bool {
		changed := false
		for _, r := range resources {
			res := r.(map[string]any)
			if res["Type"] != "AWS::SQS::QueuePolicy" {
				continue
			}
			doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
			var kept []any
			for _, s := range doc["Statement"].([]any) {
				p, _ := json.Marshal(s.(map[string]any)["Principal"])
				if s.(map[string]any)["Effect"] == "Allow" && strings.Contains(string(p), sender) {
					changed = true
					continue
				}
				kept = append(kept, s)
			}
			doc["Statement"] = kept
		}
		return changed
	}
}

// removeDoorPermission drops the Lambda permissions of action for sender.
func removeDoorPermission(sender, action string) func(testing.TB, map[string]any) bool {
	return func(tb testing.TB, resources map[string]any) bool {
		changed := false
		for id, r := range resources {
			res := r.(map[string]any)
			if res["Type"] != "AWS::Lambda::Permission" {
				continue
			}
			props := res["Properties"].(map[string]any)
			p, _ := json.Marshal(props["Principal"])
			if props["Action"] == action && strings.Contains(string(p), sender) {
				delete(resources, id)
				changed = true
			}
		}
		return changed
	}
}
