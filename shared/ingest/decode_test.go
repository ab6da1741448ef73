package ingest_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/loyalty-functions/loyalty/events/partner"
	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// invalidSample is an entry of events/partner/samples/invalid/reasons.json.
type invalidSample struct {
	Reason loyalty.RejectReason `json:"reason"`
	Why    string               `json:"why"`
}

func invalidSamples(tb testing.TB) map[string]invalidSample {
	tb.Helper()
	var m map[string]invalidSample
	if err := json.Unmarshal(readFile(tb, filepath.Join(partnerDir, "samples", "invalid", "reasons.json")), &m); err != nil {
		tb.Fatalf("reasons.json: %v", err)
	}
	return m
}

func validSamples(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(partnerDir, "samples", "purchase.*", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("valid samples: got %d (%v), want some", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		out[filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = readFile(tb, f)
	}
	return out
}

// decidedLater are the reasons the handler finds after decoding: they need
// the program, the ledger or time.
var decidedLater = map[loyalty.RejectReason]bool{
	loyalty.RejectUnknownPartner: true, loyalty.RejectInvalidEvent: true, loyalty.RejectPurchaseNotFound: true,
	loyalty.RejectIdempotencyReuse: true, loyalty.RejectConflict: true,
}

func TestDecodeValidSamples(t *testing.T) {
	for name, body := range validSamples(t) {
		t.Run(name, func(t *testing.T) {
			ev, err := partner.Decode(body)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			var raw struct {
				PartnerID, EventID, MemberRef, OriginalEventID string
				Member                                         struct{ Kind, Ref string }
				Lines                                          []json.RawMessage
			}
			_ = json.Unmarshal(body, &raw)
			if raw.Member.Kind == "memberId" {
				raw.MemberRef = raw.Member.Ref // version 2 by member id; other kinds are resolved later
			}
			if ev.Member.Kind == "" || ev.Member.Value == "" {
				t.Errorf("member: got %+v, want the message's reference", ev.Member)
			}
			switch {
			case strings.HasPrefix(name, "purchase.completed/"):
				p := ev.Purchase
				if p == nil || ev.Refund != nil {
					t.Fatalf("got purchase %v refund %v, want a purchase only", p, ev.Refund)
				}
				if want := loyalty.PurchaseKey(raw.PartnerID, raw.EventID); p.Key != want {
					t.Errorf("key: got %q, want %q", p.Key, want)
				}
				if string(p.MemberID) != raw.MemberRef || p.Actor != "partner:"+raw.PartnerID || len(p.Lines) != len(raw.Lines) {
					t.Errorf("purchase: got %+v, want member %s, actor partner:%s, %d lines", p, raw.MemberRef, raw.PartnerID, len(raw.Lines))
				}
			default:
				r := ev.Refund
				if r == nil || ev.Purchase != nil {
					t.Fatalf("got purchase %v refund %v, want a refund only", ev.Purchase, r)
				}
				if want := loyalty.PurchaseKey(raw.PartnerID, raw.OriginalEventID); r.OriginalKey != want {
					t.Errorf("original: got %q, want %q", r.OriginalKey, want)
				}
				if want := loyalty.RefundKey(raw.PartnerID, raw.EventID); r.Key != want {
					t.Errorf("key: got %q, want %q", r.Key, want)
				}
				if (r.Amount == nil) == (len(r.Lines) == 0) {
					t.Errorf("refund: got amount %v and %d lines, want exactly one", r.Amount, len(r.Lines))
				}
			}
		})
	}
}

func TestDecodeInvalidSamples(t *testing.T) {
	for name, want := range invalidSamples(t) {
		t.Run(name, func(t *testing.T) {
			ev, err := partner.Decode(readFile(t, filepath.Join(partnerDir, "samples", "invalid", name)))
			var de *partner.DecodeError
			switch {
			case errors.As(err, &de):
				if de.Reason != want.Reason {
					t.Errorf("reason: got %s (%s), want %s (%s)", de.Reason, de.Message, want.Reason, want.Why)
				}
				if de.Message == "" {
					t.Errorf("message: got none, want one")
				}
			case err != nil:
				t.Fatalf("got %v, want a *DecodeError", err)
			case !decidedLater[want.Reason]:
				t.Errorf("got %+v decoded, want reason %s (%s)", ev, want.Reason, want.Why)
			}
		})
	}
}

func TestDecodeKeepsTheIdentityOfRefusedEvents(t *testing.T) {
	ev, err := partner.Decode(readFile(t, filepath.Join(partnerDir, "samples", "invalid", "purchase-negative-amount.json")))
	if err == nil {
		t.Fatal("got no error, want a schema violation")
	}
	if ev.PartnerID != "demo-coffee-berlin" || ev.EventID != "pos-7-000123" || ev.MemberID != "member-0001" || ev.Type != "purchase.completed" {
		t.Errorf("identity: got %+v, want partner, event, member and type of the sample", ev)
	}
}

// fuzzSeeds are every sample body and every body of the SQS wrappers.
func fuzzSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	for _, b := range validSamples(tb) {
		seeds = append(seeds, b)
	}
	invalid, _ := filepath.Glob(filepath.Join(partnerDir, "samples", "invalid", "*"))
	for _, f := range invalid {
		seeds = append(seeds, readFile(tb, f))
	}
	wrappers, _ := filepath.Glob(filepath.Join(partnerDir, "sqs", "*.json"))
	for _, f := range wrappers {
		var ev events.SQSEvent
		if err := json.Unmarshal(readFile(tb, f), &ev); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		for _, r := range ev.Records {
			seeds = append(seeds, []byte(r.Body))
		}
	}
	return seeds
}

var knownReasons = map[loyalty.RejectReason]bool{
	loyalty.RejectMalformedJSON: true, loyalty.RejectSchemaViolation: true, loyalty.RejectUnsupported: true, loyalty.RejectInvalidEvent: true,
}

// FuzzDecodeMessage feeds the decoder arbitrary bodies. It must never panic;
// a body it accepts is one purchase or one refund with its keys, and a body it
// refuses gets a reason code and a message.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := partner.Decode(body)
		if err != nil {
			var de *partner.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %T %v, want a *DecodeError", err, err)
			}
			if !knownReasons[de.Reason] || de.Message == "" {
				t.Fatalf("got reason %q message %q, want a known reason and a message", de.Reason, de.Message)
			}
			return
		}
		if (ev.Purchase == nil) == (ev.Refund == nil) {
			t.Fatalf("got purchase %v and refund %v, want exactly one", ev.Purchase, ev.Refund)
		}
		if ev.PartnerID == "" || ev.EventID == "" || ev.Member.Value == "" || (ev.Member.Kind == loyalty.RefMemberID) != (ev.MemberID != "") {
			t.Fatalf("got identity %+v, want partner, event and member (its id when the message names it by id)", ev)
		}
		if ev.Purchase != nil && (ev.Purchase.Key == "" || ev.Purchase.Spend.Minor < 0 || ev.Purchase.OccurredAt.IsZero()) {
			t.Fatalf("got purchase %+v, want a key, an amount >= 0 and a time", ev.Purchase)
		}
		if r := ev.Refund; r != nil && (r.Key == "" || r.OriginalKey == "" || (r.Amount == nil) == (len(r.Lines) == 0)) {
			t.Fatalf("got refund %+v, want keys and exactly one of amount and lines", r)
		}
		again, err := partner.Decode(body)
		if err != nil || again.Type != ev.Type || again.EventID != ev.EventID {
			t.Fatalf("second decode: got %+v, %v; want the same event", again, err)
		}
	})
}

// BenchmarkDecode measures decoding and schema validation of a purchase
// with three lines, the handler's CPU per message before DynamoDB.
func BenchmarkDecode(b *testing.B) {
	body := readFile(b, filepath.Join(partnerDir, "samples", "purchase.completed", "coffee-with-lines.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := partner.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
