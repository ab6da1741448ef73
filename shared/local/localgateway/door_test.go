package localgateway_test

import (
	"testing"

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
