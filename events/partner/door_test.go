package partner_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/loyalty-functions/loyalty/events/partner"
)

// The door's sample answers pass its schema; an answer that names a member
// or lacks the balance does not.
func TestDoorAnswerSchema(t *testing.T) {
	for _, name := range []string{"answer.json", "refusal-partner-mismatch.json"} {
		b, err := os.ReadFile(filepath.Join("door", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := partner.ValidateDoorAnswer(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, bad := range []string{
		`{"partnerId":"p","eventId":"e","type":"purchase.completed","replayed":false,"pointsEarned":1,"pointsChange":1,"balance":1,"rewards":[],"memberId":"m"}`,
		`{"partnerId":"p","eventId":"e","type":"purchase.completed","replayed":false,"pointsEarned":1,"pointsChange":1,"rewards":[]}`,
		`{"code":"partner_mismatch","message":"x","requestId":"r"}`,
	} {
		if err := partner.ValidateDoorAnswer([]byte(bad)); err == nil {
			t.Errorf("schema took %s", bad)
		}
	}
}
