package partnerqueue_test

import (
	"strings"
	"testing"

	"github.com/loyalty-functions/loyalty/shared/spec/partnerqueue"
)

func TestNames(t *testing.T) {
	long := strings.Repeat("x", 40)
	cases := []struct{ stage, id string }{
		{"dev", "demo-coffee-berlin"}, {"dev", "a.b"}, {"dev", "a-b"}, {"dev", "A_b"},
		{"production-eu-01", long}, {"production-eu-01", long[:39] + "y"},
	}
	seen := map[string]string{}
	for _, c := range cases {
		n := partnerqueue.Name(c.stage, c.id)
		if len(n+partnerqueue.DLQSuffix) > 80 || !strings.HasPrefix(n, "loyalty-"+c.stage+"-partner-") {
			t.Errorf("%s/%s: got %q (%d), want at most 76 (80 with the DLQ suffix) starting loyalty-%s-partner-", c.stage, c.id, n, len(n), c.stage)
		}
		for _, r := range n {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Errorf("%s: got %q, a character SQS refuses in a queue name", n, r)
			}
		}
		if other, dup := seen[n]; dup {
			t.Errorf("%s and %s: got the same queue %s, want one each", other, c.id, n)
		}
		seen[n] = c.id
	}
	if got := partnerqueue.Name("dev", "demo-coffee-berlin"); got != partnerqueue.Name("dev", "demo-coffee-berlin") || got == partnerqueue.Name("prod", "demo-coffee-berlin") {
		t.Errorf("got %s: want a name stable per stage and partner, different across stages", got)
	}
}

func TestOwner(t *testing.T) {
	o := partnerqueue.NewOwners("dev", []string{"shop-a", "shop.b"})
	arn := "arn:aws:sqs:eu-central-1:111122223333:" + partnerqueue.Name("dev", "shop.b")
	if id, ok := o.Owner(arn); !ok || id != "shop.b" {
		t.Errorf("owner of %s: got %q %v, want shop.b", arn, id, ok)
	}
	for _, arn := range []string{
		"arn:aws:sqs:eu-central-1:111122223333:" + partnerqueue.Name("prod", "shop-a"), // another stage's queue
		"arn:aws:sqs:eu-central-1:111122223333:loyalty-partner-events",                 // no partner's
		partnerqueue.Name("dev", "shop-a"),                                             // not an ARN
		"arn:aws:sns:eu-central-1:111122223333:" + partnerqueue.Name("dev", "shop-a"),  // not a queue
		"",
	} {
		if id, ok := o.Owner(arn); ok {
			t.Errorf("owner of %q: got %s, want none", arn, id)
		}
	}
}
