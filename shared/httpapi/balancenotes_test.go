package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/loyalty-functions/loyalty/shared/config"
	"github.com/loyalty-functions/loyalty/shared/httpapi"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
	"github.com/loyalty-functions/loyalty/shared/testkit/memstore"
)

// The notifications of a referral payout, its clawback and a feedback bonus
// come out of GET /v1/me/notifications as openapi.json describes them (the
// response check is closed: an undocumented kind or data field fails), with
// the title rendered from the program's templates.
func TestBalanceChangeNotificationsInTheInbox(t *testing.T) {
	ctx := context.Background()
	p, err := config.ParseProgram("review.json", []byte(reviewProgram))
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	svc := &loyalty.Service{Store: st, Referrals: st, Inbox: st, Program: p, Clock: loyalty.ClockFunc(func() time.Time { return reviewNow })}
	a := apis{member: httpapi.NewMemberAPI(svc, st, slog.New(slog.NewJSONHandler(io.Discard, nil)))}

	const referee, referrer = "sample-member-1", "boss"
	if _, err := svc.Enrol(ctx, referrer); err != nil {
		t.Fatal(err)
	}
	status, err := svc.ReferralStatus(ctx, referrer)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.EnrolReferral(ctx, referee, status.Code); err != nil {
		t.Fatal(err)
	}
	// The purchase the feedback sample rates, paying the referral.
	purchase := loyalty.Purchase{Key: loyalty.PurchaseKey("shop-berlin-01", "pos-000123"), MemberID: referee, Ref: "pos-000123",
		Spend: loyalty.Money{Minor: 1_000, Currency: "EUR"}, OccurredAt: reviewNow.Add(-time.Hour), Actor: "partner:shop-berlin-01"}
	if _, err := svc.Accrue(ctx, purchase); err != nil {
		t.Fatal(err)
	}
	if code, body := a.call(t, sample(t, "member/create-feedback.json")); code != 201 {
		t.Fatalf("feedback: got %d %v, want 201", code, body)
	}
	refund := loyalty.Refund{Key: loyalty.RefundKey("shop-berlin-01", "pos-000124"), MemberID: referee, OriginalKey: purchase.Key,
		Ref: "pos-000124", Amount: &loyalty.Money{Minor: 1_000, Currency: "EUR"}, OccurredAt: reviewNow, Actor: "partner:shop-berlin-01"}
	if _, err := svc.Refund(ctx, refund); err != nil {
		t.Fatal(err)
	}

	titles := func(member string) map[string]string {
		t.Helper()
		code, body := a.call(t, asMember(sample(t, "member/list-notifications.json"), member))
		if code != 200 {
			t.Fatalf("notifications of %s: got %d %v", member, code, body)
		}
		out := map[string]string{}
		for _, n := range body["notifications"].([]any) {
			m := n.(map[string]any)
			out[m["kind"].(string)] = m["title"].(string)
		}
		return out
	}
	for member, want := range map[string]map[string]string{
		referee: {
			"referee_bonus":  "Welcome: 50 bonus points for joining with a referral",
			"feedback_bonus": "Thank you for your feedback: 10 bonus points",
		},
		referrer: {
			"referrer_bonus":    "100 bonus points for your referral",
			"referral_clawback": "100 referral bonus points were taken back: the purchase was refunded",
		},
	} {
		got := titles(member)
		for kind, title := range want {
			if got[kind] != title {
				t.Errorf("%s's %s: got title %q, want %q", member, kind, got[kind], title)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s's inbox: got kinds %v, want %v", member, got, want)
		}
	}
}
