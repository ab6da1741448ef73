package domain_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/events/domain"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// Every event type the engine publishes has a schema and a sample, and the
// sample (a whole EventBridge event as a subscriber gets it) matches.
func TestSamplesMatchTheirSchemas(t *testing.T) {
	types, err := domain.Types()
	if err != nil {
		t.Fatal(err)
	}
	published := []string{loyalty.EventPointsExpired, loyalty.EventPointsExpiring, loyalty.EventRewardExpiring,
		loyalty.EventRewardAffordable, loyalty.EventClassChanged, loyalty.EventWinBackOffered, loyalty.EventTierChanged,
		loyalty.EventRefereeBonus, loyalty.EventReferrerBonus, loyalty.EventReferralClawback, loyalty.EventFeedbackBonus}
	if strings.Join(types, ",") != strings.Join(sorted(published), ",") {
		t.Errorf("schemas: got %v, want one per published type %v", types, sorted(published))
	}
	for _, typ := range types {
		raw, err := os.ReadFile(filepath.Join("samples", typ+".json"))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if ev.Source != loyalty.EventSource || ev.DetailType != typ {
			t.Errorf("%s: got source %q detail-type %q, want %q and %q", typ, ev.Source, ev.DetailType, loyalty.EventSource, typ)
		}
		if err := domain.Validate(typ, ev.Detail); err != nil {
			t.Errorf("sample %s: %v", typ, err)
		}
	}
}

// A detail with a field missing, an extra field or a wrong type is refused.
func TestSchemasRefuse(t *testing.T) {
	good := `{"eventId":"0123456789abcdef0123456789abcdef","memberId":"m1","programId":"p","occurredAt":"2026-04-01T00:00:00Z","notificationId":"expiring-2026-04-30","points":5,"expires":"2026-04-30","daysLeft":30}`
	if err := domain.Validate(loyalty.EventPointsExpiring, []byte(good)); err != nil {
		t.Fatalf("good detail: %v", err)
	}
	for name, bad := range map[string]string{
		"missing points": strings.Replace(good, `"points":5,`, "", 1),
		"extra field":    strings.Replace(good, `"daysLeft":30`, `"daysLeft":30,"code":"X"`, 1),
		"bad date":       strings.Replace(good, `"2026-04-30"`, `"30.04.2026"`, 1),
		"zero points":    strings.Replace(good, `"points":5`, `"points":0`, 1),
		"short event id": strings.Replace(good, `0123456789abcdef0123456789abcdef`, `0123`, 1),
	} {
		if err := domain.Validate(loyalty.EventPointsExpiring, []byte(bad)); err == nil {
			t.Errorf("%s: got valid, want refused", name)
		}
	}
	if err := domain.Validate("points.earned.v9", []byte(good)); err == nil {
		t.Errorf("unknown type: got valid, want refused")
	}
}

// The referrer's event says paid or capped, and names no referee.
func TestReferrerBonusSchemaRefuses(t *testing.T) {
	good := `{"eventId":"0123456789abcdef0123456789abcdef","memberId":"m1","programId":"p","occurredAt":"2026-04-01T00:00:00Z","notificationId":"referrer-0123456789abcdef01234567","state":"capped","points":0,"month":"2026-04","monthlyCap":5}`
	if err := domain.Validate(loyalty.EventReferrerBonus, []byte(good)); err != nil {
		t.Fatalf("good detail: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown state":   strings.Replace(good, `"capped"`, `"pending"`, 1),
		"the referee":     strings.Replace(good, `"monthlyCap":5`, `"monthlyCap":5,"refereeId":"m2"`, 1),
		"negative points": strings.Replace(good, `"points":0`, `"points":-1`, 1),
		"bad month":       strings.Replace(good, `"2026-04"`, `"April"`, 1),
		"no month":        strings.Replace(good, `"month":"2026-04",`, "", 1),
	} {
		if err := domain.Validate(loyalty.EventReferrerBonus, []byte(bad)); err == nil {
			t.Errorf("%s: got valid, want refused", name)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
