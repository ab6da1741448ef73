package denytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localstack"
)

// removals: for each function, the statement of its role's policy that a
// flow of it needs, found by an action it grants.
var removals = map[string]string{
	"MemberApiRoleDefaultPolicy":     "dynamodb:GetItem",
	"AdminApiRoleDefaultPolicy":      "dynamodb:GetItem",
	"IngestRoleDefaultPolicy":        "sqs:ReceiveMessage", // the first partner queue's
	"ExpirePointsRoleDefaultPolicy":  "dynamodb:Query",     // the statement on its index
	"SendRemindersRoleDefaultPolicy": "dynamodb:Query",
	"TierReviewRoleDefaultPolicy":    "dynamodb:Query",
	"WinBackRoleDefaultPolicy":       "dynamodb:Query",
}

// GIVEN the synthesized assembly with one statement removed from each
// function's role, WHEN each function's flow runs, THEN the call that
// statement allowed fails with AccessDenied, logged with the function,
// action and resource.
func TestAFunctionWithoutItsGrantIsDenied(t *testing.T) {
	ctx := context.Background()
	dir := assemblyCopy(t)
	removed := removeStatements(t, dir)

	var logMu sync.Mutex
	var logs bytes.Buffer
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(&logs, format+"\n", args...)
	}
	st, err := localstack.Start(ctx, localstack.Options{Addr: "127.0.0.1:0", SQSAddr: "127.0.0.1:0", Jobs: localstack.JobOptions{Addr: "127.0.0.1:0"},
		AssemblyDir: dir, Seed: true, Logs: io.Discard, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop(ctx)

	// member-api: GET /v1/me reads the account.
	tok, err := st.Token("demo-member", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", st.URL+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 500 {
		t.Errorf("member-api GET /v1/me without dynamodb:GetItem: got %v %v, want 500", resp.StatusCode, err)
	}
	// admin-api: GET /admin/members/{id} reads the account.
	client := &localstack.Client{State: st.State(), HTTP: http.DefaultClient}
	if status, body, err := client.Admin(ctx, "GET", "/admin/members/demo-member", nil, ""); err != nil || status != 500 {
		t.Errorf("admin-api GET /admin/members/demo-member without dynamodb:GetItem: got %d %s %v, want 500", status, body, err)
	}
	// the jobs: each queries its index.
	for _, job := range []string{"expire-points", "send-reminders", "tier-review", "win-back"} {
		_, err := st.RunJob(ctx, job, "")
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("%s without dynamodb:Query on its index: got %v, want AccessDenied", job, err)
		}
	}
	// ingest: the event source mapping polls the queue with its role.
	deadline := time.Now().Add(20 * time.Second)
	for !denied(st, "ingest", "sqs:ReceiveMessage") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}

	for fn, action := range map[string]string{"member-api": "dynamodb:GetItem", "admin-api": "dynamodb:GetItem", "ingest": "sqs:ReceiveMessage",
		"expire-points": "dynamodb:Query", "send-reminders": "dynamodb:Query", "tier-review": "dynamodb:Query", "win-back": "dynamodb:Query"} {
		if !denied(st, fn, action) {
			t.Errorf("%s: got no denied %s, want one (removed: %v)", fn, action, removed)
		}
		logMu.Lock()
		if !strings.Contains(logs.String(), "IAM: AccessDenied: function "+fn+", action "+action+", resource arn:aws:") {
			t.Errorf("%s: the log has no AccessDenied line for %s", fn, action)
		}
		logMu.Unlock()
	}
	for _, c := range st.IAMCalls() {
		if !c.Allowed {
			t.Logf("denied: %s %s %s", c.Function, c.Action, c.Resource)
		}
	}
	if t.Failed() {
		t.Logf("calls: %+v", st.IAMCalls())
		logMu.Lock()
		t.Logf("the stack's log:\n%s", logs.String())
		logMu.Unlock()
	}
}

func denied(st *localstack.Stack, fn, action string) bool {
	for _, c := range st.IAMCalls() {
		if c.Function == fn && c.Action == action && !c.Allowed {
			return true
		}
	}
	return false
}

// assemblyCopy is a copy of the repository's local cloud assembly (synthesized
// if the cache lacks it) for a test to edit.
func assemblyCopy(tb testing.TB) string {
	tb.Helper()
	root, err := localstack.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	src, _, err := localstack.AssemblyDir(context.Background(), root, tb.Logf)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// removeStatements edits the service template in dir and returns, per
// policy prefix, the statement it removed.
func removeStatements(tb testing.TB, dir string) map[string]any {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*-Service.template.json"))
	if len(files) != 1 {
		tb.Fatalf("service template: got %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		tb.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(b, &tpl); err != nil {
		tb.Fatal(err)
	}
	out := map[string]any{}
	for id, r := range tpl["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] != "AWS::IAM::Policy" {
			continue
		}
		for prefix, action := range removals {
			if !strings.HasPrefix(id, prefix) {
				continue
			}
			doc := res["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
			stmts := doc["Statement"].([]any)
			for i, s := range stmts {
				if grants(s.(map[string]any)["Action"], action) {
					out[prefix] = s
					doc["Statement"] = append(stmts[:i:i], stmts[i+1:]...)
					break
				}
			}
			if out[prefix] == nil {
				tb.Fatalf("%s: no statement grants %s", id, action)
			}
		}
	}
	if len(out) != len(removals) {
		tb.Fatalf("removed %d statements, want %d", len(out), len(removals))
	}
	b, _ = json.Marshal(tpl)
	if err := os.WriteFile(files[0], b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

// grants: for dynamodb:Query, only the statement on an index (whose only
// action is Query); for the others, any statement with the action.
func grants(a any, action string) bool {
	switch v := a.(type) {
	case string:
		return v == action
	case []any:
		if action == "dynamodb:Query" {
			return false
		}
		for _, x := range v {
			if x == action {
				return true
			}
		}
	}
	return false
}
