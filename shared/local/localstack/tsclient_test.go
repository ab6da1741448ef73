package localstack_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/apispec"
)

// The main member flows, as a mobile app runs them through the TypeScript
// client generated from openapi.json (shared/httpapi/tsclient/flows.mts,
// compiled with tsc --strict), against the whole local stack: me,
// activity page by page, rewards, redeem and its retry, cancel, the inbox
// with typed notification data, the service's errors by code and API
// Gateway's 401 by message.
func TestGeneratedClientDrivesTheMemberFlows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := apispec.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := apispec.BuildTSClient(ctx, root, true)
	if dir != "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	if err != nil {
		t.Fatal(err)
	}

	member := "e2e-tsclient"
	credit(t, member, 60)
	credit(t, member, 5)
	if r := adminCall(t, "PUT", "/admin/rewards/ts-yacht", `{"id":"ts-yacht","name":"A yacht","kind":"free_product","cost":1000000,"active":true}`, nil); r.status != 200 {
		t.Fatalf("put the expensive reward: got %d %s", r.status, r.raw)
	}
	note := loyalty.NewNotification(stack.Program, loyalty.MemberID(member), loyalty.NotePointsExpiring, "2099-12-31", "65 points expire on 2099-12-31",
		map[string]any{"points": int64(65), "expires": "2099-12-31", "daysLeft": 30}, time.Now())
	if _, _, err := stack.Store.Deliver(ctx, note); err != nil {
		t.Fatal(err)
	}

	run := exec.CommandContext(ctx, "node", filepath.Join(dir, "flows.mjs"))
	run.Dir = dir
	run.Env = append(os.Environ(), "API_URL="+stack.URL, "TOKEN="+token(t, member), "EXPENSIVE_REWARD=ts-yacht")
	var stderr bytes.Buffer
	run.Stderr = &stderr
	out, err := run.Output()
	steps := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var s map[string]any
		if json.Unmarshal(sc.Bytes(), &s) == nil {
			steps[s["step"].(string)] = s
		}
	}
	if err != nil {
		t.Fatalf("node flows.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	t.Logf("flows:\n%s", strings.TrimSpace(string(out)))
	for _, want := range []string{"me", "activity", "rewards", "redeem", "cancel", "inbox", "service errors", "gateway errors"} {
		if steps[want] == nil {
			t.Errorf("flow step %q did not report", want)
		}
	}
	if got := steps["me"]["balance"]; got != 65.0 {
		t.Errorf("me: balance %v, want 65", got)
	}
	if got := steps["activity"]["entries"]; got != 2.0 {
		t.Errorf("activity: %v entries, want the 2 credits, one a page", got)
	}
	if got := steps["inbox"]["texts"]; !strings.Contains(strings.Join(toStrings(got), "|"), "65 points expire in 30 days") {
		t.Errorf("inbox: got %v, want the expiring points described from the typed data", got)
	}
	if got := steps["service errors"]["expensive"]; got != "insufficient_points" {
		t.Errorf("service error: got %v, want insufficient_points", got)
	}
	if s := steps["gateway errors"]; s["status"] != 401.0 || s["message"] != "Unauthorized" {
		t.Errorf("gateway error: got %v, want 401 Unauthorized", s)
	}
	if b := balance(t, member); b != 65 {
		t.Errorf("balance after redeem and cancel: got %v, want 65", b)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
