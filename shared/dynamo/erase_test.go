package dynamo_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/loyalty-functions/loyalty/shared/dynamo"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The member every erasure test erases: an id that occurs nowhere else, so
// that finding it in the table means something of them was left.
const leaver = "leaver-7f3a9c"

// faultyClient passes the first `after` write calls to DynamoDB and fails
// every later one: before the call reaches DynamoDB (lost=false: a throttle,
// a timeout before sending) or after DynamoDB applied it (lost=true: the
// answer is lost, the caller cannot know the write happened).
type faultyClient struct {
	dynamo.Client
	after int
	lost  bool

	mu     sync.Mutex
	writes int
	failed int
}

var errInjected = &types.ProvisionedThroughputExceededException{Message: aws.String("injected fault")}

func (c *faultyClient) write(call func() error) error {
	c.mu.Lock()
	c.writes++
	fail := c.writes > c.after
	if fail {
		c.failed++
	}
	c.mu.Unlock()
	if !fail {
		return call()
	}
	if c.lost {
		_ = call()
	}
	return errInjected
}

func (c *faultyClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.PutItemOutput, err error) {
	err = c.write(func() (e error) { out, e = c.Client.PutItem(ctx, in, opts...); return })
	return out, err
}

func (c *faultyClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.UpdateItemOutput, err error) {
	err = c.write(func() (e error) { out, e = c.Client.UpdateItem(ctx, in, opts...); return })
	return out, err
}

func (c *faultyClient) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.DeleteItemOutput, err error) {
	err = c.write(func() (e error) { out, e = c.Client.DeleteItem(ctx, in, opts...); return })
	return out, err
}

func (c *faultyClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (out *dynamodb.TransactWriteItemsOutput, err error) {
	err = c.write(func() (e error) { out, e = c.Client.TransactWriteItems(ctx, in, opts...); return })
	return out, err
}

func (c *faultyClient) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (out *dynamodb.BatchWriteItemOutput, err error) {
	err = c.write(func() (e error) { out, e = c.Client.BatchWriteItem(ctx, in, opts...); return })
	return out, err
}

// eraseFixture is a referral fixture on a table of its own, whose name the
// test needs for a second store (the faulty one) and for its Scans.
type eraseFixture struct {
	fixture
	table string
}

func newEraseFixture(tb testing.TB) eraseFixture {
	tb.Helper()
	f := referralFixture(tb, 5)
	name := newTable(tb)
	st := dynamo.New(db, name)
	f.store = st
	f.svc.Store, f.svc.Referrals, f.svc.Snapshots, f.svc.Catalog, f.svc.Erasures, f.svc.ErasureLog = st, st, st, st, st, st
	return eraseFixture{fixture: f, table: name}
}

// seedLeaver gives the leaver one item of every kind the store writes about
// a member, and the members around them theirs:
//
//   - keeper referred the leaver (keeper's record of them, the leaver's
//     record of who referred them), and has a ledger, feedback and a class
//     of their own that must stay;
//   - the leaver referred senior, who bought (the leaver got a referrer
//     bonus, a month counter), and junior, who has not bought yet (junior's
//     account has the leaver as pending referrer);
//   - the leaver has purchases (one with feedback, its copy in the day
//     listing), a redemption (in the due index by its last day), a
//     notification (in the outbox), a class, a reminder state, a referral
//     code, lots in the due index, and two rejections naming them (by id,
//     and only in the body), beside one that does not; and history more
//     purchases, a long history that takes the erasure many pages.
func (f eraseFixture) seedLeaver(tb testing.TB, history int) (buy loyalty.Purchase, redemptionKey string) {
	tb.Helper()
	ctx := context.Background()
	now := f.clock.Now()
	f.putReward(tb, "coffee", 10)
	keeperCode := f.code(tb, "keeper")
	f.refer(tb, leaver, keeperCode)
	leaverCode := f.code(tb, leaver)
	f.refer(tb, "senior", leaverCode)
	f.refer(tb, "junior", leaverCode)
	buy = f.purchase(leaver, "e1", 5_000, now) // 50 + 50 referee bonus; the keeper gets 100
	res := f.accrue(tb, buy)
	f.accrue(tb, f.purchase(leaver, "e2", 1_200, now))
	for i := range history {
		f.accrue(tb, f.purchase(leaver, fmt.Sprintf("h%03d", i), 100, now))
	}
	f.accrue(tb, f.purchase("senior", "s1", 800, now)) // pays the leaver 100
	redemptionKey = "k-1"
	if _, _, err := f.svc.Redeem(ctx, leaver, redemptionKey, "coffee"); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: leaver, PurchaseID: res.Entry.Key, Rating: 5, Comment: "nice"}); err != nil {
		tb.Fatal(err)
	}
	kept := f.accrue(tb, f.purchase("keeper", "k1", 2_000, now))
	if _, _, err := f.svc.GiveFeedback(ctx, loyalty.FeedbackRequest{MemberID: "keeper", PurchaseID: kept.Entry.Key, Rating: 3}); err != nil {
		tb.Fatal(err)
	}
	note := loyalty.NewNotification(f.svc.Program, leaver, loyalty.NoteClassChanged, "2026-W11", "class", nil, now)
	if _, _, err := f.store.Deliver(ctx, note); err != nil {
		tb.Fatal(err)
	}
	for _, m := range []loyalty.MemberID{leaver, "keeper"} {
		if err := f.store.PutMemberClass(ctx, m, loyalty.MemberClass{Class: "loyal", Since: "2026-03-10"}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := f.store.PutAffordSeen(ctx, leaver, 90, "2026-03-10"); err != nil {
		tb.Fatal(err)
	}
	for _, r := range []loyalty.Rejection{
		{MessageID: "by-id", Body: `{"memberId":"` + leaver + `","amount":"x"}`, Reason: loyalty.RejectInvalidEvent, MemberID: leaver},
		{MessageID: "in-body", Body: `{"memberId":"` + leaver + `"`, Reason: loyalty.RejectMalformedJSON},
		{MessageID: "other", Body: `{"memberId":"keeper"}`, Reason: loyalty.RejectInvalidEvent, MemberID: "keeper"},
	} {
		r.FirstSeen, r.LastSeen, r.ReceiveCount = now, now, 1
		if err := f.store.RecordRejection(ctx, r); err != nil {
			tb.Fatal(err)
		}
	}
	return buy, redemptionKey
}

// tableItems Scans the whole table (a test may; no request path does).
func tableItems(tb testing.TB, table string) []map[string]types.AttributeValue {
	tb.Helper()
	var items []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("scan: %v", err)
		}
		items = append(items, out.Items...)
	}
	return items
}

func keyOf(it map[string]types.AttributeValue) string {
	return it["pk"].(*types.AttributeValueMemberS).Value + " / " + it["sk"].(*types.AttributeValueMemberS).Value
}

// strings of an attribute value, nested ones and base64-decoded ones too
// (an index cursor is base64 JSON).
func stringsOf(v types.AttributeValue) []string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		out := []string{v.Value}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			if b, err := enc.DecodeString(v.Value); err == nil {
				out = append(out, string(b))
			}
		}
		return out
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberN:
		return []string{v.Value}
	case *types.AttributeValueMemberB:
		return []string{string(v.Value)}
	case *types.AttributeValueMemberL:
		var out []string
		for _, e := range v.Value {
			out = append(out, stringsOf(e)...)
		}
		return out
	case *types.AttributeValueMemberM:
		var out []string
		for k, e := range v.Value {
			out = append(out, k)
			out = append(out, stringsOf(e)...)
		}
		return out
	}
	return nil
}

// naming returns the keys of the items that hold s in a key, an attribute
// name or any attribute value.
func naming(items []map[string]types.AttributeValue, s string) []string {
	var out []string
	for _, it := range items {
		for name, v := range it {
			hit := strings.Contains(name, s)
			for _, str := range stringsOf(v) {
				hit = hit || strings.Contains(str, s)
			}
			if hit {
				out = append(out, keyOf(it)+" ("+name+")")
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// checkErased holds the table after the leaver's erasure to what must be
// left: nothing naming them; every other item of before still there; as new
// items only the erasure's mark and the anonymised totals.
func checkErased(t *testing.T, before, after []map[string]types.AttributeValue, er loyalty.Erasure, balance, lifetime loyalty.Points) {
	t.Helper()
	if left := naming(after, leaver); len(left) != 0 {
		t.Errorf("items naming the erased member: got %v, want none", left)
	}
	was := map[string]bool{}
	for _, it := range before {
		was[keyOf(it)] = true
	}
	now := map[string]map[string]types.AttributeValue{}
	for _, it := range after {
		now[keyOf(it)] = it
	}
	for _, it := range before {
		if k := keyOf(it); len(naming([]map[string]types.AttributeValue{it}, leaver)) == 0 && now[k] == nil {
			t.Errorf("item %s, which does not name the member: got deleted, want kept", k)
		}
	}
	var marks, totals int
	for k, it := range now {
		if was[k] {
			continue
		}
		switch {
		case strings.HasPrefix(k, "ERASURE#"):
			marks++
		case strings.HasPrefix(k, "ERASED / "):
			totals++
			want := fmt.Sprintf("n=%d bal=%d life=%d", er.Entries, balance, lifetime)
			got := fmt.Sprintf("n=%s bal=%s life=%s", it["n"].(*types.AttributeValueMemberN).Value,
				it["bal"].(*types.AttributeValueMemberN).Value, it["life"].(*types.AttributeValueMemberN).Value)
			if got != want || k != "ERASED / "+er.AnonymousID {
				t.Errorf("anonymised totals %s: got %s, want %s under %s", k, got, want, er.AnonymousID)
			}
		default:
			t.Errorf("new item after the erasure: got %s, want only the mark and the totals", k)
		}
	}
	if marks != 1 || totals != 1 {
		t.Errorf("erasure items: got %d marks and %d totals, want 1 and 1", marks, totals)
	}
}

// What the leaver's erasure deletes (seedLeaver): the account; 5 ledger
// entries (2 purchases, the referrer bonus, the redemption, the feedback
// bonus), 1 redemption, 1 notification;
// feedback and its day copy; code, its RC# item, who referred them, the
// keeper's record of them, their records of senior and junior, a month
// counter (7); 2 rejections; class and reminder state; and the history.
// Senior's and junior's records of who referred them are rewritten.
func wantDeleted(history int) loyalty.ErasedItems {
	return loyalty.ErasedItems{Account: 1, Ledger: 5 + history, Redemptions: 1, Notifications: 1, Feedback: 2, Referrals: 7, Rejections: 2, Other: 2}
}

// An erasure killed after k writes, for several k, with the fault before
// the write reached DynamoDB or after it applied it, completes on the next
// call and leaves nothing of the member but the anonymised totals; the
// receipt counts what an uninterrupted erasure counts.
func TestInterruptedErasureCompletesOnRetry(t *testing.T) {
	// How many writes an uninterrupted erasure makes: k is taken below it.
	const history = 300 // 8 pages
	clean := newEraseFixture(t)
	clean.seedLeaver(t, history)
	counter := &faultyClient{Client: db, after: 1 << 30}
	if _, err := dynamo.New(counter, clean.table).EraseMember(context.Background(), leaver, clean.clock.Now()); err != nil {
		t.Fatal(err)
	}
	total := counter.writes
	t.Logf("an uninterrupted erasure makes %d writes", total)
	ks := []int{0, 1, 3, 10, total - 1}
	for _, lost := range []bool{false, true} {
		for _, k := range ks {
			t.Run(fmt.Sprintf("after %d writes, answer lost %v", k, lost), func(t *testing.T) {
				t.Parallel()
				f := newEraseFixture(t)
				buy, _ := f.seedLeaver(t, history)
				ctx := context.Background()
				acct, err := f.store.Account(ctx, leaver)
				if err != nil {
					t.Fatal(err)
				}
				before := tableItems(t, f.table)
				// The erasure completes when its last write lands: on the
				// retry, unless the fault lost the answer of that write.
				completed := f.clock.Now().Add(time.Minute)
				if lost && k == total-1 {
					completed = f.clock.Now()
				}

				faulty := &faultyClient{Client: db, after: k, lost: lost}
				_, err = dynamo.New(faulty, f.table).EraseMember(ctx, leaver, f.clock.Now())
				if !errors.Is(err, errInjected) || !loyalty.Retryable(err) {
					t.Fatalf("interrupted erasure: got %v, want the injected fault, retryable", err)
				}
				if k > 0 {
					want := loyalty.ErasureInProgress
					if lost && k == total-1 {
						want = loyalty.ErasureDone // the finish landed, its answer did not
					}
					st, err := f.store.ErasureStatus(ctx, leaver)
					if err != nil || st.State != want {
						t.Errorf("status after the fault: got %+v (%v), want %s", st, err, want)
					}
					// Marked: the member's keys are spent already.
					if _, err := f.svc.Accrue(ctx, buy); loyalty.ErrorCode(err) != loyalty.CodeMemberErased {
						t.Errorf("replayed purchase during the erasure: got %v, want %s", err, loyalty.CodeMemberErased)
					}
				}

				f.clock.Advance(time.Minute)
				er, err := f.store.EraseMember(ctx, leaver, f.clock.Now())
				if err != nil {
					t.Fatalf("retried erasure: %v", err)
				}
				if er.State != loyalty.ErasureDone || er.Deleted != wantDeleted(history) || er.Entries != 5+history || er.Rewritten != 2 ||
					er.Balance != acct.Balance || er.Lifetime != acct.Lifetime || !er.ErasedAt.Equal(completed) {
					t.Errorf("receipt: got %+v, want done at %s, deleted %+v, 2 referrals rewritten, balance %d, lifetime %d",
						er, completed, wantDeleted(history), acct.Balance, acct.Lifetime)
				}
				checkErased(t, before, tableItems(t, f.table), er, acct.Balance, acct.Lifetime)
				f.audit(t)
			})
		}
	}
}

// An erasure that runs short of time stops after the mark and answers in
// progress; the next call completes it; a call after that answers the
// first receipt.
func TestErasureShortOfTimeAnswersInProgress(t *testing.T) {
	f := newEraseFixture(t)
	f.seedLeaver(t, 0)
	ctx := context.Background()
	f.store.EraseReserve = time.Hour
	short, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	er, err := f.store.EraseMember(short, leaver, f.clock.Now())
	if err != nil || er.State != loyalty.ErasureInProgress || er.Deleted != (loyalty.ErasedItems{Account: 1}) || !er.ErasedAt.IsZero() {
		t.Fatalf("erasure short of time: got %+v (%v), want in progress with the account deleted", er, err)
	}
	requested := f.clock.Now()
	f.clock.Advance(time.Minute)
	done, err := f.store.EraseMember(ctx, leaver, f.clock.Now())
	if err != nil || done.State != loyalty.ErasureDone || done.Deleted != wantDeleted(0) || done.AnonymousID != er.AnonymousID ||
		!done.RequestedAt.Equal(requested) || !done.ErasedAt.Equal(f.clock.Now()) {
		t.Fatalf("continued erasure: got %+v (%v), want done, deleted %+v, same id, requested %s", done, err, wantDeleted(0), requested)
	}
	f.clock.Advance(time.Hour)
	again, err := f.store.EraseMember(short, leaver, f.clock.Now())
	if err != nil || fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", done) {
		t.Errorf("erasure after completion: got %+v (%v), want the first receipt %+v", again, err, done)
	}
}

// After an erasure, the member's spent keys stay spent: the same partner
// event and the same redemption key change nothing (refused with
// member_erased, not credited or redeemed as new), nor does anything else
// for the id; nothing of the member comes back; the audit stays clean.
func TestErasedMembersKeysStaySpent(t *testing.T) {
	f := newEraseFixture(t)
	buy, key := f.seedLeaver(t, 0)
	ctx := context.Background()
	if _, err := f.svc.Erase(ctx, leaver); err != nil {
		t.Fatal(err)
	}
	before := tableItems(t, f.table)
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"the same partner purchase", func() error { _, err := f.svc.Accrue(ctx, buy); return err }},
		{"the same redemption key", func() error { _, _, err := f.svc.Redeem(ctx, leaver, key, "coffee"); return err }},
		{"a new purchase", func() error { _, err := f.svc.Accrue(ctx, f.purchase(leaver, "e9", 9_000, f.clock.Now())); return err }},
		{"an adjustment", func() error {
			_, err := f.svc.Adjust(ctx, loyalty.Adjustment{Key: "adj-1", MemberID: leaver, Points: 5, Reason: "goodwill", Actor: "ops"})
			return err
		}},
		{"enrolment", func() error { _, err := f.svc.Enrol(ctx, leaver); return err }},
		{"a referral code", func() error { _, err := f.svc.ReferralCode(ctx, leaver); return err }},
	} {
		if err := c.call(); loyalty.ErrorCode(err) != loyalty.CodeMemberErased {
			t.Errorf("%s for the erased member: got %v, want %s", c.what, err, loyalty.CodeMemberErased)
		}
	}
	// The jobs' writes about a member they read just before are not kept.
	note := loyalty.NewNotification(f.svc.Program, leaver, loyalty.NoteClassChanged, "2026-W12", "class", nil, f.clock.Now())
	if got, created, err := f.store.Deliver(ctx, note); err != nil || created || !got.Published {
		t.Errorf("notification to the erased member: got created=%v published=%v (%v), want nothing stored and published", created, got.Published, err)
	}
	if err := f.store.PutMemberClass(ctx, leaver, loyalty.MemberClass{Class: "lapsed"}); err != nil {
		t.Errorf("class of the erased member: got %v, want nothing written, no error", err)
	}
	if err := f.store.PutAffordSeen(ctx, leaver, 1, "2026-03-11"); err != nil {
		t.Errorf("reminder state of the erased member: got %v, want nothing written, no error", err)
	}
	// A message naming them is recorded without them.
	late := loyalty.Rejection{MessageID: "late", Body: `{"memberId":"` + leaver + `"}`, Reason: loyalty.RejectMemberErased,
		Message: "member " + leaver + " was erased", MemberID: leaver, EventID: "e1", PartnerID: "shop1",
		FirstSeen: f.clock.Now(), LastSeen: f.clock.Now(), ReceiveCount: 1}
	if err := f.store.RecordRejection(ctx, late); err != nil {
		t.Fatal(err)
	}
	r, err := f.store.Rejection(ctx, "late")
	if err != nil || r.Body != "" || r.MemberID != "" || r.EventID != "" || r.PartnerID != "shop1" || r.Reason != loyalty.RejectMemberErased ||
		r.Message != "member "+string(loyalty.ErasedMember)+" was erased" {
		t.Errorf("rejection naming the erased member: got %+v (%v), want it kept without body, member, event id or the id in its message", r, err)
	}
	after := tableItems(t, f.table)
	if left := naming(after, leaver); len(left) != 0 {
		t.Errorf("items naming the erased member after the attempts: got %v, want none", left)
	}
	if len(after) != len(before)+1 {
		t.Errorf("items after the attempts: got %d, want %d (the redacted rejection only)", len(after), len(before)+1)
	}
	// Junior, whose referrer left before junior's first purchase, still
	// gets the referee bonus; nobody gets the referrer's.
	res := f.accrue(t, f.purchase("junior", "j1", 1_000, f.clock.Now()))
	if res.Entry.Delta != 60 {
		t.Errorf("junior's first purchase: got %d points, want 60 (10 + the 50 referee bonus)", res.Entry.Delta)
	}
	if ref, ok, err := f.store.Referral(ctx, "junior"); err != nil || !ok || ref.Referrer != loyalty.ErasedMember || ref.Code != "" {
		t.Errorf("junior's record of who referred them: got %+v ok=%v (%v), want %s without a code", ref, ok, err, loyalty.ErasedMember)
	}
	f.audit(t)
}

// Two erasures of one member at once both end with the same receipt, and
// the counts are those of one.
func TestConcurrentErasuresAgree(t *testing.T) {
	f := newEraseFixture(t)
	f.seedLeaver(t, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	ers := make([]loyalty.Erasure, 4)
	errs := make([]error, len(ers))
	for i := range ers {
		wg.Add(1)
		go func() { defer wg.Done(); ers[i], errs[i] = f.store.EraseMember(ctx, leaver, f.clock.Now()) }()
	}
	wg.Wait()
	for i := range ers {
		if errs[i] != nil || ers[i].State != loyalty.ErasureDone || ers[i].Deleted != wantDeleted(0) || ers[i].AnonymousID != ers[0].AnonymousID {
			t.Errorf("erasure %d: got %+v (%v), want done with %+v under the same id as the first", i, ers[i], errs[i], wantDeleted(0))
		}
	}
	if left := naming(tableItems(t, f.table), leaver); len(left) != 0 {
		t.Errorf("items naming the erased member: got %v, want none", left)
	}
}
