package localstack_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// These flows reach the code paths behind grants no other flow of the suite
// uses, so that the IAM report (iam_report_test.go) sees them called and
// allowed by the shipped roles.

// A referee's first purchase pays both referral bonuses; the same purchase
// sent again, at the door and on the queue, is a replay that rebuilds the
// payout it made from the referrer's record of its referees (a Query of the
// referrer's partition: dynamodb:Query on the table, for partner-door and
// ingest) and credits nothing more.
func TestAReplayedReferralPurchaseRebuildsItsPayout(t *testing.T) {
	const referrer, referee = "e2e-ref-owner", "e2e-ref-new"
	me(t, referrer)
	me(t, referee)
	code, _ := call(t, "GET", "/v1/me/referral", token(t, referrer), nil, "").body["code"].(string)
	if code == "" {
		t.Fatal("the referrer got no referral code")
	}
	if r := call(t, "POST", "/v1/me/referral", token(t, referee), nil, `{"code":"`+code+`"}`); r.status >= 300 {
		t.Fatalf("enrol with the code: got %d %s", r.status, r.raw)
	}
	time.Sleep(1100 * time.Millisecond) // the purchase comes after the enrolment, to the second
	purchase := coffeePurchase(referee, "ref-first", time.Now().Truncate(time.Second))
	purchase["amountMinor"] = 600 // the program's referral minSpendMinor is 500
	purchase["lines"].([]map[string]any)[0]["amountMinor"] = 600
	balance := func(m string) float64 { b, _ := me(t, m)["balance"].(float64); return b }
	send(t, purchase)
	waitFor(t, "the referrer's bonus", func() bool { return balance(referrer) == 100 })
	paid := balance(referee)
	if paid < 50 {
		t.Fatalf("referee's balance after the first purchase: got %v, want at least the referee bonus 50", paid)
	}

	body, _ := json.Marshal(purchase)
	status, ans := doorPost(t, "demo-coffee-berlin", string(body))
	if status != 200 || ans["replayed"] != true || ans["balance"] != paid {
		t.Fatalf("the purchase again at the door: got %d %v, want 200 replayed with balance %v", status, ans, paid)
	}
	send(t, purchase)
	waitFor(t, "the ingest's replay to read the referrer's referees", func() bool { return called("ingest", "dynamodb:Query", ":table/"+localstack.TableName) })
	if !called("partner-door", "dynamodb:Query", ":table/"+localstack.TableName) {
		t.Error("the door's replay made no Query of the table")
	}
	time.Sleep(time.Second)
	if got, gotRef := balance(referee), balance(referrer); got != paid || gotRef != 100 {
		t.Errorf("balances after the replays: got referee %v, referrer %v; want %v and 100", got, gotRef, paid)
	}
}

// A silver member whose tier review is due, with no qualifying
// points, is moved down to the base tier by the tier-review job through
// its schedule's input: the store's write path
// (a batch read of the account and the entry, the transaction) and the
// tier_changed notification, published on the bus (events:PutEvents).
func TestADueTierReviewMovesTheMemberDown(t *testing.T) {
	ctx := context.Background()
	const member = "e2e-tier-due"
	loc, err := time.LoadLocation(stack.Program.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	// A day of its own: the schedule test runs the review for its last fire
	// time, today from 03:00 in the program's timezone on, and a second run
	// for that day finds its checkpoint complete.
	day := loyalty.Date(time.Now().In(loc).AddDate(0, 0, -30).Format("2006-01-02"))
	created := time.Now().AddDate(-1, 0, 0).UTC()
	acct := loyalty.Account{MemberID: member, Tier: "silver", TierReviewOn: day, CreatedAt: created, LastActivity: created}
	if err := stack.Store.Seed(ctx, []loyalty.Account{acct}, nil); err != nil {
		t.Fatal(err)
	}
	out, err := stack.RunJob(ctx, "tier-review", string(day))
	if err != nil {
		t.Fatalf("tier-review: %v (%s)", err, out)
	}
	got, err := stack.Store.Account(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	// The base tier (bronze) is stored as no tier, with no review day.
	if got.Tier != "" || got.TierReviewOn != "" {
		t.Fatalf("tier after the review: got %q, review on %q; want the base tier with no review (report %s)", got.Tier, got.TierReviewOn, out)
	}
	if !called("tier-review", "events:PutEvents", "") {
		t.Errorf("tier-review published no event of the tier change (report %s)", out)
	}
}

// An account the due index files under a day whose copy of the lots there
// holds nothing due makes the expiry ask the account itself (a GetItem of
// it) before it decides, and expire nothing.
func TestAnExpiryWhoseIndexCopyIsStaleReadsTheAccount(t *testing.T) {
	ctx := context.Background()
	const member = "e2e-expiry-stale"
	loc, err := time.LoadLocation(stack.Program.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	// A day of its own: other tests run the expiry for today (and its
	// checkpoints say so), so a run for today would find its work done.
	day := loyalty.Date(time.Now().In(loc).AddDate(0, 0, -20).Format("2006-01-02"))
	created := time.Now().AddDate(0, -2, 0).UTC()
	if err := stack.Store.Seed(ctx, []loyalty.Account{{MemberID: member, DueOn: day, CreatedAt: created, LastActivity: created}}, nil); err != nil {
		t.Fatal(err)
	}
	out, err := stack.RunJob(ctx, "expire-points", string(day))
	if err != nil {
		t.Fatalf("expire-points: %v (%s)", err, out)
	}
	var rep struct {
		Read   int   `json:"accountsRead"`
		Points int64 `json:"points"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report %s: %v", out, err)
	}
	if rep.Read < 1 || !called("expire-points", "dynamodb:GetItem", ":table/"+localstack.TableName) {
		t.Errorf("expire-points read no account (report %s)", out)
	}
	if got, err := stack.Store.Account(ctx, member); err != nil || got.Balance != 0 || len(got.Lots) != 0 {
		t.Errorf("the account after the run: got %+v, %v; want it as it was", got, err)
	}
}

// called reports whether fn made an allowed call of action on a resource
// whose ARN ends in suffix.
func called(fn, action, suffix string) bool {
	for _, c := range stack.IAMCalls() {
		if c.Function == fn && c.Action == action && c.Allowed && strings.HasSuffix(c.Resource, suffix) {
			return true
		}
	}
	return false
}

// doorPost sends body to the partner door signed with partner's key.
func doorPost(tb testing.TB, partner, body string) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, stack.DoorURL, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if err := localgateway.SignRequestFor(req, []byte(body), localstack.PartnerAccessKey(partner), localstack.PartnerSecret(partner),
		localstack.Region, localgateway.DoorService, time.Now()); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ans map[string]any
	if err := json.Unmarshal(raw, &ans); err != nil {
		tb.Fatalf("door answer %q: %v", raw, err)
	}
	return resp.StatusCode, ans
}
